/**
 * `npm run bench [-- NAME...]`: runs every bench/<name>.ts module's exported
 * `run(log)` (or only the named ones), printing progress as it comes and each
 * module's summary lines at the end.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchModule {
  /** Runs the benchmark; `log` prints progress now; the returned lines are the summary. */
  run(log: (line: string) => void): Promise<string[]>;
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const here = import.meta.dirname;
  const names = (await readdir(here))
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .filter((n) => wanted.length === 0 || wanted.includes(n))
    .sort();
  if (names.length === 0) {
    process.stderr.write(`bench: nothing to run (asked for: ${wanted.join(', ') || 'all'})\n`);
    return 2;
  }
  let failed = 0;
  const summaries: string[] = [];
  for (const name of names) {
    const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as Partial<BenchModule>;
    if (typeof mod.run !== 'function') continue;
    process.stdout.write(`\n== bench ${name} ==\n`);
    try {
      const lines = await mod.run((line) => process.stdout.write(`  ${line}\n`));
      summaries.push(`-- ${name}`, ...lines);
    } catch (err) {
      failed++;
      const msg = err instanceof Error ? err.message : String(err);
      summaries.push(`-- ${name}: FAILED: ${msg}`);
    }
  }
  process.stdout.write(`\n== summary ==\n${summaries.join('\n')}\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
