/**
 * Free space a container must leave on the file systems it writes. A hostile
 * or runaway recipe can write without end into its work directory (a bind
 * mount on the host) or its container's layer (the engine's data root), in
 * bytes or in files; a full disk would then break the auditor's machine — its
 * audit database, its logs, other builds. The kernel offers no per-directory
 * quota here without privileges, so the guard watches what statfs says
 * (cheap) and the container is stopped when it falls below the reserve.
 */
import { stat, statfs } from 'node:fs/promises';
import { RebuildError } from '../util/errors.js';

/** What a container left free on one file system when it was stopped (or before it started). */
export interface DiskShortage {
  /** A path on the file system that ran low (the mount source or the engine's data root). */
  path: string;
  /** `space`: free bytes below the reserve; `inodes`: free files below 1% of the file system's (at least 10,000). */
  kind: 'space' | 'inodes';
  freeBytes: number;
  reserveBytes: number;
  freeInodes: number;
  reserveInodes: number;
}

export const DEFAULT_DISK_RESERVE_BYTES = 1024 ** 3;

/** How often free space is read (statfs is a microsecond): a writer at 5 GB/s into the page cache overshoots by ~0.5 GB. */
const POLL_MS = 100;

async function shortageOf(path: string, reserveBytes: number): Promise<DiskShortage | undefined> {
  const s = await statfs(path).catch(() => undefined);
  if (s === undefined) return undefined;
  // Blocks and files an unprivileged writer may use (root's reserved blocks excluded).
  const freeBytes = s.bavail * s.bsize;
  // File systems without a fixed inode table (btrfs) report 0 files: nothing to reserve there.
  const reserveInodes = s.files > 0 ? Math.max(10_000, Math.ceil(s.files / 100)) : 0;
  const base = { path, freeBytes, reserveBytes, freeInodes: s.ffree, reserveInodes };
  if (freeBytes < reserveBytes) return { ...base, kind: 'space' };
  if (reserveBytes > 0 && s.ffree < reserveInodes) return { ...base, kind: 'inodes' };
  return undefined;
}

/** One path per file system (by device), skipping paths that cannot be read (a remote engine's data root). */
export async function distinctFileSystems(paths: readonly string[]): Promise<string[]> {
  const byDevice = new Map<number, string>();
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (s === undefined || byDevice.has(s.dev)) continue;
    if (
      await statfs(p).then(
        () => true,
        () => false,
      )
    )
      byDevice.set(s.dev, p);
  }
  return [...byDevice.values()];
}

export function gib(bytes: number): string {
  return `${+(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** "free space on the file system of X fell to 0.9 GiB, below the 1 GiB …" (`verb`: "is" before, "fell to" after). */
export function describeShortage(s: DiskShortage, verb: 'is' | 'fell to'): string {
  return s.kind === 'space'
    ? `free space on the file system of ${s.path} ${verb} ${gib(s.freeBytes)}, below the ${gib(s.reserveBytes)} a build must leave free`
    : `free inodes (files) on the file system of ${s.path} ${verb} ${s.freeInodes}, below the ${s.reserveInodes} a build must leave free`;
}

export function shortageFix(s: DiskShortage): string {
  return s.kind === 'space'
    ? `free space there (df -h ${s.path}), or lower the reserve with --disk-reserve <GiB> if the build really needs the space`
    : `remove files there (df -i ${s.path}); a build that makes this many files needs a larger file system`;
}

/** Before a container starts: a file system already below its reserve is an environment failure. */
export async function checkDiskReserve(paths: readonly string[], reserveBytes: number): Promise<void> {
  for (const path of paths) {
    const short = await shortageOf(path, reserveBytes);
    if (short)
      throw new RebuildError('environment', describeShortage(short, 'is'), {
        subject: path,
        fix: shortageFix(short),
      });
  }
}

/**
 * Watches free space while a container runs; calls `onShort` once, with the
 * first file system found below the reserve. Returns the function that stops
 * watching.
 */
export function watchDiskReserve(
  paths: readonly string[],
  reserveBytes: number,
  onShort: (s: DiskShortage) => void,
): () => void {
  if (paths.length === 0) return () => undefined;
  let busy = false;
  let done = false;
  const timer = setInterval(() => {
    if (busy || done) return;
    busy = true;
    void (async () => {
      for (const path of paths) {
        const short = await shortageOf(path, reserveBytes);
        if (done) return;
        if (short) {
          done = true;
          clearInterval(timer);
          onShort(short);
          return;
        }
      }
    })().finally(() => {
      busy = false;
    });
  }, POLL_MS);
  timer.unref();
  return () => {
    done = true;
    clearInterval(timer);
  };
}
