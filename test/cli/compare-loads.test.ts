import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { BIN, REPO } from '../helpers/cli.js';

/**
 * What `rebuild compare` loads, listed by a resolve hook in the real CLI
 * process: an identical pair needs the file reader, the hashes and the one
 * report asked for; the forensic routes, the other report formats and the
 * engine are loaded by the work that needs them. Counts modules, never time.
 */
const dir = mkdtempSync(join(tmpdir(), 'rebuild-compare-loads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIST = `${pathToFileURL(join(REPO, 'dist', 'cli')).href}/`;
const TRACER = join(REPO, 'test/helpers/trace-modules.mjs');

/**
 * The source modules in each file of the bundle (scripts/bundle.mjs writes
 * the list): loading a file runs every module in it, so the modules a process
 * loaded are those of the files it resolved, named as under src/ (`forensics/compare.js`).
 */
function sourceModules(files: string[]): string[] {
  const held = JSON.parse(readFileSync(join(REPO, 'dist', 'cli', 'meta.json'), 'utf8')) as Record<
    string,
    string[]
  >;
  return files.flatMap((f) => {
    const inputs = held[f];
    if (!inputs) throw new Error(`dist/cli/${f} is not in dist/cli/meta.json: a stale build?`);
    return inputs.map((m) => m.replace(/^src\//, '').replace(/\.ts$/, '.js'));
  });
}

async function compareTraced(args: string[]) {
  const trace = join(dir, `trace-${Math.random().toString(36).slice(2)}.txt`);
  const r = await execa('node', ['--import', TRACER, BIN, 'compare', ...args], {
    reject: false,
    cwd: REPO,
    env: { CI: '1', REBUILD_TRACE_MODULES: trace },
    stdin: 'ignore',
  });
  const urls = new Set(readFileSync(trace, 'utf8').split('\n').filter(Boolean));
  const dist = sourceModules([...urls].filter((u) => u.startsWith(DIST)).map((u) => u.slice(DIST.length)));
  return { ...r, dist, urls: [...urls] };
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
    expect(packages(r.urls, ['dockerode', 'execa', 'listr2', 'yaml', 'zod'])).toEqual([]);
    // jsdiff's word diff alone, not the package's every diff and patch module.
    expect(r.urls.filter((u) => u.endsWith('/node_modules/diff/libesm/index.js'))).toEqual([]);
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
