/**
 * Non-allocated symbol tables: SHT_SYMTAB, its SHT_SYMTAB_SHNDX, and the
 * string table it links to.
 *
 * A symbol table is proven well-formed: the entry size of its class, a whole
 * number of entries, entry 0 null, a linked string table, every name offset
 * inside it and every name text, known binding and type, a section index
 * that names a section (or ABS/COMMON/XINDEX), and, for a symbol defined in
 * an allocated section, an address and extent inside the loaded image. Its
 * string table is proven to be NUL-terminated text strings of which every
 * non-NUL byte belongs to a name some symbol uses.
 *
 * Why nothing hides here: no loader reads these tables (outside every
 * program header); what an entry may hold is pinned down field by field, and
 * the string table holds only names the symbols use, in text. What is left
 * free is the value and size of absolute symbols and the choice of names:
 * a few bytes per symbol, in entries that must all make sense together.
 * A symbol without a name is a section or file symbol; absolute symbols
 * have no size and are at most ABS_LIMIT (their values are free).
 */
import { PT, SHN_LORESERVE, SHN_XINDEX, SHT, STT } from '../elf/constants.js';
import { type ElfFile, isAlloc, type SectionHeader } from '../elf/reader.js';
import { Cursor, checkStringTable, isText, need, quote } from './cursor.js';
import type { Proof, ProofSubject } from './types.js';

const SHN_ABS = 0xfff1;
const SHN_COMMON = 0xfff2;
/** Linkers define a handful of absolute symbols; thousands would be a table of free 8-byte values. */
export const ABS_LIMIT = 1024;
const KNOWN_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 10]); // NOTYPE … TLS, GNU_IFUNC
const KNOWN_BINDS = new Set([0, 1, 2, 10]); // LOCAL, GLOBAL, WEAK, GNU_UNIQUE

export interface Symbol {
  name: number;
  info: number;
  other: number;
  shndx: number;
  value: bigint;
  size: bigint;
}

function entrySize(elf: ElfFile): number {
  return elf.header.class === 64 ? 24 : 16;
}

export function parseSymbols(elf: ElfFile, sec: SectionHeader, bytes: Buffer): Symbol[] {
  const ent = entrySize(elf);
  need(sec.entsize === BigInt(ent), `its entry size is ${sec.entsize}, not ${ent}`);
  need(bytes.length % ent === 0, `its size ${bytes.length} is not a whole number of ${ent}-byte entries`);
  const c = new Cursor(bytes, elf.header.endian === 'little');
  const out: Symbol[] = [];
  while (c.left > 0) {
    if (elf.header.class === 64) {
      const name = c.u32();
      const info = c.u8();
      const other = c.u8();
      const shndx = c.u16();
      out.push({ name, info, other, shndx, value: c.u64(), size: c.u64() });
    } else {
      const name = c.u32();
      const value = BigInt(c.u32());
      const size = BigInt(c.u32());
      const info = c.u8();
      const other = c.u8();
      out.push({ name, info, other, shndx: c.u16(), value, size });
    }
  }
  return out;
}

/** The lowest and highest address any PT_LOAD maps. */
export function loadedSpan(elf: ElfFile): [bigint, bigint] {
  let lo: bigint | undefined;
  let hi = 0n;
  for (const p of elf.segments) {
    if (p.type !== PT.LOAD) continue;
    if (lo === undefined || p.vaddr < lo) lo = p.vaddr;
    if (p.vaddr + p.memsz > hi) hi = p.vaddr + p.memsz;
  }
  return [lo ?? 0n, hi];
}

function linkedStrings(s: ProofSubject): SectionHeader {
  const t = s.elf.sections[s.section.link];
  need(
    t !== undefined && s.section.link !== 0,
    `it links to section ${s.section.link}, which does not exist`,
  );
  need(t.type === SHT.STRTAB, `it links to section ${t.name}, which is not a string table`);
  return t;
}

