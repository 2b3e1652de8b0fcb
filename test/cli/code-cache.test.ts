import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { BIN, REPO } from '../helpers/cli.js';

/**
 * bin/load-cli.js runs dist/cli/main.cjs with the V8 code cache the build
 * made of it. The cache must be taken when it is the bundle's, and a cache
 * that is not (another build's, or damaged) must only cost a slower start:
 * the CLI runs its own code and prints the same report.
 */
const CACHE = join(REPO, 'dist', 'cli', 'main.cjs.cache');
// A copy of the installed CLI inside the repository, so that its packages resolve from node_modules.
const COPY = join(REPO, 'test', '.cache', `code-cache-${process.pid}`);
afterAll(() => rmSync(COPY, { recursive: true, force: true }));

const compare = (bin: string, ...files: string[]) =>
  execa('node', [bin, 'compare', ...files, '--json'], { reject: false, env: { CI: '1' }, stdin: 'ignore' });

/** The report without its timing (the one field that differs between runs). */
const report = (stdout: string) => {
  const { durationMs: _, ...rest } = JSON.parse(stdout) as { durationMs: number };
  return rest;
};

describe('the CLI and its code cache', () => {
  it('the build made a cache of this bundle, and V8 takes it', async () => {
    const { cacheHeader, loadCli } = (await import(join(REPO, 'bin', 'load-cli.js'))) as {
      cacheHeader: () => Buffer;
      loadCli: () => { cacheRejected: boolean; script: { cachedDataRejected?: boolean } };
    };
    const header = cacheHeader();
    expect(readFileSync(CACHE).subarray(0, header.length).equals(header)).toBe(true);
    const loaded = loadCli();
    expect(loaded.script.cachedDataRejected).toBe(false);
    expect(loaded.cacheRejected).toBe(false);
  });

  it("with a cache that is not the bundle's (another build's, or damaged) the CLI prints the same reports", async () => {
    mkdirSync(join(COPY, 'dist'), { recursive: true });
    cpSync(join(REPO, 'bin'), join(COPY, 'bin'), { recursive: true });
    cpSync(join(REPO, 'dist', 'cli'), join(COPY, 'dist', 'cli'), { recursive: true });
    copyFileSync(join(REPO, 'package.json'), join(COPY, 'package.json'));
    const bin = join(COPY, 'bin', 'rebuild.js');
    const bundle = join(COPY, 'dist', 'cli', 'main.cjs');
    const cache = join(COPY, 'dist', 'cli', 'main.cjs.cache');
    const pairs = [
      ['/bin/true', '/bin/true'],
      ['/bin/true', '/bin/false'],
    ] as const;
    const expected = await Promise.all(pairs.map((p) => compare(BIN, ...p)));
    expect(expected.map((r) => r.exitCode)).toEqual([ExitCode.ok, ExitCode.different]);

    // The copy's bundle has another modification time than its cache's header names.
    utimesSync(bundle, new Date(), new Date(Date.now() - 3_600_000));
    for (const [i, p] of pairs.entries()) {
      const r = await compare(bin, ...p);
      expect(r.exitCode).toBe(expected[i]!.exitCode);
      expect(report(r.stdout)).toEqual(report(expected[i]!.stdout));
    }

    // A header that names the bundle and bytes V8 refuses: compiled as usual.
    const { cacheHeader } = (await import(join(COPY, 'bin', 'load-cli.js'))) as {
      cacheHeader: (bundle?: string) => Buffer;
    };
    writeFileSync(cache, Buffer.concat([cacheHeader(bundle), Buffer.alloc(4096, 0x5a)]));
    for (const [i, p] of pairs.entries()) {
      const r = await compare(bin, ...p);
      expect(r.exitCode).toBe(expected[i]!.exitCode);
      expect(report(r.stdout)).toEqual(report(expected[i]!.stdout));
    }
  });

  it('a bundle changed with its size and modification time kept runs its own code, not the cached one', async () => {
    // V8 checks no more of a cache than its own version and the source's length.
    const bin = join(COPY, 'bin', 'rebuild.js');
    const bundle = join(COPY, 'dist', 'cli', 'main.cjs');
    const cache = join(COPY, 'dist', 'cli', 'main.cjs.cache');
    const at = new Date('2026-01-01T00:00:00Z');
    rmSync(COPY, { recursive: true, force: true });
    mkdirSync(join(COPY, 'dist'), { recursive: true });
    cpSync(join(REPO, 'bin'), join(COPY, 'bin'), { recursive: true });
    cpSync(join(REPO, 'dist', 'cli'), join(COPY, 'dist', 'cli'), { recursive: true });
    copyFileSync(join(REPO, 'package.json'), join(COPY, 'package.json'));
    const { cacheHeader, loadCli } = (await import(join(COPY, 'bin', 'load-cli.js'))) as {
      cacheHeader: (bundle?: string) => Buffer;
      // cachedDataRejected is false only for a cache given to V8 and taken.
      loadCli: (o?: { useCache?: boolean }) => {
        script: { cachedDataRejected?: boolean; createCachedData(): Buffer };
      };
    };
    const text = (f: string) =>
      execa('node', [f, 'compare', '/bin/true', '/bin/false'], {
        reject: false,
        env: { CI: '1' },
        stdin: 'ignore',
      });
    // The copy's cache, its header made for the copy at a time of its own (V8's part as built).
    utimesSync(bundle, at, at);
    const built = readFileSync(cache);
    writeFileSync(cache, Buffer.concat([cacheHeader(bundle), built.subarray(built.indexOf(10) + 1)]));
    expect(loadCli().script.cachedDataRejected).toBe(false);
    expect((await text(bin)).stdout).toContain('DIFFERENT — code or data differs');
    // The same size, and (as cp -p, rsync -a, tar or npm's tarballs keep or set it) the same time.
    const source = readFileSync(bundle, 'utf8');
    expect(source.split('code or data differs').length).toBe(2);
    writeFileSync(bundle, source.replace('code or data differs', 'CODE OR DATA DIFFERS'));
    utimesSync(bundle, at, at);
    expect(readFileSync(bundle).length).toBe(Buffer.byteLength(source));
    const r = await text(bin);
    expect(r.exitCode).toBe(ExitCode.different);
    expect(r.stdout).toContain('DIFFERENT — CODE OR DATA DIFFERS');
    // Its own cache, made once more, is taken whatever the file's time (an npm install sets one for all).
    writeFileSync(
      cache,
      Buffer.concat([cacheHeader(bundle), loadCli({ useCache: false }).script.createCachedData()]),
    );
    utimesSync(bundle, new Date(), new Date(Date.now() - 86_400_000));
    expect(loadCli().script.cachedDataRejected).toBe(false);
    expect((await text(bin)).stdout).toContain('DIFFERENT — CODE OR DATA DIFFERS');
  });

  it('a CLI that is not built says so and how to build it', async () => {
    rmSync(join(COPY, 'dist'), { recursive: true, force: true });
    const r = await compare(join(COPY, 'bin', 'rebuild.js'), '/bin/true', '/bin/true');
    expect(r.exitCode).toBe(ExitCode.environment);
    expect(r.stderr).toMatch(/the CLI is not built .*main\.cjs.*run `npm run build`/);
  });
});
