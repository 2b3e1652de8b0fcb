import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RebuildError } from '../util/errors.js';

/** `${XDG_CACHE_HOME:-~/.cache}/rebuild` */
export function defaultCacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'rebuild');
}

export function defaultBlobCacheDir(): string {
  return join(defaultCacheRoot(), 'blobs');
}

/** Cached files up to this size are re-hashed before they are trusted again. */
const REHASH_MAX = 64 * 1024 * 1024;
/** Temporary files older than this are removed even if their process seems alive. */
const STALE_MS = 24 * 3600 * 1000;

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new RebuildError('input', `not a sha256 digest: "${digest}"`);
  return m[1]!;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

const cleaned = new Set<string>();

/**
 * Content-addressed download cache: `<root>/sha256/<hex>` holds bytes whose
 * SHA-256 is `<hex>` (verified before they were renamed there), `<root>/tmp/`
 * holds downloads in progress named `<hex>.<pid>.<random>.part`. Renames are
 * atomic on one file system, so concurrent runs at worst download the same
 * blob twice and rename identical bytes over each other; an interrupted
 * download leaves only a temp file, removed by the next run once its process
 * is gone.
 */
export class BlobCache {
  private constructor(readonly root: string) {}

  static async open(root: string = defaultBlobCacheDir()): Promise<BlobCache> {
    try {
      await mkdir(join(root, 'sha256'), { recursive: true });
      await mkdir(join(root, 'tmp'), { recursive: true });
    } catch (err) {
      throw new RebuildError(
        'environment',
        `cannot create the download cache: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        { subject: root, fix: 'set --cache-dir (or XDG_CACHE_HOME) to a writable directory', cause: err },
      );
    }
    const cache = new BlobCache(root);
    if (!cleaned.has(root)) {
      cleaned.add(root);
      await cache.cleanStale();
    }
    return cache;
  }

  pathFor(digest: string): string {
    return join(this.root, 'sha256', hexOf(digest));
  }

  /** A unique temporary path (same file system as the final place). */
  tempPath(digest: string): string {
    return join(this.root, 'tmp', `${hexOf(digest)}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
  }

  /**
   * The cached file for `digest` if present with the expected size (and, for
   * files up to 64 MiB, the expected SHA-256). A cached file that fails is
   * removed, so it is downloaded again.
   */
  async lookup(digest: string, size?: number): Promise<string | undefined> {
    const path = this.pathFor(digest);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch {
      return undefined;
    }
    const ok =
      st.isFile() &&
      (size === undefined || st.size === size) &&
      (st.size > REHASH_MAX || `sha256:${await sha256OfFile(path)}` === digest);
    if (ok) return path;
    await rm(path, { force: true });
    return undefined;
  }

  /** Moves a verified temp file into place (read-only). */
  async commit(tempPath: string, digest: string): Promise<string> {
    const path = this.pathFor(digest);
    await chmod(tempPath, 0o444);
    await rename(tempPath, path);
    return path;
  }

  /** Removes temp files of processes that are gone (or older than a day). */
  async cleanStale(): Promise<number> {
    const dir = join(this.root, 'tmp');
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const m = /^[0-9a-f]{64}\.(\d+)\.[0-9a-f]+\.part$/.exec(name);
      const path = join(dir, name);
      let stale = !m;
      if (m) {
        const pid = Number(m[1]);
        if (pid !== process.pid && !alive(pid)) stale = true;
        else {
          const st = await stat(path).catch(() => undefined);
          if (st && Date.now() - st.mtimeMs > STALE_MS) stale = true;
        }
      }
      if (stale) {
        await rm(path, { force: true, recursive: true });
        removed++;
      }
    }
    return removed;
  }
}
