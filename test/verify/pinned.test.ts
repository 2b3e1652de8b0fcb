import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedExitCode } from '../../src/cli/exit-codes.js';
import { hashBytes } from '../../src/hash/digest.js';
import { verifyPinned } from '../../src/verify/pinned.js';
import { rebuild } from '../helpers/cli.js';
import {
  type FileServer,
  indexEntry,
  minisignKey,
  startFileServer,
  writeSignedIndex,
  writeSoarPackage,
} from '../helpers/toml-era.js';

const UPSTREAM = 'https://github.com/example/tool/releases/download/v1.0/tool-1.0-x86_64.tar.gz';
const PATH = '/example/tool/releases/download/v1.0/tool-1.0-x86_64.tar.gz';

let server: FileServer;
let root: string;
let tarball: Buffer;
let program: Buffer;

/** A fresh soarpkgs tree (and cache) pinning `tarball`, with the signed index beside it. */
function tree(name: string) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const pkgToml = writeSoarPackage(dir, {
    name: 'tool',
    version: '1.0',
    host: 'x86_64-linux',
    url: UPSTREAM,
    bytes: tarball,
    source: `url = "${UPSTREAM}"\n\n[source.install]\n"tool-1.0/bin/tool" = "bin/tool"\n"tool-1.0/LICENSE" = "LICENSE"`,
  });
  const key = minisignKey(root);
  const index = join(dir, 'metadata-x86_64-linux.json');
  writeSignedIndex(index, [indexEntry({ name: 'tool', version: '1.0', url: UPSTREAM, bytes: tarball })], key);
  return { dir, pkgToml, index, key, cache: join(dir, 'cache'), out: join(dir, 'out') };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'rebuild-pinned-'));
  const src = join(root, 'src', 'tool-1.0');
  mkdirSync(join(src, 'bin'), { recursive: true });
  program = Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(70_000, 3)]);
  writeFileSync(join(src, 'bin', 'tool'), program);
  writeFileSync(join(src, 'LICENSE'), 'MIT\n');
  execFileSync('tar', ['-C', join(root, 'src'), '-czf', join(root, 'tool.tar.gz'), 'tool-1.0']);
  tarball = readFileSync(join(root, 'tool.tar.gz'));
  server = await startFileServer();
  server.files.set(PATH, tarball);
});

afterAll(async () => {
  await server?.stop();
});

describe('a package pinned to an upstream release', { timeout: 60_000 }, () => {
  it('is verified as pinned and signed, with the installed files judged, and says what it cannot prove', async () => {
    const t = tree('ok');
    server.cutOnce.add(PATH); // the first response is cut short: the download is retried
    // an earlier run left the first half behind: this run resumes it with Range
    const half = Math.floor(tarball.length / 2);
    mkdirSync(join(t.cache, 'partial'), { recursive: true });
    writeFileSync(join(t.cache, 'partial', `${hashBytes(tarball).blake3}.part`), tarball.subarray(0, half));
    const r = await verifyPinned({
      target: t.pkgToml,
      arch: 'x86_64',
      outDir: t.out,
      cacheDir: t.cache,
      index: t.index,
      indexKey: readFileSync(t.key.pub, 'utf8'),
      urlMirrors: { 'https://github.com': server.url },
    });
    expect(r.verdict).toBe('pinned');
    expect(pinnedExitCode(r)).toBe(13);
    expect(r.checks.map((c) => [c.field, c.ok])).toEqual([
      ['size', true],
      ['blake3', true],
      ['sha256', true],
    ]);
    expect(r.index?.signature).toBe('valid');
    expect(r.artifact.resumedFrom).toBe(half);
    expect(server.ranges).toContain(`bytes=${half}-`);
    const tool = r.install?.installed.find((f) => f.to === 'bin/tool');
    expect(tool?.blake3).toBe(hashBytes(program).blake3);
    expect(readFileSync(join(t.out, 'installed', 'bin', 'tool')).equals(program)).toBe(true);
    expect(r.notVerified.join('\n')).toMatch(/no recipe here to rebuild it/);
    // the second run takes the verified bytes from the cache
    const again = await verifyPinned({ target: t.pkgToml, arch: 'x86_64', outDir: t.out, cacheDir: t.cache });
    expect(again.artifact.fromCache).toBe(true);
    expect(again.notVerified.join('\n')).toMatch(/index signature: no index was given/);
  });

  it('is an integrity failure when the bytes at the URL no longer match the pinned BLAKE3', async () => {
    const t = tree('tampered');
    const other = Buffer.from(tarball);
    other[other.length - 20]! ^= 0xff;
    server.files.set(PATH, other);
    try {
      const r = await verifyPinned({
        target: t.pkgToml,
        arch: 'x86_64',
        outDir: t.out,
        cacheDir: t.cache,
        urlMirrors: { 'https://github.com': server.url },
      });
      expect(r.verdict).toBe('upstream-integrity');
      expect(pinnedExitCode(r)).toBe(6);
      expect(r.checks.find((c) => c.field === 'blake3')?.ok).toBe(false);
      expect(r.summary).toMatch(/do not match blake3/);
      expect(r.install).toBeUndefined(); // nothing is unpacked from bytes that failed their pins
      expect(readFileSync(join(t.out, 'artifact.mismatch')).equals(other)).toBe(true);
    } finally {
      server.files.set(PATH, tarball);
    }
  });

  it('is an integrity failure when the index signature does not verify, before any download', async () => {
    const t = tree('badsig');
    const text = readFileSync(t.index, 'utf8').replace('"version": "1.0"', '"version": "1.0" ');
    writeFileSync(t.index, text);
    const before = server.ranges.length;
    const r = await verifyPinned({
      target: t.pkgToml,
      arch: 'x86_64',
      outDir: t.out,
      cacheDir: t.cache,
      index: t.index,
      indexKey: readFileSync(t.key.pub, 'utf8'),
      urlMirrors: { 'https://github.com': server.url },
    });
    expect(r.verdict).toBe('upstream-integrity');
    expect(r.summary).toMatch(/signature does not match the file/);
    expect(r.artifact.path).toBeUndefined();
    expect(server.ranges.length).toBe(before);
  });

  it('refuses an install map that leaves the package directory', async () => {
    const t = tree('escape');
    const p = readFileSync(t.pkgToml, 'utf8').replace('= "bin/tool"', '= "../../bin/tool"');
    writeFileSync(t.pkgToml, p);
    const r = await verifyPinned({ target: t.pkgToml, arch: 'x86_64', outDir: t.out, cacheDir: t.cache });
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toMatch(/leaves the package directory/);
  });

  it('through the CLI: `rebuild <pkg> --soarpkgs DIR` exits 13 and prints what was and was not verified', async () => {
    const t = tree('cli');
    const res = await rebuild([
      'tool',
      '--soarpkgs',
      t.dir,
      '--arch',
      'x86_64',
      '--out',
      t.out,
      '--cache-dir',
      t.cache,
      '--metadata',
      t.index,
      '--index-key',
      t.key.pub,
      '--url-mirror',
      `https://github.com=${server.url}`,
    ]);
    expect(res.exitCode).toBe(13);
    expect(res.stdout).toMatch(/tool 1\.0 \(x86_64-linux\): PINNED/);
    expect(res.stdout).toMatch(/signature valid/);
    expect(res.stdout).toMatch(/not verified:/);
  }, 60_000);
});
