import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { BIN, REPO } from '../helpers/cli.js';

/**
 * What `rebuild compare` loads, seen in the real CLI process: an identical
 * pair needs the file reader, the hashes and the one report asked for; the
 * forensic routes, the other report formats and the engine are loaded by the
 * work that needs them. Counts modules, never time.
 *
 * The CLI is one bundle (scripts/bundle.mjs) in which every source module is
 * an initialiser named after its path, run at the module's first import; V8's
 * coverage (NODE_V8_COVERAGE) says which of them ran, and which packages'
 * files were loaded.
 */
const dir = mkdtempSync(join(tmpdir(), 'rebuild-compare-loads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BUNDLE = join(REPO, 'dist', 'cli', 'main.cjs');

interface Coverage {
  result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
}

/** Source modules of the bundle that are not behind an initialiser (they run whenever it loads). */
function unwrappedModules(): string[] {
  const { modules } = JSON.parse(readFileSync(join(REPO, 'dist', 'cli', 'meta.json'), 'utf8')) as {
    modules: string[];
  };
  const source = readFileSync(BUNDLE, 'utf8');
  const wrapped = new Set([...source.matchAll(/^ {2}"(src\/[^"]+\.ts)"\(\) \{$/gm)].map((m) => m[1]));
  // The trace must see initialisers, else it would prove nothing.
  expect(wrapped.size).toBeGreaterThan(100);
  return modules.filter((m) => !wrapped.has(m));
}

/** `src/forensics/compare.ts` → `forensics/compare.js`, as the lists below name modules. */
const named = (m: string) => m.replace(/^src\//, '').replace(/\.ts$/, '.js');

async function compareTraced(args: string[]) {
  const coverage = mkdtempSync(join(dir, 'coverage-'));
  const r = await execa('node', [BIN, 'compare', ...args], {
    reject: false,
    cwd: REPO,
    env: { CI: '1', NODE_V8_COVERAGE: coverage },
    stdin: 'ignore',
  });
  const scripts = readdirSync(coverage).flatMap(
    (f) => (JSON.parse(readFileSync(join(coverage, f), 'utf8')) as Coverage).result,
  );
  const bundle = scripts.filter((s) => s.url === BUNDLE || s.url === pathToFileURL(BUNDLE).href);
  expect(bundle.length).toBe(1);
  const ran = bundle[0]!.functions.filter(
    (f) => /^src\/.+\.ts$/.test(f.functionName) && (f.ranges[0]?.count ?? 0) > 0,
  );
  const dist = [...new Set([...unwrappedModules(), ...ran.map((f) => f.functionName)])].map(named);
  return { ...r, dist, urls: scripts.map((s) => s.url) };
}

/** Modules an identical pair never needs (prefixes under dist/). */
const NOT_FOR_IDENTICAL = [
  'forensics/judge.js',
  'forensics/routes/',
  'forensics/proofs/',
  'forensics/pairwise/',
  'forensics/explanations.js',
  'forensics/outside.js',
  'forensics/loader/compare.js',
  'forensics/context.js',
  'forensics/artifact/rules/',
  'forensics/artifact/containers.js',
  'report/html.js',
  'report/markdown.js',
  'postprocess/',
  'upstream/',
  'hash/threads.js',
  'hash/pair.js',
  'util/run-tool.js',
];
/** The engine modules the CLI's signal handling and config use (no Docker client). */
const ENGINE_ALLOWED = ['engine/cleanup.js', 'engine/types.js'];

const unwanted = (dist: string[]) =>
  dist.filter(
    (m) =>
      NOT_FOR_IDENTICAL.some((p) => m.startsWith(p)) ||
      (m.startsWith('engine/') && !ENGINE_ALLOWED.includes(m)),
  );
const packages = (urls: string[], names: string[]) =>
  urls.filter((u) => names.some((n) => u.includes(`/node_modules/${n}/`)));

describe('modules `rebuild compare` loads', () => {
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  copyFileSync('/usr/bin/ls', a);
  copyFileSync('/usr/bin/ls', b);
  const sha256 = createHash('sha256').update(readFileSync(a)).digest('hex');

  it('identical pair, text report: the reader, the hashes and the text renderer only', async () => {
    const r = await compareTraced([a, b]);
    expect(r.exitCode).toBe(ExitCode.ok);
    expect(r.stdout).toMatch(/^IDENTICAL/);
    expect(r.stdout).toContain(sha256);
    // The trace sees the modules it must (else it would prove nothing).
    expect(r.dist).toEqual(
      expect.arrayContaining(['forensics/compare.js', 'hash/digest.js', 'report/text.js']),
    );
    expect(unwanted(r.dist)).toEqual([]);
    expect(packages(r.urls, ['commander']).length).toBeGreaterThan(0); // packages are seen
    expect(packages(r.urls, ['dockerode', 'execa', 'listr2', 'yaml', 'zod'])).toEqual([]);
    // jsdiff's word diff alone, not the package's every diff and patch module.
    expect(packages(r.urls, ['diff/libcjs/diff', 'diff/libesm/diff']).length).toBeGreaterThan(0);
    expect(r.urls.filter((u) => /\/node_modules\/diff\/lib(esm|cjs)\/index\.js$/.test(u))).toEqual([]);
  });

  it('identical pair, --json: no report renderer at all', async () => {
    const r = await compareTraced([a, b, '--json']);
    expect(r.exitCode).toBe(ExitCode.ok);
    const doc = JSON.parse(r.stdout) as { verdict: string; a: { sha256: string }; b: { sha256: string } };
    expect(doc.verdict).toBe('identical');
    expect([doc.a.sha256, doc.b.sha256]).toEqual([sha256, sha256]);
    expect(r.dist.filter((m) => /^report\/(text|markdown|html)\.js$/.test(m))).toEqual([]);
    expect(unwanted(r.dist)).toEqual([]);
  });

  it('differing pair: the forensic routes are loaded and judge it', async () => {
    const r = await compareTraced(['/usr/bin/ls', '/usr/bin/cat', '--json']);
    expect(r.exitCode).toBe(ExitCode.different);
    const doc = JSON.parse(r.stdout) as { verdict: string; route: string; differences: unknown[] };
    expect(doc.verdict).toBe('different');
    expect(doc.route).toBe('accounting');
    expect(doc.differences.length).toBeGreaterThan(0);
    expect(r.dist).toEqual(
      expect.arrayContaining([
        'forensics/judge.js',
        'forensics/routes/loader.js',
        'forensics/outside.js',
        'forensics/explanations.js',
      ]),
    );
  });
});
