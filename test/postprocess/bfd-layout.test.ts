/**
 * The streamed post-processing (src/postprocess/bfd-layout.ts) against the
 * real tools: for executables built here by gcc, clang, Go, Rust and the
 * aarch64 cross gcc (PIE, non-PIE, static, static-pie, -g and -O2, with a
 * .gnu_debuglink, with kept non-allocated sections, with a non-allocated
 * .note.*, with no note at all), the plan's bytes equal `objcopy --remove-section=.comment
 * --remove-section=.note.*` then `strip --strip-all` (and the
 * --strip-debug --strip-dwo --strip-unneeded flavour) byte for byte. Layouts
 * the model does not know are refused, and the simulation then runs the
 * real tools, whose output it hands on unchanged.
 */
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bfdStringTable, planCommentNotesStrip } from '../../src/postprocess/bfd-layout.js';
import { PlanSource } from '../../src/postprocess/plan.js';
import { profileById } from '../../src/postprocess/profiles.js';
import { simulateEach } from '../../src/postprocess/simulate.js';

let dir: string;
const p = (n: string) => join(dir, n);

const C = `#include <stdio.h>
int counter = 3; static char buf[4096];
int main(int argc, char **argv) { buf[argc] = (char)argc; printf("%d %s\\n", counter + buf[1], argv[0]); return 0; }
`;
/** A non-allocated note not named .note.* (kept by strip: not modelled), and a non-allocated .note.* (removed). */
const NOTES = (name: string) => `${C}
__asm__(".section ${name},\\"\\",@note\\n.balign 4\\n.long 4, 4, 1\\n.asciz \\"abc\\"\\n.long 0\\n.previous");
`;

async function file(path: string): Promise<{ name: string; size: number; readInto: PlanSource['readInto'] }> {
  const bytes = await readFile(path);
  return {
    name: path,
    size: bytes.length,
    readInto: async (buf, offset, length) =>
      bytes.copy(buf, 0, offset, Math.min(bytes.length, offset + length)),
  };
}

async function reference(bin: string, prefix: string, strip: string[]): Promise<Buffer> {
  const mid = `${bin}.mid${strip.length}`;
  const out = `${bin}.ref${strip.length}`;
  await execa(`${prefix}objcopy`, ['--remove-section=.comment', '--remove-section=.note.*', bin, mid]);
  await execa(`${prefix}strip`, [...strip, '-o', out, mid]);
  return readFile(out);
}

async function planned(bin: string): Promise<Buffer | string> {
  const src = await file(bin);
  const plan = await planCommentNotesStrip(src);
  if ('unsupported' in plan) return plan.unsupported;
  const s = new PlanSource(src, plan.pieces, bin);
  expect(s.size).toBe(plan.size);
  return s.read(0, s.size);
}

const has = async (cmd: string, args: string[] = ['--version']) =>
  execa(cmd, args).then(
    () => true,
    () => false,
  );

