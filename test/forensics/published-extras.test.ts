/**
 * Non-loaded sections the published file (a) carries beyond the rebuilt one
 * (b), or carries with its own text: pkgforge's post-processing only removes
 * sections, and two builds of one source write the same notes, .comment and
 * debug link names, so such bytes are a's own and never explained, however
 * well-formed (the one-sided proofs leave their text free). And the honest
 * pair that made line-table offsets move: gcc -gdwarf-4, two compile units
 * named by absolute paths, built in two build directories.
 *
 * Expected outcomes, written before running:
 * - a + a non-allocated SHT_NOTE holding a 3 KB FDO JSON package note, or a
 *   3 KB gold-version text note → different (was equivalent);
 * - a + a .gnu_debugaltlink of a 4 KB text path and 64 binary "build-id"
 *   bytes → different (was equivalent);
 * - a + a .gnu_debuglink (255-byte name, CRC) → different (was equivalent);
 *   the same link in both → equivalent; another name in a → different;
 * - a's .comment replaced by 30 "GCC: (…)" lines of data → different (was
 *   equivalent);
 * - a with .symtab/.strtab (a 1.5 KB symbol name among them), b strip-all →
 *   different (was equivalent); the same a against b strip-debug (b holds
 *   every other symbol) → different (was equivalent: names of symbols b
 *   lacks were a stated residual); a strip-all, b with the symbols →
 *   equivalent;
 * - gcc -gdwarf-4 with two absolute-path compile units in two build
 *   directories → equivalent (was different: the second unit's
 *   DW_AT_stmt_list offset moves with the first line table's length);
 *   likewise with -g3 (was different: .debug_macro names .debug_line and
 *   .debug_str offsets that move); a's macro line number changed → different.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { sectionOffset } from './fixtures.js';

let dir: string;
let base: string;
const p = (name: string) => join(dir, name);

const PROGRAM = `#include <stdio.h>
static int helper(int x) { return x * 3 + 1; }
int main(int argc, char **argv) { printf("hello %d\\n", helper(argc)); return 0; }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-published-extras-'));
  await writeFile(p('p.c'), PROGRAM);
  base = p('base');
  await execa('gcc', ['-O2', '-g', '-o', base, 'p.c'], { cwd: dir });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pad4 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
function note(owner: string, type: number, desc: Buffer): Buffer {
  const name = Buffer.from(`${owner}\0`, 'latin1');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(name.length, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, pad4(name), pad4(desc)]);
}

/** `base` with a section of `bytes` added by objcopy. */
async function withSection(out: string, name: string, bytes: Buffer) {
  await writeFile(`${p(out)}.bin`, bytes);
  await execa('objcopy', [`--add-section=${name}=${p(out)}.bin`, base, p(out)]);
  return p(out);
}

async function runs(file: string) {
  expect((await execa(file, [])).stdout).toBe('hello 4');
}

async function different(a: string, b: string, region: string) {
  await runs(a);
  const c = await compare(a, b, { context: false });
  expect(c.verdict, JSON.stringify(c.explanations)).toBe('different');
  expect(c.differences.map((d) => d.region)).toContain(region);
}

