/**
 * DWARF 4 type units (.debug_types, gcc -gdwarf-4 -fdebug-types-section) are
 * walked DIE by DIE like .debug_info, macro units (.debug_macro, .debug_macinfo:
 * -g3) are decoded entry by entry, and zstd-compressed debug sections
 * (ELFCOMPRESS_ZSTD) are decoded by libzstd and proven like zlib ones.
 *
 * Expected outcomes, written before running:
 * - gcc -gdwarf-4 -fdebug-types-section (and DWARF 5 type units) vs
 *   --strip-debug, and pkgforge's strip of it vs the unstripped file → equivalent;
 * - random bytes over the DIEs of a real type unit (header kept; the file runs) → different;
 * - a type unit whose type_offset points into the middle of a DIE → different;
 * - a hand-written type unit → equivalent; the same unit with 4 KB of random
 *   bytes after its DIEs, or with a non-text DW_AT_name → different;
 * - gcc -g3 (DWARF 5 and 4, strict DWARF 4's .debug_macinfo) and clang -g3
 *   -fdebug-macro vs --strip-debug → equivalent (refused before);
 * - random bytes over a macro unit's entries, its opcode-table flag set, an
 *   import pointing into the middle of a unit, a unit appended that no compile
 *   unit names, code bytes appended after the last unit, random bytes over a
 *   .debug_macinfo list → different;
 * - mips -g vs --strip-debug → different: its debug sections lie in the text
 *   LOAD's last page, mapped executable (not loosened; the wording says so);
 * - gcc -gstabs vs --strip-debug → different, a stated false alarm: 6 bytes per
 *   entry (n_desc, non-address n_value) are free, and 84 bytes of code written
 *   there were "equivalent" once; random entries, an n_other byte set, a unit
 *   string size that lies, a string no entry names, code bytes over a string →
 *   different, each with its own reason;
 * - objcopy --compress-debug-sections=zstd and ld --compress-debug-sections=zstd
 *   vs --strip-debug → equivalent (refused before);
 * - a zstd .debug_str written by hand (one frame) → equivalent; the same frame
 *   followed by payload bytes, preceded by a skippable frame holding them,
 *   split into two frames, with a forged checksum, or under a ch_size that
 *   lies (±1) → different.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { compare } from '../../src/forensics/compare.js';
import { readElf } from '../../src/forensics/elf/reader.js';
import { BufferSource } from '../../src/forensics/elf/source.js';
import type { Comparison } from '../../src/forensics/types.js';
import { gcc, pkgforgeStrip, SOURCE } from './fixtures.js';
import { prng } from './prng.js';

const TYPES_SOURCE = `#include <stdio.h>
struct point { int x, y; const char *name; };
struct point origin = { 1, 2, "origin" };
int main(int argc, char **argv) { printf("hello from %s %d\\n", origin.name, origin.x + argc); return 0; }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-debug-types-zstd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const build = (name: string, args: string[], src = TYPES_SOURCE) =>
  gcc(join(dir, name), join(dir, `${name}.out`), src, args);

/** Compares `file` with its `objcopy --strip-debug` copy. */
async function againstStripped(file: string) {
  await execa('objcopy', ['--strip-debug', file, `${file}.nodebug`]);
  return compare(`${file}.nodebug`, file, { postProcessing: false });
}

async function elfOf(b: Buffer) {
  return readElf(new BufferSource(b, 'file'));
}

const random = (seed: number, n: number) => {
  const rand = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
};

/** Writes `b` as `name`, expects it still to run, and returns its verdict against its stripped copy. */
async function verdictOf(name: string, b: Buffer) {
  const file = join(dir, name);
  await writeFile(file, b, { mode: 0o755 });
  expect((await execa(file)).stdout).toContain('hello from');
  return againstStripped(file);
}

const regions = (c: Comparison) => c.differences.map((d) => d.region);
/** The detail of the difference blamed on `region`. */
const why = (c: Comparison, region: string) => c.differences.find((d) => d.region === region)?.detail ?? '';

