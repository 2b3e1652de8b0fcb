/**
 * The pairwise proof of debug information: when both sides carry a DWARF
 * section and its bytes differ, a's must carry b's values. .debug_info is
 * compared DIE by DIE (same units, same abbreviation codes, same values
 * byte for byte; strings by text and references by the DIE they name),
 * .debug_line unit by unit (programs as written, names by text), the string
 * sections string by string in order, .debug_str_offsets entry by entry by
 * the text each names. Strings may differ only by the one build path
 * substitution the units' DW_AT_comp_dir pairs give (paths.ts).
 *
 * Why nothing hides here: every byte that may differ is either a string
 * that is b's string with b's build directory written as a's (a function of
 * b's bytes and one bounded, reported prefix), a reference naming the
 * corresponding DIE (minimal LEB128), a unit or header length the rest
 * decides, or an offset into a string table whose strings are compared in
 * order. Any other DWARF section must be byte for byte equal; the
 * abbreviations too, so both sides are read with the same forms.
 */
import type { ElfFile, SectionHeader } from '../elf/reader.js';
import { need, ProofFailure } from '../proofs/cursor.js';
import { parseAbbrevs } from '../proofs/dwarf.js';
import { debugContents } from '../proofs/index.js';
import type { Side } from '../side.js';
import { canonInfo, type DwarfStrings, type InfoUnit } from './dwarf-info.js';
import { canonLine } from './dwarf-line.js';
import { deriveSubstitution, describeSubstitution, type PathSubstitution, sameText } from './paths.js';
import type { PairOutcome, PairProof, PairSection } from './types.js';

interface DwarfSide {
  strings: DwarfStrings;
  info?: InfoUnit[];
}

interface DwarfPair {
  a: DwarfSide;
  b: DwarfSide;
  /** The substitution, or why the units do not pair. */
  sub: PathSubstitution | undefined | { reason: string };
}

const only = (elf: ElfFile, name: string): SectionHeader | undefined => {
  const list = elf.sections.filter((s) => s.name === name || s.name === name.replace('.debug_', '.zdebug_'));
  need(list.length <= 1, `the file has ${list.length} sections named ${name}`);
  return list[0];
};

async function contents(s: Side, name: string): Promise<Buffer> {
  const sec = only(s.elf, name);
  return sec ? debugContents(s.elf, s.src, sec) : Buffer.alloc(0);
}

async function dwarfSide(s: Side): Promise<DwarfSide> {
  const strings: DwarfStrings = {
    str: await contents(s, '.debug_str'),
    lineStr: await contents(s, '.debug_line_str'),
    strOffsets: await contents(s, '.debug_str_offsets'),
  };
  const info = only(s.elf, '.debug_info');
  if (!info) return { strings };
  const abbrevs = parseAbbrevs(await contents(s, '.debug_abbrev'), s.elf.header.endian === 'little');
  return { strings, info: canonInfo(s.elf, await debugContents(s.elf, s.src, info), abbrevs, strings) };
}

/** Each pair of files is decoded once, however many of their sections are compared. */
const cache = new WeakMap<ElfFile, WeakMap<ElfFile, Promise<DwarfPair>>>();

async function decodePair(a: Side, b: Side): Promise<DwarfPair> {
  const [da, db] = [await dwarfSide(a), await dwarfSide(b)];
  const ua = da.info ?? [];
  const ub = db.info ?? [];
  const sub =
    ua.length !== ub.length
      ? { reason: `the sides hold ${ua.length} and ${ub.length} compile units` }
      : deriveSubstitution(ua.map((u, i) => [u.compDir, ub[i]!.compDir]));
  return { a: da, b: db, sub };
}

function pairOf(a: Side, b: Side): Promise<DwarfPair> {
  const inner = cache.get(a.elf) ?? new WeakMap<ElfFile, Promise<DwarfPair>>();
  cache.set(a.elf, inner);
  const p = inner.get(b.elf) ?? decodePair(a, b);
  inner.set(b.elf, p);
  return p;
}

interface Canonical {
  offset: number;
  canon: Buffer;
  strings: Array<Buffer | undefined>;
  refs?: number[];
}

