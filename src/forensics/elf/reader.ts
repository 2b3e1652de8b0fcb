/**
 * Our own ELF reader: ELF32/ELF64, little and big endian, any e_machine.
 * Reads the file header, program headers, section headers, the section name
 * table, notes and the dynamic section with small positioned reads from a
 * ByteSource. Every offset and size is checked against the file before it is
 * read: a malformed or truncated file gives a RebuildError('input') that says
 * what is wrong, never a Buffer exception, and every loop is bounded.
 */
import { RebuildError } from '../../util/errors.js';
import {
  DT,
  machineName,
  NT_GNU_ABI_TAG,
  NT_GNU_BUILD_ID,
  PN_XNUM,
  PT,
  SHN_XINDEX,
  SHT,
  segmentTypeName,
  typeName,
} from './constants.js';
import type { ByteSource } from './source.js';

export interface ElfHeader {
  class: 32 | 64;
  endian: 'little' | 'big';
  /** e_ident[EI_VERSION], EI_OSABI, EI_ABIVERSION. */
  identVersion: number;
  osabi: number;
  abiVersion: number;
  type: number;
  machine: number;
  version: number;
  entry: bigint;
  phoff: number;
  shoff: number;
  flags: number;
  ehsize: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
  /** e_shnum / e_shstrndx as stored (0 / SHN_XINDEX mean "see section 0"). */
  rawShnum: number;
  rawShstrndx: number;
  /** e_phnum as stored (PN_XNUM means "see section 0"). */
  rawPhnum: number;
}

export interface ProgramHeader {
  index: number;
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: bigint;
  align: bigint;
}

export interface SectionHeader {
  index: number;
  name: string;
  nameOffset: number;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: bigint;
  entsize: bigint;
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Buffer;
  /** File offset of the note header and of its descriptor. */
  offset: number;
  descOffset: number;
  /** Section name or `PT_NOTE[i]` it was found in. */
  where: string;
}

export interface DynamicEntry {
  tag: bigint;
  value: bigint;
}

export interface ElfFile {
  source: ByteSource;
  path: string;
  size: number;
  header: ElfHeader;
  segments: ProgramHeader[];
  sections: SectionHeader[];
  /** Notes from note sections, or from PT_NOTE segments when there are no note sections. */
  notes: ElfNote[];
  dynamic: DynamicEntry[];
  machineName: string;
  typeName: string;
  /** e_ident[9..16) as hex (EI_PAD, normally zeros). */
  identPad: string;
  /** Section header 0 as hex ('' when there is no section header table). */
  section0: string;
  /**
   * Why the section headers were set aside (they lie past the end of the
   * file, or name nothing readable): the file is then judged on its program
   * headers alone. Absent when they were read.
   */
  sectionProblem?: string;
  /**
   * Note sections or segments whose notes do not parse (what is wrong with
   * each): their notes are left out, their bytes are judged like any others.
   */
  noteProblems?: string[];
}

/** Sizes above this for tables we read whole (notes, dynamic, name tables) are refused. */
const MAX_TABLE = 64 << 20;
/** Section/segment counts beyond this are refused as malformed. */
const MAX_COUNT = 1 << 20;
const MAX_NOTES = 100_000;

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

function bad(path: string, message: string): RebuildError {
  return new RebuildError('input', `malformed ELF: ${message}`, {
    subject: path,
    fix: 'check that the file is complete (not truncated by a download) and really is this ELF',
  });
}

