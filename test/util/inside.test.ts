import { link, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileInside } from '../../src/util/inside.js';

/** A tree a container wrote (`root`) next to a host directory (`victim`) it knows the path of. */
let base: string;
let root: string;
let victim: string;
const opts = { subject: 'build.toml', what: '[[extra]] x' };

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'rebuild-inside-'));
  root = join(base, 'root');
  victim = join(base, 'victim');
  await mkdir(root);
  await mkdir(victim);
  await writeFile(join(victim, 'file'), 'host\n');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('writeFileInside', () => {
  it('makes missing parents one level at a time, as real directories', async () => {
    await writeFileInside(root, 'new/dir/x', Buffer.from('bytes\n'), opts);
    expect(await readFile(join(root, 'new/dir/x'), 'utf8')).toBe('bytes\n');
    expect((await lstat(join(root, 'new'))).isDirectory()).toBe(true);
    expect((await lstat(join(root, 'new/dir'))).isDirectory()).toBe(true);
  });

  it('never follows a link planted at any component', async () => {
    // Attack: a parent, a grand-parent or the file itself is a link to the host.
    // Expected: each refused naming the component; the victim keeps its one file and its bytes.
    await symlink(victim, join(root, 'sub'));
    await expect(writeFileInside(root, 'sub/x', Buffer.from('evil'), opts)).rejects.toThrow(
      /"sub" is a symlink/,
    );
    await mkdir(join(root, 'a'));
    await symlink(victim, join(root, 'a/b'));
    await expect(writeFileInside(root, 'a/b/c/x', Buffer.from('evil'), opts)).rejects.toThrow(
      /"a\/b" is a symlink/,
    );
    await symlink(join(victim, 'file'), join(root, 'f'));
    await expect(writeFileInside(root, 'f', Buffer.from('evil'), opts)).rejects.toThrow(/"f" is a symlink/);
    expect(await readdir(victim)).toEqual(['file']);
    expect(await readFile(join(victim, 'file'), 'utf8')).toBe('host\n');
  });

  it('replaces a file hard-linked to a host file instead of writing through it', async () => {
    // Attack: the destination is a hard link to the victim file. Expected: unlinked and created anew.
    await link(join(victim, 'file'), join(root, 'hl'));
    await writeFileInside(root, 'hl', Buffer.from('extra\n'), opts);
    expect(await readFile(join(root, 'hl'), 'utf8')).toBe('extra\n');
    expect(await readFile(join(victim, 'file'), 'utf8')).toBe('host\n');
  });

  it('refuses `..` and a parent that is not a directory', async () => {
    await expect(writeFileInside(root, '../victim/file', Buffer.from('x'), opts)).rejects.toThrow(
      /not a relative path inside the tree/,
    );
    await writeFile(join(root, 'plain'), 'p');
    await expect(writeFileInside(root, 'plain/x', Buffer.from('x'), opts)).rejects.toThrow(
      /is not a directory/,
    );
  });
});
