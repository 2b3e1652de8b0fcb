/**
 * Rule 1: the loader's view decides. Every byte the kernel or the dynamic
 * loader reads (ELF header, program header table, every program header's
 * file range) must be equal on both sides, at the same file offsets, with
 * exactly two exceptions, each proven without section headers:
 *  - the ELF header fields that only locate the section header table
 *    (e_shoff, e_shentsize, e_shnum, e_shstrndx), which neither the kernel
 *    nor ld.so reads;
 *  - build-id descriptors (./buildid.ts).
 * Since the program headers and every mapped byte are equal, so is
 * everything derived from them: entry point, interpreter, dynamic section
 * and what it points at (DT_NEEDED, rpath/runpath, init/fini arrays,
 * relocations, symbol versions, GOT initial values), bss sizes, permissions.
 * Section headers only name the regions found to differ (the rebuilt side's
 * first: it is ours).
 */
import { compareRanges } from '../bytes.js';
import { flagsString, PT, segmentTypeName } from '../elf/constants.js';
import type { ElfFile, ProgramHeader } from '../elf/reader.js';
import type { Findings } from '../findings.js';
import { addContext, type Region } from '../region-context.js';
import { sectionsByKey } from '../sections.js';
import { type NamedRange, namesIn, type Side } from '../side.js';
import type { Difference } from '../types.js';
import { buildIdExemptions, type RefusedBuildId } from './buildid.js';
import { type Interval, mergeIntervals, subtractIntervals } from './intervals.js';
import { segmentAt } from './view.js';

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

export interface LoadedOptions {
  context: boolean;
}

export async function compareLoaded(a: Side, b: Side, f: Findings, opts: LoadedOptions): Promise<void> {
  await compareElfHeaders(a, b, f);
  const phdrsEqual = await compareProgramHeaderTables(a, b, f);
  const fixed = mergeIntervals([a.view.header, a.view.programHeaders, b.view.header, b.view.programHeaders]);
  let exempt: Interval[] = [];
  let refused: RefusedBuildId[] = [];
  if (phdrsEqual) {
    const ids = await buildIdExemptions(a, b);
    refused = ids.refused;
    for (const e of ids.exempt) {
      const len = e.end - e.start;
      const [da, db] = await Promise.all([a.src.read(e.start, len), b.src.read(e.start, len)]);
      if (!da.equals(db)) {
        f.explanations.add(
          'build-id',
          `descriptor of the ${e.owner} build-id note in ${e.where} at ${hex(e.start)} (a ${da.toString('hex')}, b ${db.toString('hex')})`,
        );
      }
    }
    exempt = mergeIntervals(ids.exempt);
  }
  const used = mergeIntervals([...a.view.used, ...b.view.used]);
  const pieces = subtractIntervals(subtractIntervals(used, fixed), exempt);
  const byRegion = new Map<string, Difference>();
  for (const p of pieces) await comparePiece(a, b, p, f, byRegion, opts);
  // Say why a differing build-id was not excused.
  for (const r of refused) {
    for (const d of byRegion.values()) {
      if (d.a && d.a.offset <= r.start && r.start < d.a.offset + d.a.size) d.detail += ` — ${r.why}`;
    }
  }
}