/** A small endian-aware view over a Buffer; every read is bounds-checked. */
export class Reader {
  constructor(
    readonly buf: Buffer,
    readonly little: boolean,
    private readonly what: string,
    private readonly path: string,
  ) {}
  private need(off: number, n: number): void {
    if (off < 0 || off + n > this.buf.length) {
      throw bad(
        this.path,
        `${this.what}: read of ${n} bytes at ${off} past its end (${this.buf.length} bytes)`,
      );
    }
  }
  u8(off: number): number {
    this.need(off, 1);
    return this.buf[off]!;
  }
  u16(off: number): number {
    this.need(off, 2);
    return this.little ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }
  u32(off: number): number {
    this.need(off, 4);
    return this.little ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
  u64(off: number): bigint {
    this.need(off, 8);
    return this.little ? this.buf.readBigUInt64LE(off) : this.buf.readBigUInt64BE(off);
  }
  /** A word: 4 bytes in ELF32, 8 in ELF64. */
  word(off: number, is64: boolean): bigint {
    return is64 ? this.u64(off) : BigInt(this.u32(off));
  }
}

/** An offset or size from a 64-bit field as a safe number, or an error naming the field. */
function num(path: string, v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(path, `${what} ${hex(v)} is impossibly large`);
  return Number(v);
}

/** Checks that [off, off+len) lies inside the file. */
export function checkRange(
  elf: { path: string; size: number },
  off: number,
  len: number,
  what: string,
): void {
  if (off > elf.size || len > elf.size - off) {
    throw bad(
      elf.path,
      `${what} at ${hex(off)} (size ${len}) extends past end of file (size ${elf.size}); the file is truncated or corrupt`,
    );
  }
}

async function readRange(
  src: ByteSource,
  path: string,
  off: number,
  len: number,
  what: string,
): Promise<Buffer> {
  checkRange({ path, size: src.size }, off, len, what);
  if (len > MAX_TABLE)
    throw bad(path, `${what} is ${len} bytes, more than rebuild reads whole (${MAX_TABLE})`);
  return src.read(off, len);
}

/** True when the source starts with the ELF magic. */
export async function isElf(src: ByteSource): Promise<boolean> {
  if (src.size < 4) return false;
  const m = await src.read(0, 4);
  return m[0] === 0x7f && m[1] === 0x45 && m[2] === 0x4c && m[3] === 0x46;
}

export function parseHeader(buf: Buffer, path: string, fileSize: number): ElfHeader {
  if (buf.length < 16) throw bad(path, `file is ${fileSize} bytes, too short for an ELF identification (16)`);
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw bad(path, `EI_CLASS is ${cls}, expected 1 (ELF32) or 2 (ELF64)`);
  if (data !== 1 && data !== 2) throw bad(path, `EI_DATA is ${data}, expected 1 (little) or 2 (big endian)`);
  const is64 = cls === 2;
  const ehsizeMin = is64 ? 64 : 52;
  if (fileSize < ehsizeMin) {
    throw bad(path, `ELF header (${ehsizeMin} bytes) extends past end of file (size ${fileSize})`);
  }
  const r = new Reader(buf, data === 1, 'ELF header', path);
  const w = is64 ? 8 : 4;
  const at = 24 + 3 * w; // e_flags
  const h: ElfHeader = {
    class: is64 ? 64 : 32,
    endian: data === 1 ? 'little' : 'big',
    identVersion: buf[6]!,
    osabi: buf[7]!,
    abiVersion: buf[8]!,
    type: r.u16(16),
    machine: r.u16(18),
    version: r.u32(20),
    entry: r.word(24, is64),
    phoff: num(path, r.word(24 + w, is64), 'e_phoff'),
    shoff: num(path, r.word(24 + 2 * w, is64), 'e_shoff'),
    flags: r.u32(at),
    ehsize: r.u16(at + 4),
    phentsize: r.u16(at + 6),
    phnum: r.u16(at + 8),
    shentsize: r.u16(at + 10),
    shnum: r.u16(at + 12),
    shstrndx: r.u16(at + 14),
    rawShnum: 0,
    rawShstrndx: 0,
    rawPhnum: 0,
  };
  h.rawPhnum = h.phnum;
  h.rawShnum = h.shnum;
  h.rawShstrndx = h.shstrndx;
  return h;
}

/** Parses the headers, section names, notes and dynamic section of an ELF file. */
export async function readElf(src: ByteSource): Promise<ElfFile> {
  const path = src.name;
  const size = src.size;
  const head = await src.read(0, Math.min(64, size));
  if (!(head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46)) {
    throw bad(path, 'no ELF magic (\\x7fELF) at offset 0');
  }
  const h = parseHeader(head, path, size);
  const is64 = h.class === 64;
  const little = h.endian === 'little';
  const elf = { path, size };

  // Section header table (read first: extended numbering lives in section 0).
  const shentMin = is64 ? 64 : 40;
  let shnum = h.shnum;
  let shstrndx = h.shstrndx;
  let phnum = h.phnum;
  let shdrBuf: Buffer | undefined;
  let section0 = '';
  let sectionProblem: string | undefined;
  // Section headers the loader never reads: when they are unreadable (past
  // the end of the file, sstrip-like truncation), they are set aside and the
  // file is judged on its program headers alone, unless the program header
  // count itself lives in section 0.
  const setAside = (err: unknown) => {
    if (!(err instanceof RebuildError) || h.phnum === PN_XNUM) throw err;
    sectionProblem = err.message.replace(/^malformed ELF: /, '');
    shdrBuf = undefined;
    section0 = '';
    shnum = 0;
  };
  if (h.shoff !== 0)
    try {
      if (h.shentsize < shentMin) {
        throw bad(path, `e_shentsize is ${h.shentsize}, smaller than a section header (${shentMin})`);
      }
      checkRange(elf, h.shoff, h.shentsize, 'section header table');
      const first = await src.read(h.shoff, shentMin);
      section0 = first.toString('hex');
      const r0 = new Reader(first, little, 'section header 0', path);
      if (shnum === 0) {
        const real = r0.word(is64 ? 32 : 20, is64);
        if (real > BigInt(MAX_COUNT))
          throw bad(path, `section count (section 0 sh_size) ${real} is impossibly large`);
        shnum = Number(real);
      }
      if (shstrndx === SHN_XINDEX) shstrndx = r0.u32(is64 ? 40 : 24);
      if (phnum === PN_XNUM) phnum = r0.u32(is64 ? 44 : 28);
      const tableSize = shnum * h.shentsize;
      checkRange(elf, h.shoff, tableSize, `section header table (${shnum} entries of ${h.shentsize} bytes)`);
      shdrBuf = await readRange(src, path, h.shoff, tableSize, 'section header table');
    } catch (err) {
      setAside(err);
    }
  else shnum = 0;

  // Program header table.
  const phentMin = is64 ? 56 : 32;
  const segments: ProgramHeader[] = [];
  if (phnum > 0) {
    if (phnum > MAX_COUNT) throw bad(path, `program header count ${phnum} is impossibly large`);
    if (h.phentsize < phentMin) {
      throw bad(path, `e_phentsize is ${h.phentsize}, smaller than a program header (${phentMin})`);
    }
    const tableSize = phnum * h.phentsize;
    checkRange(elf, h.phoff, tableSize, `program header table (${phnum} entries of ${h.phentsize} bytes)`);
    const pb = await readRange(src, path, h.phoff, tableSize, 'program header table');
    const r = new Reader(pb, little, 'program header table', path);
    for (let i = 0; i < phnum; i++) {
      const o = i * h.phentsize;
      const ph: ProgramHeader = is64
        ? {
            index: i,
            type: r.u32(o),
            flags: r.u32(o + 4),
            offset: num(path, r.u64(o + 8), `program header ${i} p_offset`),
            vaddr: r.u64(o + 16),
            paddr: r.u64(o + 24),
            filesz: num(path, r.u64(o + 32), `program header ${i} p_filesz`),
            memsz: r.u64(o + 40),
            align: r.u64(o + 48),
          }
        : {
            index: i,
            type: r.u32(o),
            offset: r.u32(o + 4),
            vaddr: BigInt(r.u32(o + 8)),
            paddr: BigInt(r.u32(o + 12)),
            filesz: r.u32(o + 16),
            memsz: BigInt(r.u32(o + 20)),
            flags: r.u32(o + 24),
            align: BigInt(r.u32(o + 28)),
          };
      if (ph.filesz > 0) {
        checkRange(elf, ph.offset, ph.filesz, `program header ${i} (${segmentTypeName(ph.type)}) contents`);
      }
      segments.push(ph);
    }
  }

  // Section headers.
  const sections: SectionHeader[] = [];
  if (shdrBuf)
    try {
      const r = new Reader(shdrBuf, little, 'section header table', path);
      for (let i = 0; i < shnum; i++) {
        const o = i * h.shentsize;
        const sh: SectionHeader = is64
          ? {
              index: i,
              name: '',
              nameOffset: r.u32(o),
              type: r.u32(o + 4),
              flags: r.u64(o + 8),
              addr: r.u64(o + 16),
              offset: num(path, r.u64(o + 24), `section ${i} sh_offset`),
              size: num(path, r.u64(o + 32), `section ${i} sh_size`),
              link: r.u32(o + 40),
              info: r.u32(o + 44),
              addralign: r.u64(o + 48),
              entsize: r.u64(o + 56),
            }
          : {
              index: i,
              name: '',
              nameOffset: r.u32(o),
              type: r.u32(o + 4),
              flags: BigInt(r.u32(o + 8)),
              addr: BigInt(r.u32(o + 12)),
              offset: r.u32(o + 16),
              size: r.u32(o + 20),
              link: r.u32(o + 24),
              info: r.u32(o + 28),
              addralign: BigInt(r.u32(o + 32)),
              entsize: BigInt(r.u32(o + 36)),
            };
        if (i === 0) {
          // Section 0 may carry extended counts in sh_size/sh_link/sh_info; it has no contents.
          sections.push({ ...sh, size: 0, offset: 0 });
          continue;
        }
        if (sh.type !== SHT.NOBITS && sh.size > 0) {
          checkRange(elf, sh.offset, sh.size, `section ${i} (type ${sh.type}) contents`);
        }
        sections.push(sh);
      }
      // Names.
      if (shnum > 0 && shstrndx !== 0) {
        const strsec = sections[shstrndx];
        if (!strsec) throw bad(path, `e_shstrndx ${shstrndx} is not a section (there are ${shnum})`);
        if (strsec.type === SHT.NOBITS)
          throw bad(path, `section name table (section ${shstrndx}) has no contents`);
        const names = await readRange(src, path, strsec.offset, strsec.size, 'section name table');
        for (const s of sections) {
          if (s.index === 0) continue;
          s.name = cString(names, s.nameOffset, path, `name of section ${s.index}`);
        }
      } else {
        for (const s of sections) if (s.index !== 0) s.name = `section-${s.index}`;
      }
    } catch (err) {
      setAside(err);
      sections.length = 0;
    }

  const noteProblems: string[] = [];
  const notes = await readNotes(src, path, h, sections, segments, noteProblems);
  const dynamic = await readDynamic(src, path, h, sections, segments);

  return {
    source: src,
    path,
    size,
    header: { ...h, shnum, shstrndx, phnum },
    segments,
    sections,
    notes,
    dynamic,
    machineName: machineName(h.machine, h.class),
    typeName: typeName(h.type),
    identPad: head.subarray(9, 16).toString('hex'),
    section0,
    ...(sectionProblem !== undefined ? { sectionProblem } : {}),
    ...(noteProblems.length > 0 ? { noteProblems } : {}),
  };
}

/** A NUL-terminated string from a table; an error when it runs off the end. */
export function cString(table: Buffer, off: number, path: string, what: string): string {
  if (off >= table.length) {
    if (off === 0 && table.length === 0) return '';
    throw bad(path, `${what}: offset ${off} is outside its string table (${table.length} bytes)`);
  }
  const end = table.indexOf(0, off);
  if (end < 0) throw bad(path, `${what}: string at ${off} has no terminating NUL`);
  return table.toString('latin1', off, end);
}

const align = (n: number, a: number) => (n + a - 1) & ~(a - 1);

/** Parses a run of notes; `alignment` is 4 or 8 (the section/segment alignment). */
export function parseNotes(
  buf: Buffer,
  little: boolean,
  baseOffset: number,
  alignment: number,
  where: string,
  path: string,
  out: ElfNote[],
): void {
  const r = new Reader(buf, little, `notes in ${where}`, path);
  const a = alignment === 8 ? 8 : 4;
  let p = 0;
  let count = 0;
  while (p + 12 <= buf.length) {
    if (++count > MAX_NOTES) throw bad(path, `notes in ${where}: more than ${MAX_NOTES} notes`);
    const namesz = r.u32(p);
    const descsz = r.u32(p + 4);
    const type = r.u32(p + 8);
    const nameAt = p + 12;
    const descAt = align(nameAt + namesz, a);
    const next = align(descAt + descsz, a);
    if (nameAt + namesz > buf.length || descAt + descsz > buf.length) {
      throw bad(
        path,
        `note at ${hex(baseOffset + p)} in ${where} (namesz ${namesz}, descsz ${descsz}) extends past the end of its ${where.startsWith('PT_') ? 'segment' : 'section'} (${buf.length} bytes)`,
      );
    }
    let name = buf.toString('latin1', nameAt, nameAt + namesz);
    if (name.endsWith('\0')) name = name.slice(0, name.indexOf('\0'));
    out.push({
      name,
      type,
      desc: Buffer.from(buf.subarray(descAt, descAt + descsz)),
      offset: baseOffset + p,
      descOffset: baseOffset + descAt,
      where,
    });
    if (next <= p) break; // cannot happen (next >= p+12), kept as a loop guard
    p = next;
  }
}

async function readNotes(
  src: ByteSource,
  path: string,
  h: ElfHeader,
  sections: SectionHeader[],
  segments: ProgramHeader[],
  problems: string[],
): Promise<ElfNote[]> {
  const little = h.endian === 'little';
  const out: ElfNote[] = [];
  // A run of notes that does not parse is left out whole (hostile notes get
  // a verdict from the byte comparison, not an error from the reader).
  const parse = async (off: number, len: number, alignment: number, where: string) => {
    try {
      const buf = await readRange(src, path, off, len, where);
      const found: ElfNote[] = [];
      parseNotes(buf, little, off, alignment, where, path, found);
      out.push(...found);
    } catch (err) {
      if (!(err instanceof RebuildError)) throw err;
      if (problems.length < 10) problems.push(err.message.replace(/^malformed ELF: /, ''));
    }
  };
  const noteSections = sections.filter((s) => s.type === SHT.NOTE && s.size > 0);
  if (noteSections.length > 0) {
    for (const s of noteSections) await parse(s.offset, s.size, Number(s.addralign), s.name);
    return out;
  }
  for (const p of segments) {
    if ((p.type !== PT.NOTE && p.type !== PT.GNU_PROPERTY) || p.filesz === 0) continue;
    if (p.type === PT.GNU_PROPERTY && segments.some((q) => q.type === PT.NOTE && q.offset === p.offset))
      continue;
    await parse(p.offset, p.filesz, Number(p.align), `PT_NOTE[${p.index}]`);
  }
  return out;
}

async function readDynamic(
  src: ByteSource,
  path: string,
  h: ElfHeader,
  sections: SectionHeader[],
  segments: ProgramHeader[],
): Promise<DynamicEntry[]> {
  const sec = sections.find((s) => s.type === SHT.DYNAMIC && s.size > 0);
  const seg = segments.find((p) => p.type === PT.DYNAMIC && p.filesz > 0);
  const off = sec ? sec.offset : seg?.offset;
  const len = sec ? sec.size : seg?.filesz;
  if (off === undefined || len === undefined) return [];
  const buf = await readRange(src, path, off, len, 'dynamic section');
  const is64 = h.class === 64;
  const ent = is64 ? 16 : 8;
  const r = new Reader(buf, h.endian === 'little', 'dynamic section', path);
  const out: DynamicEntry[] = [];
  for (let p = 0; p + ent <= buf.length; p += ent) {
    const tag = r.word(p, is64);
    if (tag === BigInt(DT.NULL)) break;
    out.push({ tag, value: r.word(p + (is64 ? 8 : 4), is64) });
  }
  return out;
}

/** The GNU build-id note, if any. */
export function buildIdNote(elf: ElfFile): ElfNote | undefined {
  return elf.notes.find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID);
}

