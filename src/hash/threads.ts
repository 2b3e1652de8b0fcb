import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { RebuildError } from '../util/errors.js';
import { READER_WORKER_SOURCE, type ReaderControl } from './worker-source.js';

/**
 * SHA-256 and BLAKE3 of one open file on two threads that never wait for the
 * main one: the SHA-256 thread reads the file (synchronous positioned reads
 * into a ring of shared slots) and hashes each chunk it read; the BLAKE3
 * thread hashes the same slots behind it. They hand slots over through
 * counters in shared memory (Atomics), not messages: one message each at
 * the end. SHA-256 is the slowest stage, so the thread that reads is the one
 * that is always busy, and BLAKE3 (three times faster) keeps up behind it.
 * Measured by `npm run bench -- hash` against a main-thread reader posting
 * every chunk to both hashes: about a quarter less CPU per GiB.
 * Chunk size and ring length were tuned there too.
 */
export const RING_CHUNK = 256 << 10;
const RING_SLOTS = 8;

/** Indexes into the control array (see READER_WORKER_SOURCE). */
export const CONTROL: ReaderControl = { produced: 0, consumed: 1, abort: 2, length: 3 };

type Reply = { digest: string; same?: boolean; planDigest?: string } | { error: string; grew?: boolean };

/**
 * A third digest taken in the same pass (the BLAKE3 thread has time to spare):
 * of literal bytes and ranges of the file, the ranges in file order without
 * overlapping. The ELF reader's build-id recomputation is one.
 */
export interface PlanToDigest {
  algorithm: 'sha1' | 'md5';
  runs: ReadonlyArray<Uint8Array | { offset: number; size: number } | { zeros: number }>;
}

/**
 * The digests of `handle`; with `compareWith`, that file is read in step and
 * compared (`same`: its bytes equalled the first file's as far as it went).
 */
export async function hashOpenFileOnThreads(
  path: string,
  handle: FileHandle,
  blake3Module: string,
  compareWith?: FileHandle,
  plan?: PlanToDigest,
): Promise<{ size: number; sha256: string; blake3: string; same: boolean; planDigest?: string }> {
  const ring = new SharedArrayBuffer(RING_CHUNK * RING_SLOTS);
  const control = new Int32Array(new SharedArrayBuffer(4 * (CONTROL.length + RING_SLOTS)));
  const sizes = new Float64Array(new SharedArrayBuffer(8));
  const common = { ring, control, sizes, chunk: RING_CHUNK, slots: RING_SLOTS, layout: CONTROL };
  const start = (role: 'read-sha256' | 'blake3') =>
    new Worker(READER_WORKER_SOURCE, {
      eval: true,
      workerData: {
        ...common,
        role,
        fd: handle.fd,
        fdB: compareWith?.fd,
        blake3Module,
        ...(plan && role === 'blake3' ? { plan } : {}),
      },
    });
  const workers = [start('read-sha256'), start('blake3')];
  const replies = workers.map(
    (w) =>
      new Promise<Reply>((resolve) => {
        w.once('message', resolve);
        w.once('error', (err) => resolve({ error: err.message }));
        w.once('exit', (code) => resolve({ error: `hash thread exited (${code})` }));
      }),
  );
  try {
    const [sha, b3] = await Promise.all(
      replies.map((r) =>
        r.then((m) => {
          // The first failure stops the other thread too (it may be waiting for a slot).
          if ('error' in m) {
            Atomics.store(control, CONTROL.abort, 1);
            Atomics.notify(control, CONTROL.produced);
            Atomics.notify(control, CONTROL.consumed);
          }
          return m;
        }),
      ),
    );
    for (const m of [sha, b3]) {
      if (m && 'error' in m) {
        if (m.grew)
          throw new RebuildError('input', 'the file changed while it was being read', { subject: path });
        if (m.error !== 'aborted')
          throw new RebuildError('input', `cannot read: ${m.error}`, { subject: path });
      }
    }
    if (!sha || !b3 || !('digest' in sha) || !('digest' in b3)) {
      throw new RebuildError('input', 'cannot read: the hash threads stopped', { subject: path });
    }
    return {
      size: sizes[0] ?? 0,
      sha256: sha.digest,
      blake3: b3.digest,
      same: sha.same === true,
      ...(b3.planDigest !== undefined ? { planDigest: b3.planDigest } : {}),
    };
  } finally {
    Atomics.store(control, CONTROL.abort, 1);
    Atomics.notify(control, CONTROL.produced);
    Atomics.notify(control, CONTROL.consumed);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
