import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryTarget, extractTarSafely, linkStaysInside } from '../../src/engine/safe-extract.js';
import { RebuildError } from '../../src/util/errors.js';

type Entry = Partial<tar.Header> & { name: string; body?: string };

/** A real tar stream, as the engine's getArchive would send, with whatever entries a hostile container wants. */
function archive(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  return Readable.from(pack);
}

let root: string;
let dest: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rebuild-extract-'));
  dest = join(root, 'dest');
  await writeFile(join(root, 'secret'), 'do not touch');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function listOutside(): Promise<string[]> {
  return (await readdir(root)).filter((n) => n !== 'dest').sort();
}

describe('entryTarget (pure)', () => {
  it('keeps ordinary names and strips ./', () => {
    expect(entryTarget('./a/b')).toBe('a/b');
    expect(entryTarget('dir/a', 1)).toBe('a');
  });
  it('flags names that leave the destination', () => {
    expect(entryTarget('../x')).toEqual({ escape: '`..` in path' });
    expect(entryTarget('a/../../x')).toEqual({ escape: '`..` in path' });
    expect(entryTarget('/etc/passwd')).toEqual({ escape: 'absolute path' });
  });
  it('judges link targets relative to the link', () => {
    expect(linkStaysInside('a/link', '../b')).toBe(true);
    expect(linkStaysInside('link', '../b')).toBe(false);
    expect(linkStaysInside('link', '/etc/passwd')).toBe(false);
  });
});

describe('extractTarSafely with hostile archives', () => {
  it('extracts an ordinary archive', async () => {
    const r = await extractTarSafely(
      archive([
        { name: './', type: 'directory' },
        { name: './bin', type: 'file', body: 'ELF…', mode: 0o4755 },
        { name: './sub/', type: 'directory' },
        { name: './sub/x', type: 'file', body: 'x' },
        { name: './alias', type: 'symlink', linkname: 'bin' },
      ]),
      dest,
    );
    expect(r.files.sort()).toEqual(['bin', 'sub/x']);
    expect(await readFile(join(dest, 'bin'), 'utf8')).toBe('ELF…');
    // setuid is dropped
    expect((await lstat(join(dest, 'bin'))).mode & 0o7777).toBe(0o755);
    expect(await readlink(join(dest, 'alias'))).toBe('bin');
  });

  it('refuses `..` names and writes nothing outside', async () => {
    await expect(
      extractTarSafely(archive([{ name: '../outside', type: 'file', body: 'pwned' }]), dest),
    ).rejects.toThrow(/hostile archive entry "..\/outside"/);
    expect(await listOutside()).toEqual(['secret']);
  });

  it('refuses absolute names', async () => {
    const target = join(root, 'abs');
    await expect(
      extractTarSafely(archive([{ name: target, type: 'file', body: 'x' }]), dest),
    ).rejects.toBeInstanceOf(RebuildError);
    expect(await listOutside()).toEqual(['secret']);
  });

  it('does not create links that leave, and never writes through a link', async () => {
    const r = await extractTarSafely(
      archive([
        { name: 'escape', type: 'symlink', linkname: root },
        { name: 'abs', type: 'symlink', linkname: '/etc' },
        { name: 'hard', type: 'link', linkname: '../secret' },
      ]),
      dest,
    );
    expect(r.refused.map((x) => x.name).sort()).toEqual(['abs', 'escape', 'hard']);
    expect(await readdir(dest)).toEqual([]);
    // a file "through" a symlink that the archive made inside
    await expect(
      extractTarSafely(
        archive([
          { name: 'sub/', type: 'directory' },
          { name: 'd', type: 'symlink', linkname: 'sub' },
          { name: 'd/x', type: 'file', body: 'x' },
        ]),
        dest,
      ),
    ).rejects.toThrow(/not a directory/);
    expect(await readFile(join(root, 'secret'), 'utf8')).toBe('do not touch');
  });

  it('refuses a hard link to a file outside even when named inside', async () => {
    const r = await extractTarSafely(archive([{ name: 'h', type: 'link', linkname: '/etc/passwd' }]), dest);
    expect(r.refused).toHaveLength(1);
    expect(r.files).toEqual([]);
  });

  it('skips devices and fifos', async () => {
    const r = await extractTarSafely(
      archive([
        { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
        { name: 'pipe', type: 'fifo' },
      ]),
      dest,
    );
    expect(r.refused.map((x) => x.reason)).toEqual([
      'character-device entries are not extracted',
      'fifo entries are not extracted',
    ]);
  });

  it('bounds sizes and entry counts', async () => {
    await expect(
      extractTarSafely(archive([{ name: 'big', type: 'file', body: 'x'.repeat(2000) }]), dest, {
        limits: { maxFileBytes: 1000 },
      }),
    ).rejects.toThrow(/exceeds 1000/);
    await expect(
      extractTarSafely(
        archive([
          { name: 'a', type: 'file', body: 'x'.repeat(600) },
          { name: 'b', type: 'file', body: 'x'.repeat(600) },
        ]),
        join(root, 'dest2'),
        { limits: { maxBytes: 1000 } },
      ),
    ).rejects.toThrow(/archive exceeds 1000/);
    await expect(
      extractTarSafely(
        archive(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, type: 'file' as const, body: '' }))),
        join(root, 'dest3'),
        { limits: { maxEntries: 3 } },
      ),
    ).rejects.toThrow(/more than 3 entries/);
  });

  it('bounds names a pax header carries: a megabyte-long path or link target is refused, briefly', async () => {
    // tar-stream reads pax headers of up to 4 MiB; what is kept of an entry (its names) is bounded to 4096 bytes.
    const long = `d/${'a'.repeat(1024 * 1024)}`;
    const err = await extractTarSafely(archive([{ name: long, type: 'file', body: 'x' }]), dest).catch(
      (e: unknown) => e as RebuildError,
    );
    expect(err).toBeInstanceOf(RebuildError);
    expect((err as RebuildError).message).toMatch(/name longer than 4096 bytes/);
    expect((err as RebuildError).message.length).toBeLessThan(1000);
    const r = await extractTarSafely(
      archive([{ name: 'l', type: 'symlink', linkname: `x/${'b'.repeat(1024 * 1024)}` }]),
      join(root, 'dest2'),
    );
    expect(r.symlinks).toEqual([]);
    expect(r.refused.map((x) => x.name)).toEqual(['l']);
    expect(r.refused[0]!.reason.length).toBeLessThan(1000);
    expect(await listOutside()).toEqual(['dest2', 'secret']);
  });

  it('reports a truncated archive as an input error', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'f', size: 10_000 }, 'x'.repeat(10_000));
    pack.finalize();
    const bytes: Buffer[] = [];
    for await (const c of pack) bytes.push(c as Buffer);
    const cut = Buffer.concat(bytes).subarray(0, 3000);
    await expect(extractTarSafely(Readable.from([cut]), dest)).rejects.toBeInstanceOf(RebuildError);
  });
});