/** Why unit lists differ (first difference), or undefined. */
function unitsDiffer(what: string, ua: Canonical[], ub: Canonical[], sub: PathSubstitution | undefined) {
  if (ua.length !== ub.length) return `a's ${what} has ${ua.length} units, b's ${ub.length}`;
  for (let i = 0; i < ua.length; i++) {
    const [x, y] = [ua[i]!, ub[i]!];
    const at = `the unit at offset ${x.offset} (b's at ${y.offset})`;
    if (!x.canon.equals(y.canon))
      return `${at} differs from b's in its structure or values (tags, forms, constants, flags, blocks, expressions, addresses, encodings or line programs), not only in strings`;
    const rx = x.refs ?? [];
    const ry = y.refs ?? [];
    for (let j = 0; j < rx.length; j++)
      if (rx[j] !== ry[j]) return `${at} holds a reference that does not name the DIE b's names`;
    for (let j = 0; j < x.strings.length; j++)
      if (!sameText(x.strings[j]!, y.strings[j]!, sub))
        return `${at} holds a string that differs from b's by more than the ${sub ? describeSubstitution(sub) : 'build directory (the compile units name the same one)'}`;
  }
  return undefined;
}

function tableStrings(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < b.length) {
    const nul = b.indexOf(0, start);
    need(nul >= 0, 'its last string is unterminated');
    out.push(b.subarray(start, nul));
    start = nul + 1;
  }
  return out;
}

/**
 * A string table against b's: the same strings, each b's modulo the
 * substitution, and without a substitution in the same order. With one, the
 * order may differ: gcc writes .debug_str in the order of its string hash
 * table, and a build directory's string hashes elsewhere and moves others
 * with it. What that leaves free is the order of the strings (at most
 * log2(n!) bits for n strings), which the explanation reports.
 */
function stringsDiffer(
  xa: Buffer,
  xb: Buffer,
  sub: PathSubstitution | undefined,
): { why: string } | { reordered: number } {
  const [sa, sb] = [tableStrings(xa), tableStrings(xb)];
  if (sa.length !== sb.length) return { why: `a's holds ${sa.length} strings, b's ${sb.length}` };
  const beyond = `by more than ${sub ? `the ${describeSubstitution(sub)}` : 'nothing (the compile units name the same build directory)'}`;
  if (sa.every((x, i) => sameText(x, sb[i]!, sub))) return { reordered: 0 };
  if (!sub) return { why: `the strings differ from b's (or their order does) ${beyond}` };
  // Each of a's strings as b would write it, when that maps back to it exactly.
  const asB: string[] = [];
  for (const x of sa) {
    const t = x.toString('latin1').replaceAll(sub.a, sub.b);
    if (t.replaceAll(sub.b, sub.a) !== x.toString('latin1')) return { why: `a string differs ${beyond}` };
    asB.push(t);
  }
  asB.sort();
  const sorted = sb.map((x) => x.toString('latin1')).sort();
  if (asB.some((x, i) => x !== sorted[i])) return { why: `the strings differ from b's ${beyond}` };
  return { reordered: sa.length };
}

/** log2(n!), the bits an order of n strings can carry. */
const orderBits = (n: number) => {
  let bits = 0;
  for (let i = 2; i <= n; i++) bits += Math.log2(i);
  return Math.ceil(bits);
};

