/**
 * The loader's view of an ELF file: the file bytes the kernel and the
 * dynamic loader read. That is the ELF header, the program header table, and
 * every program header's file range (PT_LOAD's mapped bytes, and PT_INTERP,
 * PT_DYNAMIC, PT_NOTE, PT_GNU_PROPERTY, PT_TLS, … wherever they point).
 * Section headers play no part here. Pure.
 */
import { PF, PT } from '../elf/constants.js';
import type { ElfFile, ProgramHeader } from '../elf/reader.js';
import { type Interval, mergeIntervals } from './intervals.js';

export interface LoaderView {
  header: Interval;
  programHeaders: Interval;
  /** Every file byte the kernel or loader reads, merged. */
  used: Interval[];
  /** Bytes of the ELF header that only describe the section header table. */
  sectionTableFields: Interval[];
  /**
   * Every file byte a PT_LOAD maps into memory: its file range widened to
   * whole pages (the kernel and ld.so map pages, so padding before and after
   * a segment's bytes sits in memory with the segment's permissions), except
   * the bss tail of a writable segment, which both zero. Merged.
   */
  mapped: Interval[];
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

const EM_386 = 3;
const EM_X86_64 = 62;

/** The largest page the kernel may map this segment with (x86 kernels use 4 KiB pages only). */
function pageSize(elf: ElfFile, p: ProgramHeader): number {
  if (elf.header.machine === EM_386 || elf.header.machine === EM_X86_64) return 4096;
  const align = p.align > 65536n ? 65536 : Number(p.align);
  return Math.max(4096, align);
}

/** The file bytes one PT_LOAD puts in memory, page rounding included. */
export function mappedRange(elf: ElfFile, p: ProgramHeader): Interval {
  const page = pageSize(elf, p);
  const end = p.offset + p.filesz;
  // The kernel zeroes a bss tail only in a writable segment (zeroing a read-only page fails quietly).
  const zeroedTail = p.memsz > BigInt(p.filesz) && (p.flags & PF.W) !== 0;
  return {
    start: p.offset - (p.offset % page),
    end: Math.min(elf.size, zeroedTail ? end : Math.ceil(end / page) * page),
  };
}

/** The file bytes every PT_LOAD puts in memory, merged. */
export function mappedRanges(elf: ElfFile): Interval[] {
  return mergeIntervals(
    elf.segments.filter((p) => p.type === PT.LOAD && p.filesz > 0).map((p) => mappedRange(elf, p)),
  );
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
    mapped: mappedRanges(elf),
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
