/**
 * Debug information is judged against the other side's, not only for being
 * well-formed: a hostile published file that is unstripped cannot carry its
 * own values in DWARF that parses. Every attack below is a file that links
 * and runs; a (published) is the tampered one, b (rebuilt) the honest build.
 *
 * Expected outcomes, written before running:
 * - the same program built in two build directories of different lengths
 *   (gcc -g, gcc -gdwarf-4, clang -g, clang -gdwarf-4): equivalent, the
 *   explanation naming the build directory substitution;
 * - hand-written units, a tampered, b honest: a DW_FORM_data8 constant, a
 *   DW_FORM_block1 byte, an unused abbreviation, a non-minimal LEB128
 *   (DW_FORM_udata), a name that differs by more than the build directory, an
 *   unreferenced .debug_str string, a DW_FORM_ref4 naming another DIE, a
 *   build directory over the prefix bound → different, naming the section;
 *   the same unit in two build directories → equivalent;
 * - a real gcc build: a DW_AT_byte_size constant, a line-program opcode, a
 *   .debug_str string changed in place → different;
 * - clang -gdwarf-5 with an extra .debug_addr entry nothing uses → different;
 * - a unstripped, b stripped (debug only in a) → different, saying to compare
 *   against the unstripped rebuild; a stripped, b unstripped → equivalent;
 * - symbol tables: a's `main` with another st_size or st_other → different
 *   (.symtab); a local symbol renamed (same length, text) → equivalent, the
 *   stated residual (a symbol b does not hold by name is judged one-sided);
 *   a symbol table only b carries → equivalent;
 * - 120 random 1–4 byte mutations of a's .debug_info or .debug_line (DWARF 5,
 *   built in another build directory than b) → always a verdict, never an
 *   exception, and never equivalent when the bytes changed.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { has, sectionOffset } from './fixtures.js';
import { prng } from './prng.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-debug-pairwise-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PROGRAM = `#include <stdio.h>
struct point { int x; long y; };
static const long table[4] = {1, 2, 3, 4};
int main(int argc, char **argv) {
  struct point p = {argc, table[argc & 3]};
  printf("hello %d %ld\\n", p.x, p.y);
  return 0;
}
`;

/** Builds PROGRAM (plus `asm`, if any) with `cc` in `<dir>/<build>/src`; returns the program. */
async function build(build: string, cc: string, args: string[], asm?: string[]): Promise<string> {
  const src = join(dir, build, 'src');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'p.c'), PROGRAM);
  const extra: string[] = [];
  if (asm) {
    await writeFile(join(src, 'u.s'), [...asm, '.section .note.GNU-stack,"",@progbits', ''].join('\n'));
    extra.push('u.s');
  }
  const out = join(dir, build, 'prog');
  await execa(cc, ['-O2', ...args, '-o', out, 'p.c', ...extra], { cwd: src });
  return out;
}

async function runs(file: string) {
  const r = await execa(file, [], { reject: false });
  expect(r.stdout).toBe('hello 1 2');
}

const judge = (a: string, b: string) => compare(a, b, { postProcessing: false });

async function expectDifferent(a: string, b: string, region: string) {
  await runs(a);
  const c = await judge(a, b);
  expect(c.verdict, JSON.stringify(c.explanations)).toBe('different');
  expect(c.differences.map((d) => d.region)).toContain(region);
  return c;
}

describe('debug info built in two build directories stays equivalent', () => {
  const cases: Array<[string, string[]]> = [
    ['gcc', ['-g']],
    ['gcc', ['-g', '-gdwarf-4']],
    ['clang', ['-g']],
    ['clang', ['-g', '-gdwarf-4']],
  ];
  for (const [cc, args] of cases)
    it(`${cc} ${args.join(' ')}`, async (ctx) => {
      if (!(await has(cc))) ctx.skip();
      const tag = `${cc}${args.join('')}`.replace(/\W+/g, '');
      const a = await build(`${tag}-a`, cc, args);
      const b = await build(`${tag}-longer-build-directory`, cc, args);
      const c = await judge(a, b);
      expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
      const debug = c.explanations.find((e) => e.kind === 'debug')?.detail ?? '';
      expect(debug).toContain(`"${join(dir, `${tag}-a`)}" ↔ "${join(dir, `${tag}-longer-build-directory`)}"`);
    }, 60_000);
});

