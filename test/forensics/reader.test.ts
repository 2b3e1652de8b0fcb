import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountBytes, planAccounting } from '../../src/forensics/accounting.js';
import { compare } from '../../src/forensics/compare.js';
import { buildIdNote, readElf } from '../../src/forensics/elf/reader.js';
import { BufferSource } from '../../src/forensics/elf/source.js';
import { hintFor } from '../../src/forensics/hints.js';
import { RebuildError } from '../../src/util/errors.js';
import { buildElf } from './synthetic.js';

const CASES = [
  { class: 32, endian: 'little', machine: 40, name: 'arm' },
  { class: 32, endian: 'big', machine: 20, name: 'ppc' },
  { class: 64, endian: 'big', machine: 22, name: 's390x' },
  { class: 64, endian: 'little', machine: 243, name: 'riscv' },
  { class: 32, endian: 'big', machine: 8, name: 'mips' },
  { class: 64, endian: 'little', machine: 258, name: 'loongarch' },
] as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ELF reader on hand-built files', () => {
  for (const c of CASES) {
    it(`reads ELF${c.class} ${c.endian}-endian ${c.name}`, async () => {
      const { bytes } = buildElf(c);
      const elf = await readElf(new BufferSource(bytes, 'x'));
      expect(elf.header.class).toBe(c.class);
      expect(elf.header.endian).toBe(c.endian);
      expect(elf.machineName).toBe(c.name);
      expect(elf.typeName).toBe('EXEC');
      expect(elf.sections.map((s) => s.name)).toEqual(['', '.text', '.note.gnu.build-id', '.shstrtab']);
      expect(elf.segments).toHaveLength(1);
      expect(buildIdNote(elf)?.desc.toString('hex')).toBe('ab'.repeat(20));
      const acc = await accountBytes(elf);
      const s = acc.summary;
      expect(
        s.header +
          s.programHeaders +
          s.sections +
          s.sectionHeaders +
          (s.segments ?? 0) +
          s.zeroPadding +
          s.unaccounted +
          s.trailing,
      ).toBe(bytes.length);
      expect(s.unaccounted + s.trailing).toBe(0);
    });
  }

  it('counts trailing bytes', async () => {
    const { bytes } = buildElf({ class: 32, endian: 'big', machine: 20, trailing: Buffer.from('PAYLOAD!') });
    const acc = await accountBytes(await readElf(new BufferSource(bytes, 'x')));
    expect(acc.summary.trailing).toBe(8);
    expect(acc.summary.unaccountedRanges).toEqual([{ offset: bytes.length - 8, size: 8 }]);
  });

  it('compares big-endian files: a changed .text byte is a .text difference with a hex context', async () => {
    const a = buildElf({ class: 32, endian: 'big', machine: 20 });
    const b = Buffer.from(a.bytes);
    b[a.textOffset + 5] = b[a.textOffset + 5]! ^ 0xff;
    await writeFile(join(dir, 'a'), a.bytes);
    await writeFile(join(dir, 'b'), b);
    const c = await compare(join(dir, 'a'), join(dir, 'b'));
    expect(c.verdict).toBe('different');
    expect(c.differences.map((d) => d.region)).toEqual(['.text']);
    expect(c.differences[0]!.firstDifference).toBe(5);
    expect(c.differences[0]!.differingBytes).toBe(1);
    expect(c.differences[0]!.context).toBeDefined();
  });

  it('planAccounting splits overlapping ranges by priority and finds trailing bytes', () => {
    const r = planAccounting({
      size: 100,
      ehsize: 10,
      phoff: 10,
      phsize: 10,
      shoff: 80,
      shsize: 10,
      sections: [{ offset: 30, size: 20 }],
      segments: [{ offset: 0, size: 60 }],
    });
    expect(r.map((x) => [x.owner, x.offset, x.size])).toEqual([
      ['header', 0, 10],
      ['programHeaders', 10, 10],
      ['segment', 20, 10],
      ['section', 30, 20],
      ['segment', 50, 10],
      ['gap', 60, 20],
      ['sectionHeaders', 80, 10],
      ['trailing', 90, 10],
    ]);
  });
});

