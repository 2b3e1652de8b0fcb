import { lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chownTree } from '../../src/util/chown-tree.js';

const root = process.getuid?.() === 0;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-chown-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.runIf(root)('chownTree', () => {
  it('gives every entry, links included, to the owner without following a link or changing a mode', async () => {
    const outside = join(dir, 'outside');
    await writeFile(outside, 'x');
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'a'), { recursive: true });
    await writeFile(join(tree, 'a', 'f'), 'y', { mode: 0o640 });
    await symlink(outside, join(tree, 'a', 'out'));
    await symlink(dir, join(tree, 'up'));
    await chownTree(tree, 123456, 123457);
    for (const p of ['', 'a', 'a/f', 'a/out', 'up']) {
      const st = await lstat(join(tree, p));
      expect([st.uid, st.gid]).toEqual([123456, 123457]);
    }
    expect((await stat(join(tree, 'a', 'f'))).mode & 0o777).toBe(0o640);
    expect((await stat(outside)).uid).toBe(0);
    expect((await stat(dir)).uid).toBe(0);
  });
});