describe('what only the published file carries, or carries as its own text', () => {
  it('a non-loaded note only in a (FDO JSON, gold version) is different', async () => {
    const json = Buffer.from(`${JSON.stringify({ type: 'x', payload: 'Z'.repeat(3000) })}\0`);
    const gold = Buffer.from(`${'PAYLOAD '.repeat(400)}\0`);
    for (const [name, bytes] of [
      ['fdo', note('FDO', 0xcafe1a7e, json)],
      ['gold', note('GNU', 4, gold)],
    ] as const) {
      const out = await withSection(`note-${name}`, '.note.extra', bytes);
      // objcopy adds PROGBITS: make it SHT_NOTE, as the notes kind names it.
      await execa('objcopy', ['--set-section-flags=.note.extra=readonly', out]);
      await retype(out, '.note.extra', 7);
      await different(out, base, '.note.extra');
    }
  }, 60_000);

  it('a .gnu_debugaltlink only in a (4 KB path, 64 binary bytes) is different', async () => {
    const bytes = Buffer.concat([
      Buffer.from(`/${'P'.repeat(3990)}\0`),
      Buffer.from(Array.from({ length: 64 }, (_, i) => 0xc0 + i)),
    ]);
    await different(await withSection('altlink', '.gnu_debugaltlink', bytes), base, '.gnu_debugaltlink');
  });

  it('a .gnu_debuglink only in a, or naming another file, is different; the same link in both is not', async () => {
    const link = (name: string) =>
      Buffer.concat([pad4(Buffer.from(`${name}\0`)), Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
    const a = await withSection('link-a', '.gnu_debuglink', link('X'.repeat(251)));
    await different(a, base, '.gnu_debuglink');
    const b = await withSection('link-b', '.gnu_debuglink', link('prog.debug'));
    await different(a, b, '.gnu_debuglink');
    const crc = await withSection(
      'link-crc',
      '.gnu_debuglink',
      Buffer.concat([pad4(Buffer.from('prog.debug\0')), Buffer.from([1, 2, 3, 4])]),
    );
    await runs(crc);
    const c = await compare(crc, b, { context: false });
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
  });

  it("a .comment of a's own lines is different", async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `GCC: (${`${i}SECRET`.repeat(12)})\0`).join('');
    await writeFile(p('comment.bin'), `GCC: (Debian 12.2.0-14) 12.2.0\0${lines}`);
    await execa('objcopy', ['--update-section', `.comment=${p('comment.bin')}`, base, p('comment')]);
    await different(p('comment'), base, '.comment');
  });

  it('a symbol table only in a is different; only in b, equivalent', async () => {
    await execa('strip', ['--strip-all', '-o', p('strip-all'), base]);
    await execa('strip', ['--strip-debug', '-o', p('strip-debug'), base]);
    await execa('objcopy', [
      `--add-symbol=EXFIL_${'Q'.repeat(1500)}=.text:0x10,local`,
      p('strip-debug'),
      p('syms'),
    ]);
    await different(p('syms'), p('strip-all'), '.symtab');
    // Both carry one: a symbol b does not hold (by name and value) is a's own text.
    await different(p('syms'), p('strip-debug'), '.symtab');
    await different(p('strip-debug'), p('strip-all'), '.symtab');
    const c = await compare(p('strip-all'), p('strip-debug'), { context: false });
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
  });
});

describe('honest builds in two build directories', () => {
  /** Two compile units named by absolute paths, built in `<dir>/<name>/src` with `args`. */
  const build = async (name: string, args: string[]) => {
    const src = p(join(name, 'src'));
    await mkdir(src, { recursive: true });
    await writeFile(
      join(src, 'p.c'),
      '#define GREETING 42\nint helper(int);\nint main(int argc, char **argv) { return helper(argc) + GREETING; }\n',
    );
    await writeFile(join(src, 'q.c'), 'int helper(int x) { return x + 7; }\n');
    const out = p(join(name, 'prog'));
    await execa('gcc', ['-O2', ...args, '-o', out, join(src, 'p.c'), join(src, 'q.c')], { cwd: src });
    return out;
  };

  it('gcc -gdwarf-4, two compile units named by absolute paths: equivalent', async () => {
    const [a, b] = [
      await build('d4-a', ['-g', '-gdwarf-4']),
      await build('d4-longer-build-directory', ['-g', '-gdwarf-4']),
    ];
    const c = await compare(a, b, { context: false });
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
  });

  it('gcc -g3 -gdwarf-4 (macros naming .debug_str and .debug_line): equivalent; a macro line changed: different', async () => {
    const args = ['-g3', '-gdwarf-4'];
    const [a, b] = [await build('g3-a', args), await build('g3-longer-build-directory', args)];
    const c = await compare(a, b, { context: false });
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
    // The first unit's header (version, flags, line offset) and import (opcode, offset), then start_file's line.
    const macro = await sectionOffset(a, '.debug_macro');
    const bytes = await readFile(a);
    expect(bytes[macro.offset + 12]).toBe(3);
    bytes[macro.offset + 13] = 5;
    await writeFile(p('g3-bad'), bytes, { mode: 0o755 });
    const d = await compare(p('g3-bad'), b, { context: false });
    expect(d.verdict).toBe('different');
    expect(d.differences.map((x) => x.region)).toContain('.debug_macro');
  });
});

/** Sets the sh_type of the section named `name` (ELF64 little-endian). */
async function retype(file: string, name: string, type: number) {
  const d = await readFile(file);
  const shoff = Number(d.readBigUInt64LE(0x28));
  const shnum = d.readUInt16LE(0x3c);
  const names = Number(d.readBigUInt64LE(shoff + d.readUInt16LE(0x3e) * 64 + 0x18));
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * 64;
    const at = names + d.readUInt32LE(h);
    if (d.toString('latin1', at, d.indexOf(0, at)) === name) d.writeUInt32LE(type, h + 4);
  }
  await writeFile(file, d);
}