describe('malformed input gives a RebuildError naming what is wrong', () => {
  const base = buildElf({ class: 64, endian: 'little', machine: 62 });
  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    [
      'truncated section header table',
      (b) => b.subarray(0, b.length - 10),
      /section header table .* extends past end of file/,
    ],
    [
      'huge e_shnum',
      (b) => {
        b.writeUInt16LE(0xfff0, 60);
        return b;
      },
      /section header table .*extends past end of file/,
    ],
    ['bad class', (b) => b.fill(7, 4, 5), /EI_CLASS is 7/],
    ['no magic', (b) => b.fill(0, 1, 2), /no ELF magic/],
    [
      'name table without NUL',
      (b) => {
        const names = b.indexOf('\0.text\0', 0, 'latin1');
        b.fill(0x41, names, names + 40);
        return b;
      },
      /no terminating NUL|outside its string table/,
    ],
    [
      'note with huge descsz',
      (b) => {
        const i = b.indexOf('GNU\0', 0, 'latin1') - 12;
        b.writeUInt32LE(0xfffffff0, i + 4);
        return b;
      },
      /note at 0x[0-9a-f]+ in \.note\.gnu\.build-id .* extends past the end/,
    ],
    [
      'program header table past the end',
      (b) => {
        b.writeBigUInt64LE(BigInt(b.length - 20), 32);
        return b;
      },
      /program header table/,
    ],
  ];
  // Section headers the loader never reads are set aside, with the reason, rather than refused.
  const setAside = new Set(['truncated section header table', 'huge e_shnum', 'name table without NUL']);
  const leftOut = new Set(['note with huge descsz']);
  for (const [what, mutate, re] of cases) {
    it(what, async () => {
      const buf = mutate(Buffer.from(base.bytes));
      if (setAside.has(what)) {
        const elf = await readElf(new BufferSource(buf, '/x/file'));
        expect(elf.sections).toEqual([]);
        expect(elf.sectionProblem).toMatch(re);
        expect(elf.segments.length).toBeGreaterThan(0);
        return;
      }
      if (leftOut.has(what)) {
        // Notes that do not parse are left out, with the reason; the bytes are judged by compare().
        const elf = await readElf(new BufferSource(buf, '/x/file'));
        expect(elf.noteProblems?.join('\n')).toMatch(re);
        expect(elf.notes.some((n) => n.where === '.note.gnu.build-id')).toBe(false);
        return;
      }
      const err = await readElf(new BufferSource(buf, '/x/file')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RebuildError);
      expect((err as RebuildError).category).toBe('input');
      expect((err as RebuildError).subject).toBe('/x/file');
      expect((err as RebuildError).message).toMatch(re);
    });
  }
});

describe('hints', () => {
  it('recognises __DATE__/__TIME__ and paths', () => {
    const a = Buffer.from('\0built Nov 25 2026 15:04:05\0');
    const b = Buffer.from('\0built Jan  1 1970 00:00:00\0');
    expect(hintFor(a, b, 7, true)).toBe('timestamp');
    const pa = Buffer.from('\0/home/alice/src/main.c\0');
    const pb = Buffer.from('\0/tmp/build-xyz/src/main.c\0');
    expect(hintFor(pa, pb, 2, true)).toBe('path');
    expect(hintFor(Buffer.from('\0hello world\0'), Buffer.from('\0hellO world\0'), 5, true)).toBeUndefined();
  });

  it('reads binary words as epoch times, but not text that happens to fall in the range', () => {
    // "(tal" as a little-endian word is 1818326056, a date in 2027: still text, not a timestamp.
    const text = Buffer.from('%ld %ld (tally v%d)\n\0');
    const changed = Buffer.from(text);
    changed[9] = 'T'.charCodeAt(0);
    expect(hintFor(text, changed, 9, true, { epoch: true, absolute: 9 })).toBeUndefined();
    const a = Buffer.alloc(16);
    const b = Buffer.alloc(16);
    a.writeUInt32LE(1_764_000_000, 8); // 2025-11-24
    b.writeUInt32LE(1_764_086_400, 8); // a day later
    expect(hintFor(a, b, 8, true, { epoch: true, absolute: 8 })).toBe('timestamp');
  });
});