describe('DWARF 4 type units (.debug_types)', () => {
  it('honest type units are equivalent to the stripped file and to pkgforge post-processing', async () => {
    const v4 = await build('types4', ['-gdwarf-4', '-fdebug-types-section']);
    expect((await elfOf(await readFile(v4))).sections.map((s) => s.name)).toContain('.debug_types');
    const c4 = await againstStripped(v4);
    expect(c4.verdict, JSON.stringify(c4.differences)).toBe('equivalent');
    const published = await pkgforgeStrip(v4, `${v4}.pkgforge`);
    const p = await compare(published, v4);
    expect(p.verdict, JSON.stringify(p.differences)).toBe('equivalent');
    const v5 = await build('types5', ['-gdwarf-5', '-fdebug-types-section']);
    const c5 = await againstStripped(v5);
    expect(c5.verdict, JSON.stringify(c5.differences)).toBe('equivalent');
  }, 60_000);

  it('random DIE bytes, or a type_offset into the middle of a DIE, are different', async () => {
    const b = await readFile(await build('types-tamper', ['-gdwarf-4', '-fdebug-types-section']));
    const s = (await elfOf(b)).sections.find((x) => x.name === '.debug_types')!;
    // unit_length(4) version(2) abbrev_offset(4) address_size(1) signature(8) type_offset(4)
    const end = s.offset + 4 + b.readUInt32LE(s.offset);
    const dies = Buffer.from(b);
    random(11, end - s.offset - 23).copy(dies, s.offset + 23);
    const c = await verdictOf('types-random', dies);
    expect(c.verdict).toBe('different');
    expect(regions(c)).toContain('.debug_types');
    const off = Buffer.from(b);
    off.writeUInt32LE(off.readUInt32LE(s.offset + 19) + 1, s.offset + 19);
    const o = await verdictOf('types-offset', off);
    expect(o.verdict).toBe('different');
    expect(regions(o)).toContain('.debug_types');
  }, 60_000);

  /** A type unit: a DW_TAG_type_unit holding one structure, `after` its DIEs (inside the unit). */
  async function handMade(name: string, typeName: string, after: string[] = []) {
    const asm = join(dir, `${name}.s`);
    await writeFile(
      asm,
      [
        '.section .debug_abbrev,"",@progbits',
        '.uleb128 1, 0x41, 1, 0x03, 0x08, 0, 0', // type unit, children, DW_AT_name string
        '.uleb128 2, 0x13, 0, 0x03, 0x08, 0x0b, 0x0b, 0, 0', // structure, DW_AT_name, DW_AT_byte_size data1
        '.byte 0',
        '.section .debug_types,"",@progbits',
        '0: .long 2f - 1f',
        '1: .short 4',
        '.long 0',
        '.byte 8',
        '.quad 0x0123456789abcdef',
        '.long 3f - 0b',
        '.uleb128 1',
        '.asciz "t.c"',
        '3: .uleb128 2',
        typeName,
        '.byte 8',
        '.byte 0',
        ...after,
        '2:',
        '.section .note.GNU-stack,"",@progbits',
      ].join('\n'),
    );
    const out = await gcc(join(dir, name), join(dir, `${name}.out`), SOURCE, ['-g0', asm]);
    return verdictOf(`${name}.bin`, await readFile(out));
  }

  it('a hand-written type unit is equivalent; with a payload after its DIEs or a non-text name, different', async () => {
    const honest = await handMade('tu-ok', '.asciz "point"');
    expect(honest.verdict, JSON.stringify(honest.differences)).toBe('equivalent');
    const blob = join(dir, 'tu-blob');
    await writeFile(blob, random(23, 4096));
    const payload = await handMade('tu-payload', '.asciz "point"', [`.incbin "${blob}"`]);
    expect(payload.verdict).toBe('different');
    expect(regions(payload)).toContain('.debug_types');
    // x86_64 `xor eax, eax; mov al, 60; syscall` posing as a type name
    const code = await handMade('tu-code', '.byte 0x31, 0xc0, 0xb0, 0x3c, 0x0f, 0x05, 0');
    expect(code.verdict).toBe('different');
    expect(regions(code)).toContain('.debug_types');
  }, 60_000);
});

