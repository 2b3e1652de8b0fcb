import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPostProcessing,
  type PostProcessProfile,
  profileById,
  readElfFacts,
  sniffElf,
  UNSTRIPPED_DIR,
} from '../../src/postprocess/index.js';
import { RebuildError } from '../../src/util/errors.js';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');
const sections = async (p: string) =>
  (await execa('readelf', ['-SW', p])).stdout
    .split('\n')
    .map((l) => /^\s*\[\s*\d+\]\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => !!s);
const profile = (id: string): PostProcessProfile => {
  const p = profileById(id);
  if (!p) throw new Error(id);
  return p;
};
const STRIP_ALL = profile('bincache-2025-04-10');
const STRIP_UNNEEDED = profile('bincache-2025-03-20');
const apply = (dir: string, p: PostProcessProfile | undefined, onLog?: (l: string) => void) =>
  applyPostProcessing(dir, { profile: p, reason: 'test', ...(onLog ? { onLog } : {}) });

let root: string;
let hello: string; // PIE, with debug info
let helloStatic: string;
let relocs: string; // --emit-relocs: the two strip eras give different bytes
let lib: string; // shared library
let object: string; // ELF REL

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rebuild-pp-test-'));
  const src = join(root, 'hello.c');
  await writeFile(
    src,
    '#include <stdio.h>\nint counter = 3;\nint main(void){ printf("hi %d\\n", counter); return 0; }\n',
  );
  await writeFile(join(root, 'lib.c'), 'int twice(int x){ return 2 * x; }\n');
  hello = join(root, 'hello.bin');
  helloStatic = join(root, 'hello-static.bin');
  relocs = join(root, 'relocs.bin');
  lib = join(root, 'libtwice.so');
  object = join(root, 'hello.o');
  await execa('gcc', ['-O2', '-g', '-pie', '-fPIE', '-o', hello, src]);
  await execa('gcc', ['-O2', '-static', '-o', helloStatic, src]);
  await execa('gcc', ['-O2', '-Wl,--emit-relocs', '-o', relocs, src]);
  await execa('gcc', ['-O2', '-g', '-shared', '-fPIC', '-o', lib, join(root, 'lib.c')]);
  await execa('gcc', ['-c', '-o', object, src]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function outDirWith(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(root, 'out-'));
  for (const [name, from] of Object.entries(files)) {
    if (typeof from === 'string') await copyFile(from, join(dir, name));
    else await writeFile(join(dir, name), from);
    await chmod(join(dir, name), 0o755);
  }
  return dir;
}

/** pkgforge's commands of one era, run by hand on a copy. */
async function byHand(src: string, strip: string[]): Promise<string> {
  const ref = join(root, `ref-${Math.random().toString(36).slice(2)}`);
  await copyFile(src, ref);
  await execa('objcopy', ['--remove-section=.comment', '--remove-section=.note.*', ref]);
  await execa('strip', [...strip, ref]);
  return ref;
}

describe('readElfFacts: what file -i would say', () => {
  it('tells a PIE (DF_1_PIE) from a shared library, and rejects non-ELF', async () => {
    expect((await readElfFacts(hello))?.mime).toBe('x-pie-executable');
    expect((await readElfFacts(helloStatic))?.mime).toBe('x-executable');
    expect((await readElfFacts(lib))?.mime).toBe('x-sharedlib');
    expect((await readElfFacts(object))?.mime).toBe('x-object');
    const head = await readFile(hello);
    expect(sniffElf(head)).toEqual({ class: 64, endian: 'little', type: 3, machine: 62 });
    expect(sniffElf(Buffer.from('#!/bin/sh\necho hello world\n'))).toBeUndefined();
    const junk = join(root, 'junk-dyn');
    const bad = Buffer.from(head.subarray(0, 64));
    bad.writeBigUInt64LE(0xffffffffn, 32); // program headers past the end
    await writeFile(junk, bad);
    expect((await readElfFacts(junk))?.mime).toBe('x-sharedlib');
  });
});

