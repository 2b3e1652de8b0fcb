/**
 * The pairwise proof of symbol tables: where both sides carry a symbol
 * table and the bytes differ, every symbol of a's must be one b's holds
 * (the same name and value), with b's size, binding and type, visibility
 * (st_other) and section (by name: strip renumbers sections). strip and
 * objcopy only drop symbols (section symbols of removed sections,
 * debug-only locals), so an honest a holds a subset of b's; a symbol b does not hold is a name of a's own choosing
 * (kilobytes of text per symbol) and is never explained.
 *
 * The one exception: source file symbols (STT_FILE) name a source path,
 * which two builds in two build directories write with their own build
 * directory. a's may differ from b's (taken in order) only by one build
 * directory substitution (paths.ts), derived from those pairs and bounded
 * like DWARF's.
 */
import { SHT } from '../elf/constants.js';
import type { SectionHeader } from '../elf/reader.js';
import { need, ProofFailure } from '../proofs/cursor.js';
import { parseSymbols } from '../proofs/symbols.js';
import type { Side } from '../side.js';
import { deriveSubstitution, describeSubstitution, sameText } from './paths.js';
import type { PairOutcome, PairProof, PairSection } from './types.js';

const MAX = 64 << 20;
const STT_FILE = 4;
const SHN_LORESERVE = 0xff00;

/** A path's directory ('' for a bare file name). */
const dirOf = (p: Buffer) => p.subarray(0, Math.max(0, p.lastIndexOf(0x2f)));

async function bytesOf(s: Side, sec: SectionHeader): Promise<Buffer> {
  need(sec.size <= MAX && sec.offset + sec.size <= s.src.size, `${sec.name} cannot be read whole`);
  return s.src.read(sec.offset, sec.size);
}

const nameAt = (t: Buffer, at: number) => {
  need(at < t.length || at === 0, `a name offset (${at}) points past its string table`);
  const nul = t.indexOf(0, at);
  return t.subarray(at, nul < 0 ? t.length : nul);
};

async function symtabDiffers(pa: PairSection, pb: PairSection): Promise<string | undefined> {
  const read = async (p: PairSection) => {
    const strtab = p.side.elf.sections[p.section.link];
    need(strtab !== undefined, 'it links to no string table');
    const names = await bytesOf(p.side, strtab);
    return parseSymbols(p.side.elf, p.section, await bytesOf(p.side, p.section)).map((y) => ({
      ...y,
      key: `${nameAt(names, y.name).toString('latin1')}\0${y.value}`,
      // The section a symbol is defined in, by name (indexes move when strip drops sections).
      section:
        y.shndx > 0 && y.shndx < SHN_LORESERVE
          ? `=${p.side.elf.sections[y.shndx]?.name ?? ''}`
          : `#${y.shndx}`,
    }));
  };
  const [x, y] = [await read(pa), await read(pb)];
  // b's symbols by name and value; a name and value b holds more than once is held, and matches none.
  const byKey = new Map<string, (typeof y)[number] | null>();
  for (const t of y) byKey.set(t.key, byKey.has(t.key) ? null : t);
  const name = (k: string) => k.slice(0, k.indexOf('\0'));
  const isFile = (t: (typeof y)[number]) => (t.info & 0xf) === STT_FILE;
  const [fa, fb] = [x.filter(isFile), y.filter(isFile)];
  for (let i = 0; i < x.length; i++) {
    const s = x[i]!;
    const t = byKey.get(s.key);
    if (t === undefined) {
      if (isFile(s)) continue;
      return `symbol ${i} (${JSON.stringify(name(s.key).slice(0, 64))}) is not one of b's (no symbol of b's has that name and value)`;
    }
    if (t === null) continue;
    const field =
      s.size !== t.size
        ? 'size'
        : s.info !== t.info
          ? 'binding or type'
          : s.other !== t.other
            ? 'visibility (st_other)'
            : s.section !== t.section
              ? 'section (st_shndx)'
              : undefined;
    if (field)
      return `symbol ${i} (${JSON.stringify(name(s.key))}) differs in its ${field} from b's symbol of that name and value`;
  }
  // Source file symbols, in order: b's path, but for one build directory.
  if (fa.every((s) => byKey.get(s.key) !== undefined)) return undefined;
  if (fa.length !== fb.length) return `a holds ${fa.length} source file symbols, b ${fb.length}`;
  const pairs = fa.map((s, i): [Buffer, Buffer] => [
    Buffer.from(name(s.key), 'latin1'),
    Buffer.from(name(fb[i]!.key), 'latin1'),
  ]);
  const dirs = pairs.map(([p, q]): [Buffer, Buffer] => [dirOf(p), dirOf(q)]);
  const sub = deriveSubstitution(dirs);
  if (sub !== undefined && 'reason' in sub) return `its source file symbols differ from b's: ${sub.reason}`;
  for (const [p, q] of pairs)
    if (!sameText(p, q, sub))
      return `a source file symbol (${JSON.stringify(p.toString('latin1').slice(0, 64))}) differs from b's by more than ${sub ? `the ${describeSubstitution(sub)}` : 'nothing'}`;
  return undefined;
}

export const compareSymbolsPair: PairProof = async (pa, pb): Promise<PairOutcome> => {
  try {
    const type = pa.section.type;
    if (type !== pb.section.type) return { same: false, reason: "its type differs from b's" };
    // A string table is judged by the symbols that name it (its bytes alone may be all that differs).
    const table = (p: PairSection): PairSection | undefined => {
      if (type === SHT.SYMTAB) return p;
      const t = p.side.elf.sections.find((x) => x.type === SHT.SYMTAB && x.link === p.section.index);
      return t && { side: p.side, section: t };
    };
    const [ta, tb] = [table(pa), table(pb)];
    if (type !== SHT.SYMTAB && type !== SHT.STRTAB) return { same: true };
    if (!ta || !tb)
      return {
        same: false,
        reason: "no symbol table of both sides names it, so its names cannot be compared with b's",
      };
    const why = await symtabDiffers(ta, tb);
    return why
      ? { same: false, reason: `compared with b's: ${why}` }
      : { same: true, note: "every symbol is one of b's, with b's size, type and visibility" };
  } catch (err) {
    const why = err instanceof ProofFailure ? err.message : String(err);
    return { same: false, reason: `it could not be compared with b's (${why})` };
  }
};
