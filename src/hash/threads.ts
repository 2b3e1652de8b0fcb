import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { RebuildError } from '../util/errors.js';
import {
  CONSUMER_WORKER_SOURCE,
  PLAN_WORKER_SOURCE,
  READER_WORKER_SOURCE,
  type ReaderControl,
} from './worker-source.js';

/**
 * SHA-256 and BLAKE3 of one open file on two threads: one worker reads the
 * file (synchronous positioned reads into a ring of shared slots) and hashes
 * each chunk with BLAKE3 (and a plan's digest, GNU ld's build-id input,
 * when given); SHA-256 hashes the same slots behind it, on the calling
 * thread or on a worker of its own (when the caller hashes another file
 * beside it). They hand slots over through counters in shared memory
 * (Atomics), not messages. SHA-256 is the slowest stage (about three times
 * BLAKE3), so its thread does nothing else; the reads ride on the BLAKE3
 * side, which has time to spare. Each worker costs about 25 ms of CPU and
 * 8 MB to start, so there are no more of them than there are digests worth
 * a thread. Measured by `npm run bench -- hash` and `-- compare`; chunk
 * size and ring length were tuned there too (512 KiB × 4 against 256 KiB × 8:
 * an identical 400 MB pair 0.95× the time, the rest unchanged; the reader
 * spends most on reading into slots the hashing core has just read).
 */
export const RING_CHUNK = 512 << 10;
export const RING_SLOTS = 4;
/** The calling thread lets its event loop run after this many chunks (progress, signals). */
const YIELD_EVERY = 32;

/** Indexes into the control array (see READER_WORKER_SOURCE); consumers' counts from `consumed`. */
const MAX_CONSUMERS = 1;
export const CONTROL: ReaderControl = {
  produced: 0,
  freed: 1,
  abort: 2,
  consumed: 3,
  length: 3 + MAX_CONSUMERS,
};

type ReaderReply =
  | { digest: string; same: boolean; planDigest?: string; againstEqual?: boolean }
  | { diverged: true }
  | { error: string; grew?: boolean };
type ConsumerReply = { digest?: string } | { error: string };

/**
 * A third digest taken in the same pass, by the reading thread: of literal
 * bytes, runs of zeros and ranges of the file, the ranges in file order
 * without overlapping. The ELF reader's build-id recomputation is one.
 */
export interface PlanToDigest {
  algorithm: 'sha1' | 'md5';
  runs: ReadonlyArray<Uint8Array | { offset: number; size: number } | { zeros: number }>;
}

/**
 * A file the reading thread compares the one it reads with, byte for byte,
 * as it reads it: literal bytes, zeros and ranges of the open file `fd`
 * (a post-processing plan over b, see src/postprocess/plan.ts), `size` in all.
 */
export interface PlanToCompare {
  fd: number;
  size: number;
  pieces: ReadonlyArray<
    | { kind: 'range'; from: number; length: number }
    | { kind: 'bytes'; data: Uint8Array }
    | { kind: 'zero'; length: number }
  >;
}

export interface ThreadOptions {
  /** A file of the same size, read in step and compared (`same` in the result). */
  compareWith?: FileHandle;
  /** Called once, as soon as compareWith's bytes differ (while this file is still being hashed). */
  onDiverged?: () => void;
  plan?: PlanToDigest;
  /** SHA-256 on a worker of its own instead of the calling thread (when the caller hashes another file too). */
  sha256OnWorker?: boolean;
  /** Read (and BLAKE3) on this thread, after the files given it before, instead of one of its own. */
  reader?: SharedReader;
  against?: PlanToCompare;
}

export interface ThreadDigests {
  size: number;
  sha256: string;
  blake3: string;
  /** compareWith's bytes equalled this file's as far as it went. */
  same: boolean;
  planDigest?: string;
  /** The file equals `against`, every byte (given with it). */
  againstEqual?: boolean;
}

class Aborted extends Error {}

/**
 * Ring workers started ahead of their job (a worker takes tens of ms to
 * boot): idle, they do not keep the process alive, and each is used once.
 */
const idle = new Map<string, Worker[]>();

/** Starts `readers` reading and `consumers` SHA-256 workers now, for hash passes to come. */
export function prestartRingWorkers(readers: number, consumers = 0): void {
  for (const [source, n] of [
    [READER_WORKER_SOURCE, readers],
    [CONSUMER_WORKER_SOURCE, consumers],
  ] as const) {
    const list = idle.get(source) ?? [];
    idle.set(source, list);
    for (let i = 0; i < n; i++) {
      const w = new Worker(source, { eval: true });
      w.unref();
      // One that fails to start is dropped; a hash pass then starts its own.
      w.once('error', () => {
        const at = list.indexOf(w);
        if (at >= 0) list.splice(at, 1);
      });
      list.push(w);
    }
  }
}

/** A ring worker for `source`, started ahead or now, for the caller to give jobs and terminate. */
function ringWorker(source: string): Worker {
  const worker = idle.get(source)?.shift() ?? new Worker(source, { eval: true });
  worker.removeAllListeners('error');
  worker.ref();
  return worker;
}

/** Numbers the jobs given to ring workers: a shared worker's replies name theirs. */
let jobs = 0;

/**
 * One reading thread for several files, hashed in turn in the order they
 * are given (each file with a ring of its own): see PairThreads. Taken on
 * first use; the owner closes it once every pass given it has settled.
 */
export class SharedReader {
  private worker: Worker | undefined;

