/**
 * Header counts at their limits: 65,000 string-table sections in a 4 MB
 * file, and 65,535 program headers (PN_XNUM, the count in section 0). Every
 * loop over headers must be linear or n·log n; the bound below only catches
 * a hang (the figures are in the README), it is not a timing assertion.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { gcc, SOURCE } from './fixtures.js';

let dir: string;
let base: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-limits-'));
  base = await readFile(await gcc(join(dir, 'src'), join(dir, 'base'), SOURCE));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HANG = 60_000;

/** x86_64 little-endian ELF64 only (the host gcc's output). */
function withManySections(elf: Buffer, count: number, change = false): Buffer {
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const table = Buffer.from(elf.subarray(shoff, shoff + shnum * 64));
  const nameOff = table.readUInt32LE(shstrndx * 64); // reuse ".shstrtab" as every name
  const blobAt = elf.length;
  const chunk = 64;
  const blob = Buffer.alloc(count * chunk);
  for (let i = 0; i < count; i++) blob.write(`s${i}\0`, i * chunk, 'latin1');
  if (change) blob[blob.length - 2] = 0x41;
  const extra = Buffer.alloc(count * 64);
  for (let i = 0; i < count; i++) {
    const o = i * 64;
    extra.writeUInt32LE(nameOff, o);
    extra.writeUInt32LE(3, o + 4); // SHT_STRTAB
    extra.writeBigUInt64LE(BigInt(blobAt + i * chunk), o + 24);
    extra.writeBigUInt64LE(BigInt(chunk), o + 32);
    extra.writeBigUInt64LE(1n, o + 48);
  }
  const newShoff = blobAt + blob.length;
  const out = Buffer.concat([elf, blob, table, extra]);
  out.writeBigUInt64LE(BigInt(newShoff), 0x28);
  const total = shnum + count;
  if (total >= 0xff00) {
    out.writeUInt16LE(0, 0x3c); // the count lives in section 0's sh_size
    out.writeBigUInt64LE(BigInt(total), newShoff + 32);
  } else out.writeUInt16LE(total, 0x3c);
  return out;
}

/** 65,535 program headers: the real ones, then PT_NOTEs over the first note (PN_XNUM). */
function withManyProgramHeaders(elf: Buffer, change = false): Buffer {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phnum = elf.readUInt16LE(0x38);
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const real = Buffer.from(elf.subarray(phoff, phoff + phnum * 56));
  let note: Buffer | undefined;
  for (let i = 0; i < phnum; i++)
    if (real.readUInt32LE(i * 56) === 4) note ??= real.subarray(i * 56, i * 56 + 56);
  const count = 0xffff;
  const table = Buffer.alloc(count * 56);
  real.copy(table, 0);
  for (let i = phnum; i < count; i++) note!.copy(table, i * 56);
  if (change) table.writeUInt32LE(7, (count - 1) * 56 + 4); // one flag word of the last header
  const newPhoff = elf.length;
  const out = Buffer.concat([elf, table]);
  out.writeBigUInt64LE(BigInt(newPhoff), 0x20);
  out.writeUInt16LE(0xffff, 0x38); // PN_XNUM: the count is section 0's sh_info
  out.writeUInt32LE(count, shoff + 44);
  return out;
}

/**
 * Many sections and, on top, `count` program headers of an unknown type, each
 * over its own 16 bytes of the sections' contents (all distinct ranges): every
 * section is then checked against tens of thousands of loader ranges.
 */
function withManyDistinctProgramHeaders(elf: Buffer, sections: Buffer, count: number): Buffer {
  const phoff = Number(sections.readBigUInt64LE(0x20));
  const phnum = sections.readUInt16LE(0x38);
  const shoff = Number(sections.readBigUInt64LE(0x28));
  const table = Buffer.alloc(count * 56);
  sections.copy(table, 0, phoff, phoff + phnum * 56);
  for (let i = phnum; i < count; i++) {
    const o = i * 56;
    table.writeUInt32LE(0x6ffffff0, o); // an OS-specific type nothing reads
    table.writeUInt32LE(4, o + 4);
    table.writeBigUInt64LE(BigInt(elf.length + (i % 60_000) * 64 + 8), o + 8);
    table.writeBigUInt64LE(16n, o + 32);
    table.writeBigUInt64LE(16n, o + 40);
    table.writeBigUInt64LE(1n, o + 48);
  }
  const out = Buffer.concat([sections, table]);
  out.writeBigUInt64LE(BigInt(sections.length), 0x20);
  out.writeUInt16LE(0xffff, 0x38); // PN_XNUM
  out.writeUInt32LE(count, shoff + 44);
  return out;
}

