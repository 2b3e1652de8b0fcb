/**
 * `compare(a, b)`: a = published, b = rebuilt. Decides identical /
 * equivalent / different, with the reasons (issue 3, "How it decides"):
 *
 * 1. identical bytes → identical;
 * 2. both ELF: the published file equals the rebuilt one after pkgforge's
 *    exact post-processing (simulated with binutils for the machine; also the
 *    symmetric direction) → equivalent, route `post-processing`;
 * 3. both ELF: byte accounting — everything loaded or executed must be equal;
 *    notes, `.comment`, symbol tables and debug sections are removable and
 *    named; anything else, and any unaccounted or trailing byte, is a
 *    difference;
 * 4. otherwise a byte comparison (and a text diff when both are text).
 *
 * Files are read with positioned reads and compared by streaming chunks, so
 * memory stays bounded as files grow.
 */
import { createTwoFilesPatch } from 'diff';
import { hashFile } from '../hash/digest.js';
import { isRebuildError } from '../util/errors.js';
import { type Accounting, accountBytes, allZero } from './accounting.js';
import { checkBuildId } from './buildid.js';
import { compareRanges, readClipped } from './bytes.js';
import { disassemblyContext, hexContext, stringsContext } from './context.js';
import { flagsString, PT, SHT, segmentTypeName } from './elf/constants.js';
import {
  type ElfFile,
  isAlloc,
  isElf,
  isExec,
  type ProgramHeader,
  readElf,
  type SectionHeader,
} from './elf/reader.js';
import { type ByteSource, FileSource } from './elf/source.js';
import { describeHardening, hardeningDiffers, hardeningOf } from './hardening.js';
import { hintFor } from './hints.js';
import { layoutOf } from './layout.js';
import { simulatePkgforgePostProcessing } from './postprocess.js';
import {
  fileOffsetOf,
  isNotesOnlySegment,
  loadFor,
  removableAllocRanges,
  removableKind,
  sectionsByKey,
  unusedNameTableBytes,
} from './sections.js';
import type {
  Comparison,
  DiffContext,
  Difference,
  ElfFacts,
  Explanation,
  ExplanationKind,
  FileFacts,
  Hardening,
  PostProcessingFacts,
} from './types.js';

export interface CompareOptions {
  /** Try pkgforge's post-processing route (default true). */
  postProcessing?: boolean;
  /** Where the post-processing simulation makes its temporary copy. */
  workDir?: string;
  /** Disassembly / text / hex contexts for differences (default true). */
  context?: boolean;
}

