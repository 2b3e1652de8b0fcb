/**
 * hashPair on files larger than the hash threads' ring (real files, the
 * worker threads' path): identical means every byte of both files is equal,
 * and the digests printed are those of the bytes compared. Digests are
 * checked against node:crypto (SHA-256) and hash-wasm (an independent
 * BLAKE3), never against the code under test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { blake3 } from 'hash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegular, PARALLEL_MIN_SIZE } from '../../src/hash/digest.js';
import { hashOpenPair, hashPair, type Opened } from '../../src/hash/pair.js';
import { prestartPairThreads } from '../../src/hash/prestart.js';
import { RING_CHUNK, RING_SLOTS } from '../../src/hash/threads.js';

const SIZE = 64 << 20;
const RING = RING_CHUNK * RING_SLOTS;

let dir: string;
let bytes: Buffer;
let a: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-hash-pair-'));
  bytes = randomBytes(SIZE);
  a = join(dir, 'a');
  await writeFile(a, bytes);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const reference = async (b: Buffer) => ({
  size: b.length,
  sha256: createHash('sha256').update(b).digest('hex'),
  blake3: await blake3(b),
});

describe('hashPair of files larger than the ring', () => {
  it('sizes: the worker threads hash them, through many turns of the ring', () => {
    expect(SIZE).toBeGreaterThan(PARALLEL_MIN_SIZE);
    expect(SIZE).toBeGreaterThan(4 * RING);
  });

  it('identical copies: identical, with the digests of the file, hashed once', async () => {
    const b = join(dir, 'copy');
    await writeFile(b, bytes);
    const r = await hashPair(a, b);
    expect(r.identical).toBe(true);
    expect(r.a).toEqual(await reference(bytes));
    expect(r.b).toEqual(r.a);
  });

  // One byte differs: the first, either side of a slot's end, either side of the ring's end,
  // the middle, the last.
  for (const at of [
    0,
    RING_CHUNK - 1,
    RING_CHUNK,
    RING_CHUNK + 1,
    RING - 1,
    RING,
    RING + 1,
    SIZE >> 1,
    SIZE - 1,
  ]) {
    it(`one byte differs at ${at}: different, each file's own digests`, async () => {
      const other = Buffer.from(bytes);
      other[at] = (other[at] ?? 0) ^ 0x80;
      const b = join(dir, `flip-${at}`);
      await writeFile(b, other);
      let told = 0;
      const r = await hashPair(a, b, {}, { onDiverged: () => told++ });
      expect(r.identical).toBe(false);
      expect(told).toBe(1);
      expect(r.a).toEqual(await reference(bytes));
      expect(r.b).toEqual(await reference(other));
      await rm(b);
    });
  }

  for (const longer of ['a', 'b'] as const) {
    it(`${longer} one byte longer: different, each file's own digests`, async () => {
      const extended = Buffer.concat([bytes, Buffer.from([0])]);
      const p = join(dir, 'longer');
      await writeFile(p, extended);
      const r = longer === 'a' ? await hashPair(p, a) : await hashPair(a, p);
      expect(r.identical).toBe(false);
      const [ra, rb] = longer === 'a' ? [extended, bytes] : [bytes, extended];
      expect(r.a).toEqual(await reference(ra));
      expect(r.b).toEqual(await reference(rb));
      await rm(p);
    });
  }
});

describe('files of different sizes, either way of spreading them over threads', () => {
  // One reader hashes a, then b, on one thread (two cores); a reader each hashes them side by side.
  const runs = [Buffer.from('lit'), { offset: RING_CHUNK - 3, size: 2 * RING_CHUNK + 5 }, { zeros: 7 }];
  const plan = { algorithm: 'sha1' as const, runs };
  const planOf = (file: Buffer) =>
    createHash('sha1')
      .update('lit')
      .update(file.subarray(RING_CHUNK - 3, 3 * RING_CHUNK + 2))
      .update(Buffer.alloc(7))
      .digest('hex');
  const opened = async (p: string): Promise<Opened> => ({ path: p, ...(await openRegular(p)) });

  for (const threads of ['one reader', 'reader each'] as const) {
    it(`${threads}: each file's own digests and plan digest`, async () => {
      const other = Buffer.concat([bytes.subarray(0, SIZE - RING - 9), randomBytes(RING_CHUNK + 1)]);
      other[5] = (other[5] ?? 0) ^ 1;
      const p = join(dir, `other-${threads}`);
      await writeFile(p, other);
      const [oa, ob] = [await opened(a), await opened(p)];
      try {
        const r = await hashOpenPair(oa, ob, { a: plan, b: plan }, undefined, threads);
        expect(r.identical).toBe(false);
        expect(r.a).toEqual(await reference(bytes));
        expect(r.b).toEqual(await reference(other));
        expect(r.planDigests).toEqual({ a: planOf(bytes), b: planOf(other) });
      } finally {
        await oa.handle.close();
        await ob.handle.close();
        await rm(p);
      }
    });

    it(`${threads}: a file that cannot be read is an error naming it (the pass ends)`, async () => {
      const p = join(dir, `longer-${threads}`);
      await writeFile(p, Buffer.concat([bytes, Buffer.from('x')]));
      // "a" open on a directory: its thread's first read fails (EISDIR); b's pass still settles.
      const [oa, ob] = [{ path: a, handle: await open(dir), size: SIZE }, await opened(p)];
      try {
        await expect(hashOpenPair(oa, ob, {}, undefined, threads)).rejects.toMatchObject({
          category: 'input',
          subject: a,
        });
      } finally {
        await oa.handle.close();
        await ob.handle.close();
        await rm(p);
      }
    });
  }
});

describe('a file that changes between its stat and its read is never called identical', () => {
  // Both files are opened (and sized) first, then one is changed, then the pair is hashed:
  // the order is fixed, so the outcome does not depend on timing.
  const withOpened = async (change: (a: string, b: string) => Promise<void>) => {
    const [pa, pb] = [join(dir, 'ta'), join(dir, 'tb')];
    await writeFile(pa, bytes);
    await writeFile(pb, bytes);
    const oa: Opened = { path: pa, ...(await openRegular(pa)) };
    const ob: Opened = { path: pb, ...(await openRegular(pb)) };
    try {
      expect(oa.size).toBe(ob.size);
      await change(pa, pb);
      return await hashOpenPair(oa, ob, {}).then(
        (r) => ({ r }),
        (err: unknown) => ({ err }),
      );
    } finally {
      await oa.handle.close();
      await ob.handle.close();
    }
  };

  it('b grows by a byte: different, b hashed as it now is', async () => {
    const out = await withOpened((_, pb) => appendFile(pb, 'x'));
    expect('r' in out && out.r.identical).toBe(false);
    if ('r' in out) expect(out.r.b).toEqual(await reference(Buffer.concat([bytes, Buffer.from('x')])));
  });

  it('b is cut short: different', async () => {
    const out = await withOpened((_, pb) => truncate(pb, SIZE - RING_CHUNK - 3));
    expect('r' in out && out.r.identical).toBe(false);
    if ('r' in out) expect(out.r.b).toEqual(await reference(bytes.subarray(0, SIZE - RING_CHUNK - 3)));
  });

  it('a byte of b is rewritten in place: different', async () => {
    const out = await withOpened(async (_, pb) => {
      const h = await open(pb, 'r+');
      await h.write(Buffer.from([(bytes[SIZE - 2] ?? 0) ^ 1]), 0, 1, SIZE - 2);
      await h.close();
    });
    expect('r' in out && out.r.identical).toBe(false);
  });

  for (const [name, change] of [
    ['a grows by a byte', (pa: string) => appendFile(pa, 'x')],
    ['a is cut short', (pa: string) => truncate(pa, RING + 5)],
  ] as const) {
    it(`${name}: an error naming a, or different; never identical`, async () => {
      const out = await withOpened((pa) => change(pa));
      if ('err' in out) expect(out.err).toMatchObject({ category: 'input', subject: join(dir, 'ta') });
      else expect(out.r.identical).toBe(false);
    });
  }
});

describe('worker threads started ahead of the pass', () => {
  it('hash as well as those started by it', async () => {
    const other = Buffer.from(bytes);
    other[RING + 7] = (other[RING + 7] ?? 0) ^ 1;
    const b = join(dir, 'ahead');
    await writeFile(b, other);
    await prestartPairThreads(a, b);
    const r = await hashPair(a, b);
    expect(r.identical).toBe(false);
    expect(r.a).toEqual(await reference(bytes));
    expect(r.b).toEqual(await reference(other));
    await rm(b);
  });

  it('left unused, do not keep the process alive', async () => {
    // The timeout only catches a hang (an idle worker holding the event loop).
    const script = `import(${JSON.stringify(new URL('../../src/hash/prestart.ts', import.meta.url).pathname)}).then((m) => m.prestartPairThreads(${JSON.stringify(a)}, ${JSON.stringify(a)}))`;
    const run = await execa(process.execPath, ['--import', 'tsx', '-e', script], {
      timeout: 60_000,
      reject: false,
    });
    expect(run.timedOut).toBe(false);
    expect(run.exitCode).toBe(0);
  });
});
