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

/** Directory entries as bytes, split into names that are valid UTF-8 and those that are not. */
async function readNames(dir: string): Promise<{ names: string[]; invalid: string[] }> {
  const names: string[] = [];
  const invalid: string[] = [];
  for (const raw of await readdir(dir, { encoding: 'buffer' })) {
    const text = raw.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(raw)) names.push(text);
    else invalid.push(raw.toString('latin1').replace(/[^\x20-\x7e]/g, '?'));
  }
  return { names: names.sort(), invalid };
}

/**
 * Copies a build's outputs (the top-level files of $SBUILD_OUTDIR, as
 * pkgforge's CI took them) from the work directory the container wrote into
 * the output directory. It runs when every container of the build has been
 * removed; even so, the container controlled that directory, so nothing is
 * followed: each entry is one name directly below a directory rebuild made,
 * opened once with O_NOFOLLOW (and O_NONBLOCK, so a FIFO cannot hang it) and
 * checked on that handle; symlinks are recreated only when they point at
 * another output; the count and sizes are bounded before anything is copied.
 */
export async function collectOutputs(
  workOutDir: string,
  destDir: string,
  limits: Partial<CollectLimits> = {},
): Promise<CollectedOutputs> {
  const lim = { ...DEFAULT_COLLECT_LIMITS, ...limits };
  await mkdir(destDir, { recursive: true });
  const result: CollectedOutputs = { files: [], symlinks: [], skipped: [] };
  const { names, invalid } = await readNames(workOutDir);
  for (const shown of invalid) result.skipped.push({ name: shown, reason: 'file name is not valid UTF-8' });
  // Refuse too many outputs before copying any, so a failed build keeps none of them.
  const candidates = names.filter((n) => !NOT_OUTPUTS.has(n) && !n.startsWith('.rebuild-'));
  if (candidates.length > lim.maxFiles) {
    let files = 0;
    for (const n of candidates) {
      const st = await lstat(join(workOutDir, n)).catch(() => undefined);
      if (st?.isFile()) files++;
    }
    if (files > lim.maxFiles) {
      throw new RebuildError(
        'build',
        `the build left ${files} files in $SBUILD_OUTDIR, more than ${lim.maxFiles}`,
        {
          subject: workOutDir,
          fix: 'a recipe publishes a handful of top-level files; inspect what it writes to $SBUILD_OUTDIR',
        },
      );
    }
  }
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
    const copied = await copyNoFollow(src, join(destDir, name), st.mode & 0o777, lim.maxFileBytes);
    if (copied === undefined) {
      result.skipped.push({ name, reason: 'changed while it was collected (not a regular file any more)' });
      continue;
    }
    total += copied;
    result.files.push(name);
  }
  return result;
}

/** Copies one regular file, or returns undefined when `src` is not one when opened. */
async function copyNoFollow(
  src: string,
  dest: string,
  mode: number,
  max: number,
): Promise<number | undefined> {
  const input = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP' || err.code === 'ENOENT' || err.code === 'ENXIO') return undefined;
      throw err;
    },
  );
  if (!input) return undefined;
  try {
    if (!(await input.stat()).isFile()) return undefined;
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
