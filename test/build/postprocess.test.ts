import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPkgforgePostProcessing,
  type EntryFacts,
  planPostProcessing,
  UNSTRIPPED_DIR,
} from '../../src/build/postprocess.js';
import { sniffElf } from '../../src/build/postprocess-elf.js';
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

let root: string;
let hello: string; // dynamic, with debug info
let helloStatic: string;
let object: string; // ELF REL

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rebuild-pp-test-'));
  const src = join(root, 'hello.c');
  await writeFile(
    src,
    '#include <stdio.h>\nint counter = 3;\nint main(void){ printf("hi %d\\n", counter); return 0; }\n',
  );
  hello = join(root, 'hello.bin');
  helloStatic = join(root, 'hello-static.bin');
  object = join(root, 'hello.o');
  await execa('gcc', ['-O2', '-g', '-o', hello, src]);
  await execa('gcc', ['-O2', '-static', '-o', helloStatic, src]);
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

describe('sniffElf', () => {
  it('reads class, endianness, type and machine, and rejects non-ELF', async () => {
    const head = await readFile(hello);
    expect(sniffElf(head)).toEqual({ class: 64, endian: 'little', type: 3, machine: 62 });
    expect(sniffElf((await readFile(helloStatic)).subarray(0, 20))?.type).toBe(2);
    expect(sniffElf(Buffer.from('#!/bin/sh\necho hello world\n'))).toBeUndefined();
    expect(sniffElf(head.subarray(0, 19))).toBeUndefined();
    const big = Buffer.from(head.subarray(0, 20));
    big[5] = 2; // big-endian: e_type and e_machine read the other way
    expect(sniffElf(big)).toMatchObject({ endian: 'big', type: 0x300, machine: 0x3e00 });
  });
});

describe('planPostProcessing (pure)', () => {
  const elf = { class: 64 as const, endian: 'little' as const, machine: 183 };
  const entries: EntryFacts[] = [
    { name: 'tool', kind: 'file', elf: { ...elf, type: 3 } },
    { name: 'tool-static', kind: 'file', elf: { ...elf, type: 2 } },
    { name: 'lib.o', kind: 'file', elf: { ...elf, type: 1 } },
    { name: 'helper.no_strip', kind: 'file', elf: { ...elf, type: 2 } },
    { name: 'clash.no_strip', kind: 'file', elf: { ...elf, type: 2 } },
    { name: 'clash', kind: 'file' },
    { name: 'README', kind: 'file' },
    { name: 'share', kind: 'directory' },
    { name: 'link', kind: 'symlink' },
    { name: UNSTRIPPED_DIR, kind: 'directory' },
  ];

  it('does nothing unless pkg_type contains static', () => {
    for (const t of ['archive', 'appimage', 'dynamic', '']) {
      const plan = planPostProcessing(entries, t);
      expect(plan.applies).toBe(false);
      expect(plan.files).toEqual([]);
      expect(plan.reason).toContain('static');
    }
  });

  it('processes ELF executables and shared objects, renames .no_strip, skips the rest', () => {
    const plan = planPostProcessing(entries, 'static');
    const by = Object.fromEntries(plan.files.map((f) => [f.name, f]));
    expect(plan.applies).toBe(true);
    expect(by.tool?.action).toBe('process');
    expect(by.tool?.passes).toEqual(['remove-comment-and-notes', 'strip-all']);
    expect(by['tool-static']?.action).toBe('process');
    expect(by['lib.o']).toMatchObject({ action: 'skip', passes: [] });
    expect(by['lib.o']?.reason).toContain('REL');
    expect(by['helper.no_strip']).toMatchObject({ action: 'rename', renameTo: 'helper', passes: [] });
    expect(by['clash.no_strip']?.action).toBe('skip');
    expect(by['clash.no_strip']?.reason).toContain('already exists');
    expect(by.README).toMatchObject({ action: 'skip', reason: 'not an ELF file' });
    expect(by.share?.action).toBe('skip');
    expect(by.link?.reason).toContain('symlink');
    expect(by[UNSTRIPPED_DIR]).toBeUndefined();
    expect(planPostProcessing(entries, 'static-pie').applies).toBe(true);
  });
});