interface Side {
  label: 'a' | 'b';
  path: string;
  src: ByteSource;
  elf: ElfFile;
  acc: Accounting;
  hardening: Hardening;
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const MAX_TEXT = 8 << 20;
const MAX_TEXT_DIFF = 1 << 20;
const MAX_DIFFERENCES = 200;

export async function compare(aPath: string, bPath: string, opts: CompareOptions = {}): Promise<Comparison> {
  const started = performance.now();
  const srcA = await FileSource.open(aPath);
  let srcB: FileSource;
  try {
    srcB = await FileSource.open(bPath);
  } catch (err) {
    await srcA.close();
    throw err;
  }
  try {
    return await compareSources(srcA, srcB, opts, started);
  } finally {
    await Promise.all([srcA.close(), srcB.close()]);
  }
}

async function compareSources(
  srcA: FileSource,
  srcB: FileSource,
  opts: CompareOptions,
  started: number,
): Promise<Comparison> {
  const [da, db] = await Promise.all([hashFile(srcA.name), hashFile(srcB.name)]);
  const identical = da.sha256 === db.sha256 && da.size === db.size;
  const [elfA, elfB] = await Promise.all([isElf(srcA), isElf(srcB)]);

  const base = (path: string, d: typeof da): FileFacts => ({
    path,
    size: d.size,
    sha256: d.sha256,
    blake3: d.blake3,
    format: 'binary',
  });
  const a = base(srcA.name, da);
  const b = base(srcB.name, db);
  const done = (c: Omit<Comparison, 'schema' | 'durationMs' | 'a' | 'b'>): Comparison => ({
    schema: 'rebuild.compare/1',
    ...c,
    a,
    b,
    durationMs: Math.round(performance.now() - started),
  });

  if (elfA && elfB && identical) {
    // Same bytes: identical whatever they hold; describe them when they parse.
    try {
      const ea = await readElf(srcA);
      const sa = await side('a', ea);
      const facts = await elfFacts(sa);
      a.format = 'elf';
      a.elf = facts;
      b.format = 'elf';
      b.elf = { ...facts, accounting: { ...facts.accounting } };
      const hardening = { a: sa.hardening, b: sa.hardening, differs: [] };
      return done({ verdict: 'identical', route: 'identical', explanations: [], differences: [], hardening });
    } catch (err) {
      if (!isRebuildError(err)) throw err;
      return done({ verdict: 'identical', route: 'identical', explanations: [], differences: [] });
    }
  }

  if (elfA && elfB) {
    // Malformed input is an error: the message names the file and what is wrong.
    const [ea, eb] = await Promise.all([readElf(srcA), readElf(srcB)]);
    const [sa, sb] = await Promise.all([side('a', ea), side('b', eb)]);
    const [fa, fb] = await Promise.all([elfFacts(sa), elfFacts(sb)]);
    a.format = 'elf';
    a.elf = fa;
    b.format = 'elf';
    b.elf = fb;
    const hardening = {
      a: sa.hardening,
      b: sb.hardening,
      differs: hardeningDiffers(sa.hardening, sb.hardening),
    };
    let postProcessing: PostProcessingFacts | undefined;
    if (opts.postProcessing !== false) {
      const pp = await tryPostProcessing(sa, sb, opts);
      if (pp) {
        postProcessing = pp.facts;
        if (pp.result) {
          return done({
            verdict: pp.result.differences.length === 0 ? 'equivalent' : 'different',
            route: pp.facts.matches ? 'post-processing' : 'accounting',
            explanations: pp.result.explanations,
            differences: pp.result.differences,
            hardening,
            postProcessing,
          });
        }
      }
    }
    const r = await accountingRoute(sa, sb, opts, postProcessing);
    return done({
      verdict: r.differences.length === 0 ? 'equivalent' : 'different',
      route: 'accounting',
      explanations: r.explanations,
      differences: r.differences,
      hardening,
      ...(postProcessing ? { postProcessing } : {}),
    });
  }

  // Not (both) ELF: bytes, and text when both are text.
  const [ta, tb] = await Promise.all([readText(srcA), readText(srcB)]);
  if (elfA) a.format = 'elf';
  else if (ta !== undefined) a.format = 'text';
  if (elfB) b.format = 'elf';
  else if (tb !== undefined) b.format = 'text';
  if (identical) return done({ verdict: 'identical', route: 'identical', explanations: [], differences: [] });
  const differences: Difference[] = [];
  if (elfA !== elfB) {
    differences.push({
      region: 'format',
      detail: `${elfA ? 'a' : 'b'} is an ELF file, ${elfA ? 'b' : 'a'} is not`,
    });
  }
  const r = await compareRanges(srcA, 0, srcA.size, srcB, 0, srcB.size);
  const d: Difference = {
    region: 'content',
    detail: `${r.differing} byte(s) differ${srcA.size !== srcB.size ? ` (sizes ${srcA.size} and ${srcB.size})` : ''}, the first at offset ${hex(r.first ?? 0)}`,
    a: { offset: 0, size: srcA.size },
    b: { offset: 0, size: srcB.size },
    differingBytes: r.differing,
  };
  if (r.first !== undefined) d.firstDifference = r.first;
  let textDiff: string | undefined;
  if (ta !== undefined && tb !== undefined && ta.length <= MAX_TEXT_DIFF && tb.length <= MAX_TEXT_DIFF) {
    textDiff = trimLines(createTwoFilesPatch(srcA.name, srcB.name, ta, tb, '', '', { context: 3 }), 400);
    d.context = { kind: 'text', unified: textDiff };
  } else if (opts.context !== false && r.first !== undefined) {
    d.context = await hexAround(srcA, 0, srcA.size, srcB, 0, srcB.size, r.first);
  }
  if (r.first !== undefined) {
    const [wa, wb] = await Promise.all([
      readClipped(srcA, Math.max(0, r.first - 256), 512),
      readClipped(srcB, Math.max(0, r.first - 256), 512),
    ]);
    const hint = hintFor(wa, wb, Math.min(256, r.first), true);
    if (hint) d.hint = hint;
  }
  differences.push(d);
  return done({
    verdict: 'different',
    route: 'bytes',
    explanations: [],
    differences,
    ...(textDiff !== undefined ? { textDiff } : {}),
  });
}

function trimLines(text: string, max: number): string {
  const lines = text.split('\n');
  return lines.length > max
    ? [...lines.slice(0, max), `… (${lines.length - max} more lines)`].join('\n')
    : text;
}

/** The file as text when it is valid UTF-8 without NUL bytes (and not huge). */
async function readText(src: ByteSource): Promise<string | undefined> {
  if (src.size > MAX_TEXT) return undefined;
  const buf = await src.read(0, src.size);
  if (buf.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return undefined;
  }
}

async function side(label: 'a' | 'b', elf: ElfFile): Promise<Side> {
  const [acc, hardening] = await Promise.all([accountBytes(elf), hardeningOf(elf)]);
  return { label, path: elf.path, src: elf.source, elf, acc, hardening };
}

async function elfFacts(s: Side): Promise<ElfFacts> {
  const bid = await checkBuildId(s.elf);
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
  }
  return facts;
}

// ---------------------------------------------------------------------------
// Route 2: pkgforge's post-processing, simulated.

function looksPostProcessed(e: ElfFile): boolean {
  return (
    e.sections.length > 1 &&
    !e.sections.some(
      (s) =>
        s.name === '.comment' ||
        s.name.startsWith('.note.') ||
        s.type === SHT.SYMTAB ||
        s.name.startsWith('.debug_'),
    )
  );
}