/** ELF header bytes, all but the section-table fields, which are layout. */
async function compareElfHeaders(a: Side, b: Side, f: Findings): Promise<void> {
  const ha = a.elf.header;
  const hb = b.elf.header;
  const runtime: Array<[string, string, string]> = [
    ['class', `ELF${ha.class}`, `ELF${hb.class}`],
    ['endianness', ha.endian, hb.endian],
    ['EI_VERSION', String(ha.identVersion), String(hb.identVersion)],
    ['EI_OSABI', String(ha.osabi), String(hb.osabi)],
    ['EI_ABIVERSION', String(ha.abiVersion), String(hb.abiVersion)],
    ['EI_PAD', a.elf.identPad, b.elf.identPad],
    ['e_type', a.elf.typeName, b.elf.typeName],
    ['e_machine', a.elf.machineName, b.elf.machineName],
    ['e_version', String(ha.version), String(hb.version)],
    ['e_entry (entry point)', hex(ha.entry), hex(hb.entry)],
    ['e_flags', hex(ha.flags), hex(hb.flags)],
    ['e_phoff (program header table offset, used by the kernel)', hex(ha.phoff), hex(hb.phoff)],
    ['e_ehsize', String(ha.ehsize), String(hb.ehsize)],
    ['e_phentsize', String(ha.phentsize), String(hb.phentsize)],
    ['e_phnum', String(ha.rawPhnum), String(hb.rawPhnum)],
  ];
  const named = runtime.filter(([, va, vb]) => va !== vb).map(([n, va, vb]) => `${n}: a ${va}, b ${vb}`);
  // Raw bytes too, so that nothing in the header escapes the field list.
  const la = a.view.header.end;
  const lb = b.view.header.end;
  const [ra, rb] = await Promise.all([a.src.read(0, la), b.src.read(0, lb)]);
  for (const m of a.view.sectionTableFields) {
    ra.fill(0, Math.min(m.start, la), Math.min(m.end, la));
    rb.fill(0, Math.min(m.start, lb), Math.min(m.end, lb));
  }
  if (named.length > 0) {
    for (const n of named) f.diff({ region: 'header', detail: `ELF header ${n}` });
  } else if (!ra.equals(rb)) {
    f.diff({
      region: 'header',
      detail: `ELF header bytes differ (${la} and ${lb} bytes)`,
      a: { offset: 0, size: la },
      b: { offset: 0, size: lb },
    });
  }
  const layout: Array<[string, string, string]> = [
    ['e_shoff', hex(ha.shoff), hex(hb.shoff)],
    ['e_shnum', String(ha.rawShnum), String(hb.rawShnum)],
    ['e_shentsize', String(ha.shentsize), String(hb.shentsize)],
    ['e_shstrndx', String(ha.rawShstrndx), String(hb.rawShstrndx)],
  ];
  const moved = layout.filter(([, va, vb]) => va !== vb).map(([n, va, vb]) => `${n} a ${va}, b ${vb}`);
  if (moved.length > 0) {
    f.explanations.add('layout', `ELF header fields locating the section header table: ${moved.join('; ')}`);
  }
}

/** The program header tables, byte for byte; true when equal. */
async function compareProgramHeaderTables(a: Side, b: Side, f: Findings): Promise<boolean> {
  const ia = a.view.programHeaders;
  const ib = b.view.programHeaders;
  const [ta, tb] = await Promise.all([
    a.src.read(ia.start, ia.end - ia.start),
    b.src.read(ib.start, ib.end - ib.start),
  ]);
  if (ta.equals(tb)) return true;
  const details = describeProgramHeaderDifferences(a.elf, b.elf);
  if (details.length === 0) details.push('program header tables differ');
  for (const d of details.slice(0, 20)) f.diff({ region: 'header', detail: d });
  if (details.length > 20)
    f.diff({ region: 'header', detail: `… and ${details.length - 20} more program header differences` });
  return false;
}

function describeProgramHeaderDifferences(a: ElfFile, b: ElfFile): string[] {
  const byType = (list: ProgramHeader[]) => {
    const m = new Map<number, ProgramHeader[]>();
    for (const p of list) {
      const l = m.get(p.type);
      if (l) l.push(p);
      else m.set(p.type, [p]);
    }
    return m;
  };
  const ma = byType(a.segments);
  const mb = byType(b.segments);
  const out: string[] = [];
  if (a.segments.length !== b.segments.length) {
    out.push(`program header count: a ${a.segments.length}, b ${b.segments.length}`);
  }
  const flagText = (x: number) => (x & ~7 ? `${flagsString(x)} (${hex(x)})` : flagsString(x));
  for (const t of new Set([...ma.keys(), ...mb.keys()])) {
    const la = ma.get(t) ?? [];
    const lb = mb.get(t) ?? [];
    const name = segmentTypeName(t);
    for (let i = 0; i < Math.max(la.length, lb.length) && out.length < 40; i++) {
      const pa = la[i];
      const pb = lb[i];
      const label = `program header ${name}${la.length > 1 || lb.length > 1 ? `[${i}]` : ''}`;
      if (!pa || !pb) {
        out.push(`${label} only in ${pa ? 'a' : 'b'}`);
        continue;
      }
      const fields: string[] = [];
      const cmp = (field: string, va: string, vb: string) => {
        if (va !== vb) fields.push(`${field} a ${va}, b ${vb}`);
      };
      cmp('p_flags', flagText(pa.flags), flagText(pb.flags));
      cmp('p_offset', hex(pa.offset), hex(pb.offset));
      cmp('p_vaddr', hex(pa.vaddr), hex(pb.vaddr));
      cmp('p_paddr', hex(pa.paddr), hex(pb.paddr));
      cmp('p_filesz', hex(pa.filesz), hex(pb.filesz));
      cmp('p_memsz', hex(pa.memsz), hex(pb.memsz));
      cmp('p_align', hex(pa.align), hex(pb.align));
      if (pa.index !== pb.index) fields.push(`position a ${pa.index}, b ${pb.index}`);
      if (fields.length > 0) out.push(`${label}: ${fields.join('; ')}`);
    }
  }
  return out;
}

