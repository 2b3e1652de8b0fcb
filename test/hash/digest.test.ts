import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blake3ModuleForWorkers, hashBytes, hashFile, PARALLEL_MIN_SIZE } from '../../src/hash/digest.js';
import { hashPair } from '../../src/hash/pair.js';
import { RING_CHUNK as CHUNK_SIZE, hashOpenFileOnThreads } from '../../src/hash/threads.js';
import { RebuildError } from '../../src/util/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-hash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashFile: SHA-256 and BLAKE3 in one read, checked against sha256sum and b3sum', () => {
  // Sizes around the read sizes, BLAKE3's 1 KiB chunk / 64-byte block boundaries, and the
  // size from which the worker threads hash (whole slots, a slot and a byte).
  const big = PARALLEL_MIN_SIZE;
  for (const size of [
    0,
    1,
    64,
    1024,
    1025,
    (1 << 20) - 1,
    1 << 20,
    (1 << 20) + 1,
    3 * (1 << 20) + 17,
    big - 1,
    big,
    big + 1,
    big + 5 * CHUNK_SIZE + 3,
  ]) {
    it(`agrees with the reference tools on ${size} bytes`, async () => {
      const path = join(dir, `f${size}`);
      const bytes = randomBytes(size);
      await writeFile(path, bytes);
      const d = await hashFile(path);
      expect(d.size).toBe(size);
      expect(d.sha256).toBe((await execa('sha256sum', [path])).stdout.split(' ')[0]);
      expect(d.blake3).toBe((await execa('b3sum', ['--no-names', path])).stdout.trim());
      expect(hashBytes(bytes)).toEqual(d);
    });
  }

  it('names the file it cannot read', async () => {
    const missing = join(dir, 'missing');
    await expect(hashFile(missing)).rejects.toThrow(RebuildError);
    await expect(hashFile(missing)).rejects.toMatchObject({ subject: missing, category: 'input' });
  });

  it('stops the SHA-256 side and names the file when the reading thread cannot read', async () => {
    const blake3Module = blake3ModuleForWorkers();
    expect(blake3Module).toBeDefined();
    // A directory opens but cannot be read (EISDIR on the reading thread's first read).
    const handle = await open(dir, 'r');
    try {
      await expect(hashOpenFileOnThreads(dir, handle, blake3Module!)).rejects.toMatchObject({
        subject: dir,
        category: 'input',
        message: expect.stringContaining('EISDIR'),
      });
    } finally {
      await handle.close();
    }
  });
});

describe('hashPair: both digests, comparing while reading', () => {
  const reference = async (path: string) => ({
    sha256: (await execa('sha256sum', [path])).stdout.split(' ')[0],
    blake3: (await execa('b3sum', ['--no-names', path])).stdout.trim(),
  });

  // Small pairs are hashed on this thread, large ones on the workers.
  for (const size of [3000, PARALLEL_MIN_SIZE + CHUNK_SIZE + 7]) {
    it(`hashes identical files of ${size} bytes once and calls them identical`, async () => {
      const bytes = randomBytes(size);
      const [a, b] = [join(dir, `pa${size}`), join(dir, `pb${size}`)];
      await writeFile(a, bytes);
      await writeFile(b, bytes);
      const r = await hashPair(a, b);
      expect(r.identical).toBe(true);
      expect(r.a).toEqual({ size, ...(await reference(a)) });
      expect(r.b).toEqual(r.a);
    });

    // First byte, the last byte of a read, the very last byte; and a byte appended.
    for (const flip of [0, CHUNK_SIZE - 1, size - 1, 'appended'] as const) {
      it(`tells files of ${size} bytes apart (${flip === 'appended' ? 'b one byte longer' : `byte ${flip} flipped`})`, async () => {
        const bytes = randomBytes(size);
        const other = Buffer.from(bytes);
        if (flip === 'appended') {
          await writeFile(join(dir, 'qb'), Buffer.concat([other, Buffer.from([7])]));
        } else {
          const at = Math.min(flip, size - 1);
          other[at] = (other[at] ?? 0) ^ 0x40;
          await writeFile(join(dir, 'qb'), other);
        }
        await writeFile(join(dir, 'qa'), bytes);
        const r = await hashPair(join(dir, 'qa'), join(dir, 'qb'));
        expect(r.identical).toBe(false);
        expect(r.a).toEqual({ size, ...(await reference(join(dir, 'qa'))) });
        expect(r.b).toEqual({
          size: size + (flip === 'appended' ? 1 : 0),
          ...(await reference(join(dir, 'qb'))),
        });
      });
    }
  }

  it('names the file it cannot read', async () => {
    await writeFile(join(dir, 'present'), 'x');
    const missing = join(dir, 'missing');
    await expect(hashPair(join(dir, 'present'), missing)).rejects.toMatchObject({
      subject: missing,
      category: 'input',
    });
    await expect(hashPair(missing, join(dir, 'present'))).rejects.toMatchObject({ subject: missing });
  });
});
