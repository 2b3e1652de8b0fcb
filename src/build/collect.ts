import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { linkStaysInside } from '../engine/safe-extract.js';
import { RebuildError } from '../util/errors.js';

export interface CollectLimits {
  /** Bytes of one output file (default 4 GiB). */
  maxFileBytes: number;
  /** Bytes of all outputs (default 16 GiB). */
  maxBytes: number;
  /** Number of outputs (default 10,000). */
  maxFiles: number;
}

export const DEFAULT_COLLECT_LIMITS: CollectLimits = {
  maxFileBytes: 4 * 1024 ** 3,
  maxBytes: 16 * 1024 ** 3,
  maxFiles: 10_000,
};

export interface CollectedOutputs {
  files: string[];
  symlinks: { name: string; target: string }[];
  /** What was left behind, and why. */
  skipped: { name: string; reason: string }[];
}

/** Directories the builder uses for itself, never outputs. */
const NOT_OUTPUTS = new Set(['SBUILD_TEMP']);

/** Names rebuild writes beside the outputs; an output by that name is left out, and said so. */
export const RESERVED_NAMES = new Set(['build.log', 'result.json', 'unstripped', 'compare']);

/**
 * Copies a build's outputs (the top-level files of $SBUILD_OUTDIR, as
 * pkgforge's CI took them) from the work directory the container wrote into
 * the output directory. The container controlled that directory, so nothing
 * is followed: files are opened with O_NOFOLLOW, symlinks are recreated only
 * when they point at another output, and sizes are bounded.
 */
export async function collectOutputs(
  workOutDir: string,
  destDir: string,
  limits: Partial<CollectLimits> = {},
): Promise<CollectedOutputs> {
  const lim = { ...DEFAULT_COLLECT_LIMITS, ...limits };
  await mkdir(destDir, { recursive: true });
  const result: CollectedOutputs = { files: [], symlinks: [], skipped: [] };
  const names = (await readdir(workOutDir)).sort();
  let total = 0;
  for (const name of names) {
    if (NOT_OUTPUTS.has(name) || name.startsWith('.rebuild-')) continue;
    if (RESERVED_NAMES.has(name)) {
      result.skipped.push({ name, reason: "name reserved for rebuild's own files" });
      continue;
    }
    const src = join(workOutDir, name);
    const st = await lstat(src);
    if (st.isSymbolicLink()) {
      const target = await readlink(src);
      if (linkStaysInside(name, target) && !target.includes('/')) {
        await symlink(target, join(destDir, name));
        result.symlinks.push({ name, target });
      } else {
        result.skipped.push({ name, reason: `symlink to "${target}" leaves the output directory` });
      }
      continue;
    }
    if (st.isDirectory()) {
      result.skipped.push({ name, reason: 'directory (pkgforge publishes top-level files only)' });
      continue;
    }
    if (!st.isFile()) {
      result.skipped.push({ name, reason: 'not a regular file' });
      continue;
    }
    if (result.files.length >= lim.maxFiles) {
      throw new RebuildError('build', `more than ${lim.maxFiles} output files`, { subject: workOutDir });
    }
    if (st.size > lim.maxFileBytes || total + st.size > lim.maxBytes) {
      throw new RebuildError('build', `output ${name} (${st.size} bytes) exceeds the output size limit`, {
        subject: workOutDir,
      });
    }
    total += await copyNoFollow(src, join(destDir, name), st.mode & 0o777, lim.maxFileBytes);
    result.files.push(name);
  }
  return result;
}

async function copyNoFollow(src: string, dest: string, mode: number, max: number): Promise<number> {
  const input = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const output = await open(
      dest,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      let copied = 0;
      for (;;) {
        const { bytesRead } = await input.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        copied += bytesRead;
        if (copied > max)
          throw new RebuildError('build', `output ${src} grew past the size limit while copying`);
        await output.write(buf, 0, bytesRead);
      }
      return copied;
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}
