/** Where the reading thread and the calling thread keep their counters in the shared control array. */
export interface ReaderControl {
  /** Chunks read so far (the reader's count; an empty chunk marks the end). */
  produced: number;
  /** Chunks SHA-256 has hashed (their slots may be read into again). */
  consumed: number;
  /** Non-zero: stop (the other thread failed, or the caller gave up). */
  abort: number;
  /** From here on: each slot's chunk length. */
  length: number;
}

/**
 * The reading thread of src/hash/threads.ts, as source text: it runs with
 * `eval: true`, so it loads the same way from dist/, under tsx and under
 * vitest. It reads the file `fd` into the ring slot by slot and hashes each
 * chunk with BLAKE3; the calling thread hashes the same slots with SHA-256
 * behind it. Waits are bounded (1 s) and re-check `abort`, so it never waits
 * forever on the calling thread. Reply: `{ digest, same? }`, or
 * `{ error, grew? }`; `same`: a second file `fdB`, read in step, equalled the
 * first as far as it went.
 */
export const READER_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { fd, fdB, ring, control, sizes, chunk, slots, layout, blake3Module } = workerData;
const L = layout;
const view = (slot, n) => new Uint8Array(ring, slot * chunk, n);
const aborted = () => Atomics.load(control, L.abort) !== 0;
function waitUntil(index, done) {
  for (;;) {
    const v = Atomics.load(control, index);
    if (done(v)) return;
    if (aborted()) throw new Error('aborted');
    Atomics.wait(control, index, v, 1000);
  }
}
function publish(index, value) {
  Atomics.store(control, index, value);
  Atomics.notify(control, index);
}
function readAndHash() {
  const hasher = new (require(blake3Module).Blake3Hasher)();
  const buf = Buffer.from(ring);
  // With a second file (fdB): read it in step and compare, as long as the two agree.
  let same = fdB !== undefined;
  const other = same ? Buffer.allocUnsafe(chunk) : undefined;
  const readFull = (f, into, offset, at) => {
    let n = 0;
    for (;;) {
      const m = readSync(f, into, offset + n, chunk - n, at + n);
      if (m === 0) return n;
      n += m;
      if (n === chunk) return n;
    }
  };
  let at = 0;
  for (let i = 0; ; i++) {
    const slot = i % slots;
    waitUntil(L.consumed, (c) => c >= i - slots + 1);
    const n = readFull(fd, buf, slot * chunk, at);
    if (same) {
      const nb = readFull(fdB, other, 0, at);
      same = nb === n && buf.subarray(slot * chunk, slot * chunk + n).equals(other.subarray(0, n));
    }
    if (n < chunk && n > 0 && readSync(fd, Buffer.alloc(1), 0, 1, at + n) > 0) {
      // Data after the end it saw: the file grew while being read.
      parentPort.postMessage({ error: 'the file changed while it was being read', grew: true });
      return;
    }
    Atomics.store(control, L.length + slot, n);
    publish(L.produced, i + 1);
    if (n === 0) break;
    hasher.update(view(slot, n));
    at += n;
    if (n < chunk) {
      // The end: an empty chunk tells the SHA-256 side so.
      waitUntil(L.consumed, (c) => c >= i + 1 - slots + 1);
      Atomics.store(control, L.length + ((i + 1) % slots), 0);
      publish(L.produced, i + 2);
      break;
    }
  }
  sizes[0] = at;
  parentPort.postMessage({ digest: hasher.digest('hex'), same });
}
try {
  readAndHash();
} catch (err) {
  parentPort.postMessage({ error: err && err.message ? err.message : String(err) });
}
`;
