/**
 * Downloads an artifact pinned by size, BLAKE3 and SHA-256 (soarpkgs
 * version files, the sbuild index): never more bytes than pinned, resumed
 * with `Range` after an interruption (also by the next run), and cached by
 * BLAKE3 once — and only once — every pinned digest matched. Bytes that do
 * not match are kept beside the result for forensics, never cached.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Digests, hashFile } from '../hash/digest.js';
import { isNoSpace, messageOf, noSpaceError, RebuildError } from '../util/errors.js';
import { isProcessAlive } from '../util/process.js';
import { defaultCacheRoot } from './cache.js';
import {
  DEFAULT_BOUNDS,
  type HttpBounds,
  idleTimeout,
  isTransientStatus,
  TransientError,
  withRetries,
} from './http.js';

export interface Pin {
  url: string;
  size?: number;
  blake3: string;
  sha256?: string;
}

export interface PinnedFetchOptions {
  /** Cache root (default `${XDG_CACHE_HOME:-~/.cache}/rebuild/pinned`). */
  cacheDir?: string;
  bounds?: Partial<HttpBounds>;
  /** Refuse artifacts without a pinned size above this (default 4 GiB). */
  maxBytes?: number;
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
  /** URL prefix → replacement (`https://github.com` → a loopback mirror); the pin stays the original URL. */
  urlMirrors?: Record<string, string>;
}

/** The URL to download: the longest matching mirror prefix replaced. */
export function mirroredUrl(url: string, mirrors: Record<string, string> = {}): string {
  const prefix = Object.keys(mirrors)
    .filter((p) => url.startsWith(p))
    .sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? url : `${mirrors[prefix]}${url.slice(prefix.length)}`;
}

export type PinCheck = {
  field: 'url' | 'size' | 'blake3' | 'sha256';
  expected: string;
  actual: string;
  ok: boolean;
};

export interface PinnedFetch {
  /** Where the bytes are (the cache when they matched, else `mismatchPath`). */
  path: string;
  digests: Digests;
  checks: PinCheck[];
  ok: boolean;
  fromCache: boolean;
  /** Bytes resumed from an earlier partial download. */
  resumedFrom: number;
}

export function defaultPinnedCacheDir(): string {
  return join(defaultCacheRoot(), 'pinned');
}

/** Compares digests with the pin; pure. */
export function checkPin(pin: Pin, d: Digests): PinCheck[] {
  const checks: PinCheck[] = [];
  if (pin.size !== undefined)
    checks.push({
      field: 'size',
      expected: String(pin.size),
      actual: String(d.size),
      ok: pin.size === d.size,
    });
  checks.push({ field: 'blake3', expected: pin.blake3, actual: d.blake3, ok: pin.blake3 === d.blake3 });
  if (pin.sha256 !== undefined)
    checks.push({ field: 'sha256', expected: pin.sha256, actual: d.sha256, ok: pin.sha256 === d.sha256 });
  return checks;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** One lock per partial file, so two runs never append to the same one. */
async function lockPartial(lockPath: string): Promise<boolean> {
  for (let i = 0; i < 2; i++) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')) || 0);
      if (pid > 0 && pid !== process.pid && isProcessAlive(pid)) return false;
      await rm(lockPath, { force: true });
    }
  }
  return false;
}

