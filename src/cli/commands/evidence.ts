import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { attestResult } from '../../evidence/attest.js';
import { collectEvidence, outDirOf, writeBundle } from '../../evidence/bundle.js';
import { loadSigningKey } from '../../evidence/keys.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

export function register(program: Command): void {
  program
    .command('evidence')
    .description(describe('evidence'))
    .argument('<result>', 'result.json or the output directory of `rebuild <pkg>`')
    .option(
      '-o, --out <file>',
      'bundle to write (default: <pkg>-<arch>.evidence.tar.gz in the current directory)',
    )
    .option(
      '--key <file>',
      'sign the verdict first (writes attestation.intoto.jsonl into the output directory)',
    )
    .option(
      '--with-binaries',
      'embed the published and rebuilt files (by default they are referenced by digest)',
    )
    .option('--json', 'print the bundle manifest as JSON')
    .addHelpText(
      'after',
      '\nThe bundle is deterministic: the same output directory gives the same bytes. A maintainer\n' +
        'checks it with `rebuild attest verify BUNDLE --key AUDITOR.pub` and re-runs it with\n' +
        '`rebuild replay BUNDLE`. Exit codes: 0 written, 3 not a verification output or cannot write.',
    )
    .action(
      action(
        async (
          target: string,
          flags: { out?: string; key?: string; withBinaries?: boolean; json?: boolean },
        ) => {
          const outDir = outDirOf(target);
          const key = flags.key ? await loadSigningKey(flags.key) : undefined;
          if (key) await attestResult(outDir, key);
          const evidence = await collectEvidence(outDir, { withBinaries: flags.withBinaries });
          const p = evidence.result.package;
          const path = resolve(flags.out ?? `${basename(p.pkg || 'package')}-${p.arch}.evidence.tar.gz`);
          const written = await writeBundle(path, evidence);
          if (flags.json) {
            process.stdout.write(
              `${JSON.stringify({ bundle: written, manifest: evidence.manifest }, null, 2)}\n`,
            );
          } else {
            process.stdout.write(
              `evidence bundle ${written.path}\n  verdict  ${evidence.result.verdict}: ${evidence.result.summary}\n` +
                `  entries  ${evidence.manifest.entries.length + 1}, ${written.size} bytes, sha256 ${written.sha256}\n` +
                `  signed   ${evidence.entries.some((e) => e.name === 'attestation.intoto.jsonl') ? 'yes' : 'no (pass --key KEY to sign)'}\n` +
                (evidence.manifest.referenced.length
                  ? `  by digest (not embedded): ${evidence.manifest.referenced.map((r) => r.name).join(', ')}\n`
                  : ''),
            );
          }
          return ExitCode.ok;
        },
      ),
    );
}