function hasRemovables(e: ElfFile): boolean {
  return e.sections.some(
    (s) =>
      s.name === '.comment' ||
      s.name.startsWith('.note.') ||
      s.type === SHT.SYMTAB ||
      s.name.startsWith('.debug_'),
  );
}

/**
 * Simulates pkgforge's post-processing on the side that still has what it
 * removes. When the result equals the other side byte for byte, that is the
 * verdict (equivalent). When it does not, the other side is compared by
 * accounting against the post-processed copy, so that what the tools change
 * (GNU_RELRO dropped, notes emptied) is not mistaken for a difference.
 */
async function tryPostProcessing(
  a: Side,
  b: Side,
  opts: CompareOptions,
): Promise<{ facts: PostProcessingFacts; result?: RouteResult } | undefined> {
  // input = the unprocessed side, target = the side that looks post-processed.
  let input: Side;
  if (looksPostProcessed(a.elf) && hasRemovables(b.elf)) input = b;
  else if (looksPostProcessed(b.elf) && hasRemovables(a.elf)) input = a;
  else return undefined;
  const target = input === a ? b : a;
  const h = input.elf.header;
  if (input.acc.summary.trailing > 0 || input.acc.summary.unaccounted > 0) {
    // strip would silently drop those bytes: never let that make files "equal".
    return {
      facts: {
        steps: [],
        changes: [],
        matches: false,
        skipped: `${input.label} has bytes no header describes (${input.acc.summary.trailing + input.acc.summary.unaccounted}); strip would drop them, so the post-processing route is not used`,
      },
    };
  }
  const sim = await simulatePkgforgePostProcessing(input.path, {
    machine: h.machine,
    class: h.class,
    endian: h.endian,
    ...(opts.workDir ? { workDir: opts.workDir } : {}),
  });
  if ('skipped' in sim) return { facts: { steps: [], changes: [], matches: false, skipped: sim.skipped } };
  let out: FileSource | undefined;
  try {
    out = await FileSource.open(sim.outputPath);
    const matches =
      out.size === target.src.size && (await compareRanges(out, 0, out.size, target.src, 0, out.size)).equal;
    const facts: PostProcessingFacts = { steps: sim.steps, changes: [], matches, tool: sim.tool };
    let processed: Side;
    try {
      processed = await side(input.label, await readElf(out));
    } catch (err) {
      if (!isRebuildError(err)) throw err;
      return { facts: { ...facts, skipped: `the post-processed copy cannot be read: ${err.message}` } };
    }
    processed.path = input.path;
    // What the tools changed on the input, oriented a → b like everything else.
    const [pa, pb] = input === b ? [processed, b] : [a, processed];
    const made = await accountingRoute(pa, pb, { ...opts, context: false }, undefined);
    const who = `pkgforge's post-processing of ${input.label}`;
    const lost = hardeningDiffers(pa.hardening, pb.hardening).map(
      (f): Explanation => ({
        kind: 'post-processing',
        detail: `${describeHardening(f, pa.hardening, pb.hardening)}: changed by ${who}`,
      }),
    );
    const changes: Explanation[] = [
      ...lost,
      ...made.differences.map(
        (d): Explanation => ({
          kind: 'post-processing',
          detail: `${d.region}: ${d.detail} (made by ${who})`,
          region: d.region,
        }),
      ),
      ...made.explanations.map((e) => (matches ? e : { ...e, detail: `removed by ${who}: ${e.detail}` })),
    ];
    facts.changes = changes.map((e) => e.detail);
    if (matches) return { facts, result: { explanations: changes, differences: [] } };
    // Not the same bytes: compare the target with the post-processed copy.
    const [ra, rb] = input === b ? [a, processed] : [processed, b];
    const r = await accountingRoute(ra, rb, opts, facts);
    const differences = r.differences.map((d) => remapToOriginal(d, input));
    return { facts, result: { explanations: [...changes, ...r.explanations], differences } };
  } finally {
    await out?.close();
    await sim.cleanup();
  }
}

/**
 * A difference found against the post-processed copy: point its range on
 * that side back at the original file (by section name), or drop it.
 */
function remapToOriginal(d: Difference, input: Side): Difference {
  const key = input.label;
  if (!d[key]) return d;
  const { [key]: _dropped, ...rest } = d;
  const s = sectionsByKey(input.elf).get(d.region);
  if (s) return { ...rest, [key]: { offset: s.offset, size: s.type === SHT.NOBITS ? 0 : s.size } };
  return { ...rest, detail: `${d.detail} (in ${key} after the simulated post-processing)` };
}

// ---------------------------------------------------------------------------
// Route 3: byte accounting.

interface RouteResult {
  explanations: Explanation[];
  differences: Difference[];
}

