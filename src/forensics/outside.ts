/**
 * Rule 2: bytes outside the loader's view (symbols, debug info, .comment,
 * other non-allocated sections, the section header table, padding). They may
 * differ only where a section header names them and its kind is in the
 * registry (explanations.ts); a section header is trusted this far only for
 * a section that lies wholly outside every program header's file range.
 * Bytes that nothing accounts for are different when they differ or exist on
 * one side only; the same unaccounted bytes on both sides are observed, not
 * a difference.
 */
import { allZero } from './accounting.js';
import { compareRanges, readClipped } from './bytes.js';
import { hexContext } from './context.js';
import { SHT } from './elf/constants.js';
import { isAlloc, type SectionHeader } from './elf/reader.js';
import { EXPLANATIONS, nonLoadedKind, sectionContext } from './explanations.js';
import type { Findings } from './findings.js';
import { hintFor } from './hints.js';
import { type Interval, mergeIntervals, relation, subtractIntervals } from './loader/intervals.js';
import { prove } from './proofs/index.js';
import { proveSectionHeaderTable } from './proofs/section-headers.js';
import { addContext } from './region-context.js';
import { sectionsByKey } from './sections.js';
import type { Side } from './side.js';
import type { ByteRange, ExplanationKind } from './types.js';

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

interface Outside {
  /** Sections wholly outside the loader's view, by key. */
  sections: Map<string, SectionHeader>;
  kinds: Map<string, ExplanationKind | undefined>;
  /** Sections in a loaded segment's page padding: mapped into memory, never removable. */
  inMemory: Set<string>;
  table?: Interval;
  /** Non-zero bytes nothing accounts for. */
  unaccounted: Interval[];
}

async function outsideOf(s: Side, f: Findings): Promise<Outside> {
  const e = s.elf;
  const ctx = sectionContext(e);
  const sections = new Map<string, SectionHeader>();
  const kinds = new Map<string, ExplanationKind | undefined>();
  const mapped = new Set<string>();
  const named: Interval[] = [...s.view.used];
  let contradictions = 0;
  for (const [key, sec] of sectionsByKey(e)) {
    if (sec.type === SHT.NOBITS || sec.size === 0) continue;
    const rel = relation(s.view.used, sec.offset, sec.offset + sec.size);
    if (rel === 'inside') continue;
    if (rel === 'straddles' || isAlloc(sec)) {
      if (contradictions++ < 10) {
        f.observe({
          region: key,
          detail: `${s.label}'s section header for ${key} contradicts the program headers (${rel === 'straddles' ? 'it straddles the bytes the loader reads' : 'allocated, yet outside every segment'}): its name and type are not trusted`,
          [s.label]: { offset: sec.offset, size: sec.size },
        });
      }
      if (rel === 'straddles') continue;
    }
    // Page padding of a loaded segment is in memory: a section there is not removable.
    const inMemory = relation(s.view.mapped, sec.offset, sec.offset + sec.size) !== 'outside';
    if (inMemory && !isAlloc(sec) && contradictions++ < 10) {
      f.observe({
        region: key,
        detail: `${s.label}'s section ${key} lies in the page padding of a loaded segment, which is mapped into memory: it is compared as loaded bytes, not as a removable section`,
        [s.label]: { offset: sec.offset, size: sec.size },
      });
    }
    if (inMemory) mapped.add(key);
    sections.set(key, sec);
    kinds.set(key, isAlloc(sec) || inMemory ? undefined : nonLoadedKind(sec, ctx));
    named.push({ start: sec.offset, end: sec.offset + sec.size });
  }
  let table: Interval | undefined;
  if (e.sections.length > 0) {
    table = {
      start: e.header.shoff,
      end: Math.min(e.size, e.header.shoff + e.sections.length * e.header.shentsize),
    };
    named.push(table);
  }
  const gaps = subtractIntervals([{ start: 0, end: e.size }], mergeIntervals(named));
  const unaccounted: Interval[] = [];
  for (const g of gaps) if (!(await allZero(s.src, g.start, g.end - g.start))) unaccounted.push(g);
  return { sections, kinds, inMemory: mapped, ...(table ? { table } : {}), unaccounted };
}

const range = (s: SectionHeader): ByteRange => ({ offset: s.offset, size: s.size });

export interface OutsideOptions {
  context: boolean;
  /**
   * Prove the contents of the sections a kind explains (default true). Off
   * only where both files are ours: the rebuilt file against its own
   * simulated post-processing.
   */
  prove?: boolean;
}