export function isAlloc(s: SectionHeader): boolean {
  return (s.flags & 2n) !== 0n;
}

export function isExec(s: SectionHeader): boolean {
  return (s.flags & 4n) !== 0n;
}

/**
 * Looks for any of `names` among the symbols of a symbol table (SHT_SYMTAB or
 * SHT_DYNSYM), streaming the table and its string table in chunks.
 * Returns undefined when the file has no such table.
 */
export async function hasSymbol(
  elf: ElfFile,
  tableType: number,
  names: string[],
): Promise<boolean | undefined> {
  const tab = elf.sections.find((s) => s.type === tableType && s.size > 0);
  if (!tab) return undefined;
  const strtab = elf.sections[tab.link];
  if (!strtab || strtab.type === SHT.NOBITS || strtab.size === 0) return undefined;
  // Find where the names occur in the string table (streamed, with overlap).
  const wanted = names.map((n) => Buffer.from(`\0${n}\0`, 'latin1'));
  const longest = Math.max(...wanted.map((w) => w.length));
  const offsets = new Set<number>();
  const CH = 1 << 20;
  let carry = Buffer.alloc(0);
  let carryStart = strtab.offset;
  for (let pos = 0; pos < strtab.size; pos += CH) {
    const n = Math.min(CH, strtab.size - pos);
    const chunk = await elf.source.read(strtab.offset + pos, n);
    const hay = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const hayStart = carry.length ? carryStart : strtab.offset + pos;
    for (const w of wanted) {
      let i = hay.indexOf(w);
      while (i >= 0) {
        offsets.add(hayStart + i + 1 - strtab.offset);
        i = hay.indexOf(w, i + 1);
      }
    }
    carry = Buffer.from(hay.subarray(Math.max(0, hay.length - longest)));
    carryStart = hayStart + hay.length - carry.length;
  }
  // A name at offset 0 of the table (no leading NUL) cannot be a real symbol name (offset 0 is "").
  if (offsets.size === 0) return false;
  const is64 = elf.header.class === 64;
  const ent = is64 ? 24 : 16;
  const little = elf.header.endian === 'little';
  const count = Math.floor(tab.size / ent);
  const per = Math.max(1, Math.floor(CH / ent));
  for (let i = 0; i < count; i += per) {
    const k = Math.min(per, count - i);
    const buf = await elf.source.read(tab.offset + i * ent, k * ent);
    for (let j = 0; j < k; j++) {
      const nameOff = little ? buf.readUInt32LE(j * ent) : buf.readUInt32BE(j * ent);
      if (offsets.has(nameOff)) return true;
    }
  }
  return false;
}