const hasClang = await execa('clang', ['--version']).then(
  () => true,
  () => false,
);

describe('macro units (.debug_macro, .debug_macinfo)', () => {
  it('gcc -g3 and clang -g3 are equivalent to the stripped file', async () => {
    for (const args of [['-g3'], ['-g3', '-gdwarf-4'], ['-g3', '-gdwarf-4', '-gstrict-dwarf']]) {
      const c = await againstStripped(await build(`macro${args.join('')}`, args));
      expect(c.verdict, `${args.join(' ')} ${JSON.stringify(c.differences)}`).toBe('equivalent');
    }
    // Skipped only outside CI, where the set-up script installs clang.
    if (!hasClang && !process.env.CI) return;
    for (const v of ['5', '4']) {
      const out = join(dir, `clang-macro${v}`);
      await writeFile(`${out}.c`, TYPES_SOURCE);
      await execa('clang', ['-O2', '-g3', `-gdwarf-${v}`, '-fdebug-macro', '-o', out, `${out}.c`]);
      const c = await againstStripped(out);
      expect(c.verdict, `clang DWARF ${v} ${JSON.stringify(c.differences)}`).toBe('equivalent');
    }
  }, 60_000);

  it('tampered or unnamed macro units, and tampered macinfo lists, are different', async () => {
    const b = await readFile(await build('macro-tamper', ['-g3']));
    const s = (await elfOf(b)).sections.find((x) => x.name === '.debug_macro')!;
    // version(2) flags(1) debug_line_offset(4), then entries; gcc's first entry is an import (7, offset4)
    expect(b[s.offset + 2]).toBe(2);
    const cases: Array<[string, (x: Buffer) => void]> = [
      ['macro-random', (x) => random(41, 200).copy(x, s.offset + 7)],
      [
        'macro-optable',
        (x) => {
          x[s.offset + 2] = 6;
        },
      ],
      [
        'macro-import',
        (x) => {
          expect(x[s.offset + 7]).toBe(7);
          x.writeUInt32LE(x.readUInt32LE(s.offset + 8) + 1, s.offset + 8);
        },
      ],
    ];
    for (const [name, tamper] of cases) {
      const x = Buffer.from(b);
      tamper(x);
      const c = await verdictOf(name, x);
      expect(c.verdict, name).toBe('different');
      expect(regions(c), name).toContain('.debug_macro');
    }
    const extra = async (name: string, lines: string[]) => {
      const asm = join(dir, `${name}.s`);
      await writeFile(
        asm,
        ['.section .debug_macro,"",@progbits', ...lines, '.section .note.GNU-stack,"",@progbits'].join('\n'),
      );
      const out = await build(name, ['-g3', asm]);
      return verdictOf(`${name}.bin`, await readFile(out));
    };
    // a well-formed unit (version 5, no flags, define "PAYLOAD 1" at line 1) that nothing names
    const unnamed = await extra('macro-unnamed', [
      '.short 5',
      '.byte 0',
      '.byte 1',
      '.uleb128 1',
      '.asciz "PAYLOAD 1"',
      '.byte 0',
    ]);
    expect(unnamed.verdict).toBe('different');
    expect(why(unnamed, '.debug_macro')).toContain('named by no compile unit');
    const code = await extra('macro-code', ['.byte 0x31, 0xc0, 0xb0, 0x3c, 0x0f, 0x05']);
    expect(code.verdict).toBe('different');
    expect(regions(code)).toContain('.debug_macro');
    const m = await readFile(await build('macinfo-tamper', ['-g3', '-gdwarf-4', '-gstrict-dwarf']));
    const mi = (await elfOf(m)).sections.find((x) => x.name === '.debug_macinfo')!;
    random(43, 200).copy(m, mi.offset + 100);
    const c = await verdictOf('macinfo-random', m);
    expect(c.verdict).toBe('different');
    expect(regions(c)).toContain('.debug_macinfo');
  }, 60_000);
});

const hasZstdObjcopy = await execa('objcopy', ['--help']).then(
  (r) => r.stdout.includes('zstd'),
  () => false,
);

