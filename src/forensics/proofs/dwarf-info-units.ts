/**
 * Where the units of `.debug_info` start, for the index sections
 * (.debug_aranges, .debug_names) whose unit offsets must name a real unit,
 * not any offset that happens to fall inside the section.
 */
import { need } from './cursor.js';
import { units } from './dwarf.js';
import type { ProofSubject } from './types.js';

export interface InfoUnit {
  /** Section offset of the unit's unit_length field. */
  start: number;
  /** Section offset just past the unit. */
  end: number;
  /** DW_UT_* (DWARF 5), or 1 (compile) for DWARF 2–4. */
  type: number;
}

/** The units of this file's .debug_info by start offset (empty when there is none). */
export async function infoUnits(s: ProofSubject): Promise<Map<number, InfoUnit>> {
  const found = new Map<number, InfoUnit>();
  const sec = s.elf.sections.find((x) => x.name === '.debug_info');
  if (!sec) return found;
  const bytes = await s.read(sec);
  units({ ...s, section: sec, bytes }, [2, 3, 4, 5], (c, u) => {
    const start = u.body - (u.offsetSize === 8 ? 12 : 4);
    found.set(start, { start, end: u.end, type: u.version >= 5 ? c.u8() : 1 });
  });
  return found;
}

/** Checks that `offset` is where a unit of .debug_info starts and returns it. */
export function unitAt(all: Map<number, InfoUnit>, offset: bigint, what: string): InfoUnit {
  const u = offset <= BigInt(Number.MAX_SAFE_INTEGER) ? all.get(Number(offset)) : undefined;
  need(u !== undefined, `${what} (0x${offset.toString(16)}) is not where a unit of .debug_info starts`);
  return u;
}