async function timed<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG} ms: a hang`)), HANG);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('header counts at their limits', () => {
  it(
    '65,000 string-table sections (4 MB): a sound verdict either way',
    async () => {
      const a = join(dir, 'many-sections');
      const b = join(dir, 'many-sections-changed');
      await writeFile(a, withManySections(base, 65_000));
      await writeFile(b, withManySections(base, 65_000, true));
      const same = await timed(compare(a, a));
      expect(same.verdict).toBe('identical');
      const c = await timed(compare(a, b, { postProcessing: false }));
      // Not-loaded string tables of no registered kind: a difference, named.
      expect(c.verdict).toBe('different');
      const vsBase = await timed(compare(join(dir, 'base'), a, { postProcessing: false }));
      expect(vsBase.verdict).toBe('different');
    },
    4 * HANG,
  );

  it(
    '65,000 sections and 65,535 distinct program headers together: a sound verdict, no quadratic step',
    async () => {
      const a = join(dir, 'many-both');
      const b = join(dir, 'many-both-changed');
      await writeFile(a, withManyDistinctProgramHeaders(base, withManySections(base, 65_000), 0xffff));
      await writeFile(b, withManyDistinctProgramHeaders(base, withManySections(base, 65_000, true), 0xffff));
      const c = await timed(compare(a, b, { postProcessing: false }));
      expect(c.verdict).toBe('different');
      expect(c.differences.map((d) => d.region)).toContain('.shstrtab#65001');
    },
    4 * HANG,
  );

  it(
    '65,535 program headers (PN_XNUM): a sound verdict either way',
    async () => {
      const a = join(dir, 'many-phdrs');
      const b = join(dir, 'many-phdrs-changed');
      await writeFile(a, withManyProgramHeaders(base));
      await writeFile(b, withManyProgramHeaders(base, true));
      const c = await timed(compare(a, b, { postProcessing: false }));
      expect(c.verdict).toBe('different');
      expect(c.differences.map((d) => d.region)).toContain('header');
      const vsBase = await timed(compare(a, join(dir, 'base'), { postProcessing: false }));
      expect(vsBase.verdict).toBe('different');
    },
    4 * HANG,
  );
});

/**
 * A re-read bomb: one compressed .debug_info that inflates to ~60 MiB, and
 * section headers that make the proofs consult it again and again (each
 * .debug_addr proof decompresses and walks .debug_info first). Expected,
 * written before running: after PROOF_READ_LIMIT bytes handed to one file's
 * proofs, every further proof of that file fails with the reason, so the
 * work is bounded whatever the header count; the file still runs.
 */
describe('proof reading is bounded per file', () => {
  it(
    'a compressed .debug_info consulted over and over stops being read',
    async () => {
      const { execa } = await import('execa');
      const { readElf } = await import('../../src/forensics/elf/reader.js');
      const { FileSource } = await import('../../src/forensics/elf/source.js');
      const { prove, PROOF_LIMIT, PROOF_READ_LIMIT } = await import('../../src/forensics/proofs/index.js');
      const { proveDebug } = await import('../../src/forensics/proofs/debug.js');
      const exe = join(dir, 'base');
      const inflated = PROOF_LIMIT - (4 << 20);
      await writeFile(join(dir, 'zeros'), Buffer.alloc(inflated));
      await writeFile(join(dir, 'one'), Buffer.from([1]));
      const plain = join(dir, 'bomb-plain');
      const bomb = join(dir, 'bomb');
      await execa('objcopy', [
        '--strip-debug',
        `--add-section=.debug_info=${join(dir, 'zeros')}`,
        `--add-section=.debug_addr=${join(dir, 'one')}`,
        exe,
        plain,
      ]);
      await execa('objcopy', ['--compress-debug-sections=zlib', plain, bomb]);
      expect((await execa(bomb, ['x'])).stdout).toBe('x 1234569');
      const src = await FileSource.open(bomb);
      try {
        const elf = await readElf(src);
        const addr = elf.sections.find((s) => s.name === '.debug_addr')!;
        const reasons: string[] = [];
        const rounds = Math.ceil(PROOF_READ_LIMIT / inflated) + 2;
        for (let i = 0; i < rounds; i++) {
          const o = await prove(elf, src, addr, proveDebug, true);
          reasons.push(o.proven ? 'proven' : o.reason);
        }
        // The first proofs fail on what they read (no abbreviations for it), the last on the total read.
        expect(reasons[0]).toMatch(/no \.debug_abbrev/);
        expect(reasons[rounds - 1]).toMatch(/more than \d+ bytes of reading and decompressing/);
      } finally {
        await src.close();
      }
    },
    HANG,
  );
});
