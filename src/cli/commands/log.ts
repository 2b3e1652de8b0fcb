import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Arch } from '../../engine/types.js';
import { diffLogs, renderLogDiff } from '../../report/log-diff.js';
import { RebuildError } from '../../util/errors.js';
import type { VerifyResult } from '../../verify/types.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { archOption } from '../options.js';
import { addUpstreamOptions, type UpstreamFlags } from '../upstream-options.js';
import { fetchPublishedText } from './published-file.js';

interface LogFlags extends UpstreamFlags {
  arch: Arch;
  diff?: string | true;
}

/** The rebuild's log named by a result.json of `rebuild <pkg>` (its build/ directory). */
export async function rebuildLogOf(resultPath: string): Promise<string> {
  const text = await readFile(resultPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new RebuildError('input', `cannot read the result (${err.code})`, {
      subject: resultPath,
      fix: 'run `rebuild <pkg> --arch <arch>` first, or name its result.json: rebuild log <pkg> --diff <dir>/result.json',
    });
  });
  let result: Partial<VerifyResult>;
  try {
    result = JSON.parse(text) as Partial<VerifyResult>;
  } catch {
    throw new RebuildError('input', 'not a JSON result', {
      subject: resultPath,
      fix: 'name the result.json written by `rebuild <pkg>`',
    });
  }
  const log = result.build?.log;
  if (!log) {
    throw new RebuildError('input', 'the result records no build log (nothing was built)', {
      subject: resultPath,
      fix: 'run the verification again; a build log exists once the recipe ran',
    });
  }
  const candidates = [
    join(dirname(resolve(resultPath)), 'build', log),
    resolve(result.build?.outDir ?? '', log),
  ];
  for (const c of candidates) {
    if (
      await access(c).then(
        () => true,
        () => false,
      )
    )
      return c;
  }
  throw new RebuildError('input', `the build log ${log} is gone`, {
    subject: candidates[0],
    fix: 'run the verification again (or keep its output directory)',
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('log')
    .description(
      "print a published package's build log; with --diff, compare it with the rebuild's, noise folded",
    )
    .argument('<pkg>', 'pkg, pkg_name, pkg_id or pkg_family; qualify with #bincache, #pkgcache or #<pkg_id>')
    .addOption(archOption())
    .option(
      '--diff [result.json]',
      "align the published log with the rebuild's (default: rebuild-out/<pkg>/<arch>/result.json)",
    );
  addUpstreamOptions(cmd);
  cmd.action(
    action(async (query: string, flags: LogFlags) => {
      const r = await fetchPublishedText(query, flags.arch, flags, 'log');
      if (flags.diff === undefined) {
        process.stderr.write(`# ${r.name} ${r.digest} (${r.size} bytes) from ${r.reference}\n`);
        process.stdout.write(r.text.endsWith('\n') || r.text === '' ? r.text : `${r.text}\n`);
        return ExitCode.ok;
      }
      const resultPath =
        flags.diff === true
          ? join('rebuild-out', r.record.pkgName || r.record.pkg, flags.arch, 'result.json')
          : flags.diff;
      const logPath = await rebuildLogOf(resultPath);
      const d = diffLogs(r.text, await readFile(logPath, 'utf8'));
      process.stdout.write(
        renderLogDiff(d, [`published ${r.name} (${r.digest.slice(0, 19)}…)`, `rebuild ${logPath}`]),
      );
      return ExitCode.ok;
    }),
  );
}