export const proveSymtab: Proof = async (s) => {
  const { elf, bytes } = s;
  const syms = parseSymbols(elf, s.section, bytes);
  need(syms.length > 0, 'it is empty');
  const strtab = await s.read(linkedStrings(s));
  const first = syms[0]!;
  need(
    first.name === 0 &&
      first.info === 0 &&
      first.other === 0 &&
      first.shndx === 0 &&
      first.value === 0n &&
      first.size === 0n,
    'its entry 0 is not the null symbol',
  );
  const [lo, hi] = loadedSpan(elf);
  const checked = new Uint8Array(strtab.length);
  const shnum = elf.sections.length;
  let absolute = 0;
  for (let i = 1; i < syms.length; i++) {
    const y = syms[i]!;
    const where = `symbol ${i}`;
    need(
      y.name < strtab.length || (y.name === 0 && strtab.length === 0),
      `${where} has a name offset ${y.name} outside its string table (${strtab.length} bytes)`,
    );
    if (!checked[y.name]) {
      const end = strtab.indexOf(0, y.name);
      need(end >= 0, `${where} has a name that is not NUL-terminated`);
      const name = strtab.subarray(y.name, end);
      need(isText(name), `${where} has a name that is not text (${quote(name)})`);
      checked.fill(1, y.name, end);
    }
    need(KNOWN_TYPES.has(y.info & 0xf), `${where} has an unknown type ${y.info & 0xf}`);
    need(KNOWN_BINDS.has(y.info >> 4), `${where} has an unknown binding ${y.info >> 4}`);
    // Visibility, plus the processor flags in use (AArch64/RISC-V variant PCS, PowerPC64 local entry).
    need((y.other & ~0xe3) === 0, `${where} has unknown st_other bits (0x${y.other.toString(16)})`);
    const special = y.shndx === 0 || y.shndx === SHN_ABS || y.shndx === SHN_COMMON || y.shndx === SHN_XINDEX;
    need(
      special || (y.shndx < shnum && y.shndx < SHN_LORESERVE),
      `${where} names section ${y.shndx}, which does not exist`,
    );
    if (y.shndx === SHN_ABS && (y.info & 0xf) !== STT.FILE) {
      // Absolute symbols are few (linker-defined) and sizeless: their values are the only free field.
      need(y.size === 0n, `${where} is absolute but has a size (${y.size})`);
      need(++absolute <= ABS_LIMIT, `it holds more than ${ABS_LIMIT} absolute symbols`);
    }
    if (y.name === 0 || strtab[y.name] === 0)
      need(
        (y.info & 0xf) === STT.SECTION || ((y.info & 0xf) === STT.FILE && y.value === 0n && y.size === 0n),
        `${where} has no name, yet is neither a section symbol nor a file symbol`,
      );
    if (y.shndx === 0)
      need(
        y.value === 0n || elf.header.type === 1 || (y.info & 0xf) === 2,
        `${where} is undefined but has a value`,
      );
    const sec = special ? undefined : elf.sections[y.shndx];
    if (sec && isAlloc(sec) && (y.info & 0xf) !== STT.TLS && elf.header.type !== 1) {
      need(
        y.value >= lo && y.value + y.size <= hi,
        `${where} lies outside the loaded image (value 0x${y.value.toString(16)}, size ${y.size})`,
      );
    }
  }
  return undefined;
};

export const proveSymtabShndx: Proof = async (s) => {
  const t = s.elf.sections[s.section.link];
  need(t !== undefined && t.type === SHT.SYMTAB, 'it does not link to a symbol table');
  const n = t.size / entrySize(s.elf);
  need(s.bytes.length === n * 4, `it holds ${s.bytes.length / 4} entries for ${n} symbols`);
  const c = new Cursor(s.bytes, s.elf.header.endian === 'little');
  while (c.left > 0) need(c.u32() < s.elf.sections.length, 'it names a section that does not exist');
  return undefined;
};

/** A string table that symbol tables link to: text names, every byte used by some symbol. */
export const proveSymbolStrings: Proof = async (s) => {
  const { bytes, elf } = s;
  checkStringTable(bytes, 'it', true);
  const used = new Uint8Array(bytes.length);
  if (bytes.length > 0) used[0] = 1;
  for (const t of elf.sections) {
    if (t.type !== SHT.SYMTAB || t.link !== s.section.index || t.index === 0) continue;
    for (const y of parseSymbols(elf, t, await s.read(t))) {
      if (y.name >= bytes.length) continue; // the symbol table's own proof refuses it
      for (let i = y.name; i < bytes.length && !used[i]; i++) {
        used[i] = 1;
        if (bytes[i] === 0) break;
      }
    }
  }
  for (let i = 0; i < bytes.length; i++) {
    if (!used[i] && bytes[i] !== 0) {
      const end = bytes.indexOf(0, i);
      need(false, `it holds a string no symbol uses at offset ${i} (${quote(bytes.subarray(i, end))})`);
    }
  }
  return undefined;
};
