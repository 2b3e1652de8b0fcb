/**
 * The forensic corpus: pairs of binaries with known ground truth.
 * test/forensics/corpus/build-corpus.sh builds the binaries with a builder
 * image's own gcc and binutils; makePatchedVariants() then makes the byte-level
 * variants here; CORPUS_CASES says what compare() must conclude for each pair.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildIdNote, readElf } from '../../src/forensics/elf/reader.js';
import { FileSource } from '../../src/forensics/elf/source.js';
import type { ExplanationKind, Hint, Route, Verdict } from '../../src/forensics/types.js';

export const CORPUS_SOURCES = join(import.meta.dirname, 'corpus');
export const BUILD_SCRIPT = 'build-corpus.sh';

/** What the build script writes (besides toolchain.txt and manifest.txt). */
export const BUILT = [
  'base',
  'same',
  'dir-a',
  'dir-b',
  'o0',
  'buildid',
  'stamp-1',
  'stamp-2',
  'where-a',
  'where-b',
  'pkgforge',
  'copied',
  'nocomment',
  'strip-all',
  'strip-debug',
  'extra',
  'addnote',
  'addnote-fdo',
  'debuglink',
] as const;

export interface CorpusCase {
  name: string;
  /** a = published, b = rebuilt (file names in the corpus directory). */
  a: string;
  b: string;
  verdict?: Verdict;
  route?: Route;
  /** Explanation kinds that must be present. */
  kinds?: ExplanationKind[];
  /** Difference regions that must be present; no other section-named region may be reported. */
  regions?: string[];
  /** No section-named region other than `regions` may be reported (a pure byte patch). */
  exact?: boolean;
  /** A difference in one of `regions` must carry this hint. */
  hint?: Hint;
  /** compare() must reject with a clean input error instead of a verdict. */
  error?: boolean;
  /**
   * The build-ids differ. Where the toolchain puts the note in an executable
   * LOAD (aarch64's default layout), its descriptor is loaded code-adjacent
   * bytes and is not excused: the verdict is then `different`, blaming the
   * note (and only it, besides `regions`).
   */
  buildIdDiffers?: boolean;
}

