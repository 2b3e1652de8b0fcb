/**
 * Vitest global set-up: the CLI and engine tests run bin/rebuild.js, which
 * imports the bundled dist/ (git-ignored, scripts/bundle.mjs). Rebuild it
 * when any source file is newer than the bundle (or there is none), so that a
 * run never tests an older build than the code it reads.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
/** Written last by every bundle: its time is the build's. */
const STAMP = join(ROOT, 'dist', 'cli', 'meta.json');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function stale(): string | undefined {
  let built: number;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    return `${relative(ROOT, STAMP)} is missing`;
  }
  const build = ['scripts/bundle.mjs', 'scripts/make-code-cache.mjs', 'bin/load-cli.js'];
  for (const src of [...sources(join(ROOT, 'src')), ...build.map((f) => join(ROOT, f))]) {
    if (statSync(src).mtimeMs > built) return `${relative(ROOT, src)} is newer than the build`;
  }
  return undefined;
}

export default function setup(): void {
  const why = stale();
  if (!why) return;
  process.stderr.write(`test set-up: bundling dist/ (${why})\n`);
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs')], { cwd: ROOT, stdio: 'inherit' });
}