function offsetsDiffer(p: DwarfPair, sub: PathSubstitution | undefined, a: Side, b: Side) {
  const read = (s: Side, d: DwarfSide) => {
    const little = s.elf.header.endian === 'little';
    const buf = d.strings.strOffsets;
    // Header (length, version, padding) as written; then each entry by the text it names.
    const out: Buffer[] = [];
    let pos = 0;
    const canon: Buffer[] = [];
    while (pos < buf.length) {
      need(pos + 8 <= buf.length, 'a unit header runs past its section');
      const len = little ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
      need(len !== 0xffffffff, 'a 64-bit unit (not compared pairwise)');
      const end = pos + 4 + len;
      need(end <= buf.length && len >= 4 && len % 4 === 0, 'a unit does not fit its section');
      canon.push(buf.subarray(pos + 4, pos + 8));
      for (let q = pos + 8; q < end; q += 4)
        out.push(
          (() => {
            const o = little ? buf.readUInt32LE(q) : buf.readUInt32BE(q);
            const nul = d.strings.str.indexOf(0, o);
            need(o < d.strings.str.length && nul >= 0, 'an offset points past .debug_str');
            return d.strings.str.subarray(o, nul);
          })(),
        );
      pos = end;
    }
    return { canon: Buffer.concat(canon), strings: out };
  };
  const [x, y] = [read(a, p.a), read(b, p.b)];
  return unitsDiffer('.debug_str_offsets', [{ offset: 0, ...x }], [{ offset: 0, ...y }], sub);
}

/** Names of the DWARF sections this proof compares beyond bytes (without `.debug_` / `.zdebug_`). */
const SHF_COMPRESSED = 0x800n;
const COMPARED = new Set(['info', 'line', 'str', 'line_str', 'str_offsets']);

export const compareDebugPair: PairProof = async (pa: PairSection, pb: PairSection): Promise<PairOutcome> => {
  const name = pa.section.name;
  const m = /^\.z?debug_(.+)$/.exec(name);
  // Debug links (a name and a CRC32, proven one-sided) are not DWARF.
  if (!m) return { same: true };
  const kind = m[1]!;
  // A compressed stream's encoding (block splits, matches, Huffman tables) is the
  // encoder's choice: bits a's contents do not decide, and Node's zlib does not
  // reproduce binutils' streams, so a stored stream that differs cannot be checked.
  if ((pa.section.flags & SHF_COMPRESSED) !== 0n || name.startsWith('.zdebug_'))
    return {
      same: false,
      reason:
        "it is stored compressed and its stored bytes differ from b's: the compressor's encoding choices are not decided by the contents and cannot be checked; compare files whose debug sections are stored uncompressed (objcopy --decompress-debug-sections)",
    };
  try {
    if (!COMPARED.has(kind)) {
      const [x, y] = [
        await debugContents(pa.side.elf, pa.side.src, pa.section),
        await debugContents(pb.side.elf, pb.side.src, pb.section),
      ];
      return x.equals(y)
        ? { same: true, note: "equal to b's once decompressed" }
        : {
            same: false,
            reason: `it differs from b's, and rebuild compares ${name} only byte for byte (it holds no strings a build directory could change)`,
          };
    }
    const p = await pairOf(pa.side, pb.side);
    if (p.sub !== undefined && 'reason' in p.sub) return { same: false, reason: p.sub.reason };
    const sub = p.sub;
    let why: string | undefined;
    let order = '';
    if (kind === 'info') why = unitsDiffer(name, p.a.info ?? [], p.b.info ?? [], sub);
    else if (kind === 'str' || kind === 'line_str') {
      const [x, y] =
        kind === 'str' ? [p.a.strings.str, p.b.strings.str] : [p.a.strings.lineStr, p.b.strings.lineStr];
      const r = stringsDiffer(x, y, sub);
      if ('why' in r) why = r.why;
      else if (r.reordered > 0)
        order = `, its ${r.reordered} strings in another order (their order, at most ${orderBits(r.reordered)} bits, is not checked)`;
    } else if (kind === 'str_offsets') why = offsetsDiffer(p, sub, pa.side, pb.side);
    else {
      const line = async (s: PairSection, d: DwarfSide) =>
        canonLine(s.side.elf, await debugContents(s.side.elf, s.side.src, s.section), d.strings);
      why = unitsDiffer(name, await line(pa, p.a), await line(pb, p.b), sub);
    }
    if (why) return { same: false, reason: `compared with b's: ${why}` };
    return {
      same: true,
      note: `${sub ? `equal to b's modulo the ${describeSubstitution(sub)}` : "equal to b's value for value"}${order}`,
    };
  } catch (err) {
    const why = err instanceof ProofFailure ? err.message : String(err);
    return { same: false, reason: `it could not be compared with b's (${why})` };
  }
};
