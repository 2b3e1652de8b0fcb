/** Where the reading thread and the hashing threads keep their counters in the shared control array. */
export interface ReaderControl {
  /** Chunks read so far (the reader's count; an empty chunk marks the end). */
  produced: number;
  /** Bumped by every consumer after each chunk it hashed (the reader waits on it for a free slot). */
  freed: number;
  /** Non-zero: stop (a thread failed, or the caller gave up). */
  abort: number;
  /** From here on: each consumer's count of chunks hashed (their slots may be read into again). */
  consumed: number;
  /** From here on (after the consumers'): each slot's chunk length. */
  length: number;
}

/**
 * A ring worker is started before its job is known (while the caller still
 * loads and parses, see prestartRingWorkers) and gets the job as a message:
 * the source runs in a function of it, named as workerData would be. Jobs
 * sent while one runs wait for it (a reader may be given both files of a
 * pair, in turn); each reply carries its job's `job` number.
 */
const onJob = (body: string) => `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (workerData) => {
const reply = (m) => parentPort.postMessage({ ...m, job: workerData.job });
${body}
});
`;

/**
 * Shared by the ring's worker sources: bounded waits that re-check `abort`,
 * so that no thread ever waits forever on another.
 */
const RING = `
const { ring, control, chunk, slots, layout: L } = workerData;
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
`;

/** The digest of a plan of literal bytes and file ranges (in file order), fed as the file passes. */
const PLAN_HASHER = `
function planHasher(spec) {
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
`;

/**
 * Whether the file, fed in order as it passes, equals a plan (PlanToCompare):
 * its literal bytes, zeros and ranges of another file `fd`, read here.
 * Every byte is compared; equal only when the file ends where the plan does.
 */
const PLAN_COMPARER = `
function planComparer(spec) {
  const { pieces } = spec;
  const other = Buffer.allocUnsafe(chunk);
  const zeros = Buffer.alloc(chunk);
  let i = 0;
  let start = 0;
  let equal = true;
  const len = (p) => (p.kind === 'bytes' ? p.data.length : p.length);
  const readOther = (at, n) => {
    let got = 0;
    while (got < n) {
      const m = readSync(spec.fd, other, got, n - got, at + got);
      if (m === 0) return false;
      got += m;
    }
    return true;
  };
  return {
    update(bytes, at) {
      for (let pos = 0; equal && pos < bytes.length; ) {
        const p = pieces[i];
        // More bytes than the plan holds.
        if (!p) return void (equal = false);
        const within = at + pos - start;
        const n = Math.min(len(p) - within, bytes.length - pos);
        const mine = bytes.subarray(pos, pos + n);
        if (p.kind === 'zero') equal = mine.equals(zeros.subarray(0, n));
        else if (p.kind === 'bytes') equal = mine.equals(p.data.subarray(within, within + n));
        else equal = readOther(p.from + within, n) && mine.equals(other.subarray(0, n));
        pos += n;
        if (within + n === len(p)) {
          start += len(p);
          i++;
        }
      }
    },
    // The whole plan seen, and no byte more (\`size\` bytes of the file were fed).
    equal: (size) => equal && size === spec.size && start === spec.size,
  };
}
`;

/**
 * The reading thread of src/hash/threads.ts, as source text: it runs with
 * `eval: true`, so it loads the same way from dist/, under tsx and under
 * vitest. It reads the file `fd` into the ring slot by slot (a slot is read
 * into again only once every consumer has hashed it) and hashes each chunk
 * with BLAKE3; `consumers` other threads hash the same slots behind it.
 * With a second file `fdB` of the same size it reads that in step and
 * compares it with the slot before publishing the slot, so the bytes
 * compared are the bytes every hasher sees; at the first difference it posts
 * `{ diverged: true }` at once (the caller can start hashing b beside it)
 * and stops reading b. With `plan` (a PlanToDigest) it digests that too;
 * with `against` (a PlanToCompare) it compares the file with that plan.
 * Final reply: `{ digest, same, planDigest?, againstEqual? }`, or `{ error, grew? }`.
 */
