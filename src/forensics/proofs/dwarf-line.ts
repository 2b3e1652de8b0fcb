/**
 * `.debug_line` units decoded whole: the header's fields, its directory and
 * file tables (DWARF 2–4 NUL-terminated text; DWARF 5 entry formats with the
 * forms toolchains use), and the line-number program opcode by opcode
 * (standard opcodes with the operand counts the header declares, special
 * opcodes, the extended opcodes of DWARF 2–5). Every byte of the unit must
 * be consumed, every sequence must end with DW_LNE_end_sequence, and every
 * DW_LNE_set_address must name an address inside the loaded image (or 0,
 * which linkers write for discarded functions).
 */
import { Cursor, isText, need, quote } from './cursor.js';

export interface LineContext {
  little: boolean;
  /** The ELF class's address size (DWARF 2–4 line units do not state one). */
  addr: number;
  span: [bigint, bigint];
  str: bigint;
  lineStr: bigint;
}

/** Operand counts DWARF gives the standard opcodes 1–12. */
const STANDARD_LENGTHS = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
/** A DW_FORM_block in a v5 file entry (LLVM's embedded source is not written by default) stays small. */
const ENTRY_BLOCK_LIMIT = 256;

function text(c: Cursor, what: string): void {
  const s = c.cstr();
  need(isText(s), `${what} is not text (${quote(s)})`);
}

function within(v: bigint, size: bigint, what: string): void {
  need(v < size, `${what} (0x${v.toString(16)}) points past the end of its section (${size} bytes)`);
}

/** One v5 directory or file entry field. */
function entryField(c: Cursor, form: number, offsetSize: 4 | 8, x: LineContext): void {
  const off = () => (offsetSize === 8 ? c.u64() : BigInt(c.u32()));
  const skip: Record<number, number> = { 11: 1, 5: 2, 6: 4, 7: 8, 30: 16 };
  if (form === 0x08) text(c, 'a file table string');
  else if (form === 0x1f) within(off(), x.lineStr, 'a .debug_line_str offset');
  else if (form === 0x0e) within(off(), x.str, 'a .debug_str offset');
  else if (form === 0x0f) c.uleb();
  else if (skip[form] !== undefined) c.skip(skip[form]);
  else if (form === 0x09) {
    const n = c.uleb();
    need(n <= BigInt(ENTRY_BLOCK_LIMIT), `a file table block of ${n} bytes`);
    c.skip(Number(n));
  } else need(false, `a file table uses form 0x${form.toString(16)}, which rebuild does not read there`);
}

function entryTable(c: Cursor, offsetSize: 4 | 8, x: LineContext, what: string): void {
  const formats: number[] = [];
  const count = c.u8();
  for (let i = 0; i < count; i++) {
    const type = c.uleb();
    need(
      (type >= 1n && type <= 5n) || (type >= 0x2000n && type <= 0x3fffn),
      `${what} has content type ${type}`,
    );
    formats.push(Number(c.uleb()));
  }
  const n = c.uleb();
  need(n <= BigInt(c.left), `${what} claims ${n} entries`);
  need(n === 0n || formats.length > 0, `${what} has entries but no entry format`);
  for (let i = 0n; i < n; i++) for (const f of formats) entryField(c, f, offsetSize, x);
}

/** Decodes one line unit; `c` is positioned after unit_length and the version. */
export function decodeLineUnit(c: Cursor, version: number, offsetSize: 4 | 8, x: LineContext): void {
  let addr = x.addr;
  if (version >= 5) {
    addr = c.u8();
    need(addr === 4 || addr === 8 || addr === 2, `an address size of ${addr}`);
    need(c.u8() === 0, 'a segment selector size other than 0');
  }
  const headerLength = offsetSize === 8 ? c.u64() : BigInt(c.u32());
  need(headerLength <= BigInt(c.left), `a line table header length ${headerLength} runs past its unit`);
  const program = c.pos + Number(headerLength);
  const h = new Cursor(c.buf, x.little, c.pos, program);
  const minInst = h.u8();
  need(minInst > 0, 'a minimum instruction length of 0');
  if (version >= 4) need(h.u8() > 0, 'a maximum operations per instruction of 0');
  need(h.u8() <= 1, 'a default_is_stmt other than 0 or 1');
  h.u8(); // line_base: any signed byte
  need(h.u8() > 0, 'a line_range of 0');
  const opcodeBase = h.u8();
  need(opcodeBase > 0, 'an opcode_base of 0');
  const lengths: number[] = [];
  for (let i = 1; i < opcodeBase; i++) {
    const n = h.u8();
    if (i <= STANDARD_LENGTHS.length)
      need(n === STANDARD_LENGTHS[i - 1], `standard opcode ${i} is declared with ${n} operand(s)`);
    lengths.push(n);
  }
  if (version >= 5) {
    entryTable(h, offsetSize, x, 'the directory table');
    entryTable(h, offsetSize, x, 'the file table');
  } else {
    for (;;) {
      const d = h.cstr();
      if (d.length === 0) break;
      need(isText(d), `an include directory is not text (${quote(d)})`);
    }
    for (;;) {
      const f = h.cstr();
      if (f.length === 0) break;
      need(isText(f), `a file name is not text (${quote(f)})`);
      h.uleb();
      h.uleb();
      h.uleb();
    }
  }
  need(h.left === 0, `the line table header has ${h.left} byte(s) its fields do not account for`);
  c.pos = program;
  let ended = true;
  while (c.left > 0) {
    const at = c.pos;
    const op = c.u8();
    ended = false;
    if (op >= opcodeBase) continue; // a special opcode
    if (op === 0) {
      const len = c.uleb();
      need(len >= 1n && len <= BigInt(c.left), `an extended opcode at ${at} has length ${len}`);
      const end = c.pos + Number(len);
      const sub = c.u8();
      if (sub === 1) ended = true;
      else if (sub === 2) {
        need(Number(len) - 1 === addr, `a DW_LNE_set_address at ${at} has a ${Number(len) - 1}-byte operand`);
        const v = c.uint(addr);
        need(
          v === 0n || (v >= x.span[0] && v <= x.span[1]),
          `a DW_LNE_set_address at ${at} names 0x${v.toString(16)}, outside the loaded image`,
        );
      } else if (sub === 3) {
        text(c, 'a DW_LNE_define_file name');
        c.uleb();
        c.uleb();
        c.uleb();
      } else if (sub === 4) c.uleb();
      else need(false, `unknown extended opcode 0x${sub.toString(16)} at ${at}`);
      need(c.pos === end, `the extended opcode at ${at} is not exactly its declared length`);
    } else if (op === 9) c.u16();
    else for (let i = 0; i < lengths[op - 1]!; i++) c.uleb();
  }
  need(ended, 'its line-number program does not end with DW_LNE_end_sequence');
}