// Skipped only outside CI: Debian 12's binutils (2.40) compress with zstd.
describe.skipIf(!hasZstdObjcopy && !process.env.CI)('zstd-compressed debug sections', () => {
  it('objcopy and ld zstd compression are equivalent to the stripped file', async () => {
    const plain = await build('zstd', []);
    await execa('objcopy', ['--compress-debug-sections=zstd', plain, `${plain}.z`]);
    const z = await readFile(`${plain}.z`);
    const compressed = (await elfOf(z)).sections.filter((s) => (s.flags & 0x800n) !== 0n);
    expect(compressed.length).toBeGreaterThan(2);
    expect(compressed.every((s) => z.readUInt32LE(s.offset) === 2)).toBe(true);
    const c = await againstStripped(`${plain}.z`);
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
    const linked = await build('zstd-ld', ['-Wl,--compress-debug-sections=zstd']);
    const l = await againstStripped(linked);
    expect(l.verdict, JSON.stringify(l.differences)).toBe('equivalent');
  }, 60_000);

  /**
   * The file with its .debug_str replaced by `body(contents)` behind an
   * ELFCOMPRESS_ZSTD header stating `size` (default: the real size).
   */
  async function zstdStr(name: string, body: (s: Buffer) => Buffer, size?: (n: number) => number) {
    const plain = await build('zstd-str', []);
    const b = await readFile(plain);
    const elf = await elfOf(b);
    const s = elf.sections.find((x) => x.name === '.debug_str')!;
    const contents = b.subarray(s.offset, s.offset + s.size);
    const chdr = Buffer.alloc(24);
    chdr.writeUInt32LE(2, 0);
    chdr.writeBigUInt64LE(BigInt(size ? size(s.size) : s.size), 8);
    chdr.writeBigUInt64LE(1n, 16);
    const blob = join(dir, `${name}.blob`);
    await writeFile(blob, Buffer.concat([chdr, body(Buffer.from(contents))]));
    const out = join(dir, `${name}.elf`);
    await execa('objcopy', [`--update-section=.debug_str=${blob}`, plain, out]);
    // Mark it SHF_COMPRESSED (objcopy stores the blob as it is).
    const o = await readFile(out);
    const e = await elfOf(o);
    const t = e.sections.find((x) => x.name === '.debug_str')!;
    const flags = e.header.shoff + t.index * e.header.shentsize + 8;
    o.writeBigUInt64LE(o.readBigUInt64LE(flags) | 0x800n, flags);
    return verdictOf(name, o);
  }

  it('one honest frame is equivalent; payload after it, a skippable frame, two frames or a lying ch_size are different', async () => {
    const frame = (s: Buffer) => compress(s, { compressionLevel: 19 });
    const honest = await zstdStr('zstr-ok', frame);
    expect(honest.verdict, JSON.stringify(honest.differences)).toBe('equivalent');
    // small enough to pass the compressed-size bound: the frame checks must catch it
    const payload = random(31, 24);
    const skippable = Buffer.alloc(8);
    skippable.writeUInt32LE(0x184d2a50, 0);
    skippable.writeUInt32LE(payload.length, 4);
    const attacks: Array<[string, string, (s: Buffer) => Buffer, ((n: number) => number)?]> = [
      ['zstr-after', 'byte(s) after its Zstandard frame', (s) => Buffer.concat([frame(s), payload])],
      ['zstr-skippable', 'skippable frame', (s) => Buffer.concat([skippable, payload, frame(s)])],
      [
        'zstr-two',
        'states 95 content size',
        (s) => Buffer.concat([frame(s.subarray(0, s.length >> 1)), frame(s.subarray(s.length >> 1))]),
      ],
      [
        'zstr-checksum',
        'checksum',
        (s) => {
          const f = compress(s, { compressionLevel: 19, checksumFlag: true });
          f.writeUInt32LE(0x41414141, f.length - 4); // four free bytes if unchecked
          return f;
        },
      ],
      ['zstr-size-up', 'not the 191 bytes', frame, (n) => n + 1],
      ['zstr-size-down', 'not the 189 bytes', frame, (n) => n - 1],
    ];
    for (const [name, reason, body, size] of attacks) {
      const c = await zstdStr(name, body, size);
      expect(c.verdict, name).toBe('different');
      expect(why(c, '.debug_str'), name).toContain(reason);
    }
  }, 60_000);
});

