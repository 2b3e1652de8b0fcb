import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { hashFile } from '../hash/digest.js';
import { RebuildError } from '../util/errors.js';
import { toolVersion } from '../util/tool-version.js';
import { followJsonStream } from './progress.js';
import { type Arch, hostArch, PLATFORM } from './types.js';

/** The fix for a missing mmdebstrap or binfmt handler. */
export const SETUP_FIX = 'run `sudo bash scripts/setup-engine.sh` (installs mmdebstrap and qemu-user-static)';

/** Debian suite and mmdebstrap variant of the base image. */
export const BASE_SUITE = 'bookworm';
export const BASE_VARIANT = 'apt';

/**
 * dpkg options for the bootstrap. Documentation, manual pages and
 * translations are left out (less to unpack under QEMU, smaller images);
 * copyright files stay. `force-unsafe-io` skips dpkg's fsyncs.
 */
export const BASE_DPKG_OPTIONS: readonly string[] = [
  'force-unsafe-io',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
];

/** Default PATH of the base image (Debian's root PATH). */
export const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Package names from a list file: one per line, `#` starts a comment, blanks ignored. */
export function parsePackageList(text: string, subject = 'package list'): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    if (!/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/.test(line)) {
      throw new RebuildError('input', `line ${i + 1}: "${line}" is not a Debian package name`, {
        subject,
        fix: 'write one package name per line; comments start with #',
      });
    }
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  });
  if (out.length === 0) {
    throw new RebuildError('input', 'the package list is empty', { subject, fix: 'list at least bash' });
  }
  return out;
}

export async function readPackageList(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RebuildError('environment', 'cannot read the base image package list', {
      subject: path,
      fix: 'run rebuild from its installed tree (dockerfiles/ ships with it)',
      cause: err,
    });
  }
  return parsePackageList(text, path);
}

/**
 * `mmdebstrap 1.3.5` → `1.3.5`; a clear error if it is not installed. The
 * answer is remembered in `cacheFile` while the mmdebstrap file is unchanged.
 */
export async function mmdebstrapVersion(cacheFile: string): Promise<string> {
  try {
    return (await toolVersion('mmdebstrap', cacheFile)).replace(/^mmdebstrap\s+/, '');
  } catch (err) {
    throw new RebuildError('environment', 'mmdebstrap is not installed: it makes the offline base image', {
      subject: 'mmdebstrap',
      fix: SETUP_FIX,
      cause: err,
    });
  }
}

/**
 * Path of the binfmt_misc handler needed to run `arch` binaries on this host,
 * or undefined when the arch is native. Exported for tests and for the
 * recorded build inputs.
 */
export function binfmtHandlerPath(arch: Arch, host: Arch = hostArch()): string | undefined {
  if (arch === host) return undefined;
  return `/proc/sys/fs/binfmt_misc/qemu-${arch === 'aarch64' ? 'aarch64' : 'x86_64'}`;
}

/** Throws RebuildError('environment') unless foreign-arch binaries can run here. */
export async function checkBinfmt(arch: Arch, handlerPath = binfmtHandlerPath(arch)): Promise<void> {
  if (handlerPath === undefined) return;
  let text: string;
  try {
    text = await readFile(handlerPath, 'utf8');
  } catch {
    throw new RebuildError('environment', `the ${arch} binfmt_misc handler is missing (${handlerPath})`, {
      subject: arch,
      fix: SETUP_FIX,
    });
  }
  if (!/^enabled$/m.test(text)) {
    throw new RebuildError('environment', `the ${arch} binfmt_misc handler is disabled (${handlerPath})`, {
      subject: arch,
      fix: SETUP_FIX,
    });
  }
}

/** The mmdebstrap command line (without the program name). */
export function mmdebstrapArgs(arch: Arch, packages: readonly string[], target: string): string[] {
  return [
    '--mode=root',
    `--variant=${BASE_VARIANT}`,
    `--arch=${PLATFORM[arch].debian}`,
    '--format=tar',
    // rebuild checks the binfmt handler itself (arch-test is not required).
    '--skip=check/qemu',
    `--include=${packages.join(',')}`,
    ...BASE_DPKG_OPTIONS.map((o) => `--dpkgopt=${o}`),
    BASE_SUITE,
    target,
  ];
}

