import type { FileHandle } from 'node:fs/promises';
import {
  createPipeline,
  type Digests,
  hashOpenFile,
  newHashers,
  openRegular,
  PARALLEL_MIN_SIZE,
} from './digest.js';
import { CHUNK_SIZE, type HashPipeline } from './pipeline.js';
import { readChunks } from './read.js';

export interface PairDigests {
  /** Same size and same bytes. */
  identical: boolean;
  a: Digests;
  b: Digests;
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
export async function hashPair(aPath: string, bPath: string): Promise<PairDigests> {
  const a = { path: aPath, ...(await openRegular(aPath)) };
  try {
    const b = { path: bPath, ...(await openRegular(bPath)) };
    try {
      return await hashOpenPair(a, b);
    } finally {
      await b.handle.close();
    }
  } finally {
    await a.handle.close();
  }
}

async function hashOpenPair(a: Opened, b: Opened): Promise<PairDigests> {
  if (a.size !== b.size) {
    return {
      identical: false,
      a: await hashOpenFile(a.path, a.handle, a.size),
      b: await hashOpenFile(b.path, b.handle, b.size),
    };
  }
  const pipeline = a.size >= PARALLEL_MIN_SIZE ? createPipeline() : undefined;
  const first = pipeline ? await pairInPipeline(pipeline, a, b) : await pairOnThisThread(a, b);
  // A file that grew after its stat has bytes the comparison did not see.
  const same = first.same && (await b.handle.stat()).size === first.digests.size;
  return {
    identical: same,
    a: first.digests,
    b: same ? { ...first.digests } : await hashOpenFile(b.path, b.handle, b.size),
  };
}

interface FirstPass {
  digests: Digests;
  /** b's bytes equalled a's as far as a went. */
  same: boolean;
}

async function pairInPipeline(pipeline: HashPipeline, a: Opened, b: Opened): Promise<FirstPass> {
  // b's chunk beside each slot of a's.
  const bChunks: Buffer[] = [];
  const bChunk = (slot: number): Buffer => {
    bChunks[slot] ??= Buffer.allocUnsafe(CHUNK_SIZE);
    return bChunks[slot];
  };
  const bLength = new Map<number, number>();
  let same = true;
  let size = 0;
  try {
    await readChunks(
      pipeline,
      a.path,
      0,
      async (slot, at) => {
        const [ra, rb] = await Promise.all([
          a.handle.read(pipeline.view(slot), 0, CHUNK_SIZE, at),
          same ? b.handle.read(bChunk(slot), 0, CHUNK_SIZE, at) : undefined,
        ]);
        if (rb) bLength.set(slot, rb.bytesRead);
        return ra.bytesRead;
      },
      (c) => {
        if (same) {
          const nb = bLength.get(c.slot);
          same =
            nb === c.length && pipeline.view(c.slot, c.length).equals(bChunk(c.slot).subarray(0, c.length));
        }
        pipeline.submit(c.slot, c.length);
        size += c.length;
      },
    );
    return { digests: { size, ...(await pipeline.digest()) }, same };
  } finally {
    await pipeline.close();
  }
}

async function pairOnThisThread(a: Opened, b: Opened): Promise<FirstPass> {
  const h = newHashers();
  const bufA = Buffer.allocUnsafe(2 * CHUNK_SIZE);
  const bufB = Buffer.allocUnsafe(2 * CHUNK_SIZE);
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