export async function compareOutside(a: Side, b: Side, f: Findings, opts: OutsideOptions): Promise<void> {
  const withContext = opts.context;
  for (const s of [a, b]) {
    if (s.elf.sectionProblem) {
      f.observe({
        region: 'section headers',
        detail: `${s.label}'s section headers were set aside (${s.elf.sectionProblem}): ${s.label} is judged on its program headers alone`,
      });
    } else if (s.elf.sections.length === 0) {
      f.observe({
        region: 'section headers',
        detail: `${s.label} has no section header table: it is judged on its program headers alone`,
      });
    }
  }
  for (const s of [a, b])
    for (const problem of s.elf.noteProblems ?? [])
      f.observe({ region: 'notes', detail: `${s.label}'s notes were left unread: ${problem}` });
  const [oa, ob] = [await outsideOf(a, f), await outsideOf(b, f)];
  await compareSections(a, oa, b, ob, f, withContext, opts.prove !== false);
  // The section header table describes sections that are compared one by one,
  // unless it sits in memory (a loaded segment's page padding).
  const tableInMemory = (s: Side, t: Interval | undefined) =>
    t !== undefined && relation(s.view.mapped, t.start, t.end) !== 'outside';
  if (tableInMemory(a, oa.table) || tableInMemory(b, ob.table)) {
    const same =
      oa.table &&
      ob.table &&
      oa.table.start === ob.table.start &&
      (
        await compareRanges(
          a.src,
          oa.table.start,
          oa.table.end - oa.table.start,
          b.src,
          ob.table.start,
          ob.table.end - ob.table.start,
        )
      ).equal;
    if (!same) {
      f.diff({
        region: 'section header table',
        detail:
          'the section header tables differ and one lies in the page padding of a loaded segment, which is mapped into memory',
        ...(oa.table ? { a: { offset: oa.table.start, size: oa.table.end - oa.table.start } } : {}),
        ...(ob.table ? { b: { offset: ob.table.start, size: ob.table.end - ob.table.start } } : {}),
      });
    }
  } else if (oa.table && ob.table) {
    const la = oa.table.end - oa.table.start;
    const lb = ob.table.end - ob.table.start;
    if (
      !(await compareRanges(a.src, oa.table.start, la, b.src, ob.table.start, lb)).equal &&
      tablesProven(f, [a, oa], [b, ob])
    ) {
      f.explanations.add(
        'layout',
        `section header table differs (a ${a.elf.sections.length}, b ${b.elf.sections.length} entries)`,
      );
    }
  } else if ((oa.table || ob.table) && tablesProven(f, [a, oa], [b, ob])) {
    f.explanations.add('layout', `section header table only in ${oa.table ? 'a' : 'b'}`);
  }
  await compareUnaccounted(a, oa, b, ob, f, withContext);
}

/**
 * Whether each side's section header table (where it has one) holds only
 * what toolchains write; a table that does not is a difference, named with
 * the reason, and its bytes are not explained.
 */
function tablesProven(f: Findings, ...sides: Array<[Side, Outside]>): boolean {
  let ok = true;
  for (const [s, o] of sides) {
    if (!o.table) continue;
    const reason = proveSectionHeaderTable(s.elf);
    if (reason === undefined) continue;
    ok = false;
    f.diff({
      region: 'section header table',
      detail: `${s.label}'s section header table is not what a linker, objcopy or strip writes: ${reason}; its ${o.table.end - o.table.start} byte(s) are not explained`,
      [s.label]: { offset: o.table.start, size: o.table.end - o.table.start },
    });
  }
  return ok;
}

async function sameBytes(a: Side, sa: SectionHeader, b: Side, sb: SectionHeader): Promise<boolean> {
  return (
    sa.size === sb.size && (await compareRanges(a.src, sa.offset, sa.size, b.src, sb.offset, sb.size)).equal
  );
}

/**
 * How many bytes of proven non-loaded sections a side may carry that the
 * other does not match: DEBUG_RATIO times the bytes its program headers
 * cover, plus DEBUG_SLACK. Debug information of real programs is a few
 * times their code (tens of times for template-heavy C++); a file whose
 * "debug information" dwarfs everything it loads is carrying something else.
 */
export const DEBUG_RATIO = 64;
export const DEBUG_SLACK = 1 << 20;

function loadedBytes(s: Side): number {
  let n = 0;
  for (const i of s.view.used) n += i.end - i.start;
  return n;
}

/**
 * Whether a section of a kind proves out on its side; when it does not, the
 * difference names the section and why, and its bytes are not explained.
 */
