/**
 * pkgforge/builds rebuilt end to end on loopback servers: a git daemon
 * holding the source pinned by commit, the distribution registry holding a
 * tiny builder image pinned by digest, an HTTP server holding the archive
 * published by build.py's logic run in Python (its own `git fetch` and
 * `docker run`), and a soarpkgs tree pinning that archive.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildBuildsToml } from '../../../src/build/builds/rebuild.js';
import { verifyPinned } from '../../../src/verify/pinned.js';
import { renderPinnedText } from '../../../src/verify/pinned-report.js';
import { rebuild } from '../../helpers/cli.js';
import { type GitServer, makeRepo, startGitDaemon } from '../../helpers/git-server.js';
import { type RunningServer, startRegistry } from '../../helpers/registry.js';
import { pushTinyImage } from '../../helpers/tiny-image.js';
import { type FileServer, startFileServer, writeSoarPackage } from '../../helpers/toml-era.js';

const PUBLISH = join(import.meta.dirname, '..', '..', 'helpers', 'builds_publish.py');
const EPOCH = 1754000000;
const RELEASE =
  'https://github.com/pkgforge/builds/releases/download/hello-1.0/hello-1.0-x86_64-linux.tar.gz';

let root: string;
let registry: RunningServer;
let git: GitServer;
let files: FileServer;
let commit: string;
let digest: string;
let buildsTree: string;
let published: Buffer;

function buildToml(pinnedCommit: string): string {
  return `[pkg]
name        = "hello"
description = "a tiny shell-built program"
license     = ["MIT"]
reason      = "test"

[source]
git     = "${git.url}/hello"
commit  = "${pinnedCommit}"
version = "1.0"

[build]
image = "docker.io/library/hello-builder@${digest}"
hosts = ["x86_64-linux"]

[build.target]
x86_64-linux = "x86_64-unknown-linux-musl"

[build.env]
GREETING = "hello"

[build.script]
run = """
mkdir -p "target/$TARGET/release"
cp /bin/busybox "target/$TARGET/release/hello-bin"
printf '#!/bin/sh\\necho "%s from %s, built at %s (TZ=%s LC_ALL=%s CARGO_HOME=%s)"\\n' "$GREETING" "$TARGET" "$SOURCE_DATE_EPOCH" "$TZ" "$LC_ALL" "$CARGO_HOME" > hello
cat greeting.txt >> hello
"""

[artifact]
"target/\${target}/release/hello-bin" = "hello-bin"
"hello"                               = "hello"
"LICENSE"                             = "LICENSE"
`;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'rebuild-builds-'));
  registry = await startRegistry();
  mkdirSync(join(root, 'git'));
  commit = makeRepo(
    join(root, 'git'),
    'hello',
    { LICENSE: 'MIT License\n', 'greeting.txt': '# greetings\n' },
    EPOCH,
  );
  git = await startGitDaemon(join(root, 'git'));
  digest = await pushTinyImage(registry.host, 'library/hello-builder', 'v1');
  buildsTree = join(root, 'builds');
  mkdirSync(join(buildsTree, 'packages', 'hello'), { recursive: true });
  writeFileSync(join(buildsTree, 'packages', 'hello', 'build.toml'), buildToml(commit));
  // publish as pkgforge does: build.py's steps in Python, its own docker run of the image by digest
  const pubDir = join(root, 'published');
  mkdirSync(pubDir);
  const archive = execFileSync(
    'python3',
    [
      PUBLISH,
      join(buildsTree, 'packages', 'hello', 'build.toml'),
      'x86_64-linux',
      `${registry.host}/library/hello-builder@${digest}`,
      pubDir,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
    .toString()
    .trim();
  published = readFileSync(archive);
  files = await startFileServer();
  files.files.set('/pkgforge/builds/releases/download/hello-1.0/hello-1.0-x86_64-linux.tar.gz', published);
}, 300_000);

afterAll(async () => {
  // the image this test pushed and pulled (by its loopback name): ours to remove
  if (digest)
    execFileSync('sh', [
      '-c',
      `docker image rm -f $(docker images -q ${registry.host}/library/hello-builder) 2>/dev/null || true`,
    ]);
  await files?.stop();
  await git?.stop();
  await registry?.stop();
});

function soarTree(name: string, bytes: Buffer): string {
  return writeSoarPackage(join(root, name), {
    name: 'hello',
    version: '1.0',
    host: 'x86_64-linux',
    url: RELEASE,
    bytes,
    source: `url = "${RELEASE}"\n\n[source.install]\n"hello" = "bin/hello"\n"hello-bin" = "bin/hello-bin"`,
  });
}

describe('pkgforge/builds rebuilt like build.py', () => {
  it('`rebuild build build.toml` writes the archive Python published, byte for byte', async () => {
    const out = join(root, 'cli-build');
    const res = await rebuild([
      'build',
      join(buildsTree, 'packages', 'hello', 'build.toml'),
      '--arch',
      'x86_64',
      '--out',
      out,
      '--registry-mirror',
      `docker.io=${registry.url}`,
      '--quiet',
    ]);
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    const rebuilt = readFileSync(join(out, 'hello-1.0-x86_64-linux.tar.gz'));
    expect(rebuilt.equals(published)).toBe(true);
    const result = JSON.parse(readFileSync(join(out, 'builds-result.json'), 'utf8'));
    expect(result.source).toEqual({ kind: 'git', commit, epoch: EPOCH });
    expect(result.image.digest).toBe(digest);
    expect(result.stage.map((s: { name: string; mode: string }) => [s.name, s.mode])).toEqual([
      ['hello-bin', '0755'],
      ['hello', '0644'],
      ['LICENSE', '0644'],
    ]);
  });

  it('`rebuild <pkg>` of a pkgforge/builds archive: pinned bytes verified, then rebuilt: reproducible', async () => {
    const pkgToml = soarTree('soar-ok', published);
    const r = await verifyPinned({
      target: pkgToml,
      arch: 'x86_64',
      outDir: join(root, 'verify-ok'),
      cacheDir: join(root, 'cache-ok'),
      buildsTree,
      registryMirrors: { 'docker.io': registry.url },
      urlMirrors: { 'https://github.com': files.url },
    });
    expect(r.error).toBeUndefined();
    expect(r.package.origin).toBe('pkgforge/builds');
    expect(r.verdict).toBe('reproducible');
    expect(r.install?.installed.map((f) => f.to)).toEqual(['bin/hello', 'bin/hello-bin']);
    const hello = readFileSync(join(root, 'verify-ok', 'installed', 'bin', 'hello'), 'utf8');
    expect(hello).toContain(
      `hello from x86_64-unknown-linux-musl, built at ${EPOCH} (TZ=UTC LC_ALL=C CARGO_HOME=/build/.cargo)`,
    );
  });

  /** Verifies a soarpkgs package pinning `bytes` (served as the release), rebuilding it from the builds tree. */
  async function verifyServed(name: string, bytes: Buffer) {
    const path = '/pkgforge/builds/releases/download/hello-1.0/hello-1.0-x86_64-linux.tar.gz';
    files.files.set(path, bytes);
    try {
      return await verifyPinned({
        target: soarTree(name, bytes),
        arch: 'x86_64',
        outDir: join(root, `verify-${name}`),
        cacheDir: join(root, `cache-${name}`),
        buildsTree,
        registryMirrors: { 'docker.io': registry.url },
        urlMirrors: { 'https://github.com': files.url },
      });
    } finally {
      files.files.set(path, published);
    }
  }

  it('one byte changed in a member: the pin verifies, the rebuild is different and names the member', async () => {
    const tarBytes = gunzipSync(published);
    const at = tarBytes.indexOf('# greetings');
    expect(at).toBeGreaterThan(0);
    tarBytes[at + 2] = 'G'.charCodeAt(0);
    // the same gzip layer as build.py's (level 9, mtime 0): only the member differs
    const altered = execFileSync(
      'python3',
      ['-c', 'import gzip,sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 9, mtime=0))'],
      {
        input: tarBytes,
      },
    );
    const r = await verifyServed('member', altered);
    expect(r.checks.every((c) => c.ok)).toBe(true);
    expect(r.verdict).toBe('different');
    expect(r.rebuild?.metadataOnly).toBe(false);
    expect(r.rebuild?.members.filter((m) => m.verdict !== 'identical').map((m) => m.path)).toEqual(['hello']);
    expect(r.summary).toMatch(/member\(s\) hello/);
    // --exclude (rebuild <pkg> --exclude hello): the member leaves the text, said so; the verdict stays
    expect(renderPinnedText(r)).toMatch(/member {4}hello: different/);
    const excluded = renderPinnedText(r, { exclude: ['hello'] });
    expect(excluded).not.toMatch(/member {4}hello: different/);
    expect(excluded).toContain('1 member left out by --exclude (still counted in the verdict): hello');
    expect(excluded).toMatch(/: DIFFERENT\n/);
  });

  it('archive metadata changed only (the gzip header mtime): every member the same, and said so', async () => {
    const altered = Buffer.from(published);
    altered.writeUInt32LE(EPOCH, 4);
    const r = await verifyServed('meta', altered);
    expect(r.checks.every((c) => c.ok)).toBe(true);
    expect(r.rebuild?.metadataOnly).toBe(true);
    expect(r.rebuild?.members.every((m) => m.verdict === 'identical')).toBe(true);
    // build.py never writes another gzip mtime, so nothing explains it: not reproducible, not equivalent
    expect(r.verdict).toBe('different');
    expect(r.summary).toMatch(/every member is the same/);
  });

  it('a wrong pinned commit is refused before anything is built', async () => {
    const dir = join(root, 'wrong', 'packages', 'hello');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'build.toml'), buildToml('e'.repeat(40)));
    const out = join(root, 'wrong-out');
    await expect(
      rebuildBuildsToml({
        recipePath: join(dir, 'build.toml'),
        host: 'x86_64-linux',
        outDir: out,
        registryMirrors: { 'docker.io': registry.url },
      }),
    ).rejects.toThrow(/pinned commit e{40} cannot be fetched/);
    expect(existsSync(join(out, 'build.log'))).toBe(false);
    expect(existsSync(join(out, 'hello-1.0-x86_64-linux.tar.gz'))).toBe(false);
  });
});
