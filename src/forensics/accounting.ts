/**
 * Byte accounting: every byte of an ELF file belongs to the ELF header, the
 * program header table, a section's file bytes, the section header table, a
 * loadable segment (bytes between sections that are loaded anyway), zero
 * alignment padding, or nothing (unaccounted non-zero gap bytes, and trailing
 * bytes after the last described range). `planAccounting` is pure; only the
 * zero checks of gaps read the file (streamed).
 */
import { PT, SHT } from './elf/constants.js';
import type { ElfFile } from './elf/reader.js';
import { type ByteSource, chunks } from './elf/source.js';
import type { AccountingSummary, ByteRange } from './types.js';

export type Owner =
  | 'header'
  | 'programHeaders'
  | 'sectionHeaders'
  | 'section'
  | 'segment'
  | 'gap'
  | 'padding'
  | 'unaccounted'
  | 'trailing';

export interface OwnedRange extends ByteRange {
  owner: Owner;
}

/** Priority when ranges overlap: headers first, then sections, then segments. */
const PRIORITY: Owner[] = ['header', 'programHeaders', 'sectionHeaders', 'section', 'segment'];

export interface AccountingInput {
  size: number;
  ehsize: number;
  phoff: number;
  phsize: number;
  shoff: number;
  shsize: number;
  sections: ByteRange[];
  /** Loadable and other segments' file ranges. */
  segments: ByteRange[];
}

export function accountingInput(elf: ElfFile): AccountingInput {
  const h = elf.header;
  return {
    size: elf.size,
    ehsize: Math.min(elf.size, Math.max(h.ehsize, h.class === 64 ? 64 : 52)),
    phoff: h.phoff,
    phsize: h.phnum * h.phentsize,
    shoff: h.shoff,
    shsize: elf.sections.length * h.shentsize,
    sections: elf.sections
      .filter((s) => s.index !== 0 && s.type !== SHT.NOBITS && s.size > 0)
      .map((s) => ({ offset: s.offset, size: s.size })),
    segments: elf.segments
      .filter((p) => p.filesz > 0 && p.type !== PT.NULL)
      .map((p) => ({ offset: p.offset, size: p.filesz })),
  };
}

/**
 * Splits [0, size) into ranges, each with one owner. Gaps (owner `gap`) still
 * need their bytes checked; `trailing` is everything after the last described
 * byte.
 */
export function planAccounting(input: AccountingInput): OwnedRange[] {
  type Ev = { at: number; owner: number; delta: 1 | -1 };
  const evs: Ev[] = [];
  const add = (offset: number, size: number, owner: Owner) => {
    if (size <= 0) return;
    const start = Math.min(offset, input.size);
    const end = Math.min(offset + size, input.size);
    if (end <= start) return;
    const o = PRIORITY.indexOf(owner);
    evs.push({ at: start, owner: o, delta: 1 }, { at: end, owner: o, delta: -1 });
  };
  add(0, input.ehsize, 'header');
  if (input.phsize > 0) add(input.phoff, input.phsize, 'programHeaders');
  if (input.shsize > 0) add(input.shoff, input.shsize, 'sectionHeaders');
  for (const s of input.sections) add(s.offset, s.size, 'section');
  for (const s of input.segments) add(s.offset, s.size, 'segment');
  evs.sort((x, y) => x.at - y.at);
  const active = new Array<number>(PRIORITY.length).fill(0);
  const out: OwnedRange[] = [];
  let lastEnd = 0;
  for (const e of evs) lastEnd = Math.max(lastEnd, e.at);
  const push = (offset: number, end: number, owner: Owner) => {
    if (end <= offset) return;
    const prev = out[out.length - 1];
    if (prev && prev.owner === owner && prev.offset + prev.size === offset) prev.size += end - offset;
    else out.push({ offset, size: end - offset, owner });
  };
  let pos = 0;
  let i = 0;
  while (i < evs.length) {
    const at = evs[i]!.at;
    if (at > pos) {
      const top = active.findIndex((c) => c > 0);
      push(pos, at, top >= 0 ? PRIORITY[top]! : 'gap');
      pos = at;
    }
    while (i < evs.length && evs[i]!.at === at) {
      const e = evs[i]!;
      active[e.owner] = active[e.owner]! + e.delta;
      i++;
    }
  }
  push(pos, lastEnd, 'gap'); // no-op unless lastEnd > pos (cannot happen: events end there)
  push(lastEnd, input.size, 'trailing');
  return out;
}

export interface Accounting {
  summary: AccountingSummary;
  ranges: OwnedRange[];
}

/** True when every byte of [offset, offset+size) is zero (streamed). */
export async function allZero(src: ByteSource, offset: number, size: number): Promise<boolean> {
  for await (const c of chunks(src, offset, size)) {
    for (let i = 0; i < c.length; i++) if (c[i] !== 0) return false;
  }
  return true;
}

/** Accounts for every byte of an ELF file. */
export async function accountBytes(elf: ElfFile): Promise<Accounting> {
  const ranges = planAccounting(accountingInput(elf));
  const summary: AccountingSummary & { segments: number } = {
    header: 0,
    programHeaders: 0,
    sections: 0,
    sectionHeaders: 0,
    segments: 0,
    zeroPadding: 0,
    unaccounted: 0,
    trailing: 0,
    unaccountedRanges: [],
  };
  const resolved: OwnedRange[] = [];
  for (const r of ranges) {
    switch (r.owner) {
      case 'header':
        summary.header += r.size;
        break;
      case 'programHeaders':
        summary.programHeaders += r.size;
        break;
      case 'sectionHeaders':
        summary.sectionHeaders += r.size;
        break;
      case 'section':
        summary.sections += r.size;
        break;
      case 'segment':
        summary.segments += r.size;
        break;
      case 'trailing':
        summary.trailing += r.size;
        summary.unaccountedRanges.push({ offset: r.offset, size: r.size });
        break;
      case 'padding':
      case 'unaccounted':
        break;
      case 'gap':
        if (await allZero(elf.source, r.offset, r.size)) {
          summary.zeroPadding += r.size;
        } else {
          summary.unaccounted += r.size;
          summary.unaccountedRanges.push({ offset: r.offset, size: r.size });
          resolved.push({ ...r, owner: 'unaccounted' });
          continue;
        }
        resolved.push({ ...r, owner: 'padding' });
        continue;
    }
    resolved.push(r);
  }
  return { summary, ranges: resolved };
}