async function accountingRoute(
  a: Side,
  b: Side,
  opts: CompareOptions,
  pp: PostProcessingFacts | undefined,
): Promise<RouteResult> {
  const differences: Difference[] = [];
  const removed = new Map<ExplanationKind, string[]>();
  const note = (kind: ExplanationKind, text: string) => {
    const list = removed.get(kind) ?? [];
    list.push(text);
    removed.set(kind, list);
  };
  const diff = (d: Difference) => {
    if (differences.length < MAX_DIFFERENCES) differences.push(d);
  };

  compareHeaders(a.elf, b.elf, diff, note, pp);
  await compareSections(a, b, diff, note, opts);
  await compareSegmentGaps(a, b, diff);
  await compareRemovableRanges(a, b, diff);
  await compareLeftovers(a, b, diff, opts);

  const explanations: Explanation[] = [];
  const lost = hardeningDiffers(a.hardening, b.hardening);
  const labels: Record<string, string> = {
    'build-id': 'build-id note',
    notes: 'notes',
    comment: '.comment',
    symbols: 'symbol tables',
    debug: 'debug information',
    layout: 'file layout',
  };
  for (const kind of ['notes', 'build-id', 'comment', 'symbols', 'debug', 'layout'] as ExplanationKind[]) {
    const items = removed.get(kind);
    if (!items) continue;
    let detail = `${labels[kind]}: ${items.join('; ')}`;
    if (kind === 'notes') {
      const noteLoss = lost.filter((f) => ['cetIbt', 'cetShstk', 'bti', 'pac'].includes(f));
      if (noteLoss.length > 0) {
        detail += ` — hardening recorded in the property notes differs: ${noteLoss.map((f) => describeHardening(f, a.hardening, b.hardening)).join(', ')}`;
      }
    }
    if (kind === 'build-id') {
      const ia = a.elf.notes.find((n) => n.type === 3 && n.name === 'GNU')?.desc.toString('hex');
      const ib = b.elf.notes.find((n) => n.type === 3 && n.name === 'GNU')?.desc.toString('hex');
      detail += ` (a ${ia ?? 'none'}, b ${ib ?? 'none'})`;
    }
    explanations.push({ kind, detail });
  }
  // Hardening-related explanations first.
  explanations.sort((x, y) => Number(/hardening/.test(y.detail)) - Number(/hardening/.test(x.detail)));
  return { explanations, differences };
}

