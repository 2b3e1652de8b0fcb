/**
 * The section header table itself, when it differs between the two sides.
 *
 * No loader reads it, but it is bytes in the file: explained as "file
 * layout" only when every entry is what a linker, objcopy or strip writes.
 * Proven: e_shentsize is exactly one header (no bytes after each entry);
 * entry 0 is zero but for the extended counts the ELF header defers to it;
 * every other entry has a known type, only known flag bits, an address of 0
 * when not allocated and inside the loaded image when allocated, an
 * alignment of 0 or a power of two, a small entry size, a link and an info
 * that name a section (or count entries of its own), an offset inside the
 * file, and a NOBITS size no larger than the memory image. At most
 * EMPTY_LIMIT entries may have no contents (size 0 or NOBITS), since their
 * fields are compared by nothing else.
 *
 * Why nothing hides here: what an entry may hold is pinned down field by
 * field to values that describe the file; a section's contents are judged
 * apart (outside.ts), and the bytes left free per entry are a few bits of
 * choice among plausible values, not room for code or an opaque payload.
 */
import { SHN_XINDEX, SHT } from '../elf/constants.js';
import { type ElfFile, isAlloc, type SectionHeader } from '../elf/reader.js';
import { Cursor, need } from './cursor.js';
import { loadedSpan } from './symbols.js';

/** Real executables have a handful of empty sections (.tbss, .bss, empty arrays). */
export const EMPTY_LIMIT = 256;
const ENTSIZE_LIMIT = 256n;
const PN_XNUM = 0xffff;
/** Standard flags (WRITE … COMPRESSED), GNU_RETAIN, and the processor/OS bits toolchains use. */
const KNOWN_FLAGS = 0xfffn | 0x200000n | 0xf8000000n;

function knownType(t: number): boolean {
  return (
    (t >= 0 && t <= 19 && t !== 12 && t !== 13) || // NULL … RELR (12, 13 are unassigned)
    (t >= 0x60000000 && t <= 0x600000ff) || // OS-specific (Android packed relocations)
    (t >= 0x6fff4c00 && t <= 0x6fff4cff) || // LLVM
    (t >= 0x6ffffff0 && t <= 0x6fffffff) || // GNU / Sun (versions, hash, attributes, sframe)
    t === 0x6fffff00 || // Android RELR
    (t >= 0x70000000 && t <= 0x700000ff) // processor-specific (ARM, MIPS, RISC-V, x86-64, AArch64)
  );
}

function checkEntry0(elf: ElfFile): void {
  const raw = Buffer.from(elf.section0, 'hex');
  const is64 = elf.header.class === 64;
  const c = new Cursor(raw, elf.header.endian === 'little');
  const word = () => (is64 ? c.u64() : BigInt(c.u32()));
  const name = c.u32();
  const type = c.u32();
  const flags = word();
  const addr = word();
  const offset = word();
  const size = word();
  const link = c.u32();
  const info = c.u32();
  const align = word();
  const entsize = word();
  const h = elf.header;
  need(
    name === 0 &&
      type === 0 &&
      flags === 0n &&
      addr === 0n &&
      offset === 0n &&
      align === 0n &&
      entsize === 0n,
    'its entry 0 is not the null section',
  );
  need(size === 0n || h.rawShnum === 0, 'its entry 0 has a size the ELF header does not defer to');
  need(link === 0 || h.rawShstrndx === SHN_XINDEX, 'its entry 0 has a link the ELF header does not defer to');
  need(info === 0 || h.rawPhnum === PN_XNUM, 'its entry 0 has an info the ELF header does not defer to');
}

function checkEntry(elf: ElfFile, s: SectionHeader, span: [bigint, bigint]): void {
  const at = `entry ${s.index}`;
  const shnum = elf.sections.length;
  need(knownType(s.type), `its ${at} has an unknown type 0x${s.type.toString(16)}`);
  need((s.flags & ~KNOWN_FLAGS) === 0n, `its ${at} has unknown flag bits (0x${s.flags.toString(16)})`);
  if (!isAlloc(s)) need(s.addr === 0n, `its ${at} is not allocated yet has an address`);
  else if (elf.header.type !== 1)
    need(s.addr >= span[0] && s.addr <= span[1], `its ${at} has an address outside the loaded image`);
  need(
    (s.addralign & (s.addralign - 1n)) === 0n,
    `its ${at} has an alignment that is not a power of two (${s.addralign})`,
  );
  need(s.entsize <= ENTSIZE_LIMIT, `its ${at} has an implausible entry size (${s.entsize})`);
  need(s.link < shnum, `its ${at} links to section ${s.link}, which does not exist`);
  need(
    s.info <= Math.max(shnum, s.size),
    `its ${at} has an info (${s.info}) that is neither a section nor a count of its entries`,
  );
  need(s.offset <= elf.size, `its ${at} has an offset past the end of the file`);
  if (s.type === SHT.NOBITS)
    need(BigInt(s.size) <= span[1] - span[0], `its ${at} is a NOBITS section larger than the memory image`);
}

/** Why a side's section header table is not what toolchains write, or undefined. */
export function proveSectionHeaderTable(elf: ElfFile): string | undefined {
  try {
    const ent = elf.header.class === 64 ? 64 : 40;
    need(
      elf.header.shentsize === ent,
      `e_shentsize is ${elf.header.shentsize}, not ${ent}: bytes after each entry describe nothing`,
    );
    checkEntry0(elf);
    const span = loadedSpan(elf);
    let empty = 0;
    for (const s of elf.sections) {
      if (s.index === 0) continue;
      checkEntry(elf, s, span);
      if (s.size === 0 || s.type === SHT.NOBITS)
        need(++empty <= EMPTY_LIMIT, `it has more than ${EMPTY_LIMIT} entries with no contents`);
    }
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
