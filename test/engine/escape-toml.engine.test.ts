/**
 * Red-team cases for the TOML era (pkgforge/builds): the build script
 * writes its whole source tree, so every path rebuild touches there after
 * the build is the attacker's. Each case writes its expected outcome first.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildBuildsToml } from '../../src/build/builds/rebuild.js';
import { type GitServer, makeRepo, startGitDaemon } from '../helpers/git-server.js';
import { type RunningServer, startRegistry } from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/tiny-image.js';
import { type FileServer, startFileServer } from '../helpers/toml-era.js';

const EXTRA = Buffer.from("bytes of the attacker's choosing, pinned by the recipe\n");
const EXTRA_SHA = createHash('sha256').update(EXTRA).digest('hex');
const VICTIM_TEXT = 'the host file, untouched\n';

let root: string;
let victim: string;
let registry: RunningServer;
let git: GitServer;
let files: FileServer;
let commit: string;
let digest: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'rebuild-escape-toml-'));
  victim = join(root, 'victim');
  mkdirSync(victim);
  registry = await startRegistry();
  mkdirSync(join(root, 'git'));
  commit = makeRepo(join(root, 'git'), 'evil', { LICENSE: 'MIT License\n' }, 1754000000);
  git = await startGitDaemon(join(root, 'git'));
  digest = await pushTinyImage(registry.host, 'library/escape-builder', 'v1');
  files = await startFileServer();
  files.files.set('/extra.txt', EXTRA);
}, 300_000);

afterAll(async () => {
  if (digest)
    execFileSync('sh', [
      '-c',
      `docker image rm -f $(docker images -q ${registry.host}/library/escape-builder) 2>/dev/null || true`,
    ]);
  await files?.stop();
  await git?.stop();
  await registry?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

function buildToml(run: string, extraTo: string): string {
  return `[pkg]
name        = "evil"
description = "hostile"
license     = ["MIT"]
reason      = "test"

[source]
git     = "${git.url}/evil"
commit  = "${commit}"
version = "1.0"

[build]
image = "docker.io/library/escape-builder@${digest}"
hosts = ["x86_64-linux"]

[build.target]
x86_64-linux = "x86_64-unknown-linux-musl"

[build.script]
run = """
${run}
"""

[artifact]
"LICENSE" = "LICENSE"

[[extra]]
url    = "${files.url}/extra.txt"
sha256 = "${EXTRA_SHA}"
to     = "${extraTo}"
`;
}

async function build(name: string, toml: string) {
  const dir = join(root, name);
  mkdirSync(join(dir, 'packages', 'evil'), { recursive: true });
  const recipePath = join(dir, 'packages', 'evil', 'build.toml');
  writeFileSync(recipePath, toml);
  return rebuildBuildsToml({
    recipePath,
    host: 'x86_64-linux',
    outDir: join(dir, 'out'),
    registryMirrors: { 'docker.io': registry.url },
  }).then(
    (r) => ({ ok: true as const, r }),
    (err: unknown) => ({ ok: false as const, err }),
  );
}

describe("TOML era: paths in the source tree after the build are the attacker's", () => {
  it('an [[extra]] whose destination the build replaced with a link to a host file: the host file is untouched', async () => {
    // Expected: the extra is not written through the link (refused with a clear error, or the link replaced);
    // the victim file keeps its bytes.
    const file = join(victim, 'file');
    writeFileSync(file, VICTIM_TEXT);
    const out = await build('extra-file-link', buildToml(`busybox ln -s ${file} planted`, 'planted'));
    expect(readFileSync(file, 'utf8')).toBe(VICTIM_TEXT);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(String(out.err)).toMatch(/is a symlink/);
  }, 300_000);

  it('an [[extra]] below a directory the build replaced with a link to a host directory: nothing lands there', async () => {
    // Expected: refused before the build runs (build.py cannot stage an extra below a directory, so
    // pkgforge never published one); no file appears in the victim directory, no work tree is made.
    const dir = join(victim, 'dir');
    mkdirSync(dir);
    const out = await build('extra-dir-link', buildToml(`busybox ln -s ${dir} sub`, 'sub/x'));
    expect(execFileSync('ls', ['-A', dir]).toString()).toBe('');
    expect(out.ok).toBe(false);
    if (!out.ok) expect(String(out.err)).toMatch(/extra\[0\]\.to "sub\/x" is below a directory/);
    expect(existsSync(join(root, 'extra-dir-link', 'out', 'work'))).toBe(false);
  }, 300_000);

  it('an [[extra]] beside what the build wrote is still written and staged (the ordinary case)', async () => {
    // Expected: the build succeeds; the extra lands in the source tree beside what the build wrote.
    const out = await build('extra-plain', buildToml('busybox mkdir -p kept', 'extra.txt'));
    expect(out.ok ? 'built' : String(out.err)).toBe('built');
    expect(readFileSync(join(root, 'extra-plain', 'out', 'work', 'stage', 'extra.txt'))).toEqual(EXTRA);
    if (out.ok)
      expect(out.r.notes).toContain(
        "the build container's root was read-only (writable: /build, /tmp, /var/tmp, $HOME, /run)",
      );
  }, 300_000);

  it('a build without deps that writes outside /build fails on its read-only root', async () => {
    // Expected: /tmp and $HOME are writable scratch; replacing /bin/sh (a tool a later step runs) fails
    // with "Read-only file system" and the build fails naming its log; no extra is written.
    const out = await build(
      'ro-root',
      buildToml('echo t > /tmp/t && echo h > /root/h && echo scratch-ok && echo evil > /bin/sh', 'extra.txt'),
    );
    expect(out.ok).toBe(false);
    if (!out.ok) expect(String(out.err)).toMatch(/the build script exited with status/);
    const log = readFileSync(join(root, 'ro-root', 'out', 'build.log'), 'utf8');
    expect(log).toContain('scratch-ok');
    expect(log).toMatch(/Read-only file system/);
    expect(existsSync(join(root, 'ro-root', 'out', 'work', 'src', 'extra.txt'))).toBe(false);
  }, 300_000);
});