/** The GNU ABI tag note as `<os> <major>.<minor>.<patch>` (e.g. `Linux 3.2.0`). */
export function abiTag(elf: ElfFile): string | undefined {
  const n = elf.notes.find((x) => x.name === 'GNU' && x.type === NT_GNU_ABI_TAG && x.desc.length >= 16);
  if (!n) return undefined;
  const little = elf.header.endian === 'little';
  const w = (i: number) => (little ? n.desc.readUInt32LE(i * 4) : n.desc.readUInt32BE(i * 4));
  const os = ['Linux', 'GNU', 'Solaris2', 'FreeBSD'][w(0)] ?? `os-${w(0)}`;
  return `${os} ${w(1)}.${w(2)}.${w(3)}`;
}

export interface DynamicStrings {
  needed: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
}

/** DT_NEEDED / DT_SONAME / DT_RPATH / DT_RUNPATH, read from the dynamic section's string table. */
export async function dynamicStrings(elf: ElfFile): Promise<DynamicStrings> {
  const out: DynamicStrings = { needed: [] };
  const dynsec = elf.sections.find((s) => s.type === SHT.DYNAMIC);
  const strsec = dynsec ? elf.sections[dynsec.link] : undefined;
  if (!strsec || strsec.type === SHT.NOBITS || strsec.size === 0) return out;
  const table = await readRange(elf.source, elf.path, strsec.offset, strsec.size, 'dynamic string table');
  const str = (v: bigint, what: string) =>
    cString(table, Number(v > BigInt(table.length) ? table.length : v), elf.path, what);
  for (const d of elf.dynamic) {
    if (d.tag === BigInt(DT.NEEDED)) out.needed.push(str(d.value, 'DT_NEEDED'));
    else if (d.tag === BigInt(DT.SONAME)) out.soname = str(d.value, 'DT_SONAME');
    else if (d.tag === BigInt(DT.RPATH)) out.rpath = str(d.value, 'DT_RPATH');
    else if (d.tag === BigInt(DT.RUNPATH)) out.runpath = str(d.value, 'DT_RUNPATH');
  }
  return out;
}
