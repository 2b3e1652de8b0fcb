/**
 * The pairwise proof of the section name table: where a's and b's differ,
 * every name a's section headers use must be b's. A section name is a
 * hint the loader never reads, but its bytes are text of a's choosing: a
 * renamed `.text` would carry five free bytes, every header its own. So an
 * allocated section of a is named as b's section of that type at that
 * address (when b has one there), and every other name of a's is one b's
 * headers use. What is left free is which of b's names a non-allocated
 * section of a carries (a few bits per section, stated).
 */
import { isAlloc } from '../elf/reader.js';
import type { PairOutcome, PairProof } from './types.js';

export const compareNameTablesPair: PairProof = async (pa, pb): Promise<PairOutcome> => {
  const bs = pb.side.elf.sections;
  const bNames = new Set(bs.map((s) => s.name));
  const atAddress = new Map<string, Set<string>>();
  for (const t of bs) {
    if (!isAlloc(t) || t.addr === 0n) continue;
    const k = `${t.type}@${t.addr}`;
    const names = atAddress.get(k) ?? new Set<string>();
    names.add(t.name);
    atAddress.set(k, names);
  }
  for (const s of pa.side.elf.sections) {
    if (s.index === 0) continue;
    const there = isAlloc(s) && s.addr !== 0n ? atAddress.get(`${s.type}@${s.addr}`) : undefined;
    if (there ? !there.has(s.name) : !bNames.has(s.name))
      return {
        same: false,
        reason: there
          ? `section ${s.index} is named ${JSON.stringify(s.name.slice(0, 64))}, b's section of that type at 0x${s.addr.toString(16)} ${JSON.stringify([...there][0])}`
          : `section ${s.index} is named ${JSON.stringify(s.name.slice(0, 64))}, a name none of b's sections has`,
      };
  }
  return { same: true, note: "every section name is b's" };
};
