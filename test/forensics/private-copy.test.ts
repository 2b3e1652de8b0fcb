/**
 * A large (streamed) file that someone other than this user may change while
 * it is compared is compared from a private copy made in one read, so the
 * verdict and the digests are of the same bytes (a writer through a shared
 * mapping leaves the change time alone; a network file system may answer each
 * read differently). The copy is said in the report and removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { IN_MEMORY_LIMIT } from '../../src/forensics/elf/source.js';
import { othersMayWrite } from '../../src/forensics/elf/who-may-write.js';
import { pkgforgeStrip, sectionOffset } from './fixtures.js';

const EXT4 = 0xef53n;
const NFS = 0x6969n;

describe('who may write a file while it is compared (pure)', () => {
  it('this user and root: no one else; another owner, group or other write, or a remote file system: named', () => {
    expect(othersMayWrite({ uid: 1000n, mode: 0o100755n, fsType: EXT4 }, 1000)).toBeUndefined();
    expect(othersMayWrite({ uid: 0n, mode: 0o100644n, fsType: EXT4 }, 1000)).toBeUndefined();
    expect(othersMayWrite({ uid: 65534n, mode: 0o100444n, fsType: EXT4 }, 1000)).toMatch(
      /owned by user 65534/,
    );
    expect(othersMayWrite({ uid: 1000n, mode: 0o100664n, fsType: EXT4 }, 1000)).toMatch(/group or others/);
    expect(othersMayWrite({ uid: 1000n, mode: 0o100646n, fsType: EXT4 }, 1000)).toMatch(/group or others/);
    expect(othersMayWrite({ uid: 1000n, mode: 0o100755n, fsType: NFS }, 1000)).toMatch(/type 0x6969/);
  });
});

const MAIN = `#include <stdio.h>
extern const unsigned char _binary_blob_bin_start[];
int main(void) { printf("%d\\n", _binary_blob_bin_start[0]); return 0; }
`;

let dir: string;
let copies: string;
let a: string;
let b: string;
const saved = process.env.TMPDIR;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-private-copy-'));
  await writeFile(join(dir, 'main.c'), MAIN);
  await writeFile(join(dir, 'blob.bin'), randomBytes(IN_MEMORY_LIMIT + (1 << 20)));
  const run = (cmd: string, args: string[]) => execa(cmd, args, { cwd: dir });
  await run('objcopy', ['-I', 'binary', '-O', 'elf64-x86-64', '-B', 'i386:x86-64', 'blob.bin', 'blob.o']);
  b = join(dir, 'prog');
  await run('gcc', ['-g', '-O1', '-o', b, 'main.c', 'blob.o']);
  a = await pkgforgeStrip(b, join(dir, 'prog.pkgforge'));
  // The copies go here (os.tmpdir() reads TMPDIR), so that the test sees them made and removed.
  copies = join(dir, 'tmp');
  await mkdir(copies);
  process.env.TMPDIR = copies;
}, 120_000);
afterAll(async () => {
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
  await rm(dir, { recursive: true, force: true });
});

const copiedNotes = (r: Awaited<ReturnType<typeof compare>>) =>
  (r.observations ?? []).filter((o) => o.region === 'file').map((o) => o.detail);

describe('a large file others may write is compared from a private copy', () => {
  it('own files: read in place, nothing said', async () => {
    const r = await compare(a, b, { workDir: dir });
    expect(r.verdict).toBe('equivalent');
    expect(copiedNotes(r)).toEqual([]);
  }, 60_000);

  // Only root can give a file away.
  it.skipIf(process.getuid?.() !== 0)(
    'a owned by another user: the same verdict and digests, the copy said and removed',
    async () => {
      const theirs = join(dir, 'theirs');
      await writeFile(theirs, await readFile(a), { mode: 0o755 });
      await chown(theirs, 65534, 65534);
      const own = await compare(a, b, { workDir: dir });
      const r = await compare(theirs, b, { workDir: dir });
      expect(r.verdict).toBe('equivalent');
      expect(r.a.sha256).toBe(own.a.sha256);
      expect(r.a.path).toBe(theirs);
      expect(copiedNotes(r)).toEqual([
        expect.stringMatching(/^a was compared from a private copy.*owned by user 65534/),
      ]);
      expect(await readdir(copies)).toEqual([]);
    },
    60_000,
  );

  it('a group-writable published file with one byte of loaded data changed (it runs): different, from the copy', async () => {
    const data = await sectionOffset(a, '.data');
    const bytes = await readFile(a);
    const at = data.offset + (data.size >> 1);
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    const shared = join(dir, 'shared');
    await writeFile(shared, bytes);
    await chmod(shared, 0o775);
    expect((await execa(shared, [])).exitCode).toBe(0);
    const r = await compare(shared, b, { workDir: dir });
    expect(r.verdict).toBe('different');
    expect(r.differences.map((d) => d.region)).toContain('.data');
    expect(copiedNotes(r)).toEqual([expect.stringMatching(/group or others may write/)]);
    expect(await readdir(copies)).toEqual([]);
  }, 60_000);
});
