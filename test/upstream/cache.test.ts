import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobCache } from '../../src/upstream/cache.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-cache-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = Buffer.from('published bytes\n');
const hex = createHash('sha256').update(bytes).digest('hex');
const digest = `sha256:${hex}`;

describe('BlobCache', () => {
  it('removes temp files of processes that are gone, keeps those of live ones', async () => {
    const root = join(dir, 'stale');
    await mkdir(join(root, 'tmp'), { recursive: true });
    const child = spawnSync(process.execPath, ['-e', '0']);
    const deadPid = child.pid!;
    await writeFile(join(root, 'tmp', `${hex}.${deadPid}.aaaa.part`), 'half');
    await writeFile(join(root, 'tmp', `${hex}.${process.pid}.bbbb.part`), 'in progress');
    await writeFile(join(root, 'tmp', 'junk'), 'x');
    await BlobCache.open(root);
    expect(await readdir(join(root, 'tmp'))).toEqual([`${hex}.${process.pid}.bbbb.part`]);
  });

  it('trusts a cached file only by its digest name, size and (small files) content', async () => {
    const cache = await BlobCache.open(join(dir, 'lookup'));
    expect(await cache.lookup(digest, bytes.length)).toBeUndefined();
    const tmp = cache.tempPath(digest);
    expect(tmp).toContain(`.${process.pid}.`);
    expect(cache.tempPath(digest)).not.toBe(tmp);
    await writeFile(tmp, bytes);
    const path = await cache.commit(tmp, digest);
    expect(path).toBe(join(dir, 'lookup', 'sha256', hex));
    expect(await cache.lookup(digest, bytes.length)).toBe(path);
    // wrong expected size: not trusted, removed
    expect(await cache.lookup(digest, bytes.length + 1)).toBeUndefined();
    expect(await readdir(join(dir, 'lookup', 'sha256'))).toEqual([]);
    // right size, other bytes under the digest name: not trusted, removed
    await writeFile(join(dir, 'lookup', 'sha256', hex), Buffer.from('PUBLISHED BYTES\n'));
    expect(await cache.lookup(digest, bytes.length)).toBeUndefined();
    expect(await readdir(join(dir, 'lookup', 'sha256'))).toEqual([]);
    expect(() => cache.pathFor('sha256:xyz')).toThrow(/not a sha256 digest/);
  });
});