  take(): Worker {
    this.worker ??= ringWorker(READER_WORKER_SOURCE);
    return this.worker;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
  }
}

/** The digests of `handle` (see ThreadOptions). */
export async function hashOpenFileOnThreads(
  path: string,
  handle: FileHandle,
  blake3Module: string,
  opts: ThreadOptions = {},
): Promise<ThreadDigests> {
  const ring = new SharedArrayBuffer(RING_CHUNK * RING_SLOTS);
  const control = new Int32Array(new SharedArrayBuffer(4 * (CONTROL.length + RING_SLOTS)));
  const sizes = new Float64Array(new SharedArrayBuffer(8));
  const shared = { ring, control, chunk: RING_CHUNK, slots: RING_SLOTS, layout: CONTROL };
  const workers: Worker[] = [];
  const stop = () => {
    Atomics.store(control, CONTROL.abort, 1);
    Atomics.notify(control, CONTROL.produced);
    Atomics.notify(control, CONTROL.freed);
  };
  const start = <R extends object>(
    source: string,
    data: object,
    onMessage?: (m: R) => boolean,
    sharedWorker?: Worker,
  ) => {
    // A shared worker is its owner's to terminate (it may have other files to read).
    const worker = sharedWorker ?? ringWorker(source);
    if (!sharedWorker) workers.push(worker);
    const job = ++jobs;
    worker.postMessage({ ...shared, ...data, job });
    return new Promise<R | { error: string }>((resolve) => {
      const done = (m: R | { error: string }) => {
        worker.off('message', onReply);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(m);
      };
      const onReply = (m: R & { job?: number }) => {
        if (m.job === job && !onMessage?.(m)) done(m);
      };
      const onError = (err: Error) => done({ error: err.message });
      const onExit = (code: number) => done({ error: `hash thread exited (${code})` });
      worker.on('message', onReply);
      worker.once('error', onError);
      worker.once('exit', onExit);
    }).then((m) => {
      // A failed thread stops the others (they may be waiting for it).
      if ('error' in m) stop();
      return m;
    });
  };
  let diverged = false;
  const reader = start<ReaderReply>(
    READER_WORKER_SOURCE,
    {
      fd: handle.fd,
      fdB: opts.compareWith?.fd,
      sizes,
      consumers: 1,
      blake3Module,
      ...(opts.plan ? { plan: opts.plan } : {}),
      ...(opts.against ? { against: opts.against } : {}),
    },
    (m) => {
      if (!('diverged' in m)) return false;
      if (!diverged) {
        diverged = true;
        opts.onDiverged?.();
      }
      return true;
    },
    opts.reader?.take(),
  );
  const sha256 = opts.sha256OnWorker
    ? start<ConsumerReply>(CONSUMER_WORKER_SOURCE, { index: 0, algorithm: 'sha256' })
    : sha256Behind(ring, control, CONTROL.consumed).then(
        (digest) => ({ digest }),
        (err: unknown) => {
          stop();
          if (err instanceof Aborted) return { error: 'the hash thread stopped' };
          throw err;
        },
      );
  try {
    const [r, s] = await Promise.all([reader, sha256]);
    if ('error' in r) {
      if ('grew' in r && r.grew)
        throw new RebuildError('input', 'the file changed while it was being read', { subject: path });
      throw new RebuildError('input', `cannot read: ${r.error}`, { subject: path });
    }
    if ('error' in s) throw new RebuildError('input', `cannot read: ${s.error}`, { subject: path });
    if (!('digest' in r) || s.digest === undefined) {
      throw new RebuildError('input', 'cannot read: the hash thread stopped', { subject: path });
    }
    return {
      size: sizes[0] ?? 0,
      sha256: s.digest,
      blake3: r.digest,
      same: r.same === true,
      ...(r.planDigest !== undefined ? { planDigest: r.planDigest } : {}),
      ...(opts.against ? { againstEqual: r.againstEqual === true } : {}),
    };
  } finally {
    stop();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * A plan's digest on a thread that reads the file itself (see
 * PLAN_WORKER_SOURCE): for a file already hashed without it. Undefined when
 * the file ended before the plan did.
 */
export async function digestPlanOnThread(
  path: string,
  handle: FileHandle,
  plan: PlanToDigest,
): Promise<string | undefined> {
  const worker = new Worker(PLAN_WORKER_SOURCE, { eval: true, workerData: { fd: handle.fd, plan } });
  try {
    const reply = await new Promise<ConsumerReply>((resolve) => {
      worker.once('message', resolve);
      worker.once('error', (err) => resolve({ error: err.message }));
      worker.once('exit', (code) => resolve({ error: `hash thread exited (${code})` }));
    });
    if ('error' in reply) throw new RebuildError('input', `cannot read: ${reply.error}`, { subject: path });
    return reply.digest;
  } finally {
    await worker.terminate();
  }
}

/** SHA-256 of the ring's chunks as the reader publishes them, up to the empty chunk (consumer `index`). */
async function sha256Behind(ring: SharedArrayBuffer, control: Int32Array, index: number): Promise<string> {
  const hash = createHash('sha256');
  for (let j = 0; ; j++) {
    if (j % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
    await published(control, j);
    const slot = j % RING_SLOTS;
    const n = Atomics.load(control, CONTROL.length + slot);
    if (n === 0) break;
    hash.update(new Uint8Array(ring, slot * RING_CHUNK, n));
    Atomics.store(control, index, j + 1);
    Atomics.add(control, CONTROL.freed, 1);
    Atomics.notify(control, CONTROL.freed);
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
