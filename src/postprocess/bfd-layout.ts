/**
 * pkgforge's `objcopy --remove-section=.comment --remove-section=.note.*`
 * followed by `strip --strip-all` (or `--strip-debug --strip-dwo
 * --strip-unneeded`, which leaves the same bytes on a linked executable), as a
 * plan of the bytes GNU binutils 2.40 write (plan.ts): never materialised,
 * compared and read while streamed from the rebuilt file.
 *
 * What BFD does, measured on gcc, clang, Go and Rust executables (PIE,
 * non-PIE, static, x86_64 and aarch64; test/postprocess/bfd-layout.test.ts
 * compares every accepted case byte for byte with the real tools):
 *  - the output is a fresh file: every kept section's contents at its place,
 *    zeros in every gap (padding the linker left between sections is not kept);
 *  - removing an allocated section (a `.note.*` in PT_NOTE) makes BFD rewrite
 *    the program headers: PT_GNU_RELRO is dropped; PT_PHDR shrinks to the new
 *    count; a segment left with no section (the notes, PT_GNU_PROPERTY,
 *    PT_GNU_STACK) becomes offset 0, paddr 0, sizes 0, align 8 (vaddr and
 *    flags kept); PT_PHDR's align becomes 8; a PT_LOAD's file size ends at its
 *    last section with contents; every other header is kept; with no
 *    allocated section removed, the program headers are copied as they are;
 *  - a NOBITS section's offset is clipped to its segment's new file end;
 *  - .symtab, .strtab, debug sections and the old .shstrtab go; a new
 *    .shstrtab (BFD's suffix-merged string table: `.shstrtab` first, then the
 *    kept names in order) is the last section, right after the loaded
 *    contents, and the section header table follows, 8-aligned;
 *  - sh_link and SHF_INFO_LINK sh_info are renumbered; e_phnum, e_shoff,
 *    e_shnum and e_shstrndx are rewritten, the rest of the ELF header kept.
 * Anything outside that (ELF32, kept non-allocated sections, segments
 * partly emptied, headers that do not describe their sections, extended
 * numbering, a copied PT_LOAD its sections do not fill, …) is `unsupported`: the caller then runs the real tools.
 */
import { PT, SHT } from '../forensics/elf/constants.js';
import type { ProgramHeader, SectionHeader } from '../forensics/elf/reader.js';
import { type Piece, PlanBuilder, type RangeReader } from './plan.js';

/** The binutils versions whose output this model was compared with, byte for byte. */
export const MODELED_BINUTILS = ['2.40'] as const;
/** The machines it was compared on (x86_64, aarch64): BFD's back ends differ in entry sizes and page sizes. */
export const MODELED_MACHINES: readonly number[] = [62, 183];

export type LayoutPlan = { pieces: Piece[]; size: number } | { unsupported: string };

// The forensics reader's header shapes (types only: this stage reads the few headers it needs itself).
type Phdr = ProgramHeader;
type Shdr = SectionHeader;

const SHF_ALLOC = 2n;
const SHF_INFO_LINK = 0x40n;
const SHF_TLS = 0x400n;
const EHDR = 64;
const PHENT = 56;
const SHENT = 64;
/** Bounds against hostile headers (a real executable has tens). */
const MAX_PHNUM = 1024;
const MAX_SHNUM = 4096;
const MAX_SHSTRTAB = 1 << 20;

/**
 * The sh_entsize BFD writes for a section type whatever the input said
 * (elf_fake_sections, ELF64 on x86_64 and aarch64): lld leaves .init_array's 0.
 */
const ENTSIZE: Readonly<Record<number, bigint>> = {
  4: 24n, // SHT_RELA
  5: 4n, // SHT_HASH
  6: 16n, // SHT_DYNAMIC
  9: 16n, // SHT_REL
  11: 24n, // SHT_DYNSYM
  14: 8n, // SHT_INIT_ARRAY
  15: 8n, // SHT_FINI_ARRAY
  16: 8n, // SHT_PREINIT_ARRAY
  1879048182: 0n, // SHT_GNU_HASH
  1879048189: 0n, // SHT_GNU_verdef
  1879048190: 0n, // SHT_GNU_verneed
  1879048191: 2n, // SHT_GNU_versym
};

class Unsupported extends Error {}
const no = (why: string): never => {
  throw new Unsupported(why);
};

