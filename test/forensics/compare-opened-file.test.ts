/**
 * compare() judges and hashes the file it opened, not whatever its path names
 * later: a path renamed between the open and the hash pass must not make the
 * hashes (and the identical/different decision) be of another file than the
 * one the analysis read. And a file whose size lies (/proc) is an error, not
 * an `identical` verdict over bytes never read.
 *
 * The rename is made as soon as b's descriptor shows up in /proc/self/fd (an
 * event the test observes, no clock): from then on b's path names another
 * file, which differs from a by one byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync, renameSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { IN_MEMORY_LIMIT } from '../../src/forensics/elf/source.js';

let dir: string;
let bytes: Buffer;
let other: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-compare-opened-'));
  // Streamed (larger than what is read whole), so the hash pass reads the file itself.
  bytes = randomBytes(IN_MEMORY_LIMIT + (1 << 20) + 3);
  other = Buffer.from(bytes);
  const mid = other.length >> 1;
  other.writeUInt8(other.readUInt8(mid) ^ 0x5a, mid);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Resolves once this process holds `path` open (checked at every turn of the event loop). */
function openedByUs(path: string): Promise<void> {
  return new Promise((resolve) => {
    const look = () => {
      for (const fd of readdirSync('/proc/self/fd')) {
        try {
          if (readlinkSync(`/proc/self/fd/${fd}`) === path) return resolve();
        } catch {}
      }
      setImmediate(look);
    };
    look();
  });
}

describe.runIf(existsSync('/proc/self/fd'))('compare reads the files it opened', () => {
  it('a path renamed after its open: the hashes are of the file the analysis read', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const next = join(dir, 'next');
    await writeFile(a, bytes);
    await writeFile(b, bytes);
    await writeFile(next, other);
    const comparing = compare(a, b, { context: false });
    await openedByUs(b);
    // b's path now names a file that differs from a; the file opened as b is a's bytes.
    renameSync(b, join(dir, 'b-as-opened'));
    renameSync(next, b);
    const c = await comparing;
    expect(c.verdict).toBe('identical');
    expect(c.b.sha256).toBe(sha256(bytes));
    expect(c.a.sha256).toBe(sha256(bytes));
  });

  it('a file whose size says less than it holds (/proc) is an input error, not identical', async () => {
    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    await expect(compare('/proc/self/status', empty)).rejects.toMatchObject({ category: 'input' });
    await expect(compare('/proc/self/status', '/proc/self/stat')).rejects.toMatchObject({
      category: 'input',
    });
  });
});
