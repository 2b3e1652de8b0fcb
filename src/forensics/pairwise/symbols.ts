/**
 * The pairwise proof of symbol tables: where both sides carry a symbol
 * table and the bytes differ, every symbol of a's must be one of b's — the
 * same name, value, size, binding and type, visibility (st_other) and
 * section (by name: indexes move when strip or objcopy remove sections),
 * each of b's symbols standing for at most one of a's. One-sided, names and
 * those fields are free text and numbers for every symbol; against b's,
 * a may only hold fewer (a --strip-debug or --strip-unneeded copy) and in
 * another order. What a lacks is no payload; what a adds, renames or
 * changes is refused, naming the symbol (a false alarm where an honest
 * compiler invents local names per build, e.g. random-seed suffixes: stated).
 */
import { SHN_LORESERVE, SHT, STT } from '../elf/constants.js';
import type { SectionHeader } from '../elf/reader.js';
import { need, ProofFailure } from '../proofs/cursor.js';
import { parseSymbols } from '../proofs/symbols.js';
import type { Side } from '../side.js';
import { deriveSubstitution } from './paths.js';
import type { PairOutcome, PairProof, PairSection } from './types.js';

const MAX = 64 << 20;

async function bytesOf(s: Side, sec: SectionHeader): Promise<Buffer> {
  need(sec.size <= MAX && sec.offset + sec.size <= s.src.size, `${sec.name} cannot be read whole`);
  return s.src.read(sec.offset, sec.size);
}

const nameAt = (t: Buffer, at: number) => {
  need(at < t.length || at === 0, `a name offset (${at}) points past its string table`);
  const nul = t.indexOf(0, at);
  return t.subarray(at, nul < 0 ? t.length : nul);
};

interface ParsedSymbol {
  name: string;
  info: number;
  other: number;
  shndx: number;
  value: bigint;
  size: bigint;
  key: string;
  full: string;
}

async function symtabDiffers(pa: PairSection, pb: PairSection): Promise<string | undefined> {
  const read = async (p: PairSection) => {
    const strtab = p.side.elf.sections[p.section.link];
    need(strtab !== undefined, 'it links to no string table');
    const names = await bytesOf(p.side, strtab);
    return parseSymbols(p.side.elf, p.section, await bytesOf(p.side, p.section)).map((y): ParsedSymbol => {
      const name = nameAt(names, y.name).toString('latin1');
      // Special indexes (ABS, COMMON, XINDEX…) as numbers; real ones by the section's name.
      const sec = sectionOf(p, y.shndx);
      const where = sec ? `s:${sec.name}` : y.shndx > 0 && y.shndx < SHN_LORESERVE ? 's:?' : `n:${y.shndx}`;
      return {
        ...y,
        name,
        key: `${name}\0${y.value}`,
        full: `${name}\0${y.value}\0${y.size}\0${y.info}\0${y.other}\0${where}`,
      };
    });
  };
  const [x, y] = [await read(pa), await read(pb)];
  const left = new Map<string, number>();
  for (const t of y) left.set(t.full, (left.get(t.full) ?? 0) + 1);
  const byKey = new Map<string, (typeof y)[number]>();
  for (const t of y) if (!byKey.has(t.key)) byKey.set(t.key, t);
  const sub = fileSubstitution(x, y);
  const take = (full: string) => {
    const n = left.get(full) ?? 0;
    if (n > 0) left.set(full, n - 1);
    return n > 0;
  };
  for (let i = 0; i < x.length; i++) {
    const s = x[i]!;
    if (take(s.full) || isPlainSectionSymbol(pa, s)) continue;
    // A name that is b's with the build directory written as a's (an absolute source path).
    if (sub && !('reason' in sub)) {
      const asB = s.name.replaceAll(sub.a, sub.b);
      if (asB !== s.name && asB.replaceAll(sub.b, sub.a) === s.name && take(s.full.replace(s.name, asB)))
        continue;
    }
    const t = byKey.get(s.key);
    const field = !t
      ? undefined
      : s.size !== t.size
        ? 'size'
        : s.info !== t.info
          ? 'binding or type'
          : s.other !== t.other
            ? 'visibility (st_other)'
            : 'section';
    return field
      ? `symbol ${i} (${JSON.stringify(s.name)}) differs in its ${field} from b's symbol of that name and value`
      : `symbol ${i} (${JSON.stringify(s.name)} at 0x${s.value.toString(16)}) is not one of b's symbols (a may hold only the rebuild's symbols, or fewer)`;
  }
  return undefined;
}

