/**
 * .debug_macro (DWARF 5, and gcc's DWARF 4 GNU extension) in canonical form
 * (canon.ts), unit by unit: every opcode, line and file number, import and
 * flag as written; the macro text of define_strp / undef_strp set apart as
 * the .debug_str string it names (the offset moves when a build directory
 * of another length sits earlier in .debug_str), inline text set apart as
 * text, and the unit's .debug_line offset set apart as the line unit it
 * names. Opcode tables and unknown opcodes are refused (the one-sided proof
 * refuses them too).
 */
import type { ElfFile } from '../elf/reader.js';
import { Cursor, need } from '../proofs/cursor.js';
import { Canon } from './canon.js';
import { stringAt } from './dwarf-info.js';

export interface MacroUnit {
  offset: number;
  canon: Buffer;
  strings: Array<Buffer | undefined>;
  lineRefs: number[];
}

export function canonMacro(elf: ElfFile, bytes: Buffer, str: Buffer): MacroUnit[] {
  const c = new Cursor(bytes, elf.header.endian === 'little');
  const out: MacroUnit[] = [];
  while (c.left > 0) {
    const unit = c.pos;
    const canon = new Canon();
    c.u16();
    const flags = c.u8();
    need((flags & ~0x03) === 0, `the macro unit at ${unit} has an opcode table or unknown flags`);
    const size: 4 | 8 = (flags & 1) !== 0 ? 8 : 4;
    canon.raw(bytes, unit, c.pos);
    if ((flags & 2) !== 0) canon.lineRef(Number(c.uint(size)));
    for (;;) {
      const at = c.pos;
      const op = c.u8();
      if (op === 1 || op === 2) {
        c.uleb();
        canon.raw(bytes, at, c.pos);
        canon.str(c.cstr());
      } else if (op === 5 || op === 6) {
        c.uleb();
        canon.raw(bytes, at, c.pos);
        canon.str(stringAt(str, c.uint(size), '.debug_str'));
      } else {
        if (op === 3) {
          c.uleb();
          c.uleb();
        } else if (op === 7) c.uint(size);
        else if (op === 0x0b || op === 0x0c) {
          c.uleb();
          c.uleb();
        } else need(op === 0 || op === 4, `the macro entry at ${at} has opcode 0x${op.toString(16)}`);
        canon.raw(bytes, at, c.pos);
      }
      if (op === 0) break;
    }
    out.push({ offset: unit, canon: canon.bytes(), strings: canon.strings, lineRefs: canon.lineRefs });
  }
  return out;
}