export const CORPUS_CASES: readonly CorpusCase[] = [
  {
    name: 'same source built twice (paths mapped away)',
    a: 'base',
    b: 'same',
    verdict: 'identical',
    route: 'identical',
  },
  {
    name: 'pkgforge-style stripped vs unstripped',
    a: 'pkgforge',
    b: 'base',
    verdict: 'equivalent',
    route: 'post-processing',
  },
  { name: '.comment removed', a: 'nocomment', b: 'base', verdict: 'equivalent', kinds: ['comment'] },
  // Two builds of one source write the same .comment: a's other text is its own (a different compiler shows in the code too).
  { name: '.comment changed', a: 'base', b: 'comment-changed', verdict: 'different', regions: ['.comment'] },
  {
    name: 'build-id changed',
    a: 'base',
    b: 'buildid',
    verdict: 'equivalent',
    kinds: ['build-id'],
    buildIdDiffers: true,
  },
  {
    name: 'strip-all vs strip-debug',
    a: 'strip-all',
    b: 'strip-debug',
    verdict: 'equivalent',
    kinds: ['symbols'],
  },
  {
    name: 'two build dirs without prefix map (debug info and build-id only)',
    a: 'dir-a',
    b: 'dir-b',
    verdict: 'equivalent',
    kinds: ['build-id', 'debug'],
    buildIdDiffers: true,
  },
  {
    name: 'non-allocated note section added (a known owner: FDO package metadata)',
    a: 'base',
    b: 'addnote-fdo',
    verdict: 'equivalent',
    kinds: ['notes'],
  },
  {
    name: 'non-allocated note section added with an unknown owner (its contents prove nothing)',
    a: 'base',
    b: 'addnote',
    verdict: 'different',
    regions: ['.note.rebuild'],
    exact: true,
  },
  {
    // Post-processing never adds a debug link: a's file name and CRC32 are its own.
    name: '.gnu_debuglink added as objcopy writes it',
    a: 'debuglink',
    b: 'base',
    verdict: 'different',
    regions: ['.gnu_debuglink'],
  },
  {
    name: '.gnu_debuglink only in the rebuilt file',
    a: 'base',
    b: 'debuglink',
    verdict: 'equivalent',
    kinds: ['debug'],
  },
  { name: '-O2 vs -O0', a: 'base', b: 'o0', verdict: 'different', regions: ['.text'] },
  {
    name: 'one flipped byte in .text',
    a: 'base',
    b: 'flip-text',
    verdict: 'different',
    regions: ['.text'],
    exact: true,
  },
  {
    name: 'changed .rodata string',
    a: 'base',
    b: 'rodata',
    verdict: 'different',
    regions: ['.rodata'],
    exact: true,
  },
  {
    name: 'changed .data global',
    a: 'base',
    b: 'data',
    verdict: 'different',
    regions: ['.data'],
    exact: true,
  },
  {
    name: 'patched entry point',
    a: 'base',
    b: 'entry',
    verdict: 'different',
    regions: ['header'],
    exact: true,
  },
  {
    name: 'added non-allocated section (not a removable kind)',
    a: 'base',
    b: 'extra',
    verdict: 'different',
    regions: ['.rebuild.extra'],
    exact: true,
  },
  {
    name: 'bytes appended after the ELF',
    a: 'base',
    b: 'trailing',
    verdict: 'different',
    regions: ['trailing'],
    exact: true,
  },
  {
    name: '__DATE__/__TIME__',
    a: 'stamp-1',
    b: 'stamp-2',
    verdict: 'different',
    regions: ['.rodata'],
    exact: true,
    hint: 'timestamp',
    buildIdDiffers: true,
  },
  {
    name: '__FILE__ from two dirs',
    a: 'where-a',
    b: 'where-b',
    verdict: 'different',
    regions: ['.rodata'],
    exact: true,
    hint: 'path',
    buildIdDiffers: true,
  },
  { name: 'truncated file', a: 'base', b: 'truncated', error: true },
];

export interface SectionRow {
  name: string;
  type: string;
  addr: number;
  offset: number;
  size: number;
  flags: string;
}

/** Section headers as the host's readelf sees them (it reads every arch). */
export async function readSections(path: string): Promise<SectionRow[]> {
  const { stdout } = await execa('readelf', ['-SW', path]);
  const rows: SectionRow[] = [];
  for (const line of stdout.split('\n')) {
    const m =
      /^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([A-Za-z]*)\s/.exec(
        line,
      );
    if (!m) continue;
    rows.push({
      name: m[1] ?? '',
      type: m[2] ?? '',
      addr: Number.parseInt(m[3] ?? '0', 16),
      offset: Number.parseInt(m[4] ?? '0', 16),
      size: Number.parseInt(m[5] ?? '0', 16),
      flags: m[6] ?? '',
    });
  }
  return rows;
}

function section(rows: SectionRow[], name: string): SectionRow {
  const s = rows.find((r) => r.name === name);
  if (!s) throw new Error(`corpus: no ${name} section`);
  return s;
}

function indexWithin(buf: Buffer, needle: Buffer, s: SectionRow): number {
  const at = buf.subarray(s.offset, s.offset + s.size).indexOf(needle);
  if (at < 0) throw new Error(`corpus: ${JSON.stringify(needle.toString('latin1'))} not found in ${s.name}`);
  return s.offset + at;
}

/** Where each patch landed, for checking the construction itself. */
export interface PatchFacts {
  flipOffset: number;
  entryBefore: bigint;
  entryAfter: bigint;
}

/**
 * Writes the byte-level variants of `base` into `dir`: flip-text, rodata,
 * data, entry, trailing, comment-changed, truncated.
 */
