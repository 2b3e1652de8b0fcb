/**
 * Real archives and AppImages for the artifact comparator's tests.
 *
 * AppImages: appimagetool is not in Debian, so what it writes is reproduced
 * here: the runtime, then a SquashFS image made by squashfs-tools' mksquashfs
 * with the options pkgforge's sbuild passes, then the MD5 digest of the whole
 * file (with .digest_md5, .sha256_sig and .sig_key read as zeros) written into
 * the runtime's .digest_md5 section ("Embedding MD5 digest").
 * Archives: .tar.gz as pkgforge/builds' build.py writes it (Python's tarfile,
 * GNU format, sorted, mtime = the epoch, uid/gid 0, empty names, gzip level 9
 * with header mtime 0), and .tar.xz / .tar.zst / .zip with the usual tools.
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, open, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { runContainer } from '../../../src/engine/container.js';
import { ensureBuilderImage } from '../../../src/engine/images.js';
import { hostArch } from '../../../src/engine/types.js';

export const SOURCES = fileURLToPath(new URL('.', import.meta.url));

/** Compiles runtime-dynamic, runtime-static, AppRun and AppRun-changed into `out` in the builder image. */
export async function buildBinaries(docker: Docker, out: string): Promise<void> {
  const image = await ensureBuilderImage(docker, hostArch());
  // Writable by the container's root also when the engine remaps it to an unprivileged uid.
  await chmod(out, 0o777);
  let log = '';
  const r = await runContainer(docker, {
    image: image.tag,
    arch: hostArch(),
    cmd: ['sh', '/src/build.sh', '/src', '/out'],
    mounts: [
      { host: SOURCES, container: '/src', readOnly: true },
      { host: out, container: '/out' },
    ],
    network: 'none',
    user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
    limits: { timeoutMs: 5 * 60_000 },
    onOutput: (c) => {
      log += c.toString();
    },
  });
  if (r.exitCode !== 0) throw new Error(`building the AppImage test binaries failed:\n${log}`);
}

export const PNG_ICON = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('a tiny stand-in for an icon'),
]);
export const MTIME = 1_700_000_000;

/** An AppDir: AppRun, usr/bin/hello, hello.desktop, hello.png, .DirIcon → hello.png; fixed mtimes. */
export async function makeAppDir(dir: string, appRun: string): Promise<string> {
  await mkdir(join(dir, 'usr', 'bin'), { recursive: true });
  await copyFile(appRun, join(dir, 'AppRun'));
  await copyFile(appRun, join(dir, 'usr', 'bin', 'hello'));
  await chmod(join(dir, 'AppRun'), 0o755);
  await chmod(join(dir, 'usr', 'bin', 'hello'), 0o755);
  await writeFile(
    join(dir, 'hello.desktop'),
    '[Desktop Entry]\nType=Application\nName=hello\nExec=hello %U\nIcon=hello\n',
  );
  await writeFile(join(dir, 'hello.png'), PNG_ICON);
  await symlink('hello.png', join(dir, '.DirIcon'));
  await execa('find', [dir, '-exec', 'touch', '-h', '-d', `@${MTIME}`, '{}', '+']);
  return dir;
}

/** sbuild's pack_appimage options, as mksquashfs sees them through appimagetool. */
export const SBUILD_MKSQUASHFS = [
  '-comp',
  'zstd',
  '-root-owned',
  '-no-xattrs',
  '-noappend',
  '-b',
  '1M',
  '-mkfs-time',
  '0',
  '-Xcompression-level',
  '22',
];
/** A plain upstream-style image: gzip, the builder's own uid, the default block size and mkfs time. */
export const UPSTREAM_MKSQUASHFS = ['-comp', 'gzip', '-noappend', '-force-uid', '1000', '-force-gid', '1000'];

export async function mksquashfs(appDir: string, out: string, args: string[]): Promise<void> {
  await execa('mksquashfs', [appDir, out, ...args, '-quiet', '-no-progress']);
}