interface Unit {
  compDir: string;
  name: string;
  abbrevExtra: string[];
  constant: string;
  block: string;
  line: string;
  typeRef: string;
  strExtra: string[];
}

/**
 * A DWARF 4 compile unit: two base types, a variable with a .debug_str
 * name, a DW_FORM_data8 constant, a DW_FORM_udata line and a DW_FORM_ref4
 * type, and one with a DW_FORM_block1 constant.
 */
function unit(u: Partial<Unit>, build: string): string[] {
  const v: Unit = {
    compDir: join(dir, build, 'src'),
    name: 'x.c',
    abbrevExtra: [],
    constant: '.quad 0x1122334455667788',
    block: '.byte 8, 1, 2, 3, 4, 5, 6, 7, 8',
    line: '.uleb128 5',
    typeRef: '.long .Lint - .Lcu',
    strExtra: [],
    ...u,
  };
  return [
    '.section .debug_abbrev,"",@progbits',
    '.uleb128 1, 0x11, 1, 0x03, 0x08, 0x1b, 0x08, 0, 0', // compile unit: name, comp_dir (strings)
    '.uleb128 2, 0x24, 0, 0x03, 0x08, 0x0b, 0x0b, 0, 0', // base type: name, byte_size data1
    '.uleb128 3, 0x34, 0, 0x03, 0x0e, 0x1c, 0x07, 0x3b, 0x0f, 0x49, 0x13, 0, 0', // variable: strp, data8, udata, ref4
    '.uleb128 4, 0x34, 0, 0x03, 0x08, 0x1c, 0x0a, 0, 0', // variable: const_value block1
    ...v.abbrevExtra,
    '.byte 0',
    '.section .debug_info,"",@progbits',
    '.Lcu: .long 2f - 1f',
    '1: .short 4',
    '.long 0',
    '.byte 8',
    '.uleb128 1',
    `.asciz "${v.name}"`,
    `.asciz "${v.compDir}"`,
    '.Lint: .uleb128 2',
    '.asciz "int"',
    '.byte 4',
    '.Llong: .uleb128 2',
    '.asciz "long"',
    '.byte 8',
    '.uleb128 3',
    '.long .Lname',
    v.constant,
    v.line,
    v.typeRef,
    '.uleb128 4',
    '.asciz "blob"',
    v.block,
    '.byte 0',
    '2:',
    '.section .debug_str,"MS",@progbits,1',
    '.Lname: .asciz "counter_copy"',
    ...v.strExtra,
  ];
}

describe('hand-written debug units: a tampered, b honest', () => {
  const pair = async (name: string, tampered: Partial<Unit>, region: string) => {
    const b = await build(`${name}-b`, 'gcc', ['-g0'], unit({}, `${name}-b`));
    const a = await build(`${name}-a`, 'gcc', ['-g0'], unit(tampered, `${name}-a`));
    return expectDifferent(a, b, region);
  };

  it('the same unit built in two build directories is equivalent', async () => {
    const b = await build('same-b', 'gcc', ['-g0'], unit({}, 'same-b'));
    const a = await build('same-aaaa', 'gcc', ['-g0'], unit({}, 'same-aaaa'));
    await runs(a);
    const c = await judge(a, b);
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
  });
  it('a DW_FORM_data8 constant is different', async () => {
    await pair('data8', { constant: '.quad 0x4141414141414141' }, '.debug_info');
  });
  it('a DW_FORM_block1 byte is different', async () => {
    await pair('block1', { block: '.byte 8, 1, 2, 3, 4, 5, 6, 7, 0x90' }, '.debug_info');
  });
  it('a non-minimal LEB128 (udata 5 as 0x85 0x00) is different', async () => {
    await pair('leb', { line: '.byte 0x85, 0x00' }, '.debug_info');
  });
  it('a DW_FORM_ref4 naming another DIE is different', async () => {
    await pair('ref', { typeRef: '.long .Llong - .Lcu' }, '.debug_info');
  });
  it('a name that differs by more than the build directory is different', async () => {
    await pair('name', { name: 'y.c' }, '.debug_info');
  });
  it('an unused abbreviation is different', async () => {
    await pair('abbrev', { abbrevExtra: ['.uleb128 5, 0x34, 0, 0x03, 0x08, 0, 0'] }, '.debug_abbrev');
  });
  it('a .debug_str string nothing references is different', async () => {
    await pair('str', { strExtra: ['.asciz "attacker payload, plain text"'] }, '.debug_str');
  });
  it('a build directory over the prefix bound is different', async () => {
    const c = await pair('prefix', { compDir: `/${'p'.repeat(300)}/src` }, '.debug_info');
    expect(JSON.stringify(c.differences)).toMatch(/more than 256 bytes/);
  });
});