async function readExact(src: RangeReader, offset: number, length: number, what: string): Promise<Buffer> {
  if (offset < 0 || length < 0 || offset + length > src.size) no(`${what} lies past the end of the file`);
  const buf = Buffer.alloc(length);
  if ((await src.readInto(buf, offset, length)) !== length) no(`${what} could not be read`);
  return buf;
}

/** `--remove-section=.note.*` (fnmatch: `*` matches anything, `.note.` included). */
const isNoteGlob = (name: string) => name.startsWith('.note.');
/** What strip --strip-all (and --strip-debug on a linked executable) removes by name (BFD's SEC_DEBUGGING). */
const isDebug = (name: string) => name.startsWith('.debug') || name.startsWith('.zdebug');
/** BFD's other debugging names: removed by strip too, but not in the files compared with the tools. */
const isOtherDebug = (name: string) =>
  ['.gnu.debuglto_', '.gnu.linkonce.wi.', '.line', '.stab', '.gdb_index'].some((p) => name.startsWith(p));

function inSegment(s: Shdr, p: Phdr): boolean {
  if ((s.flags & SHF_ALLOC) === 0n) return false;
  // .tbss occupies no address space outside PT_TLS (BFD's rule too).
  if (s.type === SHT.NOBITS && (s.flags & SHF_TLS) !== 0n && p.type !== PT.TLS) return false;
  const end = s.addr + BigInt(s.size);
  if (!(s.addr >= p.vaddr && end <= p.vaddr + p.memsz)) return false;
  if (s.size === 0 && s.addr === p.vaddr + p.memsz && p.memsz !== 0n) return false;
  if (s.type === SHT.NOBITS) return true;
  return s.offset >= p.offset && s.offset + s.size <= p.offset + p.filesz;
}

/**
 * BFD's string table (`_bfd_elf_strtab_finalize`): strings in the order
 * first added, "\0" first, each string that is a suffix of another folded
 * into it (sorted by reversed string; a string folds into the nearest longer
 * one with that suffix that was not itself folded). Returns the table and
 * each string's offset.
 */
