/**
 * The hash pass comparing a with a plan over b while it reads a (see
 * src/hash/offer.ts): it must say equal only when every byte of a is the
 * plan's byte there and a ends where the plan does, for pieces that
 * straddle the thread's chunks; and it must decline offers it cannot take,
 * so that the route compares a itself. Real files, the worker thread's path.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegular, PARALLEL_MIN_SIZE } from '../../src/hash/digest.js';
import { type OfferedPlan, PassComparison } from '../../src/hash/offer.js';
import { hashOpenPair, type Opened } from '../../src/hash/pair.js';
import { RING_CHUNK } from '../../src/hash/threads.js';

let dir: string;
let bBytes: Buffer;
let b: string;
const B_SIZE = PARALLEL_MIN_SIZE + 3 * RING_CHUNK + 11;

// a = b's first bytes (to a chunk's middle), a literal, zeros across a chunk's end, b's bytes
// from elsewhere, a literal at the very end.
const lit = Buffer.from('a literal across nothing in particular');
const tail = Buffer.from('end');
const pieces: OfferedPlan['pieces'] = [
  { kind: 'range', from: 0, length: PARALLEL_MIN_SIZE + RING_CHUNK / 2 },
  { kind: 'bytes', data: lit },
  { kind: 'zero', length: RING_CHUNK },
  { kind: 'range', from: 100, length: 2 * RING_CHUNK + 7 },
  { kind: 'bytes', data: tail },
];
const planSize = pieces.reduce((n, p) => n + (p.kind === 'bytes' ? p.data.length : p.length), 0);
const materialize = (): Buffer =>
  Buffer.concat(
    pieces.map((p) =>
      p.kind === 'bytes'
        ? Buffer.from(p.data)
        : p.kind === 'zero'
          ? Buffer.alloc(p.length)
          : bBytes.subarray(p.from, p.from + p.length),
    ),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-pass-comparison-'));
  bBytes = randomBytes(B_SIZE);
  b = join(dir, 'b');
  await writeFile(b, bBytes);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = async (p: string): Promise<Opened> => ({ path: p, ...(await openRegular(p)) });

/** hashOpenPair of `aBytes` and b (one reader), the plan offered before the pass starts. */
async function passWith(aBytes: Buffer, name: string) {
  const a = join(dir, name);
  await writeFile(a, aBytes);
  const [oa, ob] = [await open(a), await open(b)];
  try {
    const offer = new PassComparison('a', 'b');
    const answer = offer.offer({ pieces, size: planSize }, 'a', 'b');
    const digests = await hashOpenPair(oa, ob, {}, undefined, 'one reader', offer);
    return { equal: await answer, digests };
  } finally {
    await oa.handle.close();
    await ob.handle.close();
    await rm(a);
  }
}

describe('a compared with a plan over b in the hash pass', () => {
  it('the plan materialized: equal', async () => {
    const a = materialize();
    expect(a.length).not.toBe(B_SIZE);
    expect((await passWith(a, 'same')).equal).toBe(true);
  });

  // One byte of a changed: in each kind of piece, at piece and chunk boundaries, the last byte.
  const firstLit = PARALLEL_MIN_SIZE + RING_CHUNK / 2;
  for (const at of [
    0,
    RING_CHUNK - 1,
    RING_CHUNK,
    firstLit - 1,
    firstLit,
    firstLit + lit.length,
    firstLit + lit.length + RING_CHUNK - 1,
    firstLit + lit.length + RING_CHUNK,
    planSize - tail.length - 1,
    planSize - 1,
  ]) {
    it(`one byte of a differs at ${at}: not equal`, async () => {
      const a = materialize();
      a[at] = (a[at] ?? 0) ^ 0x01;
      expect((await passWith(a, `flip-${at}`)).equal).toBe(false);
    });
  }

  it('a one byte longer, or shorter, than the plan: not equal', async () => {
    const a = materialize();
    expect((await passWith(Buffer.concat([a, Buffer.from([0])]), 'longer')).equal).toBe(false);
    expect((await passWith(a.subarray(0, a.length - 1), 'shorter')).equal).toBe(false);
  });
});

describe('offers the pass does not take are declined (the route then compares a itself)', () => {
  it('a plan over another source than b, or for another a', async () => {
    const offer = new PassComparison('a', 'b');
    expect(await offer.offer({ pieces, size: planSize }, 'a', 'not b')).toBeUndefined();
    expect(await offer.offer({ pieces, size: planSize }, 'not a', 'b')).toBeUndefined();
  });

  it('an offer made once the pass is closed, or a second one', async () => {
    const closed = new PassComparison('a', 'b');
    closed.close();
    expect(await closed.offer({ pieces, size: planSize }, 'a', 'b')).toBeUndefined();
    const once = new PassComparison('a', 'b');
    const first = once.offer({ pieces, size: planSize }, 'a', 'b');
    expect(await once.offer({ pieces, size: planSize }, 'a', 'b')).toBeUndefined();
    once.close();
    expect(await first).toBeUndefined();
  });

  it('a pass that reads each file on a thread of its own takes none', async () => {
    const a = join(dir, 'each');
    await writeFile(a, materialize());
    const [oa, ob] = [await open(a), await open(b)];
    try {
      const offer = new PassComparison('a', 'b');
      const answer = offer.offer({ pieces, size: planSize }, 'a', 'b');
      await hashOpenPair(oa, ob, {}, undefined, 'reader each', offer);
      expect(await answer).toBeUndefined();
    } finally {
      await oa.handle.close();
      await ob.handle.close();
    }
  });
});