async function proven(
  s: Side,
  key: string,
  sec: SectionHeader,
  kind: ExplanationKind,
  budget: Map<Side, number>,
  f: Findings,
): Promise<boolean> {
  const spec = EXPLANATIONS[kind];
  if (!spec.proves) return true;
  const left = (budget.get(s) ?? 0) - sec.size;
  budget.set(s, left);
  const outcome =
    left < 0
      ? {
          proven: false as const,
          reason: `with it, ${s.label}'s unmatched non-loaded sections exceed ${DEBUG_RATIO}× the ${loadedBytes(s)} bytes its program headers cover (+${DEBUG_SLACK} bytes), more than real ${spec.label} takes`,
        }
      : await prove(s.elf, s.src, sec, spec.proves, spec.compressed?.(sec) ?? false);
  if (outcome.proven) return true;
  f.diff({
    region: key,
    detail: `${s.label}'s ${key} is named as ${spec.label} but its contents do not prove out: ${outcome.reason}; its ${sec.size} byte(s) are not explained`,
    [s.label]: range(sec),
  });
  return false;
}

async function compareSections(
  a: Side,
  oa: Outside,
  b: Side,
  ob: Outside,
  f: Findings,
  withContext: boolean,
  proveContents: boolean,
) {
  const budget = new Map<Side, number>([
    [a, DEBUG_RATIO * loadedBytes(a) + DEBUG_SLACK],
    [b, DEBUG_RATIO * loadedBytes(b) + DEBUG_SLACK],
  ]);
  for (const key of new Set([...oa.sections.keys(), ...ob.sections.keys()])) {
    const sa = oa.sections.get(key);
    const sb = ob.sections.get(key);
    const ka = oa.kinds.get(key);
    const kb = ob.kinds.get(key);
    const kind = sa && sb ? (ka === kb ? ka : undefined) : (ka ?? kb);
    if (kind === 'layout') await checkNameTables(a, sa, b, sb, key, f);
    if (sa && sb && (await sameBytes(a, sa, b, sb))) continue;
    let note: string | undefined;
    if (kind && proveContents) {
      // Both sides' copies must prove out (each is checked, each failure named).
      const okA = !sa || ka !== kind || (await proven(a, key, sa, kind, budget, f));
      const okB = !sb || kb !== kind || (await proven(b, key, sb, kind, budget, f));
      if (!okA || !okB) continue;
      const paired = await pairwise(a, sa, b, sb, key, kind, f);
      if (paired === false) continue;
      note = paired;
    }
    if (kind) {
      if (sa && sb)
        f.explanations.add(
          kind,
          `${key} differs (${sa.size} and ${sb.size} bytes${note ? `; ${note}` : ''})`,
        );
      else f.explanations.add(kind, `${key} only in ${sa ? 'a' : 'b'} (${(sa ?? sb)!.size} bytes)`);
      continue;
    }
    const where =
      oa.inMemory.has(key) || ob.inMemory.has(key)
        ? 'in the page padding of a loaded segment, mapped into memory'
        : 'outside the loaded image';
    if (!sa || !sb) {
      const s = (sa ?? sb)!;
      f.diff({
        region: key,
        detail: `section only in ${sa ? 'a' : 'b'} (${isAlloc(s) ? 'allocated' : 'not allocated'}, type ${s.type}, ${s.size} bytes, ${where})`,
        ...(sa ? { a: range(sa) } : { b: range(sb!) }),
      });
      continue;
    }
    const r = await compareRanges(a.src, sa.offset, sa.size, b.src, sb.offset, sb.size);
    const first = r.first ?? 0;
    const d = {
      region: key,
      detail:
        ka !== kb
          ? `section kinds differ (a ${ka ?? 'not removable'}, b ${kb ?? 'not removable'}) and contents differ: ${r.differing} byte(s)`
          : `contents differ: ${r.differing} byte(s), the first at offset ${hex(first)} of the section (${where === 'outside the loaded image' ? 'not loaded' : where})`,
      a: range(sa),
      b: range(sb),
      firstDifference: first,
      differingBytes: r.differing,
    };
    f.drawLater(() =>
      addContext(
        d,
        a.src,
        b.src,
        b.elf,
        { name: key, offA: sa.offset, lenA: sa.size, offB: sb.offset, lenB: sb.size, exec: false },
        first,
        withContext,
      ),
    );
    f.diff(d);
  }
}

/**
 * The pairwise judgement of a kind that has one: a's section against b's
 * when both differ, and a's alone when b has none. False when it is a
 * difference (named with the reason), else what was allowed to differ.
 */
async function pairwise(
  a: Side,
  sa: SectionHeader | undefined,
  b: Side,
  sb: SectionHeader | undefined,
  key: string,
  kind: ExplanationKind,
  f: Findings,
): Promise<string | undefined | false> {
  const spec = EXPLANATIONS[kind];
  if (sa && !sb) {
    const why = spec.onlyInA?.(sa);
    if (why === undefined) return undefined;
    f.diff({ region: key, detail: `a's ${key} is not explained: ${why}`, a: range(sa) });
    return false;
  }
  if (!sa || !sb || !spec.pair) return undefined;
  const outcome = await spec.pair({ side: a, section: sa }, { side: b, section: sb });
  if (outcome.same) return outcome.note;
  f.diff({
    region: key,
    detail: `a's ${key} is not explained: ${outcome.reason}; its ${sa.size} byte(s) are not explained`,
    a: range(sa),
    b: range(sb),
  });
  return false;
}