/** Offsets of named sections, from binutils' readelf (independent of rebuild's own reader). */
export async function sectionOffsets(file: string): Promise<Map<string, { offset: number; size: number }>> {
  const { stdout } = await execa('readelf', ['-SW', file]);
  const out = new Map<string, { offset: number; size: number }>();
  for (const line of stdout.split('\n')) {
    const m = /\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (m?.[1])
      out.set(m[1], { offset: Number.parseInt(m[2] ?? '0', 16), size: Number.parseInt(m[3] ?? '0', 16) });
  }
  return out;
}

/** runtime + image (+ appimagetool's embedded MD5 digest). */
export async function assembleAppImage(
  runtime: string,
  image: string,
  out: string,
  opts: { embedDigest: boolean },
): Promise<void> {
  const bytes = Buffer.concat([await readFile(runtime), await readFile(image)]);
  if (opts.embedDigest) {
    const sections = await sectionOffsets(runtime);
    const zeroed = Buffer.from(bytes);
    for (const name of ['.digest_md5', '.sha256_sig', '.sig_key']) {
      const s = sections.get(name);
      if (!s) throw new Error(`the test runtime has no ${name}`);
      zeroed.fill(0, s.offset, s.offset + s.size);
    }
    const digest = createHash('md5').update(zeroed).digest();
    const d = sections.get('.digest_md5');
    if (d) digest.copy(bytes, d.offset);
  }
  await writeFile(out, bytes, { mode: 0o755 });
}

/** Flips one byte of a file in place. */
export async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] ?? 0) ^ 0x01;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/**
 * pkgforge/builds' archive writer (build.py): tarfile GNU format, entries
 * sorted, mtime = epoch, uid/gid 0, empty names, inside GzipFile(level 9,
 * mtime 0). `mtimes` overrides one member's mtime; `gzipMtime` the header's.
 */
export async function buildsTarGz(
  stage: string,
  out: string,
  opts: { epoch?: number; mtimes?: Record<string, number>; gzipMtime?: number } = {},
): Promise<void> {
  const script = `
import gzip, os, sys, tarfile, json
stage, out, epoch, mtimes, gz_mtime = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
names = sorted(os.listdir(stage))
with open(out, 'wb') as raw, gzip.GzipFile(fileobj=raw, mode='wb', compresslevel=9, mtime=gz_mtime, filename='') as gz:
    with tarfile.open(fileobj=gz, mode='w', format=tarfile.GNU_FORMAT) as tar:
        for n in names:
            info = tar.gettarinfo(os.path.join(stage, n), arcname=n)
            info.mtime = mtimes.get(n, epoch)
            info.uid = info.gid = 0
            info.uname = info.gname = ''
            with open(os.path.join(stage, n), 'rb') as f:
                tar.addfile(info, f)
`;
  await execa('python3', [
    '-c',
    script,
    stage,
    out,
    String(opts.epoch ?? 1_700_000_000),
    JSON.stringify(opts.mtimes ?? {}),
    String(opts.gzipMtime ?? 0),
  ]);
}

/** A tar with one entry named as given (for hostile names), via Python's tarfile. */
export async function tarWithEntry(
  out: string,
  name: string,
  opts: { symlinkTo?: string } = {},
): Promise<void> {
  const script = `
import io, sys, tarfile
out, name, link = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(out, 'w', format=tarfile.GNU_FORMAT) as tar:
    ok = tarfile.TarInfo('ok.txt'); data = b'fine\\n'; ok.size = len(data); tar.addfile(ok, io.BytesIO(data))
    info = tarfile.TarInfo(name)
    if link:
        info.type = tarfile.SYMTYPE; info.linkname = link; tar.addfile(info)
    else:
        data = b'evil\\n'; info.size = len(data); tar.addfile(info, io.BytesIO(data))
`;
  await execa('python3', ['-c', script, out, name, opts.symlinkTo ?? '']);
}