/** Overwrites one byte of `section` (at `at` within it) in a copy of `file`. */
async function patched(file: string, section: string, at: number, value: (old: number) => number) {
  const { offset } = await sectionOffset(file, section);
  const b = await readFile(file);
  b[offset + at] = value(b[offset + at]!);
  const out = `${file}.bad`;
  await writeFile(out, b, { mode: 0o755 });
  return out;
}

describe('real gcc builds, a patched in place', () => {
  it('a DW_AT_byte_size constant is different', async () => {
    const a = await build('const-a', 'gcc', ['-g']);
    const b = await build('const-b', 'gcc', ['-g']);
    const dump = (await execa('readelf', ['--debug-dump=info', a])).stdout;
    const m = /<([0-9a-f]+)>\s+DW_AT_byte_size\s*: 16/.exec(dump);
    expect(m).not.toBeNull();
    await expectDifferent(
      await patched(a, '.debug_info', Number.parseInt(m![1]!, 16), () => 48),
      b,
      '.debug_info',
    );
  });
  it('a line-program opcode is different', async () => {
    const a = await build('line-a', 'gcc', ['-g']);
    const b = await build('line-b', 'gcc', ['-g']);
    const { size } = await sectionOffset(a, '.debug_line');
    const bytes = await readFile(a);
    const { offset } = await sectionOffset(a, '.debug_line');
    // The last special opcode (>= opcode_base 13) before the end: another special opcode.
    let at = size - 4;
    while (at > 0 && bytes[offset + at]! < 13) at--;
    await expectDifferent(
      await patched(a, '.debug_line', at, (x) => (x === 13 ? 14 : x - 1)),
      b,
      '.debug_line',
    );
  });
  it('a .debug_str string changed in place is different', async () => {
    const a = await build('str-a', 'gcc', ['-g', '-gdwarf-4']);
    const b = await build('str-b', 'gcc', ['-g', '-gdwarf-4']);
    const { offset, size } = await sectionOffset(a, '.debug_str');
    const bytes = await readFile(a);
    const at = bytes.subarray(offset, offset + size).indexOf('long unsigned int');
    expect(at).toBeGreaterThanOrEqual(0);
    await expectDifferent(await patched(a, '.debug_str', at, () => 0x41), b, '.debug_str');
  });
  it('clang -gdwarf-5: an extra .debug_addr entry nothing uses is different', async (ctx) => {
    if (!(await has('clang'))) ctx.skip();
    const compile = async (name: string, edit: (s: string) => string) => {
      const d = join(dir, name, 'src');
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'p.c'), PROGRAM);
      await execa('clang', ['-O2', '-g', '-gdwarf-5', '-S', '-o', 'p.s', 'p.c'], { cwd: d });
      await writeFile(join(d, 'p.s'), edit(await readFile(join(d, 'p.s'), 'utf8')));
      await execa('clang', ['-o', '../prog', 'p.s'], { cwd: d });
      return join(dir, name, 'prog');
    };
    const b = await compile('addr-b', (s) => s);
    const a = await compile('addr-a', (s) => {
      const end = s.indexOf('.Ldebug_addr_end0:');
      expect(end).toBeGreaterThan(0);
      return `${s.slice(0, end)}\t.quad\tmain\n${s.slice(end)}`;
    });
    await expectDifferent(a, b, '.debug_addr');
  });
});

describe('debug information on one side only', () => {
  it('published unstripped, rebuilt stripped: different, with what to do', async () => {
    const a = await build('only-a', 'gcc', ['-g']);
    const b = await build('only-b', 'gcc', ['-g']);
    const stripped = `${b}.stripped`;
    await execa('objcopy', ['--strip-debug', b, stripped]);
    const c = await expectDifferent(a, stripped, '.debug_info');
    expect(JSON.stringify(c.differences)).toMatch(/compare against the unstripped rebuild/);
  });
  it('published stripped, rebuilt unstripped: equivalent', async () => {
    const a = await build('only2-a', 'gcc', ['-g']);
    const b = await build('only2-b', 'gcc', ['-g']);
    const stripped = `${a}.stripped`;
    await execa('objcopy', ['--strip-debug', a, stripped]);
    await copyFile(stripped, `${a}.s2`);
    await chmod(`${a}.s2`, 0o755);
    const c = await judge(`${a}.s2`, b);
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
  });
});

