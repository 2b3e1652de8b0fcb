import type { FileHandle } from 'node:fs/promises';
import {
  blake3ModuleForWorkers,
  type Digests,
  hashOpenFile,
  newHashers,
  openRegular,
  PARALLEL_MIN_SIZE,
} from './digest.js';
import { hashOpenFileOnThreads, type PlanToDigest } from './threads.js';

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

interface Opened {
  path: string;
  handle: FileHandle;
  size: number;
}

/**
 * The digests of two files, comparing them while reading: as long as their
 * bytes agree only the first is hashed (identical files cost one hash); from
 * the first chunk that differs the second is no longer read in step, and is
 * hashed on its own afterwards. Either way each byte is hashed once per
 * distinct file.
 */
export async function hashPair(aPath: string, bPath: string, plans: PairPlans = {}): Promise<PairDigests> {
  const a = { path: aPath, ...(await openRegular(aPath)) };
  try {
    const b = { path: bPath, ...(await openRegular(bPath)) };
    try {
      return await hashOpenPair(a, b, plans);
    } finally {
      await b.handle.close();
    }
  } finally {
    await a.handle.close();
  }
}

async function hashOpenPair(a: Opened, b: Opened, plans: PairPlans): Promise<PairDigests> {
  const split = (d: Digests & { planDigest?: string }) => {
    const { planDigest, ...digests } = d;
    return { digests, planDigest };
  };
  if (a.size !== b.size) {
    const ha = split(await hashOpenFile(a.path, a.handle, a.size, plans.a));
    const hb = split(await hashOpenFile(b.path, b.handle, b.size, plans.b));
    return {
      identical: false,
      a: ha.digests,
      b: hb.digests,
      planDigests: planDigests(ha.planDigest, hb.planDigest),
    };
  }
  const blake3Module = a.size >= PARALLEL_MIN_SIZE ? blake3ModuleForWorkers() : undefined;
  const first = blake3Module
    ? await pairOnThreads(a, b, blake3Module, plans.a)
    : await pairOnThisThread(a, b);
  // A file that grew after its stat has bytes the comparison did not see.
  const same = first.same && (await b.handle.stat()).size === first.digests.size;
  if (same) {
    // b's plan digest is not taken: b's facts are a's when the bytes are the same.
    return {
      identical: true,
      a: first.digests,
      b: { ...first.digests },
      planDigests: planDigests(first.planDigest, undefined),
    };
  }
  const hb = split(await hashOpenFile(b.path, b.handle, b.size, plans.b));
  return {
    identical: false,
    a: first.digests,
    b: hb.digests,
    planDigests: planDigests(first.planDigest, hb.planDigest),
  };
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
  plan: PlanToDigest | undefined,
): Promise<FirstPass> {
  const { same, planDigest, ...digests } = await hashOpenFileOnThreads(
    a.path,
    a.handle,
    blake3Module,
    b.handle,
    plan,
  );
  return { digests, same, ...(planDigest !== undefined ? { planDigest } : {}) };
}

async function pairOnThisThread(a: Opened, b: Opened): Promise<FirstPass> {
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