/**
 * Compares one loaded piece; on a difference, names it by sections (the
 * rebuilt side's first). The piece is split wherever either side's sections
 * begin or end, so that each side's own section (or segment) at the
 * differing bytes is known: in unrelated files they are not the same, and
 * each side is labelled with its own (`names`).
 */
async function comparePiece(
  a: Side,
  b: Side,
  p: Interval,
  f: Findings,
  byRegion: Map<string, Difference>,
  opts: LoadedOptions,
): Promise<void> {
  const clip = (s: Side, x: number) => Math.max(0, Math.min(x, s.elf.size));
  const len = (s: Side, lo: number, hi: number) => clip(s, hi) - clip(s, lo);
  // Only where the first difference is: the parts count the differing bytes from there on.
  const whole = await compareRanges(
    a.src,
    p.start,
    len(a, p.start, p.end),
    b.src,
    p.start,
    len(b, p.start, p.end),
    true,
  );
  if (whole.equal) return;
  const parts: Part[] = [];
  for (const onB of splitByNames(b, p.start, p.end)) {
    for (const onA of splitByNames(a, onB.start, onB.end)) {
      parts.push({
        start: onA.start,
        end: onA.end,
        ...(onA.named ? { a: onA.named } : {}),
        ...(onB.named ? { b: onB.named } : {}),
      });
    }
  }
  // Bytes before the piece's first difference were found equal on both sides (within both
  // files): the parts are compared from there on, and not read again before it.
  const known = p.start + (whole.first ?? 0);
  for (const part of parts) {
    if (part.end <= known) continue;
    const from = Math.max(part.start, known);
    const rest = await compareRanges(
      a.src,
      from,
      len(a, from, part.end),
      b.src,
      from,
      len(b, from, part.end),
    );
    if (rest.equal) continue;
    const r = { ...rest, first: from - part.start + (rest.first ?? 0) };
    const segA = segmentAt(a.elf, part.start);
    const segB = segmentAt(b.elf, part.start);
    const seg = segB ?? segA;
    // Named by the rebuilt side's section first (ours), then the published side's.
    const named = part.b ?? part.a;
    const region = named ? sectionName(part.b ? b : a, named) : `segment:${seg?.index ?? 'none'}`;
    // The region as a whole (a section, or this run of bytes no section covers).
    const start = named ? named.section.offset : part.start;
    const size = named ? named.section.size : part.end - part.start;
    const first = part.start - start + (r.first ?? 0);
    // One difference per byte range: a's .dynamic and b's .dynamic at other offsets are two
    // (merged by name, their counts added up past the section's size).
    const key = `${region}@${start}`;
    const prev = byRegion.get(key);
    if (prev) {
      prev.differingBytes = (prev.differingBytes ?? 0) + r.differing;
      const [pa, pb] = segmentsOf.get(prev) ?? [segA, segB];
      prev.detail = describe(
        region,
        named !== undefined,
        prev.differingBytes,
        prev.firstDifference ?? 0,
        pa,
        pb,
        start,
        size,
      );
      continue;
    }
    // Each side's own name for these bytes (its section, else the segment that loads them).
    const own = (side: Side, n: NamedRange | undefined, sg: ProgramHeader | undefined) =>
      n
        ? sectionName(side, n)
        : part.start >= side.elf.size
          ? 'past the end of the file'
          : sg
            ? `segment:${sg.index}`
            : 'no segment';
    const nameA = own(a, part.a, segA);
    const nameB = own(b, part.b, segB);
    const d: Difference = {
      region,
      detail: describe(region, named !== undefined, r.differing, first, segA, segB, start, size),
      a: { offset: start, size: Math.max(0, Math.min(size, a.elf.size - start)) },
      b: { offset: start, size: Math.max(0, Math.min(size, b.elf.size - start)) },
      ...(nameA !== region || nameB !== region ? { names: { a: nameA, b: nameB } } : {}),
      firstDifference: first,
      differingBytes: r.differing,
    };
    const loadExec = seg?.type === PT.LOAD && (seg.flags & 1) !== 0;
    const reg: Region = {
      name: region,
      offA: start,
      lenA: d.a!.size,
      offB: start,
      lenB: d.b!.size,
      exec: loadExec,
      ...(seg?.type === PT.LOAD ? { addr: seg.vaddr + BigInt(start - seg.offset) } : {}),
    };
    f.drawLater(() => addContext(d, a.src, b.src, b.elf, reg, first, opts.context));
    byRegion.set(key, d);
    segmentsOf.set(d, [segA, segB]);
    f.diff(d);
  }
}

