/**
 * compareArtifact on real archives and AppImages, unpacked in the real unpack
 * container (network none). AppImages reproduce what pkgforge's 2026 sbuild
 * publishes (runtime + mksquashfs image with pack_appimage's options +
 * appimagetool's embedded MD5), see ./artifact/fixtures.ts.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine } from '../../src/engine/docker.js';
import { ContainerUnpacker } from '../../src/engine/unpack.js';
import { type ArtifactComparison, compareArtifact } from '../../src/forensics/artifact.js';
import { leftoverContainers, rebuild } from '../helpers/cli.js';
import {
  assembleAppImage,
  buildBinaries,
  buildsTarGz,
  flipByte,
  MTIME,
  makeAppDir,
  mksquashfs,
  SBUILD_MKSQUASHFS,
  sectionOffsets,
  tarWithEntry,
  UPSTREAM_MKSQUASHFS,
} from './artifact/fixtures.js';

let docker: Docker;
let dir: string;
let bin: string;
let unpacker: ContainerUnpacker;

const member = (c: ArtifactComparison, path: string) => c.members.find((m) => m.path === path);
const unexplained = (c: ArtifactComparison) => c.archive.filter((d) => !d.explainedBy);

beforeAll(async () => {
  docker = await connectEngine();
  unpacker = new ContainerUnpacker(docker);
  dir = await mkdtemp(join(tmpdir(), 'rebuild-artifact-test-'));
  bin = join(dir, 'bin');
  await mkdir(bin);
  await buildBinaries(docker, bin);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('AppImages (sbuild 2026 repack)', () => {
  let rebuilt: string;
  let published: string;
  let changed: string;

  beforeAll(async () => {
    const appDir = await makeAppDir(join(dir, 'AppDir'), join(bin, 'AppRun'));
    const changedDir = await makeAppDir(join(dir, 'AppDir-changed'), join(bin, 'AppRun-changed'));
    await mksquashfs(appDir, join(dir, 'upstream.sqfs'), UPSTREAM_MKSQUASHFS);
    await mksquashfs(appDir, join(dir, 'repacked.sqfs'), SBUILD_MKSQUASHFS);
    await mksquashfs(changedDir, join(dir, 'changed.sqfs'), SBUILD_MKSQUASHFS);
    // The rebuild: a dynamic AppImage as upstream tools make it.
    rebuilt = join(dir, 'rebuilt.AppImage');
    await assembleAppImage(join(bin, 'runtime-dynamic'), join(dir, 'upstream.sqfs'), rebuilt, {
      embedDigest: false,
    });
    // What pkgforge published: appimagetool's (static) runtime, the repacked image, the digest.
    published = join(dir, 'published.AppImage');
    await assembleAppImage(join(bin, 'runtime-static'), join(dir, 'repacked.sqfs'), published, {
      embedDigest: true,
    });
    changed = join(dir, 'changed.AppImage');
    await assembleAppImage(join(bin, 'runtime-static'), join(dir, 'changed.sqfs'), changed, {
      embedDigest: true,
    });
  });

  it('the fixtures run (the runtime executes)', async () => {
    const { stdout } = await execa(published, []);
    expect(stdout).toBe('tiny AppImage runtime');
  });

  it('a repack like the 2026 builder is equivalent, with both rules and their evidence', async () => {
    const c = await compareArtifact(published, rebuilt, {
      unpacker,
      appimageRuntime: join(bin, 'runtime-static'),
    });
    expect(c.verdict).toBe('equivalent');
    expect(c.explanations.map((e) => e.rule).sort()).toEqual([
      'appimagetool-runtime',
      'sbuild-appimage-repack',
    ]);
    expect(unexplained(c)).toEqual([]);
    expect(member(c, '<runtime>')?.verdict).toBe('equivalent');
    for (const p of ['AppRun', 'usr/bin/hello', 'hello.desktop', 'hello.png', '.DirIcon']) {
      expect(member(c, p)?.verdict, p).toBe('identical');
    }
    // Owners 1000 → 0 by -root-owned, the superblock by zstd/1M/mkfs-time 0: named and explained.
    expect(c.archive.some((d) => d.aspect === 'owner' && d.member === 'AppRun' && d.explainedBy)).toBe(true);
    expect(c.archive.find((d) => d.detail.startsWith('squashfs.compression '))).toMatchObject({
      a: 'zstd',
      b: 'gzip',
      explainedBy: 'sbuild-appimage-repack',
    });
  });

  it('without a trusted runtime the replaced runtime stays a difference, with the fix', async () => {
    const c = await compareArtifact(published, rebuilt, { unpacker });
    expect(c.verdict).toBe('different');
    expect(member(c, '<runtime>')?.verdict).toBe('different');
    expect(member(c, '<runtime>')?.detail).toContain('--appimage-runtime');
    expect(member(c, 'AppRun')?.verdict).toBe('identical');
  });

  it('`rebuild compare` dispatches through compareArtifact: JSON, text and Markdown, exit codes', async () => {
    const runtime = join(bin, 'runtime-static');
    const md = join(dir, 'report.md');
    const json = await rebuild([
      'compare',
      published,
      rebuilt,
      '--appimage-runtime',
      runtime,
      '--json',
      '--markdown',
      md,
    ]);
    expect(json.exitCode, json.stderr).toBe(1); // equivalent
    const doc = JSON.parse(json.stdout) as ArtifactComparison;
    expect(doc.schema).toBe('rebuild.artifact/1');
    expect(doc.verdict).toBe('equivalent');
    expect(await readFile(md, 'utf8')).toContain('sbuild-appimage-repack');
    const text = await rebuild(['compare', changed, rebuilt, '--appimage-runtime', runtime]);
    expect(text.exitCode).toBe(2);
    expect(text.stdout).toContain('DIFFERENT');
    expect(text.stdout).toMatch(/AppRun\s+different/);
    expect(await leftoverContainers()).toEqual([]);
  });

  it('a changed member binary is different, naming the member', async () => {
    const c = await compareArtifact(changed, rebuilt, {
      unpacker,
      appimageRuntime: join(bin, 'runtime-static'),
    });
    expect(c.verdict).toBe('different');
    expect(member(c, 'AppRun')?.verdict).toBe('different');
    expect(member(c, 'usr/bin/hello')?.verdict).toBe('different');
    expect(member(c, 'AppRun')?.comparison?.differences.length).toBeGreaterThan(0);
    expect(member(c, 'hello.desktop')?.verdict).toBe('identical');
    expect(c.metadataOnly).toBe(false);
  });

  it('with every repack mark in place, an extra member or a setuid bit is still different', async () => {
    const extraDir = await makeAppDir(join(dir, 'AppDir-extra'), join(bin, 'AppRun'));
    await copyFile(join(bin, 'AppRun-changed'), join(extraDir, 'usr', 'bin', 'helper'));
    const suidDir = await makeAppDir(join(dir, 'AppDir-suid'), join(bin, 'AppRun'));
    await execa('chmod', ['4755', join(suidDir, 'AppRun')]);
    for (const [name, appDir] of [
      ['extra', extraDir],
      ['suid', suidDir],
    ] as const) {
      await execa('find', [appDir, '-exec', 'touch', '-h', '-d', `@${MTIME}`, '{}', '+']);
      await mksquashfs(appDir, join(dir, `${name}.sqfs`), SBUILD_MKSQUASHFS);
      await assembleAppImage(
        join(bin, 'runtime-static'),
        join(dir, `${name}.sqfs`),
        join(dir, `${name}.AppImage`),
        {
          embedDigest: true,
        },
      );
    }
    const runtime = join(bin, 'runtime-static');
    const extra = await compareArtifact(join(dir, 'extra.AppImage'), rebuilt, {
      unpacker,
      appimageRuntime: runtime,
    });
    expect(extra.verdict).toBe('different');
    expect(member(extra, 'usr/bin/helper')).toMatchObject({ verdict: 'different', presence: 'a' });
    expect(extra.explanations.map((e) => e.rule)).toContain('sbuild-appimage-repack');
    const suid = await compareArtifact(join(dir, 'suid.AppImage'), rebuilt, {
      unpacker,
      appimageRuntime: runtime,
    });
    expect(suid.verdict).toBe('different');
    expect(member(suid, 'AppRun')?.detail).toContain('mode 04755 vs 0755');
  });

  it('a runtime changed outside .digest_md5 (digest recomputed, still runs) is different', async () => {
    const tampered = join(dir, 'tampered.AppImage');
    const runtime = join(dir, 'runtime-tampered');
    await copyFile(join(bin, 'runtime-static'), runtime);
    const bytes = await readFile(runtime);
    const at = bytes.indexOf('tiny AppImage runtime');
    await flipByte(runtime, at); // "t" → "u" in the message
    await assembleAppImage(runtime, join(dir, 'repacked.sqfs'), tampered, { embedDigest: true });
    expect((await execa(tampered, [])).stdout).toBe('uiny AppImage runtime');
    const c = await compareArtifact(tampered, rebuilt, {
      unpacker,
      appimageRuntime: join(bin, 'runtime-static'),
    });
    expect(c.verdict).toBe('different');
    expect(member(c, '<runtime>')?.detail).toContain('outside .digest_md5');
  });

  it('a wrong embedded digest is different', async () => {
    const wrong = join(dir, 'wrong-digest.AppImage');
    await copyFile(published, wrong);
    const d = (await sectionOffsets(join(bin, 'runtime-static'))).get('.digest_md5');
    await flipByte(wrong, d?.offset ?? 0);
    const c = await compareArtifact(wrong, rebuilt, {
      unpacker,
      appimageRuntime: join(bin, 'runtime-static'),
    });
    expect(c.verdict).toBe('different');
    expect(member(c, '<runtime>')?.detail).toContain('.digest_md5 holds');
  });

  it("an image without every mark of sbuild's options gets no repack rule", async () => {
    // Same repack but mkfs time left as now: not what pack_appimage writes.
    const opts = SBUILD_MKSQUASHFS.filter((o, i, all) => o !== '-mkfs-time' && all[i - 1] !== '-mkfs-time');
    await mksquashfs(join(dir, 'AppDir'), join(dir, 'almost.sqfs'), opts);
    const almost = join(dir, 'almost.AppImage');
    await assembleAppImage(join(bin, 'runtime-static'), join(dir, 'almost.sqfs'), almost, {
      embedDigest: true,
    });
    const c = await compareArtifact(almost, rebuilt, {
      unpacker,
      appimageRuntime: join(bin, 'runtime-static'),
    });
    expect(c.verdict).toBe('different');
    expect(c.explanations).toEqual([]);
    expect(c.notes.join('\n')).toContain('mkfs time');
  });
});

describe('pkgforge/builds archives (.tar.gz as build.py writes them)', () => {
  let stage: string;
  let published: string;

  beforeAll(async () => {
    stage = join(dir, 'stage');
    await mkdir(stage);
    await copyFile(join(bin, 'AppRun'), join(stage, 'hello'));
    await writeFile(join(stage, 'LICENSE'), 'MIT\n');
    published = join(dir, 'hello-1.0-x86_64-linux.tar.gz');
    await buildsTarGz(stage, published);
  });

  it('the same archive rebuilt is identical (not even unpacked)', async () => {
    const again = join(dir, 'again.tar.gz');
    await buildsTarGz(stage, again);
    const c = await compareArtifact(published, again, { unpacker });
    expect(c.verdict).toBe('identical');
    expect(c.notes).toContain('identical bytes: not unpacked');
  });

  it('one byte changed in a member: different, naming the member and the region', async () => {
    const stage2 = join(dir, 'stage2');
    await mkdir(stage2);
    await copyFile(join(stage, 'LICENSE'), join(stage2, 'LICENSE'));
    await copyFile(join(stage, 'hello'), join(stage2, 'hello'));
    const bytes = await readFile(join(stage2, 'hello'));
    await flipByte(join(stage2, 'hello'), bytes.indexOf('hello from the AppDir'));
    const rebuilt = join(dir, 'one-byte.tar.gz');
    await buildsTarGz(stage2, rebuilt);
    const c = await compareArtifact(published, rebuilt, { unpacker });
    expect(c.verdict).toBe('different');
    const m = member(c, 'hello');
    expect(m?.verdict).toBe('different');
    expect(m?.comparison?.differences[0]?.region).toBe('.rodata');
    expect(m?.detail).toContain('.rodata');
    expect(member(c, 'LICENSE')?.verdict).toBe('identical');
  });

  it('archive metadata changed only (a member mtime): different, metadata only, with the reason', async () => {
    const rebuilt = join(dir, 'mtime.tar.gz');
    await buildsTarGz(stage, rebuilt, { mtimes: { LICENSE: MTIME + 1 } });
    const c = await compareArtifact(published, rebuilt, { unpacker });
    expect(c.verdict).toBe('different');
    expect(c.metadataOnly).toBe(true);
    expect(c.members.every((m) => m.verdict === 'identical')).toBe(true);
    expect(unexplained(c)).toEqual([
      { aspect: 'mtime', member: 'LICENSE', detail: 'mtime differs', a: String(MTIME), b: String(MTIME + 1) },
    ]);
  });

  it('only the gzip header changed: different, naming the header field', async () => {
    const rebuilt = join(dir, 'gzip-mtime.tar.gz');
    await buildsTarGz(stage, rebuilt, { gzipMtime: 12345 });
    const c = await compareArtifact(published, rebuilt, { unpacker });
    expect(c.verdict).toBe('different');
    expect(c.metadataOnly).toBe(true);
    expect(c.archive).toEqual([{ aspect: 'compression', detail: 'gzip.mtime differs', a: '0', b: '12345' }]);
  });
});

describe('other archive kinds, nesting and hostile archives', () => {
  let tree: string;
  beforeAll(async () => {
    tree = join(dir, 'tree');
    await mkdir(join(tree, 'doc'), { recursive: true });
    await writeFile(join(tree, 'doc', 'README'), 'line one\nline two\n');
    await copyFile(join(bin, 'AppRun'), join(tree, 'hello'));
  });
  const tarWith = async (out: string, args: string[]) =>
    execa('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      `--mtime=@${MTIME}`,
      ...args,
      '-C',
      tree,
      '-cf',
      out,
      '.',
    ]);

  it('.tar.xz and .tar.zst: a changed text member is different, with a line diff', async () => {
    await tarWith(join(dir, 'a.tar.xz'), ['-J']);
    await tarWith(join(dir, 'a.tar.zst'), ['--zstd']);
    await writeFile(join(tree, 'doc', 'README'), 'line one\nline 2\n');
    await tarWith(join(dir, 'b.tar.xz'), ['-J']);
    await tarWith(join(dir, 'b.tar.zst'), ['--zstd']);
    await writeFile(join(tree, 'doc', 'README'), 'line one\nline two\n');
    for (const ext of ['tar.xz', 'tar.zst']) {
      const c = await compareArtifact(join(dir, `a.${ext}`), join(dir, `b.${ext}`), { unpacker });
      expect(c.a.kind, ext).toBe(ext);
      expect(c.verdict, ext).toBe('different');
      const m = member(c, 'doc/README');
      expect(m?.verdict, ext).toBe('different');
      expect(m?.comparison?.textDiff, ext).toContain('-line two');
      expect(member(c, 'hello')?.verdict, ext).toBe('identical');
    }
  });

  it('.zip: same members at another compression level is different at the container level only', async () => {
    await execa('sh', [
      '-c',
      `cd "${tree}" && zip -q -X -9 -r "${dir}/a.zip" . && zip -q -X -1 -r "${dir}/b.zip" .`,
    ]);
    const c = await compareArtifact(join(dir, 'a.zip'), join(dir, 'b.zip'), { unpacker });
    expect(c.a.kind).toBe('zip');
    expect(c.verdict).toBe('different');
    expect(c.metadataOnly).toBe(true);
    expect(c.members.every((m) => m.verdict === 'identical')).toBe(true);
    expect(c.archive.map((d) => d.aspect)).toEqual(['container']);
  });

  it('an archive inside an archive is descended into', async () => {
    const outer = async (inner: string, out: string) => {
      const s = join(dir, `outer-${Date.now()}-${Math.random()}`);
      await mkdir(s);
      await copyFile(inner, join(s, 'inner.tar.xz'));
      await buildsTarGz(s, out);
    };
    await outer(join(dir, 'a.tar.xz'), join(dir, 'outer-a.tar.gz'));
    await outer(join(dir, 'b.tar.xz'), join(dir, 'outer-b.tar.gz'));
    const c = await compareArtifact(join(dir, 'outer-a.tar.gz'), join(dir, 'outer-b.tar.gz'), { unpacker });
    expect(c.verdict).toBe('different');
    const inner = member(c, 'inner.tar.xz');
    expect(inner?.nested?.verdict).toBe('different');
    expect(inner?.nested?.members.find((m) => m.path === 'doc/README')?.verdict).toBe('different');
  });

  it('`rebuild compare --exclude` leaves archive members out of the report, never out of the verdict', async () => {
    // outer-*.tar.gz from the test above: inner.tar.xz holds doc/README (differs) and hello (same)
    const a = join(dir, 'outer-a.tar.gz');
    const b = join(dir, 'outer-b.tar.gz');
    const full = await rebuild(['compare', a, b, '--markdown', '-']);
    expect(full.exitCode, full.stderr).toBe(2);
    expect(full.stdout).toContain('-line two');
    expect(full.stdout).not.toContain('left out by --exclude');
    for (const glob of ['README', 'inner.tar.xz/doc/*', 'inner.tar.xz']) {
      const r = await rebuild(['compare', a, b, '--exclude', glob, '--markdown', '-']);
      expect(r.exitCode, `${glob}: ${r.stderr}`).toBe(2); // still different
      expect(r.stdout, glob).toContain('DIFFERENT');
      expect(r.stdout, glob).not.toContain('-line two');
      expect(r.stdout, glob).toMatch(
        glob === 'inner.tar.xz'
          ? /1 member left out by --exclude \(still counted in the verdict\): inner\.tar\.xz/
          : /1 member left out by --exclude \(still counted in the verdict\): inner\.tar\.xz\/doc\/README/,
      );
    }
  });

  it('refuses `..` in a member name: different, never extracted', async () => {
    await tarWithEntry(join(dir, 'evil.tar'), '../evil.txt');
    await tarWithEntry(join(dir, 'fine.tar'), 'evil.txt');
    const c = await compareArtifact(join(dir, 'evil.tar'), join(dir, 'fine.tar'), { unpacker });
    expect(c.verdict).toBe('different');
    expect(c.archive[0]).toMatchObject({ aspect: 'refused' });
    expect(c.archive[0]?.detail).toContain('`..` in path');
  });

  it('a symlink pointing out is compared by its header, not followed or created', async () => {
    await tarWithEntry(join(dir, 'link-out.tar'), 'passwd', { symlinkTo: '/etc/passwd' });
    await tarWithEntry(join(dir, 'link-in.tar'), 'passwd', { symlinkTo: 'ok.txt' });
    const c = await compareArtifact(join(dir, 'link-out.tar'), join(dir, 'link-in.tar'), { unpacker });
    expect(c.verdict).toBe('different');
    expect(member(c, 'passwd')?.detail).toContain('link target "/etc/passwd" vs "ok.txt"');
    expect(c.notes.join('\n')).toContain('"passwd" not extracted');
  });

  it('a decompression bomb is refused at the bound', async () => {
    await execa('sh', [
      '-c',
      `head -c 50000000 /dev/zero > "${dir}/zeros" && tar -C "${dir}" -cf - zeros | zstd -q -19 -o "${dir}/bomb.tar.zst"`,
    ]);
    await tarWith(join(dir, 'small.tar.zst'), ['--zstd']);
    const c = await compareArtifact(join(dir, 'bomb.tar.zst'), join(dir, 'small.tar.zst'), {
      unpacker,
      limits: { maxBytes: 8 * 1024 ** 2 },
    });
    expect(c.verdict).toBe('different');
    expect(c.archive[0]?.aspect).toBe('refused');
    expect(c.archive[0]?.detail).toContain('more than 8388608 bytes');
  });
});
