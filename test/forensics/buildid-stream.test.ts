/**
 * GNU ld's build-id input digested by the hash threads while they read the
 * file (files too large to hold in memory), instead of a second read: the
 * digest must be the one a separate pass gives, for a plan whose ranges
 * straddle the threads' chunks, and compare must report the same build-id
 * facts either way (matching for the linked file, not for a modified copy;
 * not recomputed for an identical copy, whose pass takes no third hash).
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBuildId, streamableBuildIdPlan } from '../../src/forensics/buildid.js';
import { compare } from '../../src/forensics/compare.js';
import { readElf } from '../../src/forensics/elf/reader.js';
import { FileSource, IN_MEMORY_LIMIT } from '../../src/forensics/elf/source.js';
import { PARALLEL_MIN_SIZE } from '../../src/hash/digest.js';
import { hashPair } from '../../src/hash/pair.js';
import { RING_CHUNK } from '../../src/hash/threads.js';
import { gcc, sectionOffset } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-buildid-stream-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a plan digested in the hash pass', () => {
  it('equals the digest of the same bytes taken separately, for ranges across chunk boundaries', async () => {
    const size = PARALLEL_MIN_SIZE + RING_CHUNK + 13;
    const bytes = randomBytes(size);
    const other = Buffer.from(bytes);
    other[size - 5] = (other[size - 5] ?? 0) ^ 1;
    const [a, b] = [join(dir, 'pa'), join(dir, 'pb')];
    await writeFile(a, bytes);
    await writeFile(b, other);
    const runs: Array<Buffer | { offset: number; size: number } | { zeros: number }> = [
      Buffer.from('head'),
      { offset: 0, size: 10 },
      Buffer.from('between'),
      Buffer.alloc(3),
      { zeros: (1 << 20) + 3 },
      { offset: RING_CHUNK - 7, size: 3 * RING_CHUNK + 1 },
      { offset: 5 * RING_CHUNK, size: 1 },
      { offset: size - 100, size: 100 },
      Buffer.from('tail'),
    ];
    const expected = (file: Buffer) => {
      const h = createHash('sha1');
      for (const r of runs) {
        if (Buffer.isBuffer(r)) h.update(r);
        else if ('zeros' in r) h.update(Buffer.alloc(r.zeros));
        else h.update(file.subarray(r.offset, r.offset + r.size));
      }
      return h.digest('hex');
    };
    const plan = { algorithm: 'sha1' as const, runs };
    // Same size, differing near the end: a's plan is digested by a thread reading a again,
    // b's in b's own pass. Different sizes: both in their files' passes.
    const r = await hashPair(a, b, { a: plan, b: plan });
    expect(r.identical).toBe(false);
    expect(r.planDigests).toEqual({ a: expected(bytes), b: expected(other) });
    const longer = join(dir, 'pc');
    await writeFile(longer, Buffer.concat([other, Buffer.from('x')]));
    const r2 = await hashPair(a, longer, { a: plan, b: plan });
    expect(r2.identical).toBe(false);
    expect(r2.planDigests).toEqual({ a: expected(bytes), b: expected(other) });
  });

  it('is not taken for identical files (their facts need none)', async () => {
    const size = PARALLEL_MIN_SIZE + 1;
    const p = join(dir, 'same');
    await writeFile(p, randomBytes(size));
    const plan = { algorithm: 'sha1' as const, runs: [{ offset: 0, size }] };
    const r = await hashPair(p, p, { a: plan, b: plan });
    expect(r.identical).toBe(true);
    expect(r.planDigests).toEqual({});
  });

  it('is not given when the file ends before the plan does', async () => {
    const size = PARALLEL_MIN_SIZE + 1;
    const [p, q] = [join(dir, 'short'), join(dir, 'short2')];
    await writeFile(p, randomBytes(size));
    await writeFile(q, randomBytes(size));
    const plan = { algorithm: 'sha1' as const, runs: [{ offset: size - 1, size: 2 }] };
    const r = await hashPair(p, q, { a: plan, b: plan });
    expect(r.identical).toBe(false);
    expect(r.planDigests).toEqual({});
  });
});

describe('compare of large linked files: build-id facts from the hash pass', () => {
  // A program whose .data holds more than the in-memory limit, so both files are streamed.
  const BIG = `unsigned char big[${IN_MEMORY_LIMIT + (1 << 20)}] = { 1, 2, 3 };
int main(int argc, char **argv) { return big[argc * 4096]; }
`;
  let prog: string;
  beforeAll(async () => {
    prog = await gcc(join(dir, 'src'), join(dir, 'prog'), BIG, ['-Wl,--build-id=sha1']);
  });

  it('the plan streams and its digest is the one checkBuildId computes itself', async () => {
    const src = await FileSource.open(prog);
    try {
      const elf = await readElf(src);
      const plan = await streamableBuildIdPlan(elf);
      expect(plan?.algorithm).toBe('sha1');
      // A file of another size: prog's plan is digested in prog's own pass.
      const other = join(dir, 'other');
      await writeFile(other, 'not the program');
      const r = await hashPair(prog, other, plan ? { a: plan } : {});
      expect(r.planDigests.a).toBeDefined();
      const [own, streamed] = await Promise.all([checkBuildId(elf), checkBuildId(elf, r.planDigests.a)]);
      expect(own).toEqual({ ...streamed });
      expect(own.matches).toBe(true);
      expect(own.style).toBe('gnu-ld');
    } finally {
      await src.close();
    }
  });

  it('identical copy: not recomputed; one byte of .data flipped: different, and only b is modified after linking', async () => {
    const copy = join(dir, 'prog.copy');
    await copyFile(prog, copy);
    const same = await compare(prog, copy);
    expect(same.verdict).toBe('identical');
    // The pass that proves the bytes the same takes no third hash of them.
    for (const side of [same.a, same.b]) {
      expect(side.elf?.buildIdMatches).toBeNull();
      expect(side.elf?.buildIdStatus).toBe('not recomputed: the files are identical');
    }

    const bytes = await readFile(prog);
    const at = (await sectionOffset(prog, '.data')).offset + (IN_MEMORY_LIMIT >> 1);
    bytes[at] = (bytes[at] ?? 0) ^ 0x10;
    const flipped = join(dir, 'prog.flipped');
    await writeFile(flipped, bytes);
    const c = await compare(prog, flipped);
    expect(c.verdict).toBe('different');
    expect(c.differences.map((d) => d.region)).toContain('.data');
    expect(c.a.elf?.buildIdMatches).toBe(true);
    expect(c.b.elf?.buildIdMatches).toBe(false);
    expect(c.b.elf?.buildIdStatus).toBe('modified after linking');
  });
});
