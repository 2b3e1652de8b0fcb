/**
 * `npm run bench [-- NAME...]`: runs every bench/<name>.ts module's exported
 * `run(log)` (or only the named ones), each in a fresh Node process so that no
 * bench inherits another's heap, JIT or page-cache warm-up. Prints progress as
 * it comes, then each module's summary lines, with the machine and the date.
 * `npm run build` first: the benches run the CLI as a user does, from dist/.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchModule {
  /** Runs the benchmark; `log` prints progress now; the returned lines are the summary. */
  run(log: (line: string) => void): Promise<string[]>;
}

const here = import.meta.dirname;
const MODULES = new Set(['index', 'measure']);

/** In the child: run one module, write its summary lines to the file named. */
async function runChild(name: string, summaryFile: string): Promise<number> {
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as Partial<BenchModule>;
  if (typeof mod.run !== 'function') return 0;
  const { writeFileSync } = await import('node:fs');
  try {
    const lines = await mod.run((line) => process.stdout.write(`  ${line}\n`));
    writeFileSync(summaryFile, JSON.stringify(lines));
    return 0;
  } catch (err) {
    writeFileSync(
      summaryFile,
      JSON.stringify([`FAILED: ${err instanceof Error ? err.message : String(err)}`]),
    );
    return 1;
  }
}

function machine(): string {
  const cpu = cpus();
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {}
  return `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${kernel}, Node ${process.versions.node}`;
}

function main(): number {
  const child = process.env.REBUILD_BENCH_CHILD;
  if (child) return -1;
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .filter((n) => !MODULES.has(n) && (wanted.length === 0 || wanted.includes(n)))
    .sort();
  if (names.length === 0) {
    process.stderr.write(`bench: nothing to run (asked for: ${wanted.join(', ') || 'all'})\n`);
    return 2;
  }
  if (!existsSync(join(here, '..', 'dist', 'cli', 'main.cjs'))) {
    process.stderr.write('bench: dist/ is missing: run `npm run build` first\n');
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'rebuild-bench-'));
  let failed = 0;
  const summaries: string[] = [];
  try {
    for (const name of names) {
      process.stdout.write(`\n== bench ${name} ==\n`);
      const summaryFile = join(dir, `${name}.json`);
      const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename], {
        stdio: 'inherit',
        env: { ...process.env, REBUILD_BENCH_CHILD: name, REBUILD_BENCH_SUMMARY: summaryFile },
      });
      let lines: string[] = [`FAILED: the bench process exited ${r.status ?? r.signal}`];
      try {
        lines = JSON.parse(readFileSync(summaryFile, 'utf8')) as string[];
      } catch {}
      if (r.status !== 0) failed++;
      summaries.push(`-- ${name}`, ...lines);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\n== summary (${new Date().toISOString().slice(0, 16)}Z; ${machine()}) ==\n${summaries.join('\n')}\n`,
  );
  return failed > 0 ? 1 : 0;
}

const code = main();
process.exitCode =
  code === -1 ? await runChild(process.env.REBUILD_BENCH_CHILD!, process.env.REBUILD_BENCH_SUMMARY!) : code;
