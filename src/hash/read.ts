import type { FileHandle } from 'node:fs/promises';
import { RebuildError } from '../util/errors.js';
import { CHUNK_SIZE, type HashPipeline } from './pipeline.js';

/** Reads in flight at once: measured by `npm run bench -- hash` (more adds nothing, fewer starves the hashes). */
export const READ_AHEAD = 3;

export interface Chunk {
  slot: number;
  /** Offset of the chunk in the file. */
  at: number;
  length: number;
}

/**
 * Positioned reads of CHUNK_SIZE into pipeline slots, READ_AHEAD in flight,
 * delivered in file order. `read` fills the slot and may read more (a second
 * file in step); `take` handles each chunk (and submits it). A chunk
 * shorter than CHUNK_SIZE is the end of the file; data after it means the file
 * grew while being read, which is an error rather than a digest of neither
 * version.
 */
export async function readChunks(
  pipeline: HashPipeline,
  path: string,
  start: number,
  read: (slot: number, at: number) => Promise<number>,
  take: (chunk: Chunk) => void,
): Promise<void> {
  const inFlight: Array<Promise<Chunk>> = [];
  let next = start;
  const issue = () => {
    const at = next;
    next += CHUNK_SIZE;
    inFlight.push(pipeline.acquire().then(async (slot) => ({ slot, at, length: await read(slot, at) })));
  };
  for (let i = 0; i < READ_AHEAD; i++) issue();
  let ended = false;
  try {
    while (inFlight.length > 0) {
      const chunk = await inFlight.shift()!;
      if (ended) {
        pipeline.submit(chunk.slot, 0);
        if (chunk.length > 0) {
          throw new RebuildError('input', 'the file changed while it was being read', { subject: path });
        }
        continue;
      }
      take(chunk);
      if (chunk.length < CHUNK_SIZE) ended = true;
      else issue();
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
}

/** Fills the slot from `handle` at `at`: the bytes read. */
export function readerOf(
  pipeline: HashPipeline,
  handle: FileHandle,
): (slot: number, at: number) => Promise<number> {
  return async (slot, at) => (await handle.read(pipeline.view(slot), 0, CHUNK_SIZE, at)).bytesRead;
}