function compareHeaders(
  a: ElfFile,
  b: ElfFile,
  diff: (d: Difference) => void,
  note: (kind: ExplanationKind, text: string) => void,
  pp: PostProcessingFacts | undefined,
) {
  const ha = a.header;
  const hb = b.header;
  const runtime: Array<[string, string, string]> = [
    ['class', `ELF${ha.class}`, `ELF${hb.class}`],
    ['endianness', ha.endian, hb.endian],
    ['EI_VERSION', String(ha.identVersion), String(hb.identVersion)],
    ['EI_OSABI', String(ha.osabi), String(hb.osabi)],
    ['EI_ABIVERSION', String(ha.abiVersion), String(hb.abiVersion)],
    ['EI_PAD', a.identPad, b.identPad],
    ['e_type', a.typeName, b.typeName],
    ['e_machine', a.machineName, b.machineName],
    ['e_version', String(ha.version), String(hb.version)],
    ['e_entry (entry point)', hex(ha.entry), hex(hb.entry)],
    ['e_flags', hex(ha.flags), hex(hb.flags)],
    ['e_phoff (program header table offset, used by the kernel)', hex(ha.phoff), hex(hb.phoff)],
    ['e_ehsize', String(ha.ehsize), String(hb.ehsize)],
    ['e_phentsize', String(ha.phentsize), String(hb.phentsize)],
  ];
  for (const [name, va, vb] of runtime) {
    if (va !== vb) diff({ region: 'header', detail: `ELF header ${name}: a ${va}, b ${vb}` });
  }
  const layout: Array<[string, string, string]> = [
    ['e_shoff', hex(ha.shoff), hex(hb.shoff)],
    ['e_shnum', String(ha.shnum), String(hb.shnum)],
    ['e_shentsize', String(ha.shentsize), String(hb.shentsize)],
    ['e_shstrndx', String(ha.shstrndx), String(hb.shstrndx)],
  ];
  const moved = layout.filter(([, va, vb]) => va !== vb).map(([n, va, vb]) => `${n} a ${va}, b ${vb}`);
  if (moved.length > 0) note('layout', `section header table (not used at run time): ${moved.join('; ')}`);
  // Section 0 carries nothing but extended counts.
  if (a.section0 !== b.section0) {
    const extended =
      ha.rawShnum === 0 || hb.rawShnum === 0 || ha.rawShstrndx === 0xffff || hb.rawShstrndx === 0xffff;
    if (extended) note('layout', 'section header 0 (extended section counts) differs');
    else diff({ region: 'header', detail: 'section header 0 (reserved, normally all zeros) differs' });
  }

  // Program headers that only describe notes are removable.
  const notesOnly = (e: ElfFile) => e.segments.filter((p) => isNotesOnlySegment(e, p));
  const describe = (list: ProgramHeader[]) =>
    list
      .map(
        (p) =>
          `${segmentTypeName(p.type)} ${hex(p.offset)}+${hex(p.filesz)} at ${hex(p.vaddr)}` +
          ` (flags ${hex(p.flags)}, paddr ${hex(p.paddr)}, memsz ${hex(p.memsz)}, align ${hex(p.align)})`,
      )
      .join(', ') || 'none';
  const na = notesOnly(a);
  const nb = notesOnly(b);
  if (describe(na) !== describe(nb)) {
    note('notes', `program headers describing only notes: a ${describe(na)}; b ${describe(nb)}`);
  }
  // Program headers that matter at run time.
  const keep = (e: ElfFile) => e.segments.filter((p) => !isNotesOnlySegment(e, p));
  const byType = (list: ProgramHeader[]) => {
    const m = new Map<number, ProgramHeader[]>();
    for (const p of list) m.set(p.type, [...(m.get(p.type) ?? []), p]);
    return m;
  };
  const ma = byType(keep(a));
  const mb = byType(keep(b));
  const types = [...new Set([...ma.keys(), ...mb.keys()])];
  for (const t of types) {
    const la = ma.get(t) ?? [];
    const lb = mb.get(t) ?? [];
    const name = segmentTypeName(t);
    for (let i = 0; i < Math.max(la.length, lb.length); i++) {
      const pa = la[i];
      const pb = lb[i];
      const label = `program header ${name}${la.length > 1 || lb.length > 1 ? `[${i}]` : ''}`;
      if (!pa || !pb) {
        let detail = `${label} only in ${pa ? 'a' : 'b'}`;
        if (t === PT.GNU_RELRO && !pa) {
          detail +=
            ": a has no RELRO. pkgforge's objcopy --remove-section='.note.*' drops GNU_RELRO (binutils 2.40)";
          detail += pp?.skipped
            ? `, but the post-processing could not be simulated (${pp.skipped})`
            : pp
              ? ', but simulating it did not reproduce a'
              : '';
        }
        diff({ region: 'header', detail });
        continue;
      }
      const f: string[] = [];
      const quiet: string[] = [];
      const cmp = (field: string, va: string, vb: string, matters = true) => {
        if (va !== vb) (matters ? f : quiet).push(`${field} a ${va}, b ${vb}`);
      };
      const isLoad = t === PT.LOAD;
      const isStack = t === PT.GNU_STACK;
      const isPhdr = t === PT.PHDR;
      const flagText = (x: number) => (x & ~7 ? `${flagsString(x)} (${hex(x)})` : flagsString(x));
      cmp('p_flags', flagText(pa.flags), flagText(pb.flags));
      cmp('p_vaddr', hex(pa.vaddr), hex(pb.vaddr), !isStack);
      cmp('p_filesz', hex(pa.filesz), hex(pb.filesz), !isStack && !isPhdr);
      // PT_PHDR's size follows from the program header count, judged header by header.
      cmp('p_memsz', hex(pa.memsz), hex(pb.memsz), !isPhdr);
      cmp('p_paddr', hex(pa.paddr), hex(pb.paddr), isLoad);
      cmp('p_align', hex(pa.align), hex(pb.align), isLoad);
      // Offsets: for LOAD, the mapping of sections is checked separately; the
      // others must sit where their LOAD maps them (checked separately too).
      cmp('p_offset', hex(pa.offset), hex(pb.offset), false);
      if (f.length > 0) diff({ region: 'header', detail: `${label}: ${f.join('; ')}` });
      if (quiet.length > 0) note('layout', `${label} (fields the loader does not use): ${quiet.join('; ')}`);
    }
  }
  // Everything that is loaded must be in the file where its LOAD segment maps it.
  for (const [label, e] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const problems: string[] = [];
    for (const s of e.sections) {
      if (s.index === 0 || !isAlloc(s) || s.type === SHT.NOBITS || s.size === 0 || s.type === SHT.NOTE)
        continue;
      const load = loadFor(e, s.addr, s.size);
      if (load && fileOffsetOf(load, s.addr) !== s.offset) {
        problems.push(
          `section ${s.name} at file offset ${hex(s.offset)} but its LOAD maps ${hex(s.addr)} from ${hex(fileOffsetOf(load, s.addr))}`,
        );
      }
    }
    for (const p of e.segments) {
      if (p.type === PT.LOAD || p.filesz === 0 || isNotesOnlySegment(e, p) || p.type === PT.GNU_STACK)
        continue;
      const load = loadFor(e, p.vaddr, p.filesz);
      if (load && fileOffsetOf(load, p.vaddr) !== p.offset) {
        problems.push(
          `program header ${segmentTypeName(p.type)} at file offset ${hex(p.offset)} but its LOAD maps ${hex(p.vaddr)} from ${hex(fileOffsetOf(load, p.vaddr))}`,
        );
      }
    }
    for (const pr of problems.slice(0, 10)) diff({ region: 'header', detail: `${label}: ${pr}` });
  }
}

function sectionSummary(s: SectionHeader): string {
  const what = s.type === SHT.NOBITS ? 'no file bytes' : `${s.size} bytes`;
  return `${isAlloc(s) ? 'allocated' : 'not allocated'}, type ${s.type}, ${what}`;
}