export async function makePatchedVariants(dir: string): Promise<PatchFacts> {
  const basePath = join(dir, 'base');
  const base = await readFile(basePath);
  const rows = await readSections(basePath);
  const put = (name: string, buf: Buffer) => writeFile(join(dir, name), buf);
  const copy = () => Buffer.from(base);

  const text = section(rows, '.text');
  const flip = copy();
  const flipOffset = text.offset + Math.floor(text.size / 2);
  flip[flipOffset] = (flip[flipOffset] ?? 0) ^ 0xff;
  await put('flip-text', flip);

  const rodata = copy();
  const g = indexWithin(rodata, Buffer.from('hello from the rebuild corpus'), section(rows, '.rodata'));
  rodata.write('HELLO', g, 'latin1');
  await put('rodata', rodata);

  const data = copy();
  const le = data[5] === 1;
  const value = Buffer.alloc(4);
  if (le) value.writeUInt32LE(0x01234567);
  else value.writeUInt32BE(0x01234567);
  const c = indexWithin(data, value, section(rows, '.data'));
  if (le) data.writeUInt32LE(0x07654321, c);
  else data.writeUInt32BE(0x07654321, c);
  await put('data', data);

  const entry = copy();
  const is64 = entry[4] === 2;
  const entryBefore = is64
    ? le
      ? entry.readBigUInt64LE(24)
      : entry.readBigUInt64BE(24)
    : BigInt(le ? entry.readUInt32LE(24) : entry.readUInt32BE(24));
  const entryAfter = entryBefore + 4n;
  if (is64) {
    if (le) entry.writeBigUInt64LE(entryAfter, 24);
    else entry.writeBigUInt64BE(entryAfter, 24);
  } else if (le) entry.writeUInt32LE(Number(entryAfter), 24);
  else entry.writeUInt32BE(Number(entryAfter), 24);
  await put('entry', entry);

  await put('trailing', Buffer.concat([base, Buffer.from('appended payload, no header points here\n')]));

  const comment = copy();
  const cs = section(rows, '.comment');
  const digit = indexWithin(comment, Buffer.from('GCC: '), cs) + 5;
  // change the first digit after "GCC: " (e.g. in "(Debian 12.2.0-14)")
  let d = digit;
  while (d < cs.offset + cs.size && !(comment[d] !== undefined && comment[d]! >= 0x30 && comment[d]! <= 0x39))
    d++;
  comment[d] = comment[d] === 0x39 ? 0x38 : (comment[d] ?? 0x30) + 1;
  await put('comment-changed', comment);

  await put('truncated', base.subarray(0, Math.floor(base.length / 2)));
  return { flipOffset, entryBefore, entryAfter };
}

