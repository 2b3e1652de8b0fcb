/**
 * compare() judges and hashes the file it opened, not whatever its path names
 * later: a path renamed between the open and the hash pass must not make the
 * hashes (and the identical/different decision) be of another file than the
 * one the analysis read. And a file whose size lies (/proc) is an error, not
 * an `identical` verdict over bytes never read.
 *
 * The rename is made as soon as b's descriptor shows up in /proc/self/fd (an
 * event the test observes, no clock): from then on b's path names another
 * file, which differs from a by one byte. Likewise a byte written in place
 * once b is open: the file is read twice (hash pass, analysis), so a write
 * between the two reads would have the verdict and the hashes be of different
 * bytes; any write after the open is an input error.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readlinkSync, renameSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { IN_MEMORY_LIMIT } from '../../src/forensics/elf/source.js';
import type { Comparison } from '../../src/forensics/types.js';

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
    // The rename moves the opened file's change time: when that is seen the file is refused
    // (an input error); else it is judged, as what it holds.
    const c: Comparison | Error = await comparing.catch((err: Error) => err);
    if (c instanceof Error) expect(c).toMatchObject({ category: 'input' });
    else {
      expect(c.verdict).toBe('identical');
      expect(c.b.sha256).toBe(sha256(bytes));
      expect(c.a.sha256).toBe(sha256(bytes));
    }
  });

  it('a byte of b written in place while it is compared: an input error, not a verdict', async () => {
    const a = join(dir, 'a2');
    const b = join(dir, 'b2');
    await writeFile(a, bytes);
    await writeFile(b, bytes);
    let settled = false;
    const comparing = compare(a, b, { context: false }).finally(() => {
      settled = true;
    });
    comparing.catch(() => undefined);
    await openedByUs(b);
    // Rewritten at every turn of the event loop until the comparison ends, so that writes
    // land between its reads of b (the hash pass's and the analysis's).
    const fd = openSync(b, 'r+');
    try {
      for (let v = 1; !settled; v ^= 0xff) {
        writeSync(fd, Buffer.from([v]), 0, 1, bytes.length >> 2);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      closeSync(fd);
    }
    await expect(comparing).rejects.toMatchObject({ category: 'input', subject: b });
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
