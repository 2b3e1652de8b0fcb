/**
 * `.debug_macro` (DWARF 5, and GNU's version 4 of it: gcc -g3) and
 * `.debug_macinfo` (DWARF 2–4 with -gstrict-dwarf), decoded entry by entry.
 *
 * .debug_macro is a run of macro units: a header (version 4 or 5, flags of
 * which only the three defined bits may be set, the .debug_line offset
 * inside that section, no opcode operands table: gcc and clang write none
 * and its vendor opcodes would be bytes we cannot decode), then entries up
 * to the unit's 0 opcode: define / undef with a line and an inline text
 * string or a .debug_str offset (or a str_offsets index), start_file with a
 * line and a file number, end_file, import of another unit of this section
 * (which must start a unit). Every unit must be named by a compile unit's
 * DW_AT_macros / DW_AT_GNU_macros or by an import, and the units must fill
 * the section exactly. .debug_macinfo is lists of define / undef / start /
 * end / vendor entries, each list ending with 0, each starting where a
 * DW_AT_macro_info names it.
 *
 * Why nothing hides here: no loader reads this section and gdb only prints
 * it; every byte is an opcode, a line or file number (at most 32 bits), an
 * offset checked against the section it points into, or a text string. A
 * unit nothing names is refused, so is any byte after the last entry.
 */
import { Cursor, isText, need, quote } from './cursor.js';
import type { ProofSubject } from './types.js';

/** Finds the macro units .debug_info names: (attribute, section offset) pairs seen while walking it. */
export type MacroRefs = (s: ProofSubject, attrs: ReadonlySet<number>) => Promise<Set<number>>;

/** DW_AT_macro_info, DW_AT_macros, DW_AT_GNU_macros. */
const AT_MACRO_INFO = 0x43;
const AT_MACROS = new Set([0x79, 0x2119]);

/** A line or file number: LEB128, but no toolchain writes one past 32 bits. */
function number(c: Cursor, what: string): void {
  const at = c.pos;
  need(c.uleb() <= 0xffffffffn, `a macro entry's ${what} at ${at} is larger than 32 bits`);
}

function text(c: Cursor): void {
  const s = c.cstr();
  need(isText(s), `a macro entry holds a string that is not text (${quote(s)})`);
}

function strOffset(c: Cursor, size: 4 | 8, str: bigint): void {
  const v = c.uint(size);
  need(
    v < str,
    `a macro entry's .debug_str offset 0x${v.toString(16)} points past that section (${str} bytes)`,
  );
}

export interface MacroSizes {
  str: bigint;
  line: bigint;
  strOffsets: bigint;
}

/** .debug_macro: every unit decoded, named by .debug_info or an import, the section filled. */
export async function proveMacro(s: ProofSubject, refs: MacroRefs, sizes: MacroSizes): Promise<undefined> {
  const c = new Cursor(s.bytes, s.elf.header.endian === 'little');
  need(s.bytes.length > 0, 'it is empty');
  const starts = new Set<number>();
  const imports = new Map<number, number>();
  while (c.left > 0) {
    const unit = c.pos;
    starts.add(unit);
    const version = c.u16();
    need(
      version === 4 || version === 5,
      `the macro unit at ${unit} has version ${version} (4 or 5 expected)`,
    );
    const flags = c.u8();
    need(
      (flags & ~0x03) === 0,
      `the macro unit at ${unit} has flags 0x${flags.toString(16)} (an opcode table or unknown bits)`,
    );
    const size: 4 | 8 = (flags & 1) !== 0 ? 8 : 4;
    if ((flags & 2) !== 0) {
      const line = c.uint(size);
      need(
        line < sizes.line,
        `the macro unit at ${unit} names .debug_line offset 0x${line.toString(16)}, past that section`,
      );
    }
    for (;;) {
      const at = c.pos;
      const op = c.u8();
      if (op === 0) break;
      switch (op) {
        case 1: // define
        case 2: // undef
          number(c, 'line');
          text(c);
          break;
        case 3: // start_file
          number(c, 'line');
          number(c, 'file number');
          break;
        case 4: // end_file
          break;
        case 5: // define_strp
        case 6: // undef_strp
          number(c, 'line');
          strOffset(c, size, sizes.str);
          break;
        case 7: {
          // import
          const v = c.uint(size);
          need(v < BigInt(s.bytes.length), `the macro import at ${at} points past the section`);
          imports.set(at, Number(v));
          break;
        }
        case 0x0b: // define_strx
        case 0x0c: {
          // undef_strx
          number(c, 'line');
          const i = c.uleb();
          need(
            i * BigInt(size) < sizes.strOffsets,
            `the macro entry at ${at} names string index ${i}, past .debug_str_offsets`,
          );
          break;
        }
        default:
          need(
            false,
            `the macro entry at ${at} has opcode 0x${op.toString(16)}, which rebuild does not decode`,
          );
      }
    }
  }
  for (const [at, target] of imports)
    need(starts.has(target), `the macro import at ${at} points at ${target}, where no macro unit starts`);
  const named = await refs(s, AT_MACROS);
  for (const v of imports.values()) named.add(v);
  for (const unit of starts)
    need(named.has(unit), `the macro unit at ${unit} is named by no compile unit and no import`);
  return undefined;
}

/** .debug_macinfo (DWARF 2–4): entry lists ending with 0, each named by a DW_AT_macro_info. */
export async function proveMacinfo(s: ProofSubject, refs: MacroRefs): Promise<undefined> {
  const c = new Cursor(s.bytes, s.elf.header.endian === 'little');
  need(s.bytes.length > 0, 'it is empty');
  const named = await refs(s, new Set([AT_MACRO_INFO]));
  while (c.left > 0) {
    const list = c.pos;
    need(named.has(list), `the macro list at ${list} is named by no compile unit`);
    for (;;) {
      const at = c.pos;
      const op = c.u8();
      if (op === 0) break;
      if (op === 1 || op === 2) {
        number(c, 'line');
        text(c);
      } else if (op === 3) {
        number(c, 'line');
        number(c, 'file number');
      } else if (op === 0xff) {
        number(c, 'vendor constant');
        text(c);
      } else need(op === 4, `the macro entry at ${at} has type 0x${op.toString(16)}`);
    }
  }
  return undefined;
}
