import { PT, SHT, segmentTypeName } from './elf/constants.js';
import type { ElfFile } from './elf/reader.js';
import type { LayoutEntry } from './types.js';

/**
 * Where the headers, sections and loadable segments of an ELF file lie in
 * the file, for the report's byte map (sections without file bytes left out).
 */
export function layoutOf(e: ElfFile): LayoutEntry[] {
  const h = e.header;
  const out: LayoutEntry[] = [{ kind: 'header', name: 'ELF header', offset: 0, size: h.ehsize }];
  if (h.phnum > 0) {
    out.push({ kind: 'table', name: 'program headers', offset: h.phoff, size: h.phnum * h.phentsize });
  }
  for (const p of e.segments) {
    if (p.type !== PT.LOAD || p.filesz === 0) continue;
    const rwx = `${p.flags & 4 ? 'R' : '-'}${p.flags & 2 ? 'W' : '-'}${p.flags & 1 ? 'X' : '-'}`;
    out.push({
      kind: 'segment',
      name: `${segmentTypeName(p.type)} #${p.index} ${rwx}`,
      offset: p.offset,
      size: p.filesz,
    });
  }
  for (const s of e.sections) {
    if (s.type === SHT.NOBITS || s.type === SHT.NULL || s.size === 0) continue;
    out.push({ kind: 'section', name: s.name || `section ${s.index}`, offset: s.offset, size: s.size });
  }
  if (e.sections.length > 0 && h.shoff > 0) {
    out.push({
      kind: 'table',
      name: 'section headers',
      offset: h.shoff,
      size: e.sections.length * h.shentsize,
    });
  }
  return out;
}
