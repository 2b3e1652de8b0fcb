/**
 * writeFileAtomic on real files: a regular file is replaced whole; a device
 * or FIFO is written through and stays what it was (renaming over
 * `/dev/null` as root replaced it with a regular file once).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/util/atomic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces a regular file whole and leaves no temporary file', async () => {
    const p = join(dir, 'r.json');
    await writeFile(p, 'old');
    await writeFileAtomic(p, 'new');
    expect(await readFile(p, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['r.json']);
  });

  it('writes through a character device and leaves it a device', async () => {
    const p = join(dir, 'null');
    try {
      execFileSync('mknod', ['-m', '666', p, 'c', '1', '3']);
    } catch {
      // Without CAP_MKNOD use the real one, which this test must not break either.
      await writeFileAtomic('/dev/null', 'x');
      expect((await stat('/dev/null')).isCharacterDevice()).toBe(true);
      return;
    }
    await writeFileAtomic(p, 'report');
    expect((await stat(p)).isCharacterDevice()).toBe(true);
    expect(await readdir(dir)).toEqual(['null']);
  });

  it('writes through a FIFO to its reader', async () => {
    const p = join(dir, 'fifo');
    execFileSync('mkfifo', [p]);
    const reader = spawn('cat', [p]);
    let got = '';
    reader.stdout.on('data', (d: Buffer) => {
      got += d.toString();
    });
    const closed = new Promise((r) => reader.on('close', r));
    await writeFileAtomic(p, 'through the pipe');
    await closed;
    expect(got).toBe('through the pipe');
    expect((await stat(p)).isFIFO()).toBe(true);
  });

  it('refuses a directory, naming it', async () => {
    const p = join(dir, 'd');
    await mkdir(p);
    await expect(writeFileAtomic(p, 'x')).rejects.toThrow(`${p} is a directory`);
  });
});