describe('applyPkgforgePostProcessing (host binutils, real binaries)', () => {
  it('strips like pkgforge CI, keeps the originals, renames .no_strip, leaves other files alone', async () => {
    const dir = await outDirWith({
      hello,
      'hello-static': helloStatic,
      'keep.no_strip': hello,
      'hello.o': object,
      'run.sh': Buffer.from('#!/bin/sh\nexec ./hello "$@"\n'),
    });
    await mkdir(join(dir, 'share'));
    await symlink('hello', join(dir, 'hello-link'));
    const before = {
      hello: await sha(join(dir, 'hello')),
      keep: await sha(join(dir, 'keep.no_strip')),
      obj: await sha(join(dir, 'hello.o')),
      sh: await sha(join(dir, 'run.sh')),
    };
    // The reference: pkgforge's exact commands, run by hand on a copy.
    const ref = join(root, `ref-${Date.now()}`);
    await copyFile(hello, ref);
    await execa('objcopy', ['--remove-section=.comment', '--remove-section=.note.*', ref]);
    await execa('strip', ['--strip-all', ref]);
    const lines: string[] = [];

    const rec = await applyPkgforgePostProcessing(dir, { pkgType: 'static', onLog: (l) => lines.push(l) });

    expect(rec.applied).toBe(true);
    const by = Object.fromEntries(rec.files.map((f) => [f.name, f]));
    // processed: equals the hand-run reference, original kept byte for byte
    expect(await sha(join(dir, 'hello'))).toBe(await sha(ref));
    expect(await sha(join(dir, UNSTRIPPED_DIR, 'hello'))).toBe(before.hello);
    const h = by.hello;
    expect(h?.action).toBe('process');
    expect(h?.unstripped).toBe(join(UNSTRIPPED_DIR, 'hello'));
    expect(h?.elf).toEqual({ machine: 'x86_64', class: 64, endian: 'little', type: 'DYN' });
    expect(h?.passes.map((p) => p.command)).toEqual([
      expect.stringMatching(/objcopy --remove-section=\.comment --remove-section='\.note\.\*' hello$/),
      expect.stringMatching(/strip --strip-all hello$/),
    ]);
    const version = (await execa('objcopy', ['--version'])).stdout.split('\n')[0];
    expect(h?.passes.every((p) => p.version === version)).toBe(true);
    expect(h?.sizeAfter).toBeLessThan(h?.sizeBefore ?? 0);
    const secs = await sections(join(dir, 'hello'));
    expect(secs).toContain('.text');
    for (const gone of ['.comment', '.symtab', '.strtab', '.debug_info', '.note.gnu.build-id']) {
      expect(secs).not.toContain(gone);
    }
    expect(by['hello-static']?.passes).toHaveLength(2);
    expect((await sections(join(dir, 'hello-static'))).some((s) => s.startsWith('.note'))).toBe(false);
    // the stripped program still runs
    expect((await execa(join(dir, 'hello'))).stdout).toBe('hi 3');

    // .no_strip: renamed, bytes untouched, nothing kept aside
    expect(await sha(join(dir, 'keep'))).toBe(before.keep);
    expect(by.keep).toMatchObject({ renamedFrom: 'keep.no_strip', action: 'rename', passes: [] });
    // non-ELF, relocatable object, directory, symlink: untouched
    expect(await sha(join(dir, 'run.sh'))).toBe(before.sh);
    expect(by['run.sh']?.skipped).toBe('not an ELF file');
    expect(await sha(join(dir, 'hello.o'))).toBe(before.obj);
    expect(by['hello.o']?.skipped).toContain('REL');
    expect(by['hello-link']?.skipped).toContain('symlink');
    expect((await readdir(join(dir, UNSTRIPPED_DIR))).sort()).toEqual(['hello', 'hello-static']);
    expect(lines.some((l) => l.includes('--strip-all hello'))).toBe(true);
    expect(JSON.parse(JSON.stringify(rec))).toEqual(rec);

    // a second run does not overwrite the originals with stripped files
    const again = await applyPkgforgePostProcessing(dir, { pkgType: 'static' });
    expect(again.files.find((f) => f.name === 'hello')?.skipped).toContain('post-processed before');
    expect(await sha(join(dir, UNSTRIPPED_DIR, 'hello'))).toBe(before.hello);
  });

  it('uses the aarch64 binutils for an aarch64 file, keeping e_machine (never strip -F elf64-little)', async () => {
    // A tiny aarch64 PIE made with the cross assembler and linker (binutils-aarch64-linux-gnu).
    const asm = join(root, 'a64.s');
    await writeFile(
      asm,
      [
        '  .section .note.gnu.property,"a"',
        '  .p2align 3',
        '  .word 4, 16, 5',
        '  .asciz "GNU"',
        '  .word 0xc0000000, 4, 3, 0', // AArch64 feature: BTI, PAC
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
    const rec = await applyPkgforgePostProcessing(dir, { pkgType: 'static' });
    const f = rec.files.find((x) => x.name === 'tool');
    expect(f?.elf?.machine).toBe('aarch64');
    expect(f?.passes.map((p) => p.command)).toEqual([
      expect.stringMatching(
        /aarch64-linux-gnu-objcopy --remove-section=\.comment --remove-section='\.note\.\*' tool$/,
      ),
      expect.stringMatching(/aarch64-linux-gnu-strip --strip-all tool$/),
    ]);
    const out = join(dir, 'tool');
    expect(sniffElf(await readFile(out))?.machine).toBe(183);
    const phdrs = (await execa('readelf', ['-lW', out])).stdout;
    expect((await execa('readelf', ['-lW', a64])).stdout).toMatch(/GNU_RELRO/);
    // binutils 2.40: GNU_RELRO dropped, NOTE/GNU_PROPERTY kept but emptied (offset and size 0)
    expect(phdrs).not.toMatch(/GNU_RELRO/);
    expect(phdrs).toMatch(/GNU_PROPERTY\s+0x0+\s+0x[0-9a-f]+\s+0x0+\s+0x0+\s+0x0+\s/);
    expect((await sections(out)).some((s) => s.startsWith('.note') || s === '.symtab')).toBe(false);
  });

  it('names the directory when the output directory is missing', async () => {
    const err = await applyPkgforgePostProcessing(join(root, 'no-such-out'), { pkgType: 'static' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RebuildError);
    expect((err as RebuildError).describe()).toContain('no-such-out');
  });

  it('is a no-op for a pkg_type without static', async () => {
    const dir = await outDirWith({ hello, 'keep.no_strip': hello });
    const rec = await applyPkgforgePostProcessing(dir, { pkgType: 'archive' });
    expect(rec.applied).toBe(false);
    expect(rec.files).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['hello', 'keep.no_strip']);
    expect(await sha(join(dir, 'hello'))).toBe(await sha(hello));
  });

  it('fails before changing anything when no binutils understand the machine', async () => {
    const alien = Buffer.from(await readFile(hello));
    alien.writeUInt16LE(0x7777, 18); // an e_machine no binutils knows
    const dir = await outDirWith({ hello, alien });
    const err = await applyPkgforgePostProcessing(dir, { pkgType: 'static' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RebuildError);
    expect((err as RebuildError).category).toBe('environment');
    expect((err as RebuildError).message).toContain('machine-30583');
    expect((err as RebuildError).fix).toBeTruthy();
    expect(await sha(join(dir, 'hello'))).toBe(await sha(hello));
    expect(await readdir(dir)).not.toContain(UNSTRIPPED_DIR);
  });

  it('records a tool failure on a malformed ELF and carries on', async () => {
    const broken = Buffer.from(await readFile(hello)).subarray(0, 3000); // truncated: headers point past the end
    const dir = await outDirWith({ broken, hello });
    const rec = await applyPkgforgePostProcessing(dir, { pkgType: 'static' });
    const b = rec.files.find((f) => f.name === 'broken');
    expect(b?.error).toMatch(/objcopy/);
    expect(b?.passes).toEqual([]);
    expect(await sha(join(dir, UNSTRIPPED_DIR, 'broken'))).toBe(
      createHash('sha256').update(broken).digest('hex'),
    );
    expect(rec.files.find((f) => f.name === 'hello')?.passes).toHaveLength(2);
  });
});
