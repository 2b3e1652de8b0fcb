/**
 * .debug_line in canonical form (canon.ts), unit by unit: every header field
 * and the whole line-number program as written; only the directory and file
 * names (inline, .debug_str, .debug_line_str) are set apart as text, and the
 * header_length (which those names' lengths decide) is left out.
 */
import type { ElfFile } from '../elf/reader.js';
import { Cursor, need } from '../proofs/cursor.js';
import { units } from '../proofs/dwarf.js';
import type { ProofSubject } from '../proofs/types.js';
import { Canon } from './canon.js';
import { type DwarfStrings, stringAt } from './dwarf-info.js';

export interface LineUnit {
  offset: number;
  canon: Buffer;
  strings: Array<Buffer | undefined>;
}

const FIXED: Record<number, number> = { 11: 1, 5: 2, 6: 4, 7: 8, 30: 16 };

export function canonLine(elf: ElfFile, bytes: Buffer, strs: DwarfStrings): LineUnit[] {
  const little = elf.header.endian === 'little';
  const out: LineUnit[] = [];
  const subject = { elf, bytes } as ProofSubject;
  units(subject, [2, 3, 4, 5], (c, u) => {
    const canon = new Canon();
    if (u.version >= 5) c.skip(2);
    canon.raw(bytes, u.body, c.pos);
    const headerLength = Number(c.uint(u.offsetSize));
    need(headerLength <= c.left, 'a line table header runs past its unit');
    const program = c.pos + headerLength;
    const h = new Cursor(bytes, little, c.pos, program);
    const fieldsStart = h.pos;
    h.skip(u.version >= 4 ? 5 : 4);
    const opcodeBase = h.u8();
    h.skip(Math.max(0, opcodeBase - 1));
    canon.raw(bytes, fieldsStart, h.pos);
    const off = () => h.uint(u.offsetSize);
    if (u.version >= 5) {
      for (let t = 0; t < 2; t++) {
        const start = h.pos;
        const formats: number[] = [];
        const count = h.u8();
        for (let i = 0; i < count; i++) {
          h.uleb();
          formats.push(Number(h.uleb()));
        }
        const n = h.uleb();
        canon.raw(bytes, start, h.pos);
        need(n <= BigInt(h.left), 'a line table claims more entries than it holds');
        for (let i = 0n; i < n; i++)
          for (const f of formats) {
            const at = h.pos;
            if (f === 0x08) canon.str(h.cstr());
            else if (f === 0x1f) canon.str(stringAt(strs.lineStr, off(), '.debug_line_str'));
            else if (f === 0x0e) canon.str(stringAt(strs.str, off(), '.debug_str'));
            else {
              if (f === 0x0f) h.uleb();
              else if (f === 0x09) h.skip(Number(h.uleb()));
              else {
                need(FIXED[f] !== undefined, `a line table uses form 0x${f.toString(16)}`);
                h.skip(FIXED[f]);
              }
              canon.raw(bytes, at, h.pos);
            }
          }
      }
    } else {
      for (;;) {
        const d = h.cstr();
        if (d.length === 0) break;
        canon.str(d);
      }
      canon.raw(Buffer.from([0]), 0, 1);
      for (;;) {
        const f = h.cstr();
        if (f.length === 0) break;
        canon.str(f);
        const at = h.pos;
        h.uleb();
        h.uleb();
        h.uleb();
        canon.raw(bytes, at, h.pos);
      }
    }
    // Whatever the header holds past its tables, and the whole program, as written.
    canon.raw(bytes, h.pos, u.end);
    out.push({
      offset: u.body - (u.offsetSize === 8 ? 12 : 4),
      canon: canon.bytes(),
      strings: canon.strings,
    });
  });
  return out;
}
