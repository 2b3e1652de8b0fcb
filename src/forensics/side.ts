/** One side of a comparison (a = published, b = rebuilt) and the facts reported about it. */
import { type Accounting, accountBytes } from './accounting.js';
import { checkBuildId } from './buildid.js';
import { SHT } from './elf/constants.js';
import type { ElfFile, SectionHeader } from './elf/reader.js';
import type { ByteSource } from './elf/source.js';
import { hardeningOf } from './hardening.js';
import { layoutOf } from './layout.js';
import { type LoaderView, loaderView } from './loader/view.js';
import type { ElfFacts, Hardening } from './types.js';

export interface Side {
  label: 'a' | 'b';
  path: string;
  src: ByteSource;
  elf: ElfFile;
  acc: Accounting;
  hardening: Hardening;
  view: LoaderView;
  /** Non-overlapping named file ranges from the section headers (hints for naming only), by offset. */
  names: NamedRange[];
}

export interface NamedRange {
  start: number;
  end: number;
  section: SectionHeader;
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

export async function makeSide(label: 'a' | 'b', elf: ElfFile): Promise<Side> {
  const [acc, hardening] = await Promise.all([accountBytes(elf), hardeningOf(elf)]);
  return {
    label,
    path: elf.path,
    src: elf.source,
    elf,
    acc,
    hardening,
    view: loaderView(elf),
    names: namedRanges(elf.sections),
  };
}

/** Sections with file bytes, sorted, overlaps cut (the earlier section keeps its bytes). */
function namedRanges(sections: readonly SectionHeader[]): NamedRange[] {
  const list = sections
    .filter((s) => s.index !== 0 && s.type !== SHT.NOBITS && s.size > 0)
    .sort((x, y) => x.offset - y.offset || x.index - y.index);
  const out: NamedRange[] = [];
  let pos = 0;
  for (const s of list) {
    const start = Math.max(pos, s.offset);
    const end = s.offset + s.size;
    if (end <= start) continue;
    out.push({ start, end, section: s });
    pos = end;
  }
  return out;
}

/** Named ranges overlapping [start, end), in order. */
export function namesIn(side: Side, start: number, end: number): NamedRange[] {
  const n = side.names;
  let lo = 0;
  let hi = n.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (n[mid]!.end <= start) lo = mid + 1;
    else hi = mid;
  }
  const out: NamedRange[] = [];
  for (let i = lo; i < n.length && n[i]!.start < end; i++) out.push(n[i]!);
  return out;
}

/** `gnuLdBuildId`: GNU ld's build-id hash when the hash pass took it, null when it need not be (see checkBuildId). */
export async function elfFacts(s: Side, gnuLdBuildId?: string | null): Promise<ElfFacts> {
  const bid = await checkBuildId(s.elf, gnuLdBuildId);
  const e = s.elf;
  const facts: ElfFacts = {
    class: e.header.class,
    endian: e.header.endian,
    machine: e.machineName,
    type: e.typeName,
    entry: hex(e.header.entry),
    sections: e.sections.length,
    segments: e.segments.length,
    hardening: s.hardening,
    accounting: s.acc.summary,
    layout: layoutOf(e),
  };
  if (bid.buildId !== undefined) {
    facts.buildId = bid.buildId;
    facts.buildIdMatches = bid.matches;
    if (bid.status) facts.buildIdStatus = bid.status;
  }
  return facts;
}
