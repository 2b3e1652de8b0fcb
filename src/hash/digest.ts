import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { RebuildError } from '../util/errors.js';
import { OPEN_FLAGS } from '../util/regular-file.js';
import type { PlanToDigest } from './threads.js';

/** Read size on the calling thread (small files). */
const READ_SIZE = 1 << 20;

/** SHA-256 and BLAKE3 of one file, as lowercase hex, with its size. */
export interface Digests {
  size: number;
  sha256: string;
  blake3: string;
}

/** A streaming BLAKE3: update with chunks, then the hex digest. */
interface Blake3 {
  update(chunk: Uint8Array): unknown;
  hex(): string;
}

/**
 * BLAKE3 from the native @napi-rs/blake-hash when its binary exists for this
 * platform, else hash-wasm's WebAssembly build (about a quarter of the speed,
 * and only on the calling thread). Both are measured by `npm run bench -- hash`.
 */
type NativeBlake3 = { new (): { update(b: Uint8Array): unknown; digest(f: 'hex'): string } };
const require = createRequire(import.meta.url);
const nativeModule: string | undefined = (() => {
  let main: string;
  try {
    main = require.resolve('@napi-rs/blake-hash');
  } catch {
    return undefined;
  }
  // The package's loader asks process.report whether libc is glibc (tens of ms at every
  // start-up): on Linux try the glibc binding it depends on first, then the loader.
  const candidates = [
    ...(process.platform === 'linux' ? [`@napi-rs/blake-hash-linux-${process.arch}-gnu`] : []),
    '@napi-rs/blake-hash',
  ];
  const fromPackage = createRequire(main);
  for (const name of candidates) {
    try {
      const path = fromPackage.resolve(name);
      if (typeof (fromPackage(path) as { Blake3Hasher?: unknown }).Blake3Hasher === 'function') return path;
    } catch {}
  }
  return undefined;
})();
const native = nativeModule
  ? (require(nativeModule) as { Blake3Hasher: NativeBlake3 }).Blake3Hasher
  : undefined;

export const BLAKE3_IMPLEMENTATION = native ? '@napi-rs/blake-hash (native)' : 'hash-wasm (WebAssembly)';

// hash-wasm's hashers are created asynchronously: one is made as this module loads, only
// when it is needed; every async way in below awaits it (no top-level await: the CLI is
// bundled as CommonJS, see scripts/bundle.mjs).
let wasm: Awaited<ReturnType<typeof import('hash-wasm').createBLAKE3>> | undefined;
const wasmReady: Promise<void> | undefined = native
  ? undefined
  : import('hash-wasm')
      .then((m) => m.createBLAKE3())
      .then((h) => {
        wasm = h;
      });
wasmReady?.catch(() => undefined);

/** Resolves once createBlake3 can be called (at once with the native binding). */
export async function blake3Ready(): Promise<void> {
  await wasmReady;
}

export function createBlake3(): Blake3 {
  if (native) {
    const h = new native();
    return { update: (c) => h.update(c), hex: () => h.digest('hex') };
  }
  // A caller that did not await blake3Ready: an error, never a wrong digest.
  if (!wasm) throw new Error('BLAKE3 (WebAssembly) used before blake3Ready() resolved');
  const h = wasm;
  h.init();
  return { update: (c) => h.update(c), hex: () => h.digest('hex') };
}

/**
 * Files at least this large are hashed on two worker threads (SHA-256 and
 * BLAKE3 beside the reads); smaller ones on the calling thread, where they
 * take less time than starting the workers (measured by the hash bench).
 */
export const PARALLEL_MIN_SIZE = 16 << 20;

/**
 * Threads for the two files of a pair that differ in size: `reader each`
 * (a reading thread per file, b's SHA-256 on a worker of its own) or, on a
 * machine of two cores or fewer, `one reader` (one thread reads and hashes
 * both files in turn, both SHA-256 on the calling thread). Each worker
 * costs 25-35 ms of CPU to boot, and threads beyond the cores only wait
 * their turn: on two cores one reader ends the pass sooner.
 */
export type PairThreads = 'one reader' | 'reader each';

export const pairThreads = (): PairThreads => (availableParallelism() <= 2 ? 'one reader' : 'reader each');

/** The native BLAKE3 binding's path, for worker threads (undefined: hash on the calling thread). */
export function blake3ModuleForWorkers(): string | undefined {
  return nativeModule;
}

/** Opens a regular file for reading; errors name the file. */
export async function openRegular(path: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    // Never 'r': opening a FIFO for reading blocks until a writer comes, and no signal ends it.
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? String(err));
    throw new RebuildError('input', `cannot read: ${why}`, { subject: path, cause: err });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new RebuildError('input', 'not a regular file', { subject: path });
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Hashes a file with SHA-256 (node:crypto, OpenSSL) and BLAKE3 in a single
 * read: each chunk feeds both hashers.
 */
export async function hashFile(path: string): Promise<Digests> {
  const { handle, size } = await openRegular(path);
  try {
    return await hashOpenFile(path, handle, size);
  } finally {
    await handle.close();
  }
}

/**
 * hashFile of a file already open; `size` (from its stat) picks the thread(s).
 * `plan` is digested in the same pass on the threads (`planDigest`), and not
 * at all on the calling thread: the caller digests it itself then.
 */
export async function hashOpenFile(
  path: string,
  handle: FileHandle,
  size: number,
  plan?: PlanToDigest,
): Promise<Digests & { planDigest?: string }> {
  if (size >= PARALLEL_MIN_SIZE && nativeModule) {
    // The thread pipeline is loaded by the files large enough for it.
    const { hashOpenFileOnThreads } = await import('./threads.js');
    const { same: _, ...digests } = await hashOpenFileOnThreads(
      path,
      handle,
      nativeModule,
      plan ? { plan } : {},
    );
    return digests;
  }
  await blake3Ready();
  return hashOnThisThread(handle);
}

/** Reads of 1 MiB on this thread, each fed to both hashers in turn. */
async function hashOnThisThread(handle: FileHandle): Promise<Digests> {
  const h = newHashers();
  const buf = Buffer.allocUnsafe(READ_SIZE);
  let at = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, at);
    if (bytesRead === 0) break;
    h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return { size: at, ...h.digest() };
}

/** Both hashers on the calling thread. */
export interface Hashers {
  update(chunk: Uint8Array): void;
  digest(): { sha256: string; blake3: string };
}

export function newHashers(): Hashers {
  const sha = createHash('sha256');
  const b3 = createBlake3();
  return {
    update: (c) => {
      sha.update(c);
      b3.update(c);
    },
    digest: () => ({ sha256: sha.digest('hex'), blake3: b3.hex() }),
  };
}

/** SHA-256 (hex) of bytes in memory. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Digests of bytes already in memory (small files, tests); async callers await blake3Ready first. */
export function hashBytes(bytes: Uint8Array): Digests {
  const h = newHashers();
  h.update(bytes);
  return { size: bytes.byteLength, ...h.digest() };
}
