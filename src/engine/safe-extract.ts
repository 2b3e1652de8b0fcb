import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, open, rm, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type tar from 'tar-stream';
import { RebuildError } from '../util/errors.js';

export interface ExtractLimits {
  /** Total bytes of file contents (default 16 GiB). */
  maxBytes: number;
  /** Bytes of one file (default 8 GiB). */
  maxFileBytes: number;
  /** Entries in the archive (default 200,000). */
  maxEntries: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxBytes: 16 * 1024 ** 3,
  maxFileBytes: 8 * 1024 ** 3,
  maxEntries: 200_000,
};

export interface RefusedEntry {
  name: string;
  reason: string;
}

export interface ExtractResult {
  /** Paths written, relative to the destination. */
  files: string[];
  directories: string[];
  symlinks: string[];
  /** Entries not written, and why (links leaving the destination, devices, …). */
  refused: RefusedEntry[];
  bytes: number;
}

/**
 * Longest entry or link name accepted (Linux's PATH_MAX). tar-stream reads a
 * pax or GNU long-name header of up to 4 MiB; what rebuild keeps of each
 * entry (its names, in listings and refusals) is bounded by this instead.
 */
export const MAX_NAME_BYTES = 4096;

/** A name as shown in a message: never more than 200 characters of it. */
export function shownName(name: string): string {
  return name.length > 200 ? `${name.slice(0, 200)}… (${Buffer.byteLength(name)} bytes)` : name;
}

/**
 * Where an archive entry lands, relative to the destination, or an error for
 * a name that would leave it. Pure. `stripComponents` drops leading path
 * parts (Docker names entries of `/dir` as `dir/…`).
 */
export function entryTarget(name: string, stripComponents = 0): string | { escape: string } {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return { escape: `name longer than ${MAX_NAME_BYTES} bytes` };
  if (name.includes('\0')) return { escape: 'NUL in name' };
  if (isAbsolute(name) || /^[a-zA-Z]:/.test(name)) return { escape: 'absolute path' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { escape: '`..` in path' };
  return parts.slice(stripComponents).join('/');
}

/** Whether a symlink at `at` (relative) pointing to `target` stays inside the destination. */
export function linkStaysInside(at: string, target: string): boolean {
  if (isAbsolute(target) || target.includes('\0') || Buffer.byteLength(target) > MAX_NAME_BYTES) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(at), target));
  return resolved !== '..' && !resolved.startsWith('../') && resolved !== '.';
}

/**
 * Extracts a tar stream (from a container) into `dest`, refusing anything
 * that could write outside it: absolute names and `..` fail the whole
 * extraction (no legitimate archive from the engine has them); symlinks and
 * hard links that point outside are not created; no path component is ever
 * followed through a symlink; setuid bits are dropped; sizes are bounded.
 */
export async function extractTarSafely(
  source: Readable,
  dest: string,
  opts: { stripComponents?: number; limits?: Partial<ExtractLimits>; subject?: string } = {},
): Promise<ExtractResult> {
  const limits = { ...DEFAULT_EXTRACT_LIMITS, ...opts.limits };
  const subject = opts.subject ?? 'archive';
  const root = resolve(dest);
  await mkdir(root, { recursive: true });
  const result: ExtractResult = { files: [], directories: [], symlinks: [], refused: [], bytes: 0 };
  const hostile = (name: string, why: string) =>
    new RebuildError('input', `refused a hostile archive entry "${shownName(name)}": ${why}`, {
      subject,
      fix: 'the container produced an archive that tries to write outside the output directory; inspect the recipe',
    });
  // Loaded here: the build path imports this module for linkStaysInside alone.
  const { default: tarStream } = await import('tar-stream');
  const extract = tarStream.extract();
  let entries = 0;
  // Iterate instead of pipeline(): a thrown refusal then ends the stream
  // cleanly, and a truncated archive surfaces here as an error.
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      entries++;
      if (entries > limits.maxEntries) throw hostile(header.name, `more than ${limits.maxEntries} entries`);
      const target = entryTarget(header.name, opts.stripComponents ?? 0);
      if (typeof target !== 'string') throw hostile(header.name, target.escape);
      if (target === '') {
        entry.resume();
        continue;
      }
      await writeEntry(entry as unknown as TarEntry, target, root, limits, result, subject, hostile);
    }
  } catch (err) {
    source.destroy?.();
    if (err instanceof RebuildError) throw err;
    throw new RebuildError('input', `cannot read the archive: ${(err as Error).message}`, {
      subject,
      cause: err,
    });
  }
  return result;
}