async function compareSections(
  a: Side,
  b: Side,
  diff: (d: Difference) => void,
  note: (kind: ExplanationKind, text: string) => void,
  opts: CompareOptions,
) {
  const ka = sectionsByKey(a.elf);
  const kb = sectionsByKey(b.elf);
  const keys = [...new Set([...ka.keys(), ...kb.keys()])];
  for (const key of keys) {
    const sa = ka.get(key);
    const sb = kb.get(key);
    const kindA = sa ? removableKind(a.elf, sa) : undefined;
    const kindB = sb ? removableKind(b.elf, sb) : undefined;
    const kind = sa && sb ? (kindA === kindB ? kindA : undefined) : (kindA ?? kindB);
    const range = (s: SectionHeader) => ({ offset: s.offset, size: s.type === SHT.NOBITS ? 0 : s.size });
    if (kind === 'layout') {
      for (const [sd, s] of [
        [a, sa],
        [b, sb],
      ] as const) {
        if (!s) continue;
        const table = await sd.src.read(s.offset, s.size);
        const unused = unusedNameTableBytes(sd.elf, table);
        if (unused > 0) {
          diff({
            region: key,
            detail: `${sd.label}'s section name table holds ${unused} non-NUL byte(s) that no section name uses`,
            [sd.label]: range(s),
          });
        }
      }
      if (sa && sb && !(await sameContents(a, sa, b, sb))) {
        note(
          'layout',
          `${key} differs (${sa.size} and ${sb.size} bytes) because the sets of sections differ`,
        );
      } else if (sa && sb) {
        const fields = headerFields(a.elf, sa, b.elf, sb, true);
        if (fields.length > 0) note('layout', `${key}: section header ${fields.join('; ')}`);
      } else {
        note('layout', `${key} only in ${sa ? 'a' : 'b'}`);
      }
      continue;
    }
    if (kind) {
      if (!sa || !sb) {
        const s = (sa ?? sb)!;
        note(kind, `${key} only in ${sa ? 'a' : 'b'} (${s.size} bytes${isAlloc(s) ? ', allocated' : ''})`);
      } else {
        const fields = headerFields(a.elf, sa, b.elf, sb, true);
        const same = await sameContents(a, sa, b, sb);
        if (!same) note(kind, `${key} differs (${sa.size} and ${sb.size} bytes)`);
        else if (fields.length > 0) note(kind, `${key}: section header ${fields.join('; ')}`);
      }
      continue;
    }
    if (!sa || !sb) {
      const s = (sa ?? sb)!;
      diff({
        region: key,
        detail: `section only in ${sa ? 'a' : 'b'} (${sectionSummary(s)})`,
        ...(sa ? { a: range(sa) } : { b: range(sb!) }),
      });
      continue;
    }
    // Header fields that matter; the file offset is layout (loaded sections
    // are checked against their LOAD mapping in compareHeaders).
    const f = headerFields(a.elf, sa, b.elf, sb, false);
    if (sa.offset !== sb.offset) {
      note('layout', `${key} moved in the file (offset a ${hex(sa.offset)}, b ${hex(sb.offset)})`);
    }
    const d: Difference = { region: key, detail: '', a: range(sa), b: range(sb) };
    const parts: string[] = [];
    if (sa.type !== SHT.NOBITS && sb.type !== SHT.NOBITS) {
      const r = await compareRanges(a.src, sa.offset, sa.size, b.src, sb.offset, sb.size);
      if (!r.equal && r.first !== undefined) {
        d.firstDifference = r.first;
        d.differingBytes = r.differing;
        parts.push(
          `contents differ: ${r.differing} byte(s), the first at offset ${hex(r.first)} of the section`,
        );
        await addContext(d, a, sa, b, sb, r.first, opts);
      }
    }
    if (f.length > 0) parts.push(`section header ${f.join('; ')}`);
    if (parts.length > 0) {
      d.detail = parts.join('; ');
      diff(d);
    }
  }
}

/** Section header fields that differ (links by the linked section's name). */
function headerFields(
  ea: ElfFile,
  sa: SectionHeader,
  eb: ElfFile,
  sb: SectionHeader,
  withOffset: boolean,
): string[] {
  const f: string[] = [];
  const cmp = (field: string, va: string, vb: string) => {
    if (va !== vb) f.push(`${field} a ${va}, b ${vb}`);
  };
  const linkName = (e: ElfFile, i: number) => (i === 0 ? '0' : (e.sections[i]?.name ?? `#${i}`));
  cmp('sh_name', sa.name, sb.name);
  cmp('sh_type', String(sa.type), String(sb.type));
  cmp('sh_flags', hex(sa.flags), hex(sb.flags));
  cmp('sh_addr', hex(sa.addr), hex(sb.addr));
  cmp('sh_size', hex(sa.size), hex(sb.size));
  if (withOffset) cmp('sh_offset', hex(sa.offset), hex(sb.offset));
  cmp('sh_addralign', hex(sa.addralign), hex(sb.addralign));
  cmp('sh_entsize', hex(sa.entsize), hex(sb.entsize));
  cmp('sh_link', linkName(ea, sa.link), linkName(eb, sb.link));
  if (sa.flags & 0x40n || sb.flags & 0x40n) cmp('sh_info', linkName(ea, sa.info), linkName(eb, sb.info));
  else cmp('sh_info', String(sa.info), String(sb.info));
  return f;
}

