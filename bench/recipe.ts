/**
 * `rebuild recipe` on a whole recipes tree (issue 2, section 3: "a whole
 * recipes tree at once must take seconds"). Copies the real fixtures into a
 * temporary tree of about 3000 files, then measures:
 *   1. runRecipeCommand in this process (listing, reading, parsing, JSON);
 *   2. the CLI as a user runs it (bin/rebuild.js), wall time including start-up.
 * Prints files/s for each. Environment: BENCH_RECIPE_FILES=<n> (default 3000).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { runRecipeCommand } from '../src/cli/commands/recipe.js';

const ROOT = join(import.meta.dirname, '..');
const REAL = join(ROOT, 'test', 'recipe', 'fixtures', 'real');

export async function run(log: (line: string) => void): Promise<string[]> {
  const target = Number(process.env.BENCH_RECIPE_FILES ?? 3000);
  const fixtures = readdirSync(REAL).filter((f) => f.endsWith('.yaml'));
  const dir = mkdtempSync(join(tmpdir(), 'rebuild-bench-recipes-'));
  try {
    let n = 0;
    for (let i = 0; n < target; i++) {
      const sub = join(dir, `d${String(i).padStart(4, '0')}`);
      mkdirSync(sub);
      for (const f of fixtures) {
        if (n >= target) break;
        copyFileSync(join(REAL, f), join(sub, f));
        n++;
      }
    }
    log(`tree: ${n} recipes in ${dir}`);

    let bytes = 0;
    let lines = 0;
    const t0 = performance.now();
    const code = runRecipeCommand([dir], { json: true }, (chunk) => {
      bytes += chunk.length;
      lines += chunk.split('\n').length - 1;
    });
    const inProc = (performance.now() - t0) / 1000;
    if (code !== 0 || lines !== n)
      throw new Error(`in-process run: exit ${code}, ${lines} lines for ${n} files`);
    log(
      `in process: ${inProc.toFixed(2)} s, ${(n / inProc).toFixed(0)} files/s, ${(bytes / 1024).toFixed(0)} KiB of JSON`,
    );

    // The CLI as a user runs it: bin/rebuild.js on the built dist/.
    const t1 = performance.now();
    const r = await execa(process.execPath, [join(ROOT, 'bin', 'rebuild.js'), 'recipe', '--json', dir], {
      cwd: ROOT,
      reject: false,
      maxBuffer: 512 * 1024 * 1024,
    });
    const proc = (performance.now() - t1) / 1000;
    const procLines = r.stdout.split('\n').filter((l) => l !== '').length;
    if (r.exitCode !== 0 || procLines !== n)
      throw new Error(`CLI run: exit ${r.exitCode}, ${procLines} lines for ${n} files`);
    log(
      `CLI process (whole process, start-up included): ${proc.toFixed(2)} s, ${(n / proc).toFixed(0)} files/s`,
    );

    return [
      `recipe tree of ${n} files: in process ${(n / inProc).toFixed(0)} files/s (${inProc.toFixed(2)} s)`,
      `recipe tree of ${n} files: CLI process ${(n / proc).toFixed(0)} files/s (${proc.toFixed(2)} s wall)`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