/** Non-NUL bytes of a section name table that no name uses: compared like unaccounted bytes. */
async function checkNameTables(
  a: Side,
  sa: SectionHeader | undefined,
  b: Side,
  sb: SectionHeader | undefined,
  key: string,
  f: Findings,
) {
  const unused = async (s: Side, sec: SectionHeader | undefined) =>
    sec ? unusedBytes(s, await s.src.read(sec.offset, sec.size)) : '';
  const [ua, ub] = await Promise.all([unused(a, sa), unused(b, sb)]);
  if (ua === '' && ub === '') return;
  if (ua === ub) {
    f.observe({
      region: key,
      detail: `the section name tables hold the same ${ua.split(',').length} non-NUL byte(s) that no section name uses, on both sides`,
      ...(sa ? { a: range(sa) } : {}),
      ...(sb ? { b: range(sb) } : {}),
    });
    return;
  }
  for (const [s, sec, u] of [
    [a, sa, ua],
    [b, sb, ub],
  ] as const) {
    if (!sec || u === '') continue;
    f.diff({
      region: key,
      detail: `${s.label}'s section name table holds ${u.split(',').length} non-NUL byte(s) that no section name uses, and the other side's does not hold the same`,
      [s.label]: range(sec),
    });
  }
}

/** Unused non-NUL bytes as `offset:value,…` ('' when none). */
function unusedBytes(s: Side, table: Buffer): string {
  const used = new Uint8Array(table.length);
  if (table.length > 0) used[0] = 1;
  for (const sec of s.elf.sections) {
    if (sec.index === 0) continue;
    const end = sec.nameOffset + Buffer.byteLength(sec.name, 'latin1');
    for (let i = sec.nameOffset; i <= end && i < table.length; i++) used[i] = 1;
  }
  const out: string[] = [];
  for (let i = 0; i < table.length; i++) if (!used[i] && table[i] !== 0) out.push(`${i}:${table[i]}`);
  return out.join(',');
}

async function compareUnaccounted(
  a: Side,
  oa: Outside,
  b: Side,
  ob: Outside,
  f: Findings,
  withContext: boolean,
) {
  const region = (s: Side, g: Interval) => (g.end === s.elf.size ? 'trailing' : 'unaccounted');
  const matched = new Set<Interval>();
  for (const g of oa.unaccounted) {
    const h = ob.unaccounted.find((x) => x.start === g.start && x.end === g.end);
    if (h && (await compareRanges(a.src, g.start, g.end - g.start, b.src, h.start, h.end - h.start)).equal) {
      matched.add(g).add(h);
      f.observe({
        region: region(a, g),
        detail: `both sides hold the same ${g.end - g.start} byte(s) at ${hex(g.start)} that no header, section or segment describes`,
        a: { offset: g.start, size: g.end - g.start },
        b: { offset: h.start, size: h.end - h.start },
      });
    }
  }
  for (const [s, o] of [
    [a, oa],
    [b, ob],
  ] as const) {
    const other = s === a ? b : a;
    for (const g of o.unaccounted) {
      if (matched.has(g)) continue;
      const where = region(s, g);
      const size = g.end - g.start;
      // The same bytes at the same place on the other side (where its headers
      // may name them): nothing this side carries that the other does not.
      if (
        g.end <= other.elf.size &&
        (await compareRanges(s.src, g.start, size, other.src, g.start, size)).equal
      ) {
        f.observe({
          region: where,
          detail: `${s.label} has ${size} byte(s) at ${hex(g.start)} that none of its headers describe; ${other.label} has the same bytes at the same place`,
          [s.label]: { offset: g.start, size },
        });
        continue;
      }
      const d = {
        region: where,
        detail:
          where === 'trailing'
            ? `${s.label} has ${size} byte(s) after the end of its ELF image (at ${hex(g.start)}) that the other side does not have`
            : `${s.label} has ${size} byte(s) at ${hex(g.start)} that no header, section or segment describes, and they are not zero padding`,
        [s.label]: { offset: g.start, size },
      } as const;
      const out = { ...d } as import('./types.js').Difference;
      if (withContext) {
        const buf = await readClipped(s.src, g.start, 64);
        const empty = Buffer.alloc(0);
        out.context = s.label === 'a' ? hexContext(buf, empty, 0) : hexContext(empty, buf, 0);
        const hint = s.label === 'a' ? hintFor(buf, empty, 0, true) : hintFor(empty, buf, 0, true);
        if (hint) out.hint = hint;
      }
      f.diff(out);
    }
  }
}