/** The file offset of the 64-bit symbol table entry named `name`. */
async function symbolEntry(file: string, name: string): Promise<number> {
  const symtab = await sectionOffset(file, '.symtab');
  const strtab = await sectionOffset(file, '.strtab');
  const b = await readFile(file);
  for (let at = symtab.offset; at < symtab.offset + symtab.size; at += 24) {
    const n = strtab.offset + b.readUInt32LE(at);
    if (b.toString('latin1', n, b.indexOf(0, n)) === name) return at;
  }
  throw new Error(`no symbol ${name} in ${file}`);
}

describe("symbol tables judged against the other side's", () => {
  const pairOf = async (name: string) => [
    await build(`${name}-a`, 'gcc', ['-g0']),
    await build(`${name}-b`, 'gcc', ['-g0']),
  ];
  const tampered = async (a: string, fn: (b: Buffer, at: number) => void, symbol = 'main') => {
    const at = await symbolEntry(a, symbol);
    const b = await readFile(a);
    fn(b, at);
    const out = `${a}.bad`;
    await writeFile(out, b, { mode: 0o755 });
    return out;
  };
  it('another st_size is different', async () => {
    const [a, b] = await pairOf('size');
    const bad = await tampered(a!, (x, at) => x.writeBigUInt64LE(0x4141414141414141n, at + 16));
    await expectDifferent(bad, b!, '.symtab');
  });
  it('another st_other is different', async () => {
    const [a, b] = await pairOf('other');
    const bad = await tampered(a!, (x, at) => {
      x[at + 5] = 0x90;
    });
    await expectDifferent(bad, b!, '.symtab');
  });
  it('a local symbol renamed (same length, text) is equivalent: a stated residual (names of symbols b lacks)', async () => {
    const [a, b] = await pairOf('local');
    const strtab = await sectionOffset(a!, '.strtab');
    const bytes = await readFile(a!);
    const at = bytes.subarray(strtab.offset, strtab.offset + strtab.size).indexOf('table\0');
    expect(at).toBeGreaterThan(0);
    bytes.write('TABLE', strtab.offset + at, 'latin1');
    const bad = `${a}.renamed`;
    await writeFile(bad, bytes, { mode: 0o755 });
    await runs(bad);
    expect((await judge(bad, b!)).verdict).toBe('equivalent');
  });
  it('a symbol table only b carries is equivalent', async () => {
    const [a, b] = await pairOf('only');
    const strippedA = `${a}.s`;
    await execa('strip', ['--strip-all', '-o', strippedA, a!]);
    const d = await judge(strippedA, b!);
    expect(d.verdict, JSON.stringify(d.differences)).toBe('equivalent');
  });
});

describe('malformed debug info against honest debug info', () => {
  it('random mutations of .debug_info and .debug_line: a verdict, never equivalent (fuzz)', async () => {
    const a = await build('fuzz-a', 'gcc', ['-g']);
    const b = await build('fuzz-longer-b', 'gcc', ['-g']);
    const base = await readFile(a);
    const sections = [await sectionOffset(a, '.debug_info'), await sectionOffset(a, '.debug_line')];
    const rand = prng(8088);
    const pick = (n: number) => Math.floor(rand() * n);
    const verdicts: Record<string, number> = {};
    for (let i = 0; i < 120; i++) {
      const buf = Buffer.from(base);
      const s = sections[i % 2]!;
      for (let k = 0, n = 1 + pick(4); k < n; k++) buf[s.offset + pick(s.size)] = pick(256);
      if (buf.equals(base)) continue;
      const mutant = join(dir, 'fuzz-mutant');
      await writeFile(mutant, buf);
      const c = await compare(mutant, b, { postProcessing: false, context: false });
      verdicts[c.verdict] = (verdicts[c.verdict] ?? 0) + 1;
      expect(c.verdict, `mutant ${i}: ${JSON.stringify(c.explanations)}`).toBe('different');
    }
    expect(verdicts.different).toBeGreaterThan(100);
  }, 120_000);
});
