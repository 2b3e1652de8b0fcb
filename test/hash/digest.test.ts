import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes, hashFile } from '../../src/hash/digest.js';
import { RebuildError } from '../../src/util/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-hash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashFile: SHA-256 and BLAKE3 in one read, checked against sha256sum and b3sum', () => {
  // Sizes around the 1 MiB read size and BLAKE3's 1 KiB chunk / 64-byte block boundaries.
  for (const size of [0, 1, 64, 1024, 1025, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17]) {
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
});