export const READER_WORKER_SOURCE = onJob(`${RING}${PLAN_HASHER}
const { readSync } = require('node:fs');
${PLAN_COMPARER}
const { fd, fdB, sizes, consumers, blake3Module } = workerData;
function publish(index, value) {
  Atomics.store(control, index, value);
  Atomics.notify(control, index);
}
// Slot i may be read into once every consumer has hashed chunk i - slots.
function waitForSlot(i) {
  const need = i - slots + 1;
  for (;;) {
    const v = Atomics.load(control, L.freed);
    let least = Infinity;
    for (let k = 0; k < consumers; k++) least = Math.min(least, Atomics.load(control, L.consumed + k));
    if (least >= need) return;
    if (aborted()) throw new Error('aborted');
    Atomics.wait(control, L.freed, v, 1000);
  }
}
function readAndHash() {
  const hasher = new (require(blake3Module).Blake3Hasher)();
  const plan = workerData.plan ? planHasher(workerData.plan) : undefined;
  const against = workerData.against ? planComparer(workerData.against) : undefined;
  const buf = Buffer.from(ring);
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
    waitForSlot(i);
    const n = readFull(fd, buf, slot * chunk, at);
    if (same) {
      const nb = readFull(fdB, other, 0, at);
      same = nb === n && buf.subarray(slot * chunk, slot * chunk + n).equals(other.subarray(0, n));
      if (!same) reply({ diverged: true });
    }
    if (n < chunk && n > 0 && readSync(fd, Buffer.alloc(1), 0, 1, at + n) > 0) {
      // Data after the end it saw: the file grew while being read.
      reply({ error: 'the file changed while it was being read', grew: true });
      return;
    }
    Atomics.store(control, L.length + slot, n);
    publish(L.produced, i + 1);
    if (n === 0) break;
    const bytes = view(slot, n);
    hasher.update(bytes);
    if (plan) plan.update(bytes, at);
    if (against) against.update(buf.subarray(slot * chunk, slot * chunk + n), at);
    at += n;
    if (n < chunk) {
      // The end: an empty chunk tells the consumers so.
      waitForSlot(i + 1);
      Atomics.store(control, L.length + ((i + 1) % slots), 0);
      publish(L.produced, i + 2);
      break;
    }
  }
  sizes[0] = at;
  reply({
    digest: hasher.digest('hex'),
    same,
    planDigest: plan ? plan.digest() : undefined,
    againstEqual: against ? against.equal(at) : undefined,
  });
}
try {
  readAndHash();
} catch (err) {
  reply({ error: err && err.message ? err.message : String(err) });
}
`);

/**
 * A hashing thread behind the reader: consumer number `index` digests the
 * ring's chunks with `algorithm` as they are published, up to the empty
 * chunk. Reply: `{ digest }`, or `{ error }`.
 */
export const CONSUMER_WORKER_SOURCE = onJob(`${RING}
const { index, algorithm } = workerData;
function consume() {
  const h = require('node:crypto').createHash(algorithm);
  for (let j = 0; ; j++) {
    waitUntil(L.produced, (p) => p > j);
    const slot = j % slots;
    const n = Atomics.load(control, L.length + slot);
    if (n === 0) break;
    h.update(view(slot, n));
    Atomics.store(control, L.consumed + index, j + 1);
    Atomics.add(control, L.freed, 1);
    Atomics.notify(control, L.freed);
  }
  reply({ digest: h.digest('hex') });
}
try {
  consume();
} catch (err) {
  reply({ error: err && err.message ? err.message : String(err) });
}
`);

/**
 * A plan digested on a thread of its own that reads the file itself (the
 * ranges only, in 1 MiB reads, up to the plan's last range): for a file
 * whose other digests were taken without it. Reply: `{ digest }` (undefined
 * when the file ended before the plan did), or `{ error }`.
 */
export const PLAN_WORKER_SOURCE = `${PLAN_HASHER}
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { fd, plan } = workerData;
try {
  const h = planHasher(plan);
  const buf = Buffer.allocUnsafe(1 << 20);
  let start = -1;
  let end = 0;
  for (const r of plan.runs) {
    if (r.offset === undefined) continue;
    if (start < 0) start = r.offset;
    end = r.offset + r.size;
  }
  for (let at = Math.max(start, 0); at < end; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, end - at), at);
    if (n === 0) break;
    h.update(buf.subarray(0, n), at);
    at += n;
  }
  parentPort.postMessage({ digest: h.digest() });
} catch (err) {
  parentPort.postMessage({ error: err && err.message ? err.message : String(err) });
}
`;
