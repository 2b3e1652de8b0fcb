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
 * first as far as it went. With `plan` (a PlanToDigest) it also digests that:
 * `planDigest`.
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
// The digest of a plan of literal bytes and file ranges (in file order), fed as the file passes.
function planHasher(spec) {
  if (!spec) return undefined;
  const h = require('node:crypto').createHash(spec.algorithm);
  const runs = spec.runs;
  let i = 0;
  // Literal bytes, and runs of zeros (fed a MiB at a time), need no file bytes.
  const literals = () => {
    for (; i < runs.length; i++) {
      const r = runs[i];
      if (ArrayBuffer.isView(r)) h.update(r);
      else if (r.zeros !== undefined) {
        const zeros = new Uint8Array(Math.min(r.zeros, 1 << 20));
        for (let left = r.zeros; left > 0; left -= zeros.length) h.update(zeros.subarray(0, Math.min(left, zeros.length)));
      } else return;
    }
  };
  literals();
  return {
    update(bytes, at) {
      const end = at + bytes.length;
      while (i < runs.length) {
        const r = runs[i];
        if (r.offset >= end) return;
        const from = Math.max(r.offset, at);
        const to = Math.min(r.offset + r.size, end);
        if (to > from) h.update(bytes.subarray(from - at, to - at));
        if (r.offset + r.size > end) return;
        i++;
        literals();
      }
    },
    // Undefined when the file ended before the plan did.
    digest: () => (i < runs.length ? undefined : h.digest('hex')),
  };
}
function readAndHash() {
  const hasher = new (require(blake3Module).Blake3Hasher)();
  const plan = planHasher(workerData.plan);
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
    const bytes = view(slot, n);
    hasher.update(bytes);
    if (plan) plan.update(bytes, at);
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
  parentPort.postMessage({ digest: hasher.digest('hex'), same, planDigest: plan ? plan.digest() : undefined });
}
try {
  readAndHash();
} catch (err) {
  parentPort.postMessage({ error: err && err.message ? err.message : String(err) });
}
`;
