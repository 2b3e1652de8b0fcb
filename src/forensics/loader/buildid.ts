/**
 * The one benign difference allowed inside the loader's view: the
 * descriptor bytes of a build-id note. Proven from the program headers
 * alone (never from section headers), on files whose program header tables
 * are byte-identical:
 *  - a PT_NOTE at the same offset on both sides parses as well-formed notes
 *    on both sides, with the same sequence of note headers and names;
 *  - the note is GNU/NT_GNU_BUILD_ID (descsz 1..64) or Go/4 (Go's build id, descsz 1..128);
 *  - its descriptor lies in no page an executable PT_LOAD maps, in no program header other
 *    than PT_LOAD, PT_NOTE and PT_GNU_RELRO, not in the ELF header or the
 *    program header table;
 *  - the file has a non-executable PT_GNU_STACK (so no READ_IMPLIES_EXEC
 *    personality can make the note's page executable).
 */
import { PF, PT } from '../elf/constants.js';
import type { ElfFile } from '../elf/reader.js';
import type { ByteSource } from '../elf/source.js';
import type { Interval } from './intervals.js';
import { headerRange, mappedRange, programHeaderRange } from './view.js';

export interface BuildIdExemption extends Interval {
  owner: 'GNU' | 'Go';
  /** Where, for the explanation: `PT_NOTE[i]`. */
  where: string;
}

/** A build-id descriptor that may not be excused, and why. */
export interface RefusedBuildId extends Interval {
  why: string;
}

interface ParsedNote {
  offset: number;
  namesz: number;
  descsz: number;
  type: number;
  name: string;
  descStart: number;
}

const MAX_NOTE_SEGMENTS = 64;
const MAX_NOTE_BYTES = 1 << 20;

/** Strict parse of a whole note segment; undefined when it is not well formed. */
function parseStrict(
  buf: Buffer,
  little: boolean,
  alignment: number,
  base: number,
): ParsedNote[] | undefined {
  const a = alignment === 8 ? 8 : 4;
  const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const out: ParsedNote[] = [];
  let p = 0;
  while (p < buf.length) {
    if (p + 12 > buf.length) return undefined;
    const namesz = u32(p);
    const descsz = u32(p + 4);
    const type = u32(p + 8);
    const nameAt = p + 12;
    const descAt = nameAt + namesz + ((a - ((nameAt + namesz) % a)) % a);
    const end = descAt + descsz;
    if (namesz > buf.length || descsz > buf.length || end > buf.length) return undefined;
    let name = buf.toString('latin1', nameAt, nameAt + namesz);
    const nul = name.indexOf('\0');
    if (nul >= 0) name = name.slice(0, nul);
    out.push({ offset: base + p, namesz, descsz, type, name, descStart: base + descAt });
    const next = end + ((a - (end % a)) % a);
    p = Math.min(next, buf.length);
  }
  return out;
}

function owner(n: ParsedNote): 'GNU' | 'Go' | undefined {
  if (n.name === 'GNU' && n.type === 3 && n.descsz >= 1 && n.descsz <= 64) return 'GNU';
  if (n.name === 'Go' && n.type === 4 && n.descsz >= 1 && n.descsz <= 128) return 'Go';
  return undefined;
}

const overlaps = (s: number, e: number, i: Interval) => s < i.end && i.start < e;

/** Why a descriptor range may not be excused, or undefined when it may. */
function refusal(elf: ElfFile, start: number, end: number): string | undefined {
  if (overlaps(start, end, headerRange(elf))) return 'it overlaps the ELF header';
  if (overlaps(start, end, programHeaderRange(elf))) return 'it overlaps the program header table';
  for (const p of elf.segments) {
    // An executable segment's page padding is executable memory too (a linker
    // such as lld starts it mid-page, right after the notes).
    if (
      p.type === PT.LOAD &&
      (p.flags & PF.X) !== 0 &&
      p.filesz > 0 &&
      overlaps(start, end, mappedRange(elf, p))
    )
      return `it lies in the pages mapped by executable LOAD[${p.index}]`;
    if (p.filesz === 0 || !overlaps(start, end, { start: p.offset, end: p.offset + p.filesz })) continue;
    if (p.type === PT.LOAD && (p.flags & PF.X) !== 0) return `it lies in executable LOAD[${p.index}]`;
    if (p.type !== PT.LOAD && p.type !== PT.NOTE && p.type !== PT.GNU_RELRO) {
      return `it overlaps program header ${p.index} (type ${p.type.toString(16)})`;
    }
  }
  const stack = elf.segments.find((p) => p.type === PT.GNU_STACK);
  if (!stack) return 'the file has no PT_GNU_STACK (the kernel may make readable pages executable)';
  if ((stack.flags & PF.X) !== 0)
    return 'the stack is executable (the kernel may make readable pages executable)';
  return undefined;
}

/**
 * Build-id descriptors that may differ. `a` and `b` must have byte-identical
 * program header tables (the caller checks). `refused` says why a build-id
 * note was not excused.
 */
export async function buildIdExemptions(
  a: { elf: ElfFile; src: ByteSource },
  b: { elf: ElfFile; src: ByteSource },
): Promise<{ exempt: BuildIdExemption[]; refused: RefusedBuildId[] }> {
  const exempt: BuildIdExemption[] = [];
  const refused: RefusedBuildId[] = [];
  const seen = new Set<string>();
  const little = a.elf.header.endian === 'little';
  for (const p of a.elf.segments) {
    if (p.type !== PT.NOTE || p.filesz === 0 || p.filesz > MAX_NOTE_BYTES) continue;
    const key = `${p.offset}:${p.filesz}:${p.align}`;
    if (seen.has(key)) continue;
    if (seen.size >= MAX_NOTE_SEGMENTS) break;
    seen.add(key);
    const [ba, bb] = await Promise.all([a.src.read(p.offset, p.filesz), b.src.read(p.offset, p.filesz)]);
    const na = parseStrict(ba, little, Number(p.align), p.offset);
    const nb = parseStrict(bb, little, Number(p.align), p.offset);
    if (!na || !nb || na.length !== nb.length) continue;
    const same = na.every((n, i) => {
      const m = nb[i]!;
      return (
        n.offset === m.offset &&
        n.namesz === m.namesz &&
        n.descsz === m.descsz &&
        n.type === m.type &&
        n.name === m.name
      );
    });
    if (!same) continue;
    for (const n of na) {
      const o = owner(n);
      if (!o) continue;
      const end = n.descStart + n.descsz;
      const why = refusal(a.elf, n.descStart, end) ?? refusal(b.elf, n.descStart, end);
      if (why) {
        refused.push({
          start: n.descStart,
          end,
          why: `the ${o} build-id descriptor is compared byte for byte: ${why}`,
        });
        continue;
      }
      exempt.push({ start: n.descStart, end, owner: o, where: `PT_NOTE[${p.index}]` });
    }
  }
  return { exempt, refused };
}
