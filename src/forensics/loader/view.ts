/**
 * The loader's view of an ELF file: the file bytes the kernel and the
 * dynamic loader read. That is the ELF header, the program header table, and
 * every program header's file range (PT_LOAD's mapped bytes, and PT_INTERP,
 * PT_DYNAMIC, PT_NOTE, PT_GNU_PROPERTY, PT_TLS, … wherever they point).
 * Section headers play no part here. Pure.
 */
import { PT } from '../elf/constants.js';
import type { ElfFile, ProgramHeader } from '../elf/reader.js';
import { type Interval, mergeIntervals } from './intervals.js';

export interface LoaderView {
  header: Interval;
  programHeaders: Interval;
  /** Every file byte the kernel or loader reads, merged. */
  used: Interval[];
  /** Bytes of the ELF header that only describe the section header table. */
  sectionTableFields: Interval[];
}

export function headerRange(elf: ElfFile): Interval {
  const h = elf.header;
  return { start: 0, end: Math.min(elf.size, Math.max(h.ehsize, h.class === 64 ? 64 : 52)) };
}

export function programHeaderRange(elf: ElfFile): Interval {
  const h = elf.header;
  if (h.phnum === 0) return { start: 0, end: 0 };
  return { start: h.phoff, end: Math.min(elf.size, h.phoff + h.phnum * h.phentsize) };
}

/** e_shoff, e_shentsize, e_shnum, e_shstrndx: not read by the kernel or ld.so. */
export function sectionTableFieldBytes(elf: ElfFile): Interval[] {
  return elf.header.class === 64
    ? [
        { start: 40, end: 48 },
        { start: 58, end: 64 },
      ]
    : [
        { start: 32, end: 36 },
        { start: 46, end: 52 },
      ];
}

export function fileRange(p: ProgramHeader): Interval {
  return { start: p.offset, end: p.offset + p.filesz };
}

export function loaderView(elf: ElfFile): LoaderView {
  const header = headerRange(elf);
  const programHeaders = programHeaderRange(elf);
  const ranges: Interval[] = [header, programHeaders];
  for (const p of elf.segments) if (p.type !== PT.NULL && p.filesz > 0) ranges.push(fileRange(p));
  return {
    header,
    programHeaders,
    used: mergeIntervals(ranges),
    sectionTableFields: sectionTableFieldBytes(elf),
  };
}

/** The first PT_LOAD whose file range holds `offset` (else any program header), for naming. */
export function segmentAt(elf: ElfFile, offset: number): ProgramHeader | undefined {
  let other: ProgramHeader | undefined;
  for (const p of elf.segments) {
    if (p.filesz === 0 || offset < p.offset || offset >= p.offset + p.filesz) continue;
    if (p.type === PT.LOAD) return p;
    other ??= p;
  }
  return other;
}