async function sameContents(a: Side, sa: SectionHeader, b: Side, sb: SectionHeader): Promise<boolean> {
  const la = sa.type === SHT.NOBITS ? 0 : sa.size;
  const lb = sb.type === SHT.NOBITS ? 0 : sb.size;
  if (la !== lb) return false;
  return (await compareRanges(a.src, sa.offset, la, b.src, sb.offset, lb)).equal;
}

const STRINGISH = /^\.(rodata|comment|dynstr|strtab|interp|gnu\.version_d|gnu\.version_r|data\.rel\.ro)/;

async function addContext(
  d: Difference,
  a: Side,
  sa: SectionHeader,
  b: Side,
  sb: SectionHeader,
  first: number,
  opts: CompareOptions,
) {
  // Hint from the bytes around the first difference.
  const W = 256;
  const start = Math.max(0, first - W);
  const [wa, wb] = await Promise.all([
    readClipped(a.src, sa.offset + start, Math.min(2 * W, Math.max(0, sa.size - start))),
    readClipped(b.src, sb.offset + start, Math.min(2 * W, Math.max(0, sb.size - start))),
  ]);
  const hint = hintFor(wa, wb, first - start, a.elf.header.endian === 'little', {
    epoch: !isExec(sa),
    absolute: Number(sa.addr & 0xffffn) + first,
  });
  if (hint) d.hint = hint;
  if (opts.context === false) return;
  let ctx: DiffContext | undefined;
  if (isExec(sa) && isExec(sb)) {
    const s = Math.max(0, (first - 48) & ~3);
    const len = 96;
    const [ba, bb] = await Promise.all([
      readClipped(a.src, sa.offset + s, Math.min(len, sa.size - s)),
      readClipped(b.src, sb.offset + s, Math.min(len, Math.max(0, sb.size - s))),
    ]);
    ctx = await disassemblyContext(
      ba,
      bb,
      sa.addr + BigInt(s),
      sa.addr + BigInt(first),
      a.elf.header.machine,
      a.elf.header.class,
      a.elf.header.endian,
    );
  } else if (STRINGISH.test(d.region) || mostlyPrintable(wa)) {
    const S = 1024;
    const s = Math.max(0, first - S);
    const [ba, bb] = await Promise.all([
      readClipped(a.src, sa.offset + s, Math.min(2 * S, Math.max(0, sa.size - s))),
      readClipped(b.src, sb.offset + s, Math.min(2 * S, Math.max(0, sb.size - s))),
    ]);
    ctx = stringsContext(ba, bb, d.region);
  }
  d.context = ctx ?? (await hexAround(a.src, sa.offset, sa.size, b.src, sb.offset, sb.size, first));
}

function mostlyPrintable(buf: Buffer): boolean {
  if (buf.length === 0) return false;
  let n = 0;
  for (const c of buf) if ((c >= 0x20 && c < 0x7f) || c === 0 || c === 0x0a || c === 0x09) n++;
  return n / buf.length > 0.85;
}

async function hexAround(
  a: ByteSource,
  offA: number,
  lenA: number,
  b: ByteSource,
  offB: number,
  lenB: number,
  first: number,
): Promise<DiffContext> {
  const s = Math.max(0, Math.floor(first / 16) * 16 - 48);
  const [ba, bb] = await Promise.all([
    readClipped(a, offA + s, Math.min(112, Math.max(0, lenA - s))),
    readClipped(b, offB + s, Math.min(112, Math.max(0, lenB - s))),
  ]);
  return hexContext(ba, bb, s);
}