/** Appends the body of `url` from byte `from` to `part`; resolves with the bytes now in `part`. */
async function download(
  pin: Pin,
  part: string,
  max: number,
  opts: PinnedFetchOptions,
  bounds: HttpBounds,
): Promise<number> {
  return withRetries(`downloading ${pin.url}`, bounds, async () => {
    const from = await sizeOf(part);
    if (pin.size !== undefined && from === pin.size) return from;
    const idle = idleTimeout(bounds.timeoutMs);
    const onAbort = () => idle.kick();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (from > 0) headers.range = `bytes=${from}-`;
      const signal = opts.signal ? AbortSignal.any([idle.signal, opts.signal]) : idle.signal;
      let res: Response;
      try {
        res = await fetch(mirroredUrl(pin.url, opts.urlMirrors), { headers, signal, redirect: 'follow' });
      } catch (err) {
        if (opts.signal?.aborted) throw new RebuildError('interrupted', 'download interrupted');
        throw err;
      }
      if (isTransientStatus(res.status)) throw new TransientError(`HTTP ${res.status}`);
      let start = 0;
      if (res.status === 206) {
        const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
        start = m ? Number(m[1]) : -1;
        if (start !== from) {
          // a range we did not ask for: start again from zero
          await res.body?.cancel().catch(() => {});
          await rm(part, { force: true });
          throw new TransientError(`server answered a range at ${start}, asked for ${from}`);
        }
      } else if (res.status === 416 && from > 0) {
        await res.body?.cancel().catch(() => {});
        await rm(part, { force: true });
        throw new TransientError('range not satisfiable: restarting the download');
      } else if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw new RebuildError('upstream', `the pinned URL answers HTTP ${res.status}`, {
          subject: pin.url,
          fix: 'the upstream release may have been deleted or renamed; the pin itself cannot be verified without its bytes',
        });
      } else if (from > 0) {
        await rm(part, { force: true }); // no range support: whole body again
      }
      if (!res.body) throw new TransientError('empty body');
      let received = start;
      const out = createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
      const body = res.body as unknown as AsyncIterable<Uint8Array>;
      async function* bounded() {
        for await (const chunk of body) {
          idle.kick();
          received += chunk.byteLength;
          if (received > max)
            throw new RebuildError('upstream', `the server sent more than the ${max} bytes pinned`, {
              subject: pin.url,
              fix: 'the bytes at this URL are not the pinned artifact',
            });
          opts.onProgress?.(received, pin.size);
          yield chunk;
        }
      }
      await pipeline(bounded(), out).catch((err: unknown) => {
        // a full cache disk: name the cache directory (the write error carries no path)
        throw isNoSpace(err) ? noSpaceError(dirname(part), err, part) : err;
      });
      if (pin.size !== undefined && received < pin.size)
        throw new TransientError(`got ${received} of ${pin.size} bytes`);
      return received;
    } finally {
      idle.done();
      opts.signal?.removeEventListener('abort', onAbort);
    }
  });
}

/**
 * Fetches a pinned artifact (or takes it from the cache) and checks it
 * against every pinned value. Never throws for a mismatch: the result says
 * which check failed, so the caller can give an integrity verdict.
 */
export async function fetchPinned(
  pin: Pin,
  mismatchPath: string,
  opts: PinnedFetchOptions = {},
): Promise<PinnedFetch> {
  if (!/^[0-9a-f]{64}$/.test(pin.blake3))
    throw new RebuildError('input', `pinned BLAKE3 "${pin.blake3}" is not 64 hex digits`);
  const root = opts.cacheDir ?? defaultPinnedCacheDir();
  const bounds = { ...DEFAULT_BOUNDS, ...opts.bounds };
  const max = pin.size ?? opts.maxBytes ?? 4 * 1024 ** 3;
  try {
    await mkdir(join(root, 'blake3'), { recursive: true });
    await mkdir(join(root, 'partial'), { recursive: true });
  } catch (err) {
    throw new RebuildError('environment', `cannot create the download cache: ${messageOf(err)}`, {
      subject: root,
      fix: 'set --cache-dir (or XDG_CACHE_HOME) to a writable directory',
    });
  }
  const cached = join(root, 'blake3', pin.blake3);
  if ((await sizeOf(cached)) > 0) {
    const digests = await hashFile(cached);
    const checks = checkPin(pin, digests);
    if (checks.every((c) => c.ok))
      return { path: cached, digests, checks, ok: true, fromCache: true, resumedFrom: 0 };
    await rm(cached, { force: true }); // a damaged cache entry: fetch again
  }
  const shared = join(root, 'partial', `${pin.blake3}.part`);
  const lock = `${shared}.lock`;
  const mine = await lockPartial(lock);
  const part = mine
    ? shared
    : join(root, 'partial', `${pin.blake3}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  try {
    const resumedFrom = await sizeOf(part);
    await download(pin, part, max, opts, bounds);
    const digests = await hashFile(part);
    const checks = checkPin(pin, digests);
    const ok = checks.every((c) => c.ok);
    if (ok) {
      await chmod(part, 0o444);
      await rename(part, cached);
      return { path: cached, digests, checks, ok, fromCache: false, resumedFrom };
    }
    await rename(part, mismatchPath);
    return { path: mismatchPath, digests, checks, ok, fromCache: false, resumedFrom };
  } finally {
    if (mine) await rm(lock, { force: true });
    else await rm(part, { force: true });
  }
}
