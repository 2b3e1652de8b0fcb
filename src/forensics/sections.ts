/** Sections by a stable key (name, then `#2`, `#3`, … for repeated names). Pure. */
import type { ElfFile, SectionHeader } from './elf/reader.js';

export function sectionsByKey(elf: ElfFile): Map<string, SectionHeader> {
  const out = new Map<string, SectionHeader>();
  const seen = new Map<string, number>();
  for (const s of elf.sections) {
    if (s.index === 0) continue;
    const k = seen.get(s.name) ?? 0;
    seen.set(s.name, k + 1);
    out.set(k === 0 ? s.name : `${s.name}#${k + 1}`, s);
  }
  return out;
}