/** Offsets at which two equally long buffers differ. */
export function differingOffsets(a: Buffer, b: Buffer): number[] {
  const out: number[] = [];
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** Runs one case through compare() and checks its ground truth (vitest assertions). */
export async function checkCase(
  dir: string,
  c: CorpusCase,
  compare: (a: string, b: string) => Promise<import('../../src/forensics/types.js').Comparison>,
  expectFn: typeof import('vitest').expect,
): Promise<void> {
  const a = join(dir, c.a);
  const b = join(dir, c.b);
  if (c.error) {
    const err = await compare(a, b).then(
      () => undefined,
      (e: unknown) => e,
    );
    const { RebuildError } = await import('../../src/util/errors.js');
    expectFn(err, `${c.name}: compare must reject`).toBeInstanceOf(RebuildError);
    const re = err as InstanceType<typeof RebuildError>;
    expectFn(re.category).toBe('input');
    expectFn(re.describe()).toContain(c.b);
    return;
  }
  const r = await compare(a, b);
  const noteExec = c.buildIdDiffers === true && (await buildIdInExecutableLoad(b));
  if (noteExec) {
    // Not excused: the note is blamed, with the reason, and only it besides the case's regions.
    const note = r.differences.filter((d) => d.region === '.note.gnu.build-id');
    expectFn(r.verdict).toBe('different');
    expectFn(note.length).toBe(1);
    expectFn(note[0]?.detail).toContain('executable LOAD');
    const others = r.differences.filter((d) => d.region !== '.note.gnu.build-id').map((d) => d.region);
    expectFn(others.every((x) => c.regions?.includes(x) || !x.startsWith('.'))).toBe(true);
    if (c.verdict === 'equivalent') return;
  }
  const summary = JSON.stringify(
    { verdict: r.verdict, route: r.route, explanations: r.explanations, differences: r.differences },
    (k, v) => (k === 'context' ? undefined : v),
  );
  expectFn(r.verdict, summary).toBe(c.verdict);
  if (c.route) expectFn(r.route, summary).toBe(c.route);
  for (const k of c.kinds ?? [])
    expectFn(
      r.explanations.map((e) => e.kind),
      summary,
    ).toContain(k);
  if (r.verdict !== 'different') expectFn(r.differences, summary).toEqual([]);
  if (r.verdict === 'equivalent') expectFn(r.explanations.length, summary).toBeGreaterThan(0);
  if (c.regions) {
    const regions = r.differences.map((d) => d.region);
    for (const region of c.regions) expectFn(regions, summary).toContain(region);
  }
  if (c.regions && c.exact) {
    const regions = r.differences.map((d) => d.region);
    // No other section may be blamed (segment:<n>/unaccounted views of the same bytes are fine).
    const otherSections = regions.filter(
      (x) => x.startsWith('.') && !c.regions?.includes(x) && !(noteExec && x === '.note.gnu.build-id'),
    );
    expectFn(otherSections, summary).toEqual([]);
  }
  if (c.hint) {
    const hinted = r.differences.filter((d) => c.regions?.includes(d.region)).map((d) => d.hint);
    expectFn(hinted, summary).toContain(c.hint);
  }
}

/** Whether the GNU build-id note of a file lies in an executable PT_LOAD. */
export async function buildIdInExecutableLoad(path: string): Promise<boolean> {
  const src = await FileSource.open(path);
  try {
    const elf = await readElf(src);
    const note = buildIdNote(elf);
    if (!note) return false;
    return elf.segments.some(
      (p) =>
        p.type === 1 &&
        (p.flags & 1) !== 0 &&
        p.offset <= note.descOffset &&
        note.descOffset < p.offset + p.filesz,
    );
  } finally {
    await src.close();
  }
}

export interface ProgramHeaderRow {
  type: string;
  offset: number;
  filesz: number;
}

/** Program headers as the host's readelf sees them. */
export async function readProgramHeaders(path: string): Promise<ProgramHeaderRow[]> {
  const { stdout } = await execa('readelf', ['-lW', path]);
  const rows: ProgramHeaderRow[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s+([A-Z][A-Z_0-9+]*)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s/.exec(
      line,
    );
    if (m?.[1] && m[2] && m[3]) {
      rows.push({ type: m[1], offset: Number.parseInt(m[2], 16), filesz: Number.parseInt(m[3], 16) });
    }
  }
  return rows;
}

/**
 * What pkgforge's objcopy + strip did to the program headers of `base`
 * (binutils 2.40: NOTE and GNU_PROPERTY emptied, GNU_RELRO dropped).
 */
export async function postProcessingHeaderEffects(dir: string) {
  const before = await readProgramHeaders(join(dir, 'base'));
  const after = await readProgramHeaders(join(dir, 'pkgforge'));
  const stripOnly = await readProgramHeaders(join(dir, 'strip-all'));
  const count = (rows: ProgramHeaderRow[], t: string) => rows.filter((r) => r.type === t).length;
  const notes = (rows: ProgramHeaderRow[]) =>
    rows.filter((r) => r.type === 'NOTE' || r.type === 'GNU_PROPERTY');
  return {
    relroBefore: count(before, 'GNU_RELRO'),
    relroAfter: count(after, 'GNU_RELRO'),
    relroAfterStripOnly: count(stripOnly, 'GNU_RELRO'),
    notesBefore: notes(before).length,
    notesAfter: notes(after).length,
    nonEmptyNotesAfter: notes(after).filter((r) => r.offset !== 0 || r.filesz !== 0).length,
    headersBefore: before.length,
    headersAfter: after.length,
  };
}
