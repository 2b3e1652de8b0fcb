/**
 * .debug_info in canonical form (canon.ts), unit by unit: the unit header
 * after unit_length, each DIE's abbreviation code as written, and each
 * attribute value as written, except strings (inline, .debug_str,
 * .debug_line_str, str_offsets indexes: set apart as text) and references
 * (set apart as the ordinal of the DIE they point at). Also each unit's
 * DW_AT_comp_dir, for the build path substitution.
 */
import type { ElfFile } from '../elf/reader.js';
import { Cursor, need } from '../proofs/cursor.js';
import { type Abbrev, formSize, offset, type Sizes, units } from '../proofs/dwarf.js';
import { loadedSpan } from '../proofs/symbols.js';
import { Canon } from './canon.js';

export interface DwarfStrings {
  str: Buffer;
  lineStr: Buffer;
  strOffsets: Buffer;
}

export interface InfoUnit {
  offset: number;
  canon: Buffer;
  strings: Array<Buffer | undefined>;
  refs: number[];
  compDir?: Buffer;
}

const AT_COMP_DIR = 0x1b;
const AT_STR_OFFSETS_BASE = 0x72;

/** The NUL-terminated string at `at` of a string section. */
export function stringAt(buf: Buffer, at: bigint, what: string): Buffer {
  need(at < BigInt(buf.length), `a ${what} offset (${at}) points past its section`);
  const start = Number(at);
  const nul = buf.indexOf(0, start);
  need(nul >= 0, `the ${what} string at ${start} has no terminating NUL`);
  return buf.subarray(start, nul);
}

/** Whether a LEB128 value's encoding [start, end) is the shortest (no trailing 0x80/0x00 group). */
export function minimalLeb(buf: Buffer, start: number, end: number): boolean {
  return end - start === 1 || buf[end - 1] !== 0;
}

export function canonInfo(
  elf: ElfFile,
  bytes: Buffer,
  abbrevs: Map<number, Map<bigint, Abbrev>>,
  strs: DwarfStrings,
): InfoUnit[] {
  const little = elf.header.endian === 'little';
  const sizes: Sizes = {
    str: BigInt(strs.str.length),
    lineStr: BigInt(strs.lineStr.length),
    span: loadedSpan(elf),
  };
  const out: InfoUnit[] = [];
  const ordinals = new Map<number, number>();
  const subject = { elf, bytes, section: undefined as never, read: undefined as never };
  units(subject, [2, 3, 4, 5], (c, u) => {
    const canon = new Canon();
    let addr: number;
    let abbrevOffset: bigint;
    if (u.version >= 5) {
      const type = c.u8();
      addr = c.u8();
      abbrevOffset = offset(c, u);
      if (type === 2 || type === 6) c.skip(8 + u.offsetSize);
      else if (type === 4 || type === 5) c.skip(8);
    } else {
      abbrevOffset = offset(c, u);
      addr = c.u8();
    }
    canon.raw(bytes, u.body, c.pos);
    const table = abbrevs.get(Number(abbrevOffset));
    need(table !== undefined, `a unit's abbreviation offset ${abbrevOffset} starts no abbreviation table`);
    const unitStart = u.body - (u.offsetSize === 8 ? 12 : 4);
    const strx: Array<{ index: number; entry: bigint }> = [];
    let base: bigint | undefined;
    let compDir: number | undefined;
    let first = true;
    while (c.left > 0) {
      const at = c.pos;
      const code = c.uleb();
      canon.raw(bytes, at, c.pos);
      if (code === 0n) continue;
      const a = table.get(code);
      need(a !== undefined, `a DIE uses abbreviation ${code}, which its table does not define`);
      ordinals.set(at, ordinals.size);
      a.forms.forEach((form, i) => {
        const attr = a.attrs[i]!;
        const start = c.pos;
        let s: number | undefined;
        if (form === 0x08) s = canon.str(c.cstr());
        else if (form === 0x0e) s = canon.str(stringAt(strs.str, offset(c, u), '.debug_str'));
        else if (form === 0x1f) s = canon.str(stringAt(strs.lineStr, offset(c, u), '.debug_line_str'));
        else if (form === 0x1a || (form >= 0x25 && form <= 0x28)) {
          const entry = form === 0x1a ? c.uleb() : c.uint(form === 0x27 ? 3 : 1 << (form - 0x25));
          if (form === 0x1a) need(minimalLeb(bytes, start, c.pos), 'a string index is not minimally encoded');
          // The index as written too: which of equal str_offsets entries it names is no free choice.
          canon.raw(bytes, start, c.pos);
          s = canon.str(undefined);
          strx.push({ index: s, entry });
        } else if (form >= 0x11 && form <= 0x14) canon.ref(unitStart + Number(c.uint(1 << (form - 0x11))));
        else if (form === 0x15) {
          const v = c.uleb();
          need(minimalLeb(bytes, start, c.pos), 'a reference is not minimally encoded');
          canon.ref(unitStart + Number(v));
        } else if (form === 0x10) canon.ref(Number(c.uint(u.version === 2 ? addr : u.offsetSize)));
        else {
          const n = formSize(c, form, attr, u, addr, sizes);
          if (first && attr === AT_STR_OFFSETS_BASE && form === 0x17) base = c.uint(n);
          else c.skip(n);
          canon.raw(bytes, start, c.pos);
        }
        if (first && attr === AT_COMP_DIR && s !== undefined) compDir = s;
      });
      first = false;
    }
    // str_offsets entries are read once the unit's base is known (it may follow them).
    for (const x of strx) {
      need(base !== undefined, 'a unit indexes strings without a DW_AT_str_offsets_base');
      const at = base + x.entry * BigInt(u.offsetSize);
      need(
        at + BigInt(u.offsetSize) <= BigInt(strs.strOffsets.length),
        'a string index points past .debug_str_offsets',
      );
      const off = new Cursor(strs.strOffsets, little, Number(at)).uint(u.offsetSize);
      canon.strings[x.index] = stringAt(strs.str, off, '.debug_str');
    }
    const strings = canon.strings;
    out.push({
      offset: unitStart,
      canon: canon.bytes(),
      strings,
      refs: canon.refs,
      ...(compDir !== undefined && strings[compDir] ? { compDir: strings[compDir] } : {}),
    });
  });
  // References by the ordinal of the DIE they name (or, naming none, by their value).
  for (const unit of out) unit.refs = unit.refs.map((t) => ordinals.get(t) ?? -1 - t);
  return out;
}
