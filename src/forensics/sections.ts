/**
 * Which parts of an ELF file are removable (benign to remove or change) and
 * which matter at run time. Pure.
 */
import { PT, SHT } from './elf/constants.js';
import { type ElfFile, isAlloc, type ProgramHeader, type SectionHeader } from './elf/reader.js';
import type { ExplanationKind } from './types.js';

const DEBUG_NAMES = new Set(['.gnu_debuglink', '.gnu_debugaltlink', '.stab', '.stabstr', '.line', '.debug']);

/**
 * The kind of a removable section, or undefined when the section matters:
 * - notes (allocated or not): `notes`, the build-id note `build-id`;
 * - non-allocated `.comment`: `comment`;
 * - non-allocated symbol tables and their string table: `symbols`;
 * - non-allocated debug sections (`.debug_*`, `.zdebug_*`, relocations for
 *   them, `.gnu_debuglink`/`.gnu_debugaltlink`, which only name a separate
 *   debug file for debuggers and are never loaded): `debug`;
 * - the section name table: `layout` (its contents follow from the section
 *   names, which are compared one by one).
 */
export function removableKind(elf: ElfFile, s: SectionHeader): ExplanationKind | undefined {
  if (s.type === SHT.NOTE) {
    // No toolchain makes writable or executable notes: such a "note" is data or code, compared as such.
    if ((s.flags & 5n) !== 0n) return undefined;
    return s.name === '.note.gnu.build-id' ? 'build-id' : 'notes';
  }
  if (isAlloc(s)) return undefined;
  if (s.index === elf.header.shstrndx) return 'layout';
  if (s.name === '.comment') return 'comment';
  if (s.type === SHT.SYMTAB || s.type === SHT.SYMTAB_SHNDX) return 'symbols';
  if (s.type === SHT.STRTAB && elf.sections.some((t) => t.type === SHT.SYMTAB && t.link === s.index)) {
    return 'symbols';
  }
  const n = s.name;
  if (n.startsWith('.debug_') || n.startsWith('.zdebug_') || DEBUG_NAMES.has(n)) return 'debug';
  if ((s.type === SHT.RELA || s.type === SHT.REL) && /^\.rela?\.z?debug_/.test(n)) return 'debug';
  return undefined;
}

/** Sections keyed by name; repeated names get `#2`, `#3`, … */
export function sectionsByKey(elf: ElfFile): Map<string, SectionHeader> {
  const out = new Map<string, SectionHeader>();
  const seen = new Map<string, number>();
  for (const s of elf.sections) {
    if (s.index === 0) continue;
    const k = seen.get(s.name) ?? 0;
    seen.set(s.name, k + 1);
    out.set(k === 0 ? s.name : `${s.name}#${k + 1}`, s);
  }
  return out;
}

/** A NOTE or GNU_PROPERTY program header that describes nothing but notes. */
export function isNotesOnlySegment(elf: ElfFile, p: ProgramHeader): boolean {
  if (p.type !== PT.NOTE && p.type !== PT.GNU_PROPERTY) return false;
  if (p.filesz === 0) return true;
  const secs = elf.sections.filter(
    (s) =>
      s.index !== 0 &&
      s.type !== SHT.NOBITS &&
      s.size > 0 &&
      s.offset < p.offset + p.filesz &&
      s.offset + s.size > p.offset,
  );
  if (secs.length === 0) return elf.sections.length <= 1; // no section headers: parsed as notes by the reader
  if (secs.some((s) => s.type !== SHT.NOTE || (s.flags & 5n) !== 0n)) return false;
  // The note sections must cover the whole range (gaps would be unexplained bytes).
  let pos = p.offset;
  for (const s of [...secs].sort((x, y) => x.offset - y.offset)) {
    if (s.offset > pos) return false;
    pos = Math.max(pos, s.offset + s.size);
  }
  return pos >= p.offset + p.filesz;
}

/** Removable allocated ranges (virtual addresses): allocated notes and notes-only segments. */
export interface RemovableRange {
  vaddr: bigint;
  size: number;
  offset: number;
  label: string;
}

export function removableAllocRanges(elf: ElfFile): RemovableRange[] {
  const out: RemovableRange[] = [];
  for (const s of elf.sections) {
    if (s.type === SHT.NOTE && isAlloc(s) && s.size > 0 && (s.flags & 5n) === 0n) {
      out.push({ vaddr: s.addr, size: s.size, offset: s.offset, label: s.name });
    }
  }
  for (const p of elf.segments) {
    if (isNotesOnlySegment(elf, p) && p.filesz > 0) {
      out.push({ vaddr: p.vaddr, size: p.filesz, offset: p.offset, label: `PT_NOTE[${p.index}]` });
    }
  }
  return out;
}

/** The loadable segment holding file bytes for [vaddr, vaddr+size), if any. */
export function loadFor(elf: ElfFile, vaddr: bigint, size: number): ProgramHeader | undefined {
  return elf.segments.find(
    (p) => p.type === PT.LOAD && vaddr >= p.vaddr && vaddr + BigInt(size) <= p.vaddr + BigInt(p.filesz),
  );
}

export function fileOffsetOf(p: ProgramHeader, vaddr: bigint): number {
  return p.offset + Number(vaddr - p.vaddr);
}

/** Non-NUL bytes of the section name table that no section name uses (hidden data). */
export function unusedNameTableBytes(elf: ElfFile, table: Buffer): number {
  const used = new Uint8Array(table.length);
  used[0] = 1;
  for (const s of elf.sections) {
    if (s.index === 0) continue;
    const end = s.nameOffset + Buffer.byteLength(s.name, 'latin1');
    for (let i = s.nameOffset; i <= end && i < table.length; i++) used[i] = 1;
  }
  let n = 0;
  for (let i = 0; i < table.length; i++) if (!used[i] && table[i] !== 0) n++;
  return n;
}