/** Runs mmdebstrap, streaming its `I:`/`W:`/`E:` lines; rejects with the last lines on failure. */
export async function runMmdebstrap(
  arch: Arch,
  packages: readonly string[],
  target: string,
  onProgress?: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const tail: string[] = [];
  const { execa } = await import('execa');
  const proc = execa('mmdebstrap', mmdebstrapArgs(arch, packages, target), {
    all: true,
    reject: false,
    stdin: 'ignore',
    ...(signal ? { cancelSignal: signal } : {}),
    env: { LC_ALL: 'C.UTF-8' },
  });
  proc.all?.setEncoding('utf8');
  let partial = '';
  proc.all?.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const t = l.trimEnd();
      if (!t) continue;
      tail.push(t);
      if (tail.length > 30) tail.shift();
      onProgress?.(`mmdebstrap: ${t}`);
    }
  });
  const res = await proc;
  if (res.isCanceled) {
    throw new RebuildError('interrupted', 'base image bootstrap interrupted', { subject: `base ${arch}` });
  }
  if (res.exitCode !== 0) {
    throw new RebuildError(
      'environment',
      `mmdebstrap failed (exit ${res.exitCode ?? res.signal}) making the ${arch} base image:\n${tail.join('\n')}`,
      {
        subject: `base ${arch}`,
        fix: "check that Debian's mirror (deb.debian.org) is reachable from the host and that every name in dockerfiles/debian-builder.packages exists in bookworm",
      },
    );
  }
}

export interface LoadRootfsOptions {
  arch: Arch;
  tags: string[];
  labels: Record<string, string>;
  env?: string[];
  cmd?: string[];
  /** What made the layer, for the image history. */
  createdBy: string;
  onProgress?: (line: string) => void;
}

/**
 * Loads a root file system tar as a one-layer image with the given
 * architecture in its config. `importImage` records the engine's own arch
 * whatever platform is asked for, so a docker-archive (manifest.json, config
 * JSON, layer) is made here on the fly and streamed to `loadImage`. The image
 * ID is the SHA-256 of the config; it is checked after the load.
 */
export async function loadRootfsImage(
  docker: Docker,
  rootfsTar: string,
  o: LoadRootfsOptions,
): Promise<string> {
  o.onProgress?.(`hashing ${rootfsTar}`);
  const { sha256, size } = await hashFile(rootfsTar);
  const created = new Date().toISOString();
  const platform = PLATFORM[o.arch];
  const config = {
    architecture: platform.architecture,
    ...(platform.architecture === 'arm64' ? { variant: 'v8' } : {}),
    os: platform.os,
    created,
    config: {
      Env: o.env ?? [`PATH=${BASE_PATH}`],
      Cmd: o.cmd ?? ['bash'],
      Labels: o.labels,
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256}`] },
    history: [{ created, created_by: o.createdBy }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configHex = createHash('sha256').update(configBytes).digest('hex');
  const manifest = [{ Config: `${configHex}.json`, RepoTags: o.tags, Layers: [`${sha256}/layer.tar`] }];

  const { default: tarStream } = await import('tar-stream');
  const pack = tarStream.pack();
  const produce = (async () => {
    const mtime = new Date(0);
    pack.entry({ name: `${sha256}/`, type: 'directory', mode: 0o755, mtime });
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name: `${sha256}/layer.tar`, size, mode: 0o644, mtime }, (err) =>
        err ? reject(err) : resolve(),
      );
      const rs = createReadStream(rootfsTar, { highWaterMark: 1 << 20 });
      rs.on('error', reject);
      rs.pipe(entry as unknown as NodeJS.WritableStream);
    });
    pack.entry({ name: `${configHex}.json`, mode: 0o644, mtime }, configBytes);
    pack.entry({ name: 'manifest.json', mode: 0o644, mtime }, Buffer.from(JSON.stringify(manifest)));
    pack.finalize();
  })();
  produce.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));

  o.onProgress?.(`loading ${(size / 1048576).toFixed(0)} MiB into the engine as ${o.tags.join(', ')}`);
  let result: Awaited<ReturnType<typeof followJsonStream>>;
  try {
    const res = (await docker.loadImage(Readable.from(pack), { quiet: true })) as unknown as Readable;
    result = await followJsonStream(res, o.onProgress);
    await produce;
  } catch (err) {
    throw new RebuildError('environment', `the engine refused the ${o.arch} base image: ${String(err)}`, {
      subject: o.tags[0] ?? rootfsTar,
      cause: err,
    });
  }
  if (result.error !== undefined) {
    throw new RebuildError('environment', `the engine refused the ${o.arch} base image: ${result.error}`, {
      subject: o.tags[0] ?? rootfsTar,
    });
  }
  const id = `sha256:${configHex}`;
  const info = await docker.getImage(id).inspect();
  if (info.Architecture !== platform.architecture || info.Os !== platform.os) {
    throw new RebuildError(
      'environment',
      `the loaded base image says ${info.Os}/${info.Architecture}, expected ${platform.os}/${platform.architecture}`,
      { subject: id },
    );
  }
  return info.Id;
}
