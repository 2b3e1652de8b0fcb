/**
 * Free space a container must leave on the file systems it writes. A hostile
 * or runaway recipe can write without end into its work directory (a bind
 * mount on the host) or its container's layer (the engine's data root); a
 * full disk would then break the auditor's machine — its audit database, its
 * logs, other builds. The kernel offers no per-directory quota here without
 * privileges, so the guard watches the free space (statfs, cheap) and the
 * container is stopped when it falls below the reserve.
 */
import { stat, statfs } from 'node:fs/promises';
import { RebuildError } from '../util/errors.js';

/** What a container left free on one file system when it was stopped (or before it started). */
export interface DiskShortage {
  /** A path on the file system that ran low (the mount source or the engine's data root). */
  path: string;
  freeBytes: number;
  reserveBytes: number;
}

export const DEFAULT_DISK_RESERVE_BYTES = 1024 ** 3;

/** How often free space is read: a build writing 2 GB/s overshoots the reserve by at most ~0.5 GB. */
const POLL_MS = 250;

async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  // Blocks an unprivileged writer may use (root's reserved blocks excluded).
  return s.bavail * s.bsize;
}

/** One path per file system (by device), skipping paths that cannot be read (a remote engine's data root). */
export async function distinctFileSystems(paths: readonly string[]): Promise<string[]> {
  const byDevice = new Map<number, string>();
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (s === undefined) continue;
    if (
      !(await statfs(p).then(
        () => true,
        () => false,
      ))
    )
      continue;
    if (!byDevice.has(s.dev)) byDevice.set(s.dev, p);
  }
  return [...byDevice.values()];
}

export function gib(bytes: number): string {
  return `${+(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Before a container starts: a file system already below its reserve is an environment failure. */
export async function checkDiskReserve(paths: readonly string[], reserveBytes: number): Promise<void> {
  for (const path of paths) {
    const free = await freeBytes(path).catch(() => undefined);
    if (free !== undefined && free < reserveBytes)
      throw new RebuildError(
        'environment',
        `only ${gib(free)} free on the file system of ${path}, below the ${gib(reserveBytes)} a build must leave free`,
        {
          subject: path,
          fix: `free space there (df -h ${path}), or lower the reserve with --disk-reserve <GiB>`,
        },
      );
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
        const free = await freeBytes(path).catch(() => undefined);
        if (done) return;
        if (free !== undefined && free < reserveBytes) {
          done = true;
          clearInterval(timer);
          onShort({ path, freeBytes: free, reserveBytes });
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