interface Built {
  name: string;
  path: string;
  prefix: string;
}
const supported: Built[] = [];
const refused: (Built & { why: RegExp })[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-bfd-layout-'));
  await writeFile(p('m.c'), C);
  const cc = async (name: string, compiler: string, args: string[], src = 'm.c') => {
    const out = p(name.replace(/[^A-Za-z0-9]+/g, '-'));
    await execa(compiler, [...args, '-o', out, p(src)]);
    return out;
  };
  const add = async (name: string, compiler: string, args: string[], prefix = '', src = 'm.c') =>
    supported.push({ name, path: await cc(name, compiler, args, src), prefix });
  await add('gcc -O2 (PIE)', 'gcc', ['-O2']);
  await add('gcc -g -O2', 'gcc', ['-g', '-O2']);
  await add('gcc -g -no-pie', 'gcc', ['-g', '-no-pie']);
  await add('gcc -static', 'gcc', ['-O2', '-static']);
  await add('gcc -static-pie', 'gcc', ['-g', '-static-pie']);
  await add('clang -g -O2', 'clang', ['-g', '-O2']);
  await add('clang -O2 -no-pie', 'clang', ['-O2', '-no-pie']);
  await add('clang -fuse-ld=lld', 'clang', ['-g', '-O2', '-fuse-ld=lld']);
  if (await has('aarch64-linux-gnu-gcc')) {
    await add('aarch64 gcc -g -O2', 'aarch64-linux-gnu-gcc', ['-g', '-O2'], 'aarch64-linux-gnu-');
    await add('aarch64 gcc -static', 'aarch64-linux-gnu-gcc', ['-O2', '-static'], 'aarch64-linux-gnu-');
  }
  if (await has('rustc')) {
    await writeFile(p('r.rs'), 'fn main() { println!("{}", std::env::args().count()); }\n');
    await execa('rustc', ['-O', '-o', p('rust'), p('r.rs')]);
    supported.push({ name: 'rustc -O', path: p('rust'), prefix: '' });
  }
  if (await has('go', ['version'])) {
    await writeFile(p('g.go'), 'package main\nimport "os"\nfunc main() { os.Stdout.WriteString("hi\\n") }\n');
    await execa('go', ['build', '-o', p('go'), p('g.go')], {
      env: { GOCACHE: p('gocache'), GOPATH: p('gopath'), GO111MODULE: 'off', CGO_ENABLED: '0' },
    });
    supported.push({ name: 'go build', path: p('go'), prefix: '' });
  }
  // A .gnu_debuglink (kept, 4-aligned after the loaded contents) and a kept non-allocated section.
  await copyFile(supported[1]!.path, p('debuglink'));
  await writeFile(p('prog.debug'), 'debug\n');
  await execa('objcopy', [`--add-gnu-debuglink=${p('prog.debug')}`, p('debuglink')]);
  supported.push({ name: 'gcc with .gnu_debuglink', path: p('debuglink'), prefix: '' });
  await writeFile(p('extra.bin'), 'abc');
  await copyFile(supported[2]!.path, p('extra'));
  await execa('objcopy', [
    `--add-section=.extra=${p('extra.bin')}`,
    `--add-gnu-debuglink=${p('prog.debug')}`,
    p('extra'),
  ]);
  supported.push({ name: 'gcc with a kept non-allocated section', path: p('extra'), prefix: '' });
  await writeFile(p('dotnote.c'), NOTES('.note.extra'));
  await add('gcc with a non-allocated .note.extra', 'gcc', ['-O2'], '', 'dotnote.c');

  // No allocated note to remove: BFD copies the program headers (static, no libc, no build-id; and a file already post-processed).
  const START = (asm: string) => `int data1 = 42;\nvoid _start(void) { __asm__ volatile("${asm}"); }\n`;
  const bare = ['-O2', '-static', '-nostdlib', '-Wl,--build-id=none'];
  await writeFile(p('start-x86.c'), START('mov $60, %eax; xor %edi, %edi; syscall'));
  await add('gcc -nostdlib -static, no notes', 'gcc', ['-g', ...bare], '', 'start-x86.c');
  await add('clang + lld -nostdlib -static, no notes', 'clang', [...bare, '-fuse-ld=lld'], '', 'start-x86.c');
  if (await has('aarch64-linux-gnu-gcc')) {
    await writeFile(p('start-a64.c'), START('mov x8, #93; mov x0, #0; svc #0'));
    await add(
      'aarch64 -nostdlib -static, no notes',
      'aarch64-linux-gnu-gcc',
      bare,
      'aarch64-linux-gnu-',
      'start-a64.c',
    );
  }
  await execa('objcopy', [
    '--remove-section=.comment',
    '--remove-section=.note.*',
    supported[0]!.path,
    p('no-notes'),
  ]);
  supported.push({ name: 'an already post-processed file', path: p('no-notes'), prefix: '' });

  // Refused: each must fall back to the real tools.
  await writeFile(p('note.c'), NOTES('.mynote'));
  refused.push({
    name: 'a non-allocated note not named .note.*',
    path: await cc('mynote', 'gcc', ['-O2'], 'note.c'),
    prefix: '',
    why: /note section not named/,
  });
  if (await has('riscv64-linux-gnu-ld')) {
    await writeFile(
      p('start.s'),
      '  .text\n  .globl _start\n_start:\n  .byte 0, 0, 0, 0\n  .section .note.x,"a",@note\n  .long 0, 0, 1\n',
    );
    await execa('riscv64-linux-gnu-as', ['-o', p('start.o'), p('start.s')]);
    await execa('riscv64-linux-gnu-ld', ['-o', p('riscv64'), p('start.o')]);
    refused.push({
      name: 'riscv64 (not a modelled machine)',
      path: p('riscv64'),
      prefix: 'riscv64-linux-gnu-',
      why: /e_machine 243/,
    });
  }
  if (await has('i686-linux-gnu-gcc'))
    refused.push({
      name: 'ELF32 (i686)',
      path: await cc('i686', 'i686-linux-gnu-gcc', ['-O2']),
      prefix: 'i686-linux-gnu-',
      why: /ELF32/,
    });
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bfdStringTable', () => {
  it('folds suffixes (not prefixes) into a longer name and keeps the order names were added in', () => {
    const { table, offsets } = bfdStringTable([
      '.shstrtab',
      '.rela.plt',
      '.plt',
      '.got.plt',
      '.got',
      '.text',
    ]);
    expect(table.toString('latin1')).toBe('\0.shstrtab\0.rela.plt\0.got.plt\0.got\0.text\0');
    expect(offsets.get('.plt')).toBe(16); // the end of ".rela.plt"
    expect(offsets.get('.got')).toBe(30); // a prefix of ".got.plt" is a string of its own
  });
});