/** The section a symbol is defined in (none for the special indexes: ABS, COMMON, …). */
function sectionOf(p: PairSection, shndx: number): SectionHeader | undefined {
  return shndx > 0 && shndx < SHN_LORESERVE ? p.side.elf.sections[shndx] : undefined;
}

/**
 * A section symbol objcopy or strip makes for a section it adds or keeps
 * (.gnu_debuglink): local, no name, no size, no visibility, its value the
 * section's own address. Nothing in it is free but which section it names.
 */
function isPlainSectionSymbol(p: PairSection, s: ParsedSymbol): boolean {
  const sec = sectionOf(p, s.shndx);
  return (
    s.info === STT.SECTION &&
    s.name === '' &&
    s.size === 0n &&
    s.other === 0 &&
    sec !== undefined &&
    s.value === sec.addr
  );
}

/**
 * The build directory substitution the two sides' source-file symbols
 * (STT_FILE, in order) agree on, as for DW_AT_comp_dir: compilers name the
 * source as they were given it, an absolute path under cmake.
 */
function fileSubstitution(x: readonly ParsedSymbol[], y: readonly ParsedSymbol[]) {
  const files = (z: readonly ParsedSymbol[]) =>
    z.filter((t) => (t.info & 0xf) === STT.FILE).map((t) => t.name);
  const [fa, fb] = [files(x), files(y)];
  if (fa.length !== fb.length) return undefined;
  return deriveSubstitution(
    fa.map((n, i) => [Buffer.from(dirnameOf(n), 'latin1'), Buffer.from(dirnameOf(fb[i]!), 'latin1')]),
  );
}

const dirnameOf = (path: string) => {
  const slash = path.lastIndexOf('/');
  return slash > 0 ? path.slice(0, slash) : '';
};

/** The .symtab of each side that links to this string table, when there is one on both sides. */
function linkingSymtabs(pa: PairSection, pb: PairSection): [PairSection, PairSection] | undefined {
  const find = (p: PairSection): PairSection | undefined => {
    const index = p.side.elf.sections.indexOf(p.section);
    const t = p.side.elf.sections.find((x) => x.type === SHT.SYMTAB && x.link === index);
    return t ? { ...p, section: t } : undefined;
  };
  const [ta, tb] = [find(pa), find(pb)];
  return ta && tb ? [ta, tb] : undefined;
}

export const compareSymbolsPair: PairProof = async (pa, pb): Promise<PairOutcome> => {
  try {
    const type = pa.section.type;
    if (type !== pb.section.type) return { same: false, reason: "its type differs from b's" };
    let tables: [PairSection, PairSection] | undefined = [pa, pb];
    if (type !== SHT.SYMTAB) {
      // A symbol string table's names are the symbols': judged through the tables that link to it.
      if (type !== SHT.STRTAB) return { same: true };
      tables = linkingSymtabs(pa, pb);
      if (!tables)
        return {
          same: false,
          reason: "no symbol table of both sides names it, so its names cannot be compared with b's",
        };
    }
    const why = await symtabDiffers(tables[0], tables[1]);
    return why
      ? { same: false, reason: `compared with b's: ${why}` }
      : { same: true, note: "every symbol is one of b's (name, value, size, type, visibility, section)" };
  } catch (err) {
    const why = err instanceof ProofFailure ? err.message : String(err);
    return { same: false, reason: `it could not be compared with b's (${why})` };
  }
};