/** The segments that load a difference's first differing byte on each side (for its detail when merged). */
const segmentsOf = new WeakMap<Difference, [ProgramHeader | undefined, ProgramHeader | undefined]>();

function sectionName(side: Side, n: NamedRange): string {
  return keyOf(side).get(n.section.index) ?? n.section.name;
}

/** A run of bytes that lies within at most one section of each side. */
interface Part {
  start: number;
  end: number;
  a?: NamedRange;
  b?: NamedRange;
}

function splitByNames(
  side: Side,
  start: number,
  end: number,
): Array<{ start: number; end: number; named?: NamedRange }> {
  const parts: Array<{ start: number; end: number; named?: NamedRange }> = [];
  let pos = start;
  for (const n of namesIn(side, start, end)) {
    if (n.start > pos) parts.push({ start: pos, end: n.start });
    const s = Math.max(pos, n.start);
    const e = Math.min(end, n.end);
    if (e > s) parts.push({ start: s, end: e, named: n });
    pos = Math.max(pos, e);
  }
  if (pos < end) parts.push({ start: pos, end });
  return parts;
}

/** The detail of a difference in loaded bytes; each side's own segment when they are not the same. */
function describe(
  region: string,
  named: boolean,
  differing: number,
  first: number,
  segA: ProgramHeader | undefined,
  segB: ProgramHeader | undefined,
  start: number,
  size: number,
): string {
  const seg = segB ?? segA;
  // One side without a segment here: say so, rather than "read by the loader" (the other side's).
  const ta = segA || !segB ? segText(segA) : 'no segment';
  const tb = segB || !segA ? segText(segB) : 'no segment';
  if (named) {
    return `contents differ: ${differing} byte(s), the first at offset ${hex(first)} of the section (loaded: ${ta === tb ? tb : `b ${tb}, a ${ta}`})`;
  }
  const at = seg ? ` at ${hex(seg.vaddr + BigInt(start - seg.offset))}` : '';
  const inA = ta === tb ? '' : `; in a: ${ta}`;
  return `${differing} byte(s) of ${segText(seg)}${at} (${size} bytes no section covers, at file offset ${hex(start)}${inA}) differ${region ? '' : ''}`;
}

function segText(seg: ProgramHeader | undefined): string {
  if (!seg) return 'read by the loader';
  return `${segmentTypeName(seg.type)} segment ${seg.index}${seg.type === PT.LOAD ? ` ${flagsString(seg.flags)}` : ''}`;
}

const keyCache = new WeakMap<Side, Map<number, string>>();
function keyOf(s: Side): Map<number, string> {
  let m = keyCache.get(s);
  if (!m) {
    m = new Map();
    for (const [k, sec] of sectionsByKey(s.elf)) m.set(sec.index, k);
    keyCache.set(s, m);
  }
  return m;
}
