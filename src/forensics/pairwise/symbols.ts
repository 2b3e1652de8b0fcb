/**
 * The pairwise proof of symbol tables: where both sides carry a symbol
 * table and the bytes differ, every symbol of a's that b's also holds (the
 * same name and value) must have b's size, binding and type, and visibility
 * (st_other). One-sided, those fields are free for every symbol; against
 * b's, they are free only for symbols b lacks.
 *
 * What stays open (stated): a's symbols that b does not hold, by name and
 * value (a renamed local symbol among them), are judged by the one-sided
 * proof alone, so their names are free text, and their string table is
 * not compared: strip and objcopy rewrite symbol tables (section symbols
 * and indexes move when debug sections go), so a symbol table only a
 * carries, or one whose other symbols differ, cannot be refused without
 * crying wolf on every --strip-debug copy.
 */
import { SHT } from '../elf/constants.js';
import type { SectionHeader } from '../elf/reader.js';
import { need, ProofFailure } from '../proofs/cursor.js';
import { parseSymbols } from '../proofs/symbols.js';
import type { Side } from '../side.js';
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

async function symtabDiffers(pa: PairSection, pb: PairSection): Promise<string | undefined> {
  const read = async (p: PairSection) => {
    const strtab = p.side.elf.sections[p.section.link];
    need(strtab !== undefined, 'it links to no string table');
    const names = await bytesOf(p.side, strtab);
    return parseSymbols(p.side.elf, p.section, await bytesOf(p.side, p.section)).map((y) => ({
      ...y,
      key: `${nameAt(names, y.name).toString('latin1')}\0${y.value}`,
    }));
  };
  const [x, y] = [await read(pa), await read(pb)];
  // b's symbols by name and value; a name and value b holds more than once matches none.
  const byKey = new Map<string, (typeof y)[number] | null>();
  for (const t of y) byKey.set(t.key, byKey.has(t.key) ? null : t);
  for (let i = 0; i < x.length; i++) {
    const s = x[i]!;
    const t = byKey.get(s.key);
    if (!t) continue;
    const field =
      s.size !== t.size
        ? 'size'
        : s.info !== t.info
          ? 'binding or type'
          : s.other !== t.other
            ? 'visibility (st_other)'
            : undefined;
    if (field)
      return `symbol ${i} (${JSON.stringify(s.key.split('\0')[0])}) differs in its ${field} from b's symbol of that name and value`;
  }
  return undefined;
}

export const compareSymbolsPair: PairProof = async (pa, pb): Promise<PairOutcome> => {
  try {
    const type = pa.section.type;
    if (type !== pb.section.type) return { same: false, reason: "its type differs from b's" };
    if (type !== SHT.SYMTAB) return { same: true };
    const why = await symtabDiffers(pa, pb);
    return why
      ? { same: false, reason: `compared with b's: ${why}` }
      : { same: true, note: "the symbols b also holds have b's sizes, types and visibility" };
  } catch (err) {
    const why = err instanceof ProofFailure ? err.message : String(err);
    return { same: false, reason: `it could not be compared with b's (${why})` };
  }
};