/** One archive entry as tar-stream yields it: a header and its contents. */
interface TarEntry extends AsyncIterable<Buffer> {
  header: tar.Header;
  resume(): unknown;
}

async function writeEntry(
  entry: TarEntry,
  target: string,
  root: string,
  limits: ExtractLimits,
  result: ExtractResult,
  subject: string,
  hostile: (name: string, why: string) => RebuildError,
): Promise<void> {
  const header = entry.header;
  const abs = join(root, target);
  await ensureRealParents(root, target, subject);
  switch (header.type) {
    case 'directory':
      entry.resume();
      await mkdirNoFollow(abs, subject);
      result.directories.push(target);
      return;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null: {
      const size = header.size ?? 0;
      if (size > limits.maxFileBytes)
        throw hostile(header.name, `file of ${size} bytes exceeds ${limits.maxFileBytes}`);
      if (result.bytes + size > limits.maxBytes)
        throw hostile(header.name, `archive exceeds ${limits.maxBytes} bytes`);
      await removeIfPresent(abs);
      const handle = await open(
        abs,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        (header.mode ?? 0o644) & 0o777,
      );
      let written = 0;
      try {
        for await (const chunk of entry) {
          written += chunk.length;
          if (written > size) throw hostile(header.name, 'more data than the header declares');
          await handle.write(chunk);
        }
      } finally {
        await handle.close();
      }
      // open() applies the umask; set the archive's bits (setuid/setgid dropped above).
      await chmod(abs, (header.mode ?? 0o644) & 0o777);
      result.bytes += written;
      result.files.push(target);
      return;
    }
    case 'symlink': {
      entry.resume();
      const to = header.linkname ?? '';
      if (!linkStaysInside(target, to)) {
        result.refused.push({
          name: target,
          reason: `symlink to "${shownName(to)}" leaves the output directory`,
        });
        return;
      }
      await removeIfPresent(abs);
      await symlink(to, abs);
      result.symlinks.push(target);
      return;
    }
    case 'link': {
      entry.resume();
      const to = entryTarget(header.linkname ?? '');
      if (typeof to !== 'string' || !result.files.includes(to)) {
        result.refused.push({
          name: target,
          reason: `hard link to "${shownName(header.linkname ?? '')}" outside what was extracted`,
        });
        return;
      }
      await removeIfPresent(abs);
      await link(join(root, to), abs);
      result.files.push(target);
      return;
    }
    default:
      entry.resume();
      result.refused.push({ name: target, reason: `${header.type} entries are not extracted` });
  }
}

/** Every existing component between root and the entry must be a real directory. */
async function ensureRealParents(root: string, target: string, subject: string): Promise<void> {
  const parts = dirname(target) === '.' ? [] : dirname(target).split('/');
  let at = root;
  for (const part of parts) {
    at = join(at, part);
    await mkdirNoFollow(at, subject);
  }
}

async function mkdirNoFollow(path: string, subject: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) {
    await mkdir(path);
    return;
  }
  if (st.isDirectory()) return;
  throw new RebuildError('input', `refused to write through "${path}": it exists and is not a directory`, {
    subject,
  });
}

async function removeIfPresent(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) throw new RebuildError('input', `refused to replace directory "${path}" with a file`);
  await rm(path);
}

/** True when `child` (absolute) is `parent` or inside it. */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