describe('the streamed post-processing equals the real tools', () => {
  it('is byte-identical to objcopy then strip --strip-all, and to the --strip-unneeded flavour, on every accepted layout', async () => {
    expect(supported.length).toBeGreaterThanOrEqual(16);
    for (const b of supported) {
      const got = await planned(b.path);
      if (typeof got === 'string') throw new Error(`${b.name}: refused: ${got}`);
      expect(got.equals(await reference(b.path, b.prefix, ['--strip-all'])), b.name).toBe(true);
      const unneeded = await reference(b.path, b.prefix, [
        '--strip-debug',
        '--strip-dwo',
        '--strip-unneeded',
      ]);
      expect(got.equals(unneeded), `${b.name} (--strip-unneeded)`).toBe(true);
    }
  }, 240_000);

  it('refuses the layouts it does not model, and the simulation then runs the tools', async () => {
    const profile = profileById('bincache-2025-04-10')!;
    for (const b of refused) {
      expect(await planned(b.path), b.name).toMatch(b.why);
      const id = await readFile(b.path);
      const machine = id.readUInt16LE(18);
      const sim = simulateEach(b.path, [profile], {
        machine,
        class: id[4] === 1 ? 32 : 64,
        endian: 'little',
        workDir: dir,
        stream: true,
      });
      try {
        for await (const r of sim.results) {
          if (!('outputPath' in r)) throw new Error(`${b.name}: ${'skipped' in r ? r.skipped : 'planned'}`);
          expect(
            (await readFile(r.outputPath)).equals(await reference(b.path, b.prefix, ['--strip-all'])),
            b.name,
          ).toBe(true);
        }
      } finally {
        await sim.cleanup();
      }
    }
  }, 120_000);

  it('simulates a supported file as a plan (no file written) only when asked to stream', async () => {
    const b = supported[1]!;
    const profile = profileById('bincache-2025-04-10')!;
    const opts = { machine: 62, class: 64 as const, endian: 'little' as const, workDir: dir };
    const streamed = simulateEach(b.path, [profile], { ...opts, stream: true });
    for await (const r of streamed.results) {
      if (!('plan' in r)) throw new Error('not planned');
      expect(r.tool).toMatch(/^strip 2\.40 \(its layout, streamed by rebuild\)$/);
      expect(r.steps).toEqual([
        "objcopy --remove-section=.comment '--remove-section=.note.*' gcc-g-O2 gcc-g-O2.out",
        'strip --strip-all gcc-g-O2.out',
      ]);
      const src = await file(b.path);
      const s = new PlanSource(src, r.plan.pieces, 'plan');
      expect((await s.read(0, s.size)).equals(await reference(b.path, '', ['--strip-all']))).toBe(true);
      // Its ranges are the rebuilt file's own bytes, for that file only.
      const text = r.plan.pieces.findIndex((x) => x.kind === 'range' && x.length > 64);
      let at = 0;
      for (const x of r.plan.pieces.slice(0, text)) at += x.kind === 'bytes' ? x.data.length : x.length;
      const piece = r.plan.pieces[text]!;
      if (piece.kind !== 'range') throw new Error('range');
      expect(s.sameBytes(at, piece.length, src, piece.from)).toBe(true);
      expect(s.sameBytes(at, piece.length, await file(b.path), piece.from)).toBe(false);
      expect(s.sameBytes(at, piece.length, src, piece.from + 1)).toBe(false);
    }
    await streamed.cleanup();
    const written = simulateEach(b.path, [profile], opts);
    for await (const r of written.results) {
      if (!('outputPath' in r)) throw new Error('not written');
      expect((await stat(r.outputPath)).size).toBeGreaterThan(0);
    }
    await written.cleanup();
  }, 60_000);
});

describe('rebuild compare through the streamed simulation', () => {
  it('calls the real post-processing of b equivalent, and one changed code byte in a different', async () => {
    const { compare } = await import('../../src/forensics/compare.js');
    const b = supported[1]!.path;
    const a = `${b}.ref1`;
    await writeFile(a, await reference(b, '', ['--strip-all']));
    const ok = await compare(a, b, { workDir: dir });
    expect(ok.verdict).toBe('equivalent');
    expect(ok.route).toBe('post-processing');
    expect(ok.postProcessing?.tool).toMatch(/streamed by rebuild/);
    const text = (await execa('readelf', ['-SW', a])).stdout.match(/\.text\s+PROGBITS\s+\S+\s+(\S+)\s+(\S+)/);
    if (!text) throw new Error('no .text');
    const bytes = await readFile(a);
    const at = Number.parseInt(text[1]!, 16) + (Number.parseInt(text[2]!, 16) >> 1);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(`${a}.flipped`, bytes);
    const bad = await compare(`${a}.flipped`, b, { workDir: dir });
    expect(bad.verdict).toBe('different');
    expect(bad.postProcessing?.tool).toMatch(/streamed by rebuild/);
    expect(bad.differences.map((d) => d.region)).toContain('.text');
  }, 60_000);
});
