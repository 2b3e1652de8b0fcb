import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { RebuildError } from '../util/errors.js';
import { READER_WORKER_SOURCE, type ReaderControl } from './worker-source.js';

/**
 * SHA-256 and BLAKE3 of one open file on two threads: one worker reads the
 * file (synchronous positioned reads into a ring of shared slots) and hashes
 * each chunk with BLAKE3; the calling thread hashes the same slots with
 * SHA-256 behind it. They hand slots over through counters in shared memory
 * (Atomics), not messages. SHA-256 is the slowest stage (about three times
 * BLAKE3), so its thread does nothing else: the reads ride on the BLAKE3
 * side, which has time to spare, and only one worker is started. Measured
 * by `npm run bench -- hash` against the reads on the SHA-256 side and
 * against two workers. Chunk size and ring length were tuned there too.
 */
export const RING_CHUNK = 256 << 10;
const RING_SLOTS = 8;
/** The calling thread lets its event loop run after this many chunks (progress, signals). */
const YIELD_EVERY = 64;

/** Indexes into the control array (see READER_WORKER_SOURCE). */
export const CONTROL: ReaderControl = { produced: 0, consumed: 1, abort: 2, length: 3 };

type Reply = { digest: string; same?: boolean } | { error: string; grew?: boolean };

class Aborted extends Error {}

/**
 * The digests of `handle`; with `compareWith`, that file is read in step and
 * compared (`same`: its bytes equalled the first file's as far as it went).
 */
export async function hashOpenFileOnThreads(
  path: string,
  handle: FileHandle,
  blake3Module: string,
  compareWith?: FileHandle,
): Promise<{ size: number; sha256: string; blake3: string; same: boolean }> {
  const ring = new SharedArrayBuffer(RING_CHUNK * RING_SLOTS);
  const control = new Int32Array(new SharedArrayBuffer(4 * (CONTROL.length + RING_SLOTS)));
  const sizes = new Float64Array(new SharedArrayBuffer(8));
  const stop = () => {
    Atomics.store(control, CONTROL.abort, 1);
    Atomics.notify(control, CONTROL.produced);
    Atomics.notify(control, CONTROL.consumed);
  };
  const worker = new Worker(READER_WORKER_SOURCE, {
    eval: true,
    workerData: {
      ring,
      control,
      sizes,
      chunk: RING_CHUNK,
      slots: RING_SLOTS,
      layout: CONTROL,
      fd: handle.fd,
      fdB: compareWith?.fd,
      blake3Module,
    },
  });
  const reply = new Promise<Reply>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (err) => resolve({ error: err.message }));
    worker.once('exit', (code) => resolve({ error: `hash thread exited (${code})` }));
  }).then((m) => {
    // A failed reader stops the SHA-256 side too (it may be waiting for a slot).
    if ('error' in m) stop();
    return m;
  });
  try {
    const [b3, sha] = await Promise.all([
      reply,
      sha256Behind(ring, control).catch((err: unknown) => {
        stop();
        if (err instanceof Aborted) return undefined;
        throw err;
      }),
    ]);
    if ('error' in b3) {
      if (b3.grew)
        throw new RebuildError('input', 'the file changed while it was being read', { subject: path });
      throw new RebuildError('input', `cannot read: ${b3.error}`, { subject: path });
    }
    if (sha === undefined) {
      throw new RebuildError('input', 'cannot read: the hash thread stopped', { subject: path });
    }
    return { size: sizes[0] ?? 0, sha256: sha, blake3: b3.digest, same: b3.same === true };
  } finally {
    stop();
    await worker.terminate();
  }
}

/** SHA-256 of the ring's chunks as the reader publishes them, up to the empty chunk. */
async function sha256Behind(ring: SharedArrayBuffer, control: Int32Array): Promise<string> {
  const hash = createHash('sha256');
  for (let j = 0; ; j++) {
    if (j % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
    await published(control, j);
    const slot = j % RING_SLOTS;
    const n = Atomics.load(control, CONTROL.length + slot);
    if (n === 0) break;
    hash.update(new Uint8Array(ring, slot * RING_CHUNK, n));
    Atomics.store(control, CONTROL.consumed, j + 1);
    Atomics.notify(control, CONTROL.consumed);
  }
  return hash.digest('hex');
}

/** Resolves once chunk `j` is published (at once when it already is); rejects on abort. */
async function published(control: Int32Array, j: number): Promise<void> {
  for (;;) {
    const produced = Atomics.load(control, CONTROL.produced);
    if (produced > j) return;
    if (Atomics.load(control, CONTROL.abort) !== 0) throw new Aborted();
    // Bounded, so that an abort raised without a notify is still seen.
    const wait = Atomics.waitAsync(control, CONTROL.produced, produced, 1000);
    if (wait.async) await wait.value;
  }
}
