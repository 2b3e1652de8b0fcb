import type { FileHandle } from 'node:fs/promises';
import { RebuildError } from '../util/errors.js';
import {
  blake3ModuleForWorkers,
  blake3Ready,
  type Digests,
  hashOpenFile,
  newHashers,
  openRegular,
  PARALLEL_MIN_SIZE,
  type PairThreads,
  pairThreads,
} from './digest.js';
import type { PassComparison } from './offer.js';
import {
  digestPlanOnThread,
  hashOpenFileOnThreads,
  type PlanToCompare,
  type PlanToDigest,
  SharedReader,
} from './threads.js';

/** Read size on the calling thread (small pairs). */
const READ_SIZE = 1 << 20;

export interface PairDigests {
  /** Same size and same bytes. */
  identical: boolean;
  a: Digests;
  b: Digests;
  /** The digests of the plans given, when the pass could take them (see hashOpenFile). */
  planDigests: { a?: string; b?: string };
}

/** A plan to digest in the same pass, per file. */
export interface PairPlans {
  a?: PlanToDigest;
  b?: PlanToDigest;
}

/** A file opened by openRegular, with its size then. */
export interface Opened {
  path: string;
  handle: FileHandle;
  size: number;
}

/**
 * The digests of two files, comparing them while reading: as long as their
 * bytes agree only the first is hashed (identical files cost one hash); from
 * the first chunk that differs the second is hashed beside it, on threads of
 * its own, and files of different sizes are hashed side by side from the
 * start. Either way each byte is hashed once per distinct file.
 */
export async function hashPair(
  aPath: string,
  bPath: string,
  plans: PairPlans = {},
  opts: { onDiverged?: () => void } = {},
): Promise<PairDigests> {
  const a = { path: aPath, ...(await openRegular(aPath)) };
  try {
    const b = { path: bPath, ...(await openRegular(bPath)) };
    try {
      return await hashOpenPair(a, b, plans, opts.onDiverged);
    } finally {
      await b.handle.close();
    }
  } finally {
    await a.handle.close();
  }
}

type Hashed = Digests & { planDigest?: string };

const split = (d: Hashed) => {
  const { planDigest, ...digests } = d;
  return { digests, planDigest };
};

/**
 * One file on its own: on threads when large (SHA-256 on a worker too when `beside` another; read
 * by `reader`, after the files given it before, when given), else here.
 */
function hashOne(
  o: Opened,
  plan: PlanToDigest | undefined,
  beside: boolean,
  reader?: SharedReader,
  against?: PlanToCompare,
): Promise<Hashed & { againstEqual?: boolean }> {
  const blake3Module = blake3ModuleForWorkers();
  if (!onThreads(o)) return hashOpenFile(o.path, o.handle, o.size, plan);
  const opts = {
    ...(plan ? { plan } : {}),
    sha256OnWorker: beside,
    ...(reader ? { reader } : {}),
    ...(against ? { against } : {}),
  };
  return hashOpenFileOnThreads(o.path, o.handle, blake3Module!, opts).then(({ same: _, ...d }) => d);
}

/** Whether hashOne reads the file on a thread (else on the calling one). */
const onThreads = (o: Opened): boolean =>
  o.size >= PARALLEL_MIN_SIZE && blake3ModuleForWorkers() !== undefined;

/**
 * One reader for files of different sizes: b first, then a, which waits for
 * the route's plan to compare it with (see PassComparison) until b is read.
 */
async function oneReader(a: Opened, b: Opened, plans: PairPlans, offer?: PassComparison) {
  const reader = new SharedReader();
  try {
    const hb = hashOne(b, plans.b, false, reader);
    hb.catch(() => undefined);
    const ha = (async () => {
      const taken = offer && onThreads(a) ? await offer.take(hb) : undefined;
      offer?.close();
      try {
        const against = taken ? { ...taken.plan, fd: b.handle.fd } : undefined;
        const { againstEqual, ...d } = await hashOne(a, plans.a, false, reader, against);
        taken?.answer(againstEqual);
        return d;
      } catch (err) {
        taken?.answer(undefined);
        throw err;
      }
    })();
    return await allSettledOrThrow([ha, hb] as const);
  } finally {
    // Both passes have settled: the thread reads neither file any more.
    await reader.close();
  }
}

/**
 * hashPair of files already open. `plans` may still be worked out: same-sized
 * files start their pass without them (they are needed only once the files
 * differ). `onDiverged`: told as soon as same-sized files are known to differ,
 * while they are still hashed. `threads`: how files of different sizes are
 * spread over threads (see PairThreads).
 */
