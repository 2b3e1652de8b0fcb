import type { Command } from 'commander';
import { connectEngine } from '../../engine/docker.js';
import {
  DEFAULT_BUILDER,
  type EnsuredImage,
  ensureBuilderImage,
  ensureHostRunnerImage,
  listImages,
} from '../../engine/images.js';
import { type Arch, parseArch } from '../../engine/types.js';
import { RebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

function archOption(value: string): Arch {
  const arch = parseArch(value);
  if (!arch) {
    throw new RebuildError('usage', `unknown arch "${value}"`, {
      subject: '--arch',
      fix: 'use --arch aarch64 or --arch x86_64',
    });
  }
  return arch;
}

function summary(img: EnsuredImage) {
  return {
    role: img.role,
    builder: img.builder,
    arch: img.arch,
    tag: img.tag,
    id: img.id,
    inputsHash: img.inputsHash,
    created: img.created,
    reused: img.reused,
    seconds: img.seconds,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function register(program: Command): void {
  const runner = program.command('runner').description(describe('runner'));

  runner
    .command('bootstrap')
    .description(
      'Build the base, builder and host-runner images for an arch (reused when their inputs are unchanged)',
    )
    .requiredOption('--arch <arch>', 'aarch64 or x86_64')
    .option('--builder <name>', 'Dockerfile under dockerfiles/ for the builder image', DEFAULT_BUILDER)
    .option('--json', 'print a JSON summary on stdout')
    .action(
      action(async (o: { arch: string; builder: string; json?: boolean }) => {
        const arch = archOption(o.arch);
        const docker = await connectEngine();
        const onProgress = (line: string) => process.stderr.write(`${line}\n`);
        const t0 = performance.now();
        const builder = await ensureBuilderImage(docker, arch, { builder: o.builder, onProgress });
        const hostRunner = await ensureHostRunnerImage(docker, arch, { onProgress });
        const seconds = Math.round((performance.now() - t0) / 100) / 10;
        const base = builder.base!;
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ arch, seconds, base: summary(base), builder: summary(builder), hostRunner: summary(hostRunner) })}\n`,
          );
        } else {
          const rows = [['role', 'tag', 'id', 'state']];
          for (const img of [base, builder, hostRunner]) {
            rows.push([
              img.role,
              img.tag,
              img.id.slice(7, 19),
              img.reused ? 'cached' : `built in ${img.seconds} s`,
            ]);
          }
          process.stdout.write(`${table(rows)}\n${arch}: ready in ${seconds} s\n`);
        }
        return ExitCode.ok;
      }),
    );

  runner
    .command('ls')
    .description('List the images rebuild has made')
    .option('--json', 'print a JSON array on stdout')
    .action(
      action(async (o: { json?: boolean }) => {
        const docker = await connectEngine();
        const images = await listImages(docker);
        if (o.json) {
          process.stdout.write(`${JSON.stringify(images)}\n`);
          return ExitCode.ok;
        }
        if (images.length === 0) {
          process.stdout.write('no images yet: run `rebuild runner bootstrap --arch aarch64` (or x86_64)\n');
          return ExitCode.ok;
        }
        const rows = [['ROLE', 'BUILDER', 'ARCH', 'TAG', 'ID', 'CREATED', 'INPUTS HASH']];
        for (const i of images) {
          rows.push([
            i.role,
            i.builder,
            i.arch,
            i.tag,
            i.id.slice(7, 19),
            i.created.replace(/\.\d+Z$/, 'Z'),
            i.inputsHash.slice(0, 16),
          ]);
        }
        process.stdout.write(`${table(rows)}\n`);
        return ExitCode.ok;
      }),
    );
}
