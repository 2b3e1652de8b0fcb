/**
 * Vitest global set-up: the CLI and engine tests run bin/rebuild.js, which
 * imports the compiled dist/ (git-ignored). Rebuild it when any source file
 * is newer than its compiled file (or has none), so that a run never tests
 * an older build than the code it reads.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function stale(): string | undefined {
  for (const src of sources(join(ROOT, 'src'))) {
    const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), src).replace(/\.ts$/, '.js'));
    let built: number;
    try {
      built = statSync(out).mtimeMs;
    } catch {
      return `${relative(ROOT, out)} is missing`;
    }
    if (statSync(src).mtimeMs > built) return `${relative(ROOT, src)} is newer than its build`;
  }
  return undefined;
}

export default function setup(): void {
  const why = stale();
  if (!why) return;
  process.stderr.write(`test set-up: building dist/ (${why})\n`);
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}