const hasMipsGcc = await execa('mips-linux-gnu-gcc', ['--version']).then(
  () => true,
  () => false,
);

// Skipped only outside CI, where the set-up script installs the mips cross compiler.
describe.skipIf(!hasMipsGcc && !process.env.CI)('mips -g vs --strip-debug', () => {
  it('is different, naming the debug sections as mapped into memory (they lie in a LOAD page)', async () => {
    const out = join(dir, 'mips-g');
    await writeFile(`${out}.c`, TYPES_SOURCE);
    await execa('mips-linux-gnu-gcc', ['-O2', '-g', '-o', out, `${out}.c`]);
    await execa('mips-linux-gnu-objcopy', ['--strip-debug', out, `${out}.nodebug`]);
    const c = await compare(`${out}.nodebug`, out, { postProcessing: false });
    // The text LOAD's last page (4 or 64 KiB) maps the file bytes after it, debug
    // sections included, readable and executable: they are loaded bytes.
    expect(c.verdict).toBe('different');
    expect(why(c, '.debug_info')).toContain('mapped into memory');
  }, 60_000);
});

// gcc 13 dropped -gstabs: the stabs cases run where the host gcc still writes them (Debian 12's gcc 12).
const hasStabs = await execa('gcc', ['-gstabs', '-x', 'c', '-c', '-o', '/dev/null', '-'], {
  input: 'int x;\n',
}).then(
  () => true,
  () => false,
);

describe.skipIf(!hasStabs)('stabs (.stab, .stabstr)', () => {
  it('stabs are never explained (their free fields carry what they like); tampered ones say why', async () => {
    const file = await build('stabs', ['-gstabs', '-w']);
    const honest = await againstStripped(file);
    expect(honest.verdict, JSON.stringify(honest.differences)).toBe('different');
    expect(JSON.stringify(honest.differences)).toMatch(/n_desc/);
    const b = await readFile(file);
    const e = await elfOf(b);
    const stab = e.sections.find((x) => x.name === '.stab')!;
    const str = e.sections.find((x) => x.name === '.stabstr')!;
    const cases: Array<[string, string, (x: Buffer) => void]> = [
      // entries after the unit header: random bytes
      ['stabs-random', '.stab', (x) => random(51, stab.size - 12).copy(x, stab.offset + 12)],
      // n_other of the first entry: one free byte per entry if unchecked
      [
        'stabs-other',
        '.stab',
        (x) => {
          x[stab.offset + 12 + 5] = 0x90;
        },
      ],
      // the unit's string size one byte short of .stabstr
      ['stabs-size', '.stab', (x) => x.writeUInt32LE(str.size - 1, stab.offset + 8)],
      // the second entry's string left to no entry (a string that carries what it likes)
      ['stabs-unnamed', '.stabstr', (x) => x.writeUInt32LE(0, stab.offset + 24)],
      // code in the free fields (n_desc, n_value) of the entries after the header
      [
        'stabs-free-fields',
        '.stab',
        (x) => {
          for (let i = 1; i < Math.min(15, stab.size / 12); i++)
            Buffer.from([0x90, 0x90, 0x0f, 0x05, 0xcc, 0xc3]).copy(x, stab.offset + i * 12 + 6);
        },
      ],
      // a string's text replaced by code bytes
      [
        'stabs-code',
        '.stabstr',
        (x) => Buffer.from([0x31, 0xc0, 0xb0, 0x3c, 0x0f, 0x05]).copy(x, str.offset + 1),
      ],
    ];
    for (const [name, region, tamper] of cases) {
      const x = Buffer.from(b);
      tamper(x);
      const c = await verdictOf(name, x);
      expect(c.verdict, name).toBe('different');
      expect(regions(c), name).toContain(region);
    }
  }, 60_000);
});
