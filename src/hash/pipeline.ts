import { Worker } from 'node:worker_threads';
import { HASH_WORKER_SOURCE } from './worker-source.js';

/**
 * SHA-256 and BLAKE3 of a stream of chunks, each hash on its own worker
 * thread, so that reading (the libuv pool), SHA-256 and BLAKE3 overlap. The
 * chunks live in a shared buffer of a few slots: the reader fills a slot,
 * submits it, and the slot comes back free once both hashes have consumed it.
 * Slot size and count are measured by `npm run bench -- hash`: 512 KiB × 8
 * keeps the slots in cache while each hash has work queued.
 */
export const CHUNK_SIZE = 512 << 10;
const SLOTS = 8;

type Algorithm = 'sha256' | 'blake3';

export interface PipelineDigests {
  sha256: string;
  blake3: string;
}

export class HashPipeline {
  private readonly shared = new SharedArrayBuffer(CHUNK_SIZE * SLOTS);
  private readonly workers: Worker[];
  private readonly pending = new Int8Array(SLOTS);
  private readonly free: number[] = [];
  private readonly waiting: Array<(slot: number) => void> = [];
  private readonly digests = new Map<Algorithm, string>();
  private failure: Error | undefined;
  private onDigest: (() => void) | undefined;
  private readonly rejecters = new Set<(err: Error) => void>();

  /** `blake3Module`: the resolved path of the native BLAKE3 binding the workers load. */
  constructor(blake3Module: string) {
    for (let i = 0; i < SLOTS; i++) this.free.push(i);
    this.workers = (['sha256', 'blake3'] as const).map((algorithm) => {
      const w = new Worker(HASH_WORKER_SOURCE, {
        eval: true,
        workerData: { algorithm, shared: this.shared, chunkSize: CHUNK_SIZE, blake3Module },
      });
      w.on('message', (m: number | string) => {
        if (typeof m === 'number') this.release(m);
        else {
          this.digests.set(algorithm, m);
          this.onDigest?.();
        }
      });
      w.on('error', (err) => this.fail(err));
      return w;
    });
  }

  /** A free slot to read into (waits until one is). */
  acquire(): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve, reject) => {
      this.rejecters.add(reject);
      this.waiting.push((slot) => {
        this.rejecters.delete(reject);
        resolve(slot);
      });
    });
  }

  /** The slot's bytes, for a read to fill. */
  view(slot: number, length = CHUNK_SIZE): Buffer {
    return Buffer.from(this.shared, slot * CHUNK_SIZE, length);
  }

  /** Hands the first `length` bytes of the slot to both hashes, in submission order. */
  submit(slot: number, length: number): void {
    if (length === 0) {
      this.pending[slot] = 1;
      this.release(slot);
      return;
    }
    this.pending[slot] = this.workers.length;
    for (const w of this.workers) w.postMessage([slot, length]);
  }

  /** Both digests of everything submitted; the pipeline is finished after this. */
  async digest(): Promise<PipelineDigests> {
    if (this.failure) throw this.failure;
    const done = new Promise<void>((resolve, reject) => {
      this.rejecters.add(reject);
      this.onDigest = () => {
        if (this.digests.size === this.workers.length) resolve();
      };
    });
    for (const w of this.workers) w.postMessage(-1);
    await done;
    return { sha256: this.digests.get('sha256')!, blake3: this.digests.get('blake3')! };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private release(slot: number): void {
    this.pending[slot] = (this.pending[slot] ?? 1) - 1;
    if (this.pending[slot] !== 0) return;
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const reject of this.rejecters) reject(err);
    this.rejecters.clear();
  }
}