export function bfdStringTable(strings: readonly string[]): { table: Buffer; offsets: Map<string, number> } {
  const unique = [...new Set(strings)].filter((s) => s !== '');
  const rev = (s: string) => [...Buffer.from(s, 'latin1')].reverse();
  const sorted = [...unique].sort((x, y) => {
    const a = rev(x);
    const b = rev(y);
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  const suffixOf = new Map<string, string>();
  let e = sorted[sorted.length - 1];
  for (let i = sorted.length - 2; i >= 0; i--) {
    const cmp = sorted[i]!;
    if (e !== undefined && e.length > cmp.length && e.endsWith(cmp)) suffixOf.set(cmp, e);
    else e = cmp;
  }
  const offsets = new Map<string, number>([['', 0]]);
  const parts: Buffer[] = [Buffer.alloc(1)];
  let size = 1;
  for (const s of unique) {
    if (suffixOf.has(s)) continue;
    offsets.set(s, size);
    const b = Buffer.from(`${s}\0`, 'latin1');
    parts.push(b);
    size += b.length;
  }
  for (const s of unique) {
    const host = suffixOf.get(s);
    if (host !== undefined) offsets.set(s, (offsets.get(host) ?? 0) + host.length - s.length);
  }
  return { table: Buffer.concat(parts), offsets };
}

/** The plan of `objcopy --remove-section=.comment --remove-section=.note.*` then strip of `src`. */
export async function planCommentNotesStrip(src: RangeReader): Promise<LayoutPlan> {
  try {
    return await plan(src);
  } catch (err) {
    if (err instanceof Unsupported) return { unsupported: err.message };
    throw err;
  }
}

async function plan(src: RangeReader): Promise<{ pieces: Piece[]; size: number }> {
  const eh = await readExact(src, 0, EHDR, 'the ELF header');
  if (eh.readUInt32BE(0) !== 0x7f454c46) no('not an ELF file');
  if (eh[4] !== 2) no('ELF32 (only ELF64 is modelled)');
  if (eh[5] !== 1 && eh[5] !== 2) no('unknown byte order');
  const le = eh[5] === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => (le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const num = (v: bigint, what: string) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) no(`${what} is out of range`);
    return Number(v);
  };
  const machine = u16(eh, 18);
  if (!MODELED_MACHINES.includes(machine)) no(`e_machine ${machine} (only x86_64 and aarch64 are modelled)`);
  const type = u16(eh, 16);
  if (type !== 2 && type !== 3) no(`e_type ${type} (only executables are modelled)`);
  const phoff = num(u64(eh, 32), 'e_phoff');
  const shoff = num(u64(eh, 40), 'e_shoff');
  const [ehsize, phentsize, phnum, shentsize, shnum, shstrndx] = [52, 54, 56, 58, 60, 62].map((o) =>
    u16(eh, o),
  ) as [number, number, number, number, number, number];
  if (ehsize !== EHDR || phentsize !== PHENT || shentsize !== SHENT) no('unusual header sizes');
  if (phoff !== EHDR) no('program headers not right after the ELF header');
  if (phnum === 0 || phnum > MAX_PHNUM) no(`e_phnum ${phnum}`);
  if (shnum === 0 || shnum > MAX_SHNUM || shstrndx === 0 || shstrndx >= shnum)
    no('no section headers, or extended numbering');

  const phBuf = await readExact(src, phoff, phnum * PHENT, 'the program headers');
  const phdrs: Phdr[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * PHENT;
    phdrs.push({
      index: i,
      type: u32(phBuf, o),
      flags: u32(phBuf, o + 4),
      offset: num(u64(phBuf, o + 8), 'p_offset'),
      vaddr: u64(phBuf, o + 16),
      paddr: u64(phBuf, o + 24),
      filesz: num(u64(phBuf, o + 32), 'p_filesz'),
      memsz: u64(phBuf, o + 40),
      align: u64(phBuf, o + 48),
    });
  }
  const shBuf = await readExact(src, shoff, shnum * SHENT, 'the section headers');
  if (!shBuf.subarray(0, SHENT).equals(Buffer.alloc(SHENT))) no('section header 0 is not all zeros');
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const o = i * SHENT;
    raw.push({
      index: i,
      nameOffset: u32(shBuf, o),
      type: u32(shBuf, o + 4),
      flags: u64(shBuf, o + 8),
      addr: u64(shBuf, o + 16),
      offset: num(u64(shBuf, o + 24), 'sh_offset'),
      size: num(u64(shBuf, o + 32), 'sh_size'),
      link: u32(shBuf, o + 40),
      info: u32(shBuf, o + 44),
      addralign: u64(shBuf, o + 48),
      entsize: u64(shBuf, o + 56),
    });
  }
  const strSec = raw[shstrndx]!;
  if (strSec.size > MAX_SHSTRTAB) no('.shstrtab is too large');
  const names = await readExact(src, strSec.offset, strSec.size, '.shstrtab');
  const shdrs: Shdr[] = raw.map((s) => {
    if (s.nameOffset >= names.length) no(`section ${s.index}'s name lies outside .shstrtab`);
    const end = names.indexOf(0, s.nameOffset);
    if (end < 0) no(`section ${s.index}'s name is not terminated`);
    return { ...s, name: names.toString('latin1', s.nameOffset, end) };
  });
  for (const s of shdrs.slice(1)) {
    if (s.type !== SHT.NOBITS && s.offset + s.size > src.size) no(`${s.name} lies past the end of the file`);
  }

  // What the two passes remove, and what they keep.
  const symtabs = shdrs.filter((s) => s.type === SHT.SYMTAB);
  const symStrings = new Set(symtabs.map((s) => s.link));
  const removed = (s: Shdr): boolean =>
    s.index === shstrndx ||
    s.name === '.comment' ||
    isNoteGlob(s.name) ||
    isDebug(s.name) ||
    s.type === SHT.SYMTAB ||
    (symStrings.has(s.index) && (s.flags & SHF_ALLOC) === 0n);
  const kept = shdrs.slice(1).filter((s) => !removed(s));
  for (const s of kept) {
    if (isOtherDebug(s.name)) no(`debugging section ${s.name} (not modelled)`);
    if (s.type === SHT.NOTE) no(`a note section not named .note.* (${s.name}) is kept (not modelled)`);
    if ((s.flags & SHF_ALLOC) === 0n && (s.type !== SHT.PROGBITS || s.link !== 0 || s.flags !== 0n))
      no(`kept non-allocated section ${s.name} of type ${s.type} (not modelled)`);
  }
  const alloc = kept.filter((s) => (s.flags & SHF_ALLOC) !== 0n);
  for (let i = 1; i < alloc.length; i++)
    if (alloc[i]!.addr < alloc[i - 1]!.addr) no('allocated sections out of address order (not modelled)');
  const gone = shdrs.slice(1).filter((s) => removed(s) && (s.flags & SHF_ALLOC) !== 0n);
  for (const s of gone)
    if (s.type !== SHT.NOTE) no(`allocated section ${s.name} removed by name (not modelled)`);
  // No allocated section removed (no note to remove): BFD copies the program headers as they are.
  const copies = gone.length === 0;

  // Program headers, rewritten as BFD rewrites them (or copied).
  const outPhdrs: Phdr[] = [];
  const loadEnds: number[] = [];
  const loads: { p: Phdr; fileEnd: number }[] = [];
  if (!copies && phdrs.some((p) => p.type === PT.PHDR)) {
    // BFD's rewrite_elf_program_header: when the first section of the PT_LOAD holding the
    // program headers is removed (lld's static links start it with a note), that segment's
    // p_paddr is rebuilt from its first kept section and PT_PHDR's p_paddr follows it.
    const headers = phdrs.find(
      (p) => p.type === PT.LOAD && p.offset <= phoff && p.offset + p.filesz >= phoff + phnum * PHENT,
    );
    const first = headers && shdrs.slice(1).find((s) => inSegment(s, headers));
    if (first && removed(first))
      no(`the program headers' PT_LOAD starts with ${first.name}, which is removed (not modelled)`);
  }
  for (const p of phdrs) {
    if (copies && p.type !== PT.LOAD) {
      outPhdrs.push(p);
      continue;
    }
    if (p.type === PT.GNU_RELRO) continue;
    const all = shdrs.slice(1).filter((s) => inSegment(s, p));
    const mine = all.filter((s) => !removed(s));
    if (p.type === PT.PHDR) {
      if (p.offset !== phoff) no('PT.PHDR is not the program header table');
      outPhdrs.push({ ...p, filesz: -1, memsz: -1n, align: 8n });
      continue;
    }
    if (p.type === PT.LOAD) {
      const headersOnly =
        p.offset === 0 && p.filesz === phoff + phnum * PHENT && p.memsz === BigInt(p.filesz);
      if (mine.length === 0 && copies && headersOnly) {
        // A static link's first PT_LOAD holding only the ELF and program headers.
        outPhdrs.push(p);
        loads.push({ p, fileEnd: p.filesz });
        loadEnds.push(p.filesz);
        continue;
      }
      if (mine.length === 0) no('a PT.LOAD with no kept section');
      let fileEnd = p.offset;
      let memEnd = p.vaddr;
      for (const s of mine) {
        if (s.type !== SHT.NOBITS) {
          if (BigInt(s.offset - p.offset) !== s.addr - p.vaddr) no(`${s.name}'s offset and address disagree`);
          fileEnd = Math.max(fileEnd, s.offset + s.size);
        }
        if (!(s.type === SHT.NOBITS && (s.flags & SHF_TLS) !== 0n))
          memEnd = memEnd > s.addr + BigInt(s.size) ? memEnd : s.addr + BigInt(s.size);
      }
      if (p.offset === 0 && fileEnd < phoff + phnum * PHENT) no('the first PT.LOAD ends inside the headers');
      if (memEnd - p.vaddr !== p.memsz) no('a PT.LOAD whose size its sections do not explain');
      const first = mine.reduce((m, s) => (s.addr < m.addr ? s : m));
      if (p.offset !== 0 && first.addr !== p.vaddr) no('a PT.LOAD that does not start at its first section');
      if (copies && fileEnd - p.offset !== p.filesz)
        no('a copied PT.LOAD whose file size its sections do not explain');
      const q = { ...p, filesz: fileEnd - p.offset };
      outPhdrs.push(q);
      loads.push({ p: q, fileEnd });
      loadEnds.push(fileEnd);
      continue;
    }
    if (all.length === 0) {
      // PT_GNU_STACK, PT_PAX_FLAGS, …: nothing but their flags.
      if (p.offset !== 0 || p.filesz !== 0 || p.memsz !== 0n || p.vaddr !== 0n || p.paddr !== 0n)
        no(`an empty segment of type ${p.type.toString(16)} that claims a place (not modelled)`);
      outPhdrs.push({ ...p, paddr: 0n, align: 8n });
      continue;
    }
    if (mine.length === 0) {
      outPhdrs.push({ ...p, offset: 0, paddr: 0n, filesz: 0, memsz: 0n, align: 8n });
      continue;
    }
    if (mine.length !== all.length) no(`a segment of type ${p.type.toString(16)} partly removed`);
    let maxAlign = 1n;
    for (const s of mine) if (s.addralign > maxAlign) maxAlign = s.addralign;
    const lo = mine.reduce((m, s) => (s.addr < m.addr ? s : m));
    // BFD sizes the segment from its sections (gold rounds PT_TLS's p_memsz up to its alignment).
    let memEnd = p.vaddr;
    let fileEnd = p.offset;
    for (const s of mine) {
      if (s.addr + BigInt(s.size) > memEnd) memEnd = s.addr + BigInt(s.size);
      if (s.type !== SHT.NOBITS) fileEnd = Math.max(fileEnd, s.offset + s.size);
    }
    if (
      p.align !== maxAlign ||
      lo.addr !== p.vaddr ||
      lo.offset !== p.offset ||
      memEnd - p.vaddr !== p.memsz ||
      fileEnd - p.offset !== p.filesz
    )
      no(`a segment of type ${p.type.toString(16)} whose header its sections do not explain`);
    outPhdrs.push(p);
  }
  for (const s of alloc) {
    if (
      !(s.type === SHT.NOBITS && (s.flags & SHF_TLS) !== 0n) &&
      !phdrs.some((p) => p.type === PT.LOAD && inSegment(s, p))
    )
      no(`${s.name} lies in no PT_LOAD (not modelled)`);
  }
  const newPhnum = outPhdrs.length;
  for (const p of outPhdrs) {
    if (p.type === PT.PHDR && !copies) {
      p.filesz = newPhnum * PHENT;
      p.memsz = BigInt(newPhnum * PHENT);
    }
  }

  // Sections: alloc ones stay where they are, .shstrtab goes after the loaded contents.
  const newIndex = new Map<number, number>(kept.map((s, i) => [s.index, i + 1]));
  const { table, offsets } = bfdStringTable(['.shstrtab', ...kept.map((s) => s.name)]);
  // Kept non-allocated sections (.gnu_debuglink, …) follow the loaded contents, each aligned, then .shstrtab.
  let fileEnd = Math.max(...loadEnds);
  const placed = new Map<number, number>();
  for (const s of kept) {
    if ((s.flags & SHF_ALLOC) !== 0n) continue;
    const al = s.addralign > 1n ? num(s.addralign, 'sh_addralign') : 1;
    fileEnd = Math.ceil(fileEnd / al) * al;
    placed.set(s.index, fileEnd);
    fileEnd += s.size;
  }
  const shstrtabOff = fileEnd;
  const newShoff = Math.ceil((shstrtabOff + table.length) / 8) * 8;
  const newShnum = kept.length + 2;
  const sectionOffset = (s: Shdr): number => {
    const moved = placed.get(s.index);
    if (moved !== undefined) return moved;
    if (s.type !== SHT.NOBITS) return s.offset;
    const home = loads.find(({ p }) => s.addr >= p.vaddr && s.addr <= p.vaddr + p.memsz);
    if (!home) no(`${s.name} (NOBITS) lies in no PT_LOAD`);
    // BFD does not advance the file position for a NOBITS section: it sits where the
    // contents before it in its segment end (.tbss right after .tdata, not at its address).
    let at = home!.p.offset;
    for (const t of kept) {
      if (t.index >= s.index) break;
      if (t.type !== SHT.NOBITS && inSegment(t, home!.p)) at = Math.max(at, t.offset + t.size);
    }
    return Math.min(at, home!.fileEnd);
  };
  const dynsym = kept.filter((s) => s.name === '.dynsym');
  const named = (name: string): Shdr | undefined => {
    const all = kept.filter((s) => s.name === name);
    if (all.length > 1) no(`two sections named ${name} (not modelled)`);
    return all[0];
  };
  /**
   * BFD's sh_link, sh_info and SHF_INFO_LINK of a kept REL/RELA section
   * (assign_section_numbers): the link is .dynsym (the symbol table is gone);
   * the section its relocations apply to is found by name (.rela.X applies to X,
   * .rela.plt to .got.plt or else .got on x86_64 and aarch64), else sh_info is 0.
   */
  const relocFields = (s: Shdr): { link: number; info: number; flags: bigint } => {
    if (dynsym.length > 1) no('two sections named .dynsym (not modelled)');
    const link = (s.flags & SHF_ALLOC) !== 0n && dynsym[0] ? (newIndex.get(dynsym[0].index) ?? 0) : 0;
    let target: Shdr | undefined;
    const rest = s.name.startsWith('.rel') ? s.name.slice(4) : undefined;
    const suffix =
      rest === undefined
        ? undefined
        : s.type === SHT.RELA
          ? rest.startsWith('a')
            ? rest.slice(1)
            : undefined
          : rest;
    if (suffix === '.plt') target = named('.got.plt') ?? named('.got');
    else if (suffix !== undefined) target = named(suffix);
    const flags = s.flags & ~SHF_INFO_LINK;
    if (!target) return { link, info: 0, flags };
    return { link, info: newIndex.get(target.index) ?? 0, flags: flags | SHF_INFO_LINK };
  };

  const w16 = (b: Buffer, o: number, v: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const w32 = (b: Buffer, o: number, v: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w64 = (b: Buffer, o: number, v: bigint) => (le ? b.writeBigUInt64LE(v, o) : b.writeBigUInt64BE(v, o));

  const ehOut = Buffer.from(eh);
  w64(ehOut, 40, BigInt(newShoff));
  w16(ehOut, 56, newPhnum);
  w16(ehOut, 60, newShnum);
  w16(ehOut, 62, newShnum - 1);

  const phOut = Buffer.alloc(newPhnum * PHENT);
  outPhdrs.forEach((p, i) => {
    const o = i * PHENT;
    w32(phOut, o, p.type);
    w32(phOut, o + 4, p.flags);
    w64(phOut, o + 8, BigInt(p.offset));
    w64(phOut, o + 16, p.vaddr);
    w64(phOut, o + 24, p.paddr);
    w64(phOut, o + 32, BigInt(p.filesz));
    w64(phOut, o + 40, p.memsz);
    w64(phOut, o + 48, p.align);
  });

  const shOut = Buffer.alloc(newShnum * SHENT);
  // A link to a removed section (a static .rela.plt's to .symtab) becomes 0.
  const remap = (i: number): number => newIndex.get(i) ?? 0;
  const remapInfo = (s: Shdr): number => {
    if ((s.flags & SHF_INFO_LINK) === 0n || s.info === 0) return s.info;
    const n = newIndex.get(s.info);
    if (n === undefined) no(`${s.name}'s sh_info names a removed section (not modelled)`);
    return n!;
  };
  kept.forEach((s, i) => {
    const o = (i + 1) * SHENT;
    w32(shOut, o, offsets.get(s.name) ?? 0);
    w32(shOut, o + 4, s.type);
    const rel = s.type === SHT.RELA || s.type === SHT.REL ? relocFields(s) : undefined;
    w64(shOut, o + 8, rel ? rel.flags : s.flags);
    w64(shOut, o + 16, s.addr);
    w64(shOut, o + 24, BigInt(sectionOffset(s)));
    w64(shOut, o + 32, BigInt(s.size));
    w32(shOut, o + 40, rel ? rel.link : remap(s.link));
    w32(shOut, o + 44, rel ? rel.info : remapInfo(s));
    w64(shOut, o + 48, s.addralign);
    w64(shOut, o + 56, ENTSIZE[s.type] ?? s.entsize);
  });
  const o = (newShnum - 1) * SHENT;
  w32(shOut, o, offsets.get('.shstrtab') ?? 0);
  w32(shOut, o + 4, 3);
  w64(shOut, o + 24, BigInt(shstrtabOff));
  w64(shOut, o + 32, BigInt(table.length));
  w64(shOut, o + 48, 1n);

  // The bytes: headers, each kept section's contents in file order, zeros between.
  const b = new PlanBuilder();
  b.bytesAt(0, ehOut);
  b.bytesAt(EHDR, phOut);
  const contents = kept
    .filter((s) => s.type !== SHT.NOBITS && s.size > 0)
    .map((s) => ({ s, at: sectionOffset(s) }))
    .sort((x, y) => x.at - y.at || x.s.index - y.s.index);
  for (const { s, at } of contents) {
    if (at < b.size) no(`${s.name} overlaps what comes before it`);
    b.rangeAt(at, s.offset, s.size);
  }
  if (shstrtabOff < b.size) no('loaded contents end before the last section');
  b.bytesAt(shstrtabOff, table);
  b.bytesAt(newShoff, shOut);
  return { pieces: b.pieces, size: b.size };
}