describe('applyPostProcessing (host binutils, real binaries)', () => {
  it('a recipe output under each era reproduces the bytes that era made', async () => {
    const all = await byHand(relocs, ['--strip-all']);
    const unneeded = await byHand(relocs, ['--strip-debug', '--strip-dwo', '--strip-unneeded']);
    expect(await sha(all)).not.toBe(await sha(unneeded));
    const a = await outDirWith({ relocs });
    const ra = await apply(a, STRIP_ALL);
    expect(await sha(join(a, 'relocs'))).toBe(await sha(all));
    expect(ra.profile).toBe('bincache-2025-04-10');
    expect(ra.source).toBe('pkgforge/bincache@4c864ac:scripts/runner/functions.sh');
    expect(ra.commands.join('\n')).toContain('strip --strip-all --verbose');
    const u = await outDirWith({ relocs });
    const ru = await apply(u, STRIP_UNNEEDED);
    expect(await sha(join(u, 'relocs'))).toBe(await sha(unneeded));
    expect(ru.files.find((f) => f.name === 'relocs')?.passes.map((p) => p.command)).toEqual([
      expect.stringMatching(/objcopy --remove-section=\.comment '--remove-section=\.note\.\*' relocs$/),
      expect.stringMatching(/strip --strip-debug --strip-dwo --strip-unneeded relocs$/),
    ]);
    const n = await outDirWith({ relocs, 'x.no_strip': relocs });
    const rn = await apply(n, profile('bincache-2025-06-25'));
    expect(await sha(join(n, 'relocs'))).toBe(await sha(relocs));
    expect(await readdir(n)).toContain('x.no_strip'); // the syntax error skipped renames too
    expect(rn.notes.join(' ')).toContain('syntax error');
  });

  it('strips executables, keeps originals, leaves shared libraries, objects and scripts alone', async () => {
    const dir = await outDirWith({
      hello,
      'hello-static': helloStatic,
      'libtwice.so': lib,
      'keep.no_strip': hello,
      'hello.o': object,
      'run.sh': Buffer.from('#!/bin/sh\nexec ./hello "$@"\n'),
      empty: Buffer.alloc(0),
      'app.desktop': Buffer.from('[Desktop Entry]\nExec=/opt/app/bin/app %U\n'),
    });
    await mkdir(join(dir, 'share'));
    await symlink('hello', join(dir, 'hello-link'));
    const before = {
      hello: await sha(join(dir, 'hello')),
      lib: await sha(join(dir, 'libtwice.so')),
      keep: await sha(join(dir, 'keep.no_strip')),
      obj: await sha(join(dir, 'hello.o')),
      sh: await sha(join(dir, 'run.sh')),
    };
    const ref = await byHand(hello, ['--strip-all']);
    const lines: string[] = [];
    const rec = await apply(dir, STRIP_ALL, (l) => lines.push(l));
    const by = Object.fromEntries(rec.files.map((f) => [f.name, f]));
    expect(await sha(join(dir, 'hello'))).toBe(await sha(ref));
    expect(await sha(join(dir, UNSTRIPPED_DIR, 'hello'))).toBe(before.hello);
    expect(by.hello?.elf).toEqual({ machine: 'x86_64', class: 64, endian: 'little', type: 'DYN' });
    const version = (await execa('objcopy', ['--version'])).stdout.split('\n')[0];
    expect(by.hello?.passes.every((p) => p.version === version)).toBe(true);
    for (const gone of ['.comment', '.symtab', '.strtab', '.debug_info', '.note.gnu.build-id']) {
      expect(await sections(join(dir, 'hello'))).not.toContain(gone);
    }
    expect((await execa(join(dir, 'hello'))).stdout).toBe('hi 3');
    expect(by['hello-static']?.passes).toHaveLength(2);
    // the shared library keeps its symbols and debug info: x-sharedlib never matched the CI's grep
    expect(await sha(join(dir, 'libtwice.so'))).toBe(before.lib);
    expect(await sections(join(dir, 'libtwice.so'))).toContain('.symtab');
    expect(by['libtwice.so']?.skipped).toContain('x-sharedlib');
    expect(await sha(join(dir, 'keep'))).toBe(before.keep);
    expect(by.keep).toMatchObject({ renamedFrom: 'keep.no_strip', action: 'rename', passes: [] });
    expect(await sha(join(dir, 'run.sh'))).toBe(before.sh);
    expect(await sha(join(dir, 'hello.o'))).toBe(before.obj);
    expect(by['hello-link']?.skipped).toContain('symlink');
    expect(rec.deleted).toEqual(['empty']);
    expect(await readdir(dir)).not.toContain('empty');
    expect(await readFile(join(dir, 'app.desktop'), 'utf8')).toBe('[Desktop Entry]\nExec={{pkg_path}} %U\n');
    expect((await readdir(join(dir, UNSTRIPPED_DIR))).sort()).toEqual(['hello', 'hello-static']);
    expect(lines.some((l) => l.includes('--strip-all hello'))).toBe(true);
    expect(JSON.parse(JSON.stringify(rec))).toEqual(rec);
    const again = await apply(dir, STRIP_ALL);
    expect(again.files.find((f) => f.name === 'hello')?.skipped).toContain('post-processed before');
    expect(await sha(join(dir, UNSTRIPPED_DIR, 'hello'))).toBe(before.hello);
  });

  it('none records no commands and changes nothing', async () => {
    const dir = await outDirWith({ hello, 'keep.no_strip': hello });
    const rec = await apply(dir, undefined);
    expect(rec).toMatchObject({ profile: 'none', source: '', commands: [], files: [] });
    expect((await readdir(dir)).sort()).toEqual(['hello', 'keep.no_strip']);
  });

  it('uses the aarch64 binutils for an aarch64 file, keeping e_machine (never strip -F elf64-little)', async () => {
    const asm = join(root, 'a64.s');
    await writeFile(
      asm,
      [
        '  .section .note.gnu.property,"a"',
        '  .p2align 3',
        '  .word 4, 16, 5',
        '  .asciz "GNU"',
        '  .word 0xc0000000, 4, 3, 0',
        '  .text',
        '  .globl _start',
        '_start:',
        '  mov x8, #93',
        '  mov x0, #0',
        '  svc #0',
        '  .section .data.rel.ro,"aw"',
        '  .quad _start',
        '',
      ].join('\n'),
    );
    const a64 = join(root, 'a64');
    await execa('aarch64-linux-gnu-as', ['-o', `${a64}.o`, asm]);
    await execa('aarch64-linux-gnu-ld', [
      '-pie',
      '-z',
      'relro',
      '-z',
      'now',
      '--build-id',
      '-o',
      a64,
      `${a64}.o`,
    ]);
    const dir = await outDirWith({ tool: a64 });
    const rec = await apply(dir, STRIP_ALL);
    const f = rec.files.find((x) => x.name === 'tool');
    expect(f?.elf?.machine).toBe('aarch64');
    expect(f?.passes.map((p) => p.command)).toEqual([
      expect.stringMatching(
        /aarch64-linux-gnu-objcopy --remove-section=\.comment '--remove-section=\.note\.\*' tool$/,
      ),
      expect.stringMatching(/aarch64-linux-gnu-strip --strip-all tool$/),
    ]);
    const out = join(dir, 'tool');
    expect(sniffElf(await readFile(out))?.machine).toBe(183);
    const phdrs = (await execa('readelf', ['-lW', out])).stdout;
    expect(phdrs).not.toMatch(/GNU_RELRO/);
    expect((await sections(out)).some((s) => s.startsWith('.note') || s === '.symtab')).toBe(false);
  });

  it('names the directory when the output directory is missing', async () => {
    const err = await apply(join(root, 'no-such-out'), STRIP_ALL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RebuildError);
    expect((err as RebuildError).describe()).toContain('no-such-out');
  });

  it('fails before changing anything when no binutils understand the machine', async () => {
    const alien = Buffer.from(await readFile(helloStatic));
    alien.writeUInt16LE(0x7777, 18);
    const dir = await outDirWith({ hello, alien });
    const err = await apply(dir, STRIP_ALL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RebuildError);
    expect((err as RebuildError).category).toBe('environment');
    expect((err as RebuildError).message).toContain('machine-30583');
    expect(await sha(join(dir, 'hello'))).toBe(await sha(hello));
    expect(await readdir(dir)).not.toContain(UNSTRIPPED_DIR);
  });

  it('records a tool failure on a malformed ELF and carries on', async () => {
    const broken = Buffer.from(await readFile(helloStatic)).subarray(0, 3000);
    const dir = await outDirWith({ broken, hello });
    const rec = await apply(dir, STRIP_ALL);
    const b = rec.files.find((f) => f.name === 'broken');
    expect(b?.error).toMatch(/objcopy/);
    expect(b?.passes).toEqual([]);
    expect(rec.files.find((f) => f.name === 'hello')?.passes).toHaveLength(2);
  });
});