/** Bytes inside loadable segments that no section covers (and no header or removable note). */
async function compareSegmentGaps(a: Side, b: Side, diff: (d: Difference) => void) {
  const loadsA = a.elf.segments.filter((p) => p.type === PT.LOAD);
  const loadsB = b.elf.segments.filter((p) => p.type === PT.LOAD);
  const n = Math.min(loadsA.length, loadsB.length);
  for (let i = 0; i < n; i++) {
    const pa = loadsA[i]!;
    const pb = loadsB[i]!;
    if (pa.vaddr !== pb.vaddr) continue; // already a header difference
    const len = Math.min(pa.filesz, pb.filesz);
    const masked: Array<[number, number]> = [];
    for (const [sd, p] of [
      [a, pa],
      [b, pb],
    ] as const) {
      const e = sd.elf;
      const rel = (off: number, size: number) => {
        const s = Math.max(off, p.offset) - p.offset;
        const t = Math.min(off + size, p.offset + p.filesz) - p.offset;
        if (t > s) masked.push([s, t]);
      };
      rel(0, e.header.ehsize);
      rel(e.header.phoff, e.header.phnum * e.header.phentsize);
      for (const s of e.sections) {
        if (s.index === 0 || s.type === SHT.NOBITS || s.size === 0) continue;
        rel(s.offset, s.size);
      }
      for (const r of removableAllocRanges(e)) rel(r.offset, r.size);
    }
    masked.sort((x, y) => x[0] - y[0]);
    let pos = 0;
    const gaps: Array<[number, number]> = [];
    for (const [s, t] of masked) {
      if (s > pos) gaps.push([pos, Math.min(s, len)]);
      pos = Math.max(pos, t);
    }
    if (pos < len) gaps.push([pos, len]);
    for (const [s, t] of gaps) {
      if (t <= s) continue;
      const r = await compareRanges(a.src, pa.offset + s, t - s, b.src, pb.offset + s, t - s);
      if (!r.equal) {
        diff({
          region: `segment:${pa.index}`,
          detail: `${r.differing} byte(s) of LOAD segment ${i} at ${hex(pa.vaddr + BigInt(s))} (${t - s} bytes no section covers) differ`,
          a: { offset: pa.offset + s, size: t - s },
          b: { offset: pb.offset + s, size: t - s },
          firstDifference: r.first ?? 0,
          differingBytes: r.differing,
          context: await hexAround(a.src, pa.offset + s, t - s, b.src, pb.offset + s, t - s, r.first ?? 0),
        });
      }
    }
  }
}

/**
 * Allocated notes present on one side only: the other side's bytes at those
 * addresses (objcopy zeroes them) must be zero or the same notes.
 */
async function compareRemovableRanges(a: Side, b: Side, diff: (d: Difference) => void) {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    const mine = removableAllocRanges(x.elf);
    const theirs = removableAllocRanges(y.elf);
    for (const r of mine) {
      const covered = theirs.some(
        (t) => t.vaddr <= r.vaddr && t.vaddr + BigInt(t.size) >= r.vaddr + BigInt(r.size),
      );
      if (covered) continue;
      const load = loadFor(y.elf, r.vaddr, r.size);
      if (!load) continue;
      const off = fileOffsetOf(load, r.vaddr);
      // Sections of y that overlap are compared on their own.
      const overlapped = y.elf.sections.some(
        (s) =>
          s.index !== 0 &&
          s.type !== SHT.NOBITS &&
          s.size > 0 &&
          s.offset < off + r.size &&
          s.offset + s.size > off,
      );
      if (overlapped) continue;
      if (await allZero(y.src, off, r.size)) continue;
      if ((await compareRanges(x.src, r.offset, r.size, y.src, off, r.size)).equal) continue;
      diff({
        region: `segment:${load.index}`,
        detail: `${y.label} has non-zero bytes at ${hex(r.vaddr)} where ${x.label}'s ${r.label} is (${r.size} bytes), and they are not those notes`,
        [y.label]: { offset: off, size: r.size },
        [x.label]: { offset: r.offset, size: r.size },
      });
    }
  }
}

/** Unaccounted gaps and trailing bytes on either side. */
async function compareLeftovers(a: Side, b: Side, diff: (d: Difference) => void, opts: CompareOptions) {
  const trailing = (s: Side) => s.acc.ranges.find((r) => r.owner === 'trailing');
  const ta = trailing(a);
  const tb = trailing(b);
  let sameTrailing = false;
  if (ta && tb && ta.size === tb.size) {
    sameTrailing = (await compareRanges(a.src, ta.offset, ta.size, b.src, tb.offset, tb.size)).equal;
  }
  if ((ta || tb) && !sameTrailing) {
    const d: Difference = {
      region: 'trailing',
      detail: [
        ta ? `a has ${ta.size} byte(s) after the end of its ELF image (at ${hex(ta.offset)})` : 'a has none',
        tb ? `b has ${tb.size} byte(s) after the end of its ELF image (at ${hex(tb.offset)})` : 'b has none',
      ].join('; '),
      ...(ta ? { a: { offset: ta.offset, size: ta.size } } : {}),
      ...(tb ? { b: { offset: tb.offset, size: tb.size } } : {}),
    };
    if (opts.context !== false) {
      const [ba, bb] = await Promise.all([
        ta ? readClipped(a.src, ta.offset, 64) : Buffer.alloc(0),
        tb ? readClipped(b.src, tb.offset, 64) : Buffer.alloc(0),
      ]);
      d.context = hexContext(ba, bb, 0);
      const hint = hintFor(ba, bb, 0, true);
      if (hint) d.hint = hint;
    }
    diff(d);
  }
  for (const s of [a, b]) {
    for (const r of s.acc.ranges) {
      if (r.owner !== 'unaccounted') continue;
      diff({
        region: 'unaccounted',
        detail: `${s.label} has ${r.size} byte(s) at ${hex(r.offset)} that no header, section or segment describes, and they are not zero padding`,
        [s.label]: { offset: r.offset, size: r.size },
      });
    }
  }
}