export async function hashOpenPair(
  a: Opened,
  b: Opened,
  plans: PairPlans | Promise<PairPlans>,
  onDiverged?: () => void,
  threads: PairThreads = pairThreads(),
  offer?: PassComparison,
): Promise<PairDigests> {
  const different = (ha: Hashed, hb: Hashed): PairDigests => {
    const [sa, sb] = [split(ha), split(hb)];
    return {
      identical: false,
      a: sa.digests,
      b: sb.digests,
      planDigests: planDigests(sa.planDigest, sb.planDigest),
    };
  };
  if (a.size !== b.size) {
    // Different from the start: both hashed at once, or read in turn by one thread.
    const known = await plans;
    if (threads === 'one reader') {
      const [ha, hb] = await oneReader(a, b, known, offer);
      return different(ha, hb);
    }
    offer?.close();
    const [ha, hb] = await allSettledOrThrow([
      hashOne(a, known.a, false),
      hashOne(b, known.b, true),
    ] as const);
    return different(ha, hb);
  }
  // Same-sized files compare nothing but themselves in the pass.
  offer?.close();
  const blake3Module = a.size >= PARALLEL_MIN_SIZE ? blake3ModuleForWorkers() : undefined;
  // From the first difference: b hashed on threads of its own, and a's plan (left out of the pass
  // that compares, which identical files end) digested on a thread that reads a again.
  let hashingB: Promise<Hashed> | undefined;
  let planA: Promise<string | undefined> | undefined;
  const later = Promise.resolve(plans);
  // Files found the same never await the plans: their rejection is then nobody's to handle.
  later.catch(() => undefined);
  const startB = () => {
    hashingB ??= later.then((p) => hashOne(b, p.b, true));
    return hashingB;
  };
  const diverged = () => {
    onDiverged?.();
    startB().catch(() => undefined);
    planA = later.then((p) => (p.a ? digestPlanOnThread(a.path, a.handle, p.a) : undefined));
    planA.catch(() => undefined);
  };
  let first: FirstPass;
  try {
    first = blake3Module ? await pairOnThreads(a, b, blake3Module, diverged) : await pairOnThisThread(a, b);
    // b grown after its stat has bytes the comparison did not see; a whose size is not the size
    // read changed while it was read (its digests are of bytes it no longer holds).
    if ((await a.handle.stat()).size !== first.digests.size)
      throw new RebuildError('input', 'the file changed while it was being read', { subject: a.path });
  } catch (err) {
    // Not before b's pass and a's plan digest (which may not have started yet) are over: the
    // caller closes the handles they read.
    await Promise.all([hashingB?.catch(() => undefined), planA?.catch(() => undefined)]);
    throw err;
  }
  const same = first.same && (await b.handle.stat()).size === first.digests.size;
  if (same && !hashingB) {
    // No plan digests: the caller's facts need none for files that are the same bytes.
    return { identical: true, a: first.digests, b: { ...first.digests }, planDigests: {} };
  }
  const [hb, pa] = await allSettledOrThrow([startB(), planA] as const);
  return different({ ...first.digests, ...(pa !== undefined ? { planDigest: pa } : {}) }, hb);
}

/**
 * Promise.all that waits for every thread before it throws: the caller closes
 * the file handles once this returns, and a thread still reading one then
 * would read a closed (or reused) descriptor.
 */
async function allSettledOrThrow<T extends readonly unknown[]>(
  work: { readonly [K in keyof T]: Promise<T[K]> | T[K] },
): Promise<T> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

function planDigests(a: string | undefined, b: string | undefined): { a?: string; b?: string } {
  return { ...(a !== undefined ? { a } : {}), ...(b !== undefined ? { b } : {}) };
}

interface FirstPass {
  digests: Digests;
  planDigest?: string;
  /** b's bytes equalled a's as far as a went. */
  same: boolean;
}

async function pairOnThreads(
  a: Opened,
  b: Opened,
  blake3Module: string,
  onDiverged: () => void,
): Promise<FirstPass> {
  const { same, ...digests } = await hashOpenFileOnThreads(a.path, a.handle, blake3Module, {
    compareWith: b.handle,
    onDiverged,
  });
  return { digests, same };
}

async function pairOnThisThread(a: Opened, b: Opened): Promise<FirstPass> {
  await blake3Ready();
  const h = newHashers();
  const bufA = Buffer.allocUnsafe(READ_SIZE);
  const bufB = Buffer.allocUnsafe(READ_SIZE);
  let same = true;
  let at = 0;
  for (;;) {
    const [ra, rb]: [{ bytesRead: number }, { bytesRead: number } | undefined] = await Promise.all([
      a.handle.read(bufA, 0, bufA.length, at),
      same ? b.handle.read(bufB, 0, bufB.length, at) : undefined,
    ]);
    const n: number = ra.bytesRead;
    if (same && rb) same = rb.bytesRead === n && bufA.subarray(0, n).equals(bufB.subarray(0, n));
    if (n === 0) break;
    h.update(bufA.subarray(0, n));
    at += n;
  }
  return { digests: { size: at, ...h.digest() }, same };
}
