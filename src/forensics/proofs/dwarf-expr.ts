/**
 * DWARF expressions (location expressions, CFI expression blocks), decoded
 * operation by operation: every opcode must be a known DW_OP_* and every
 * operand read with its size, so that the block is consumed exactly. A
 * block of bytes that merely claims to be an expression proves nothing.
 */
import { type Cursor, need } from './cursor.js';

/** What operand sizes depend on: the unit's address and offset sizes, and the loaded span. */
export interface ExprContext {
  addr: number;
  offsetSize: 4 | 8;
  /** Addresses an expression may name (DW_OP_addr): inside [lo, hi] or 0. */
  span: [bigint, bigint];
}

/** Constant data inside an expression (DW_OP_implicit_value) larger than this is refused. */
export const IMPLICIT_VALUE_LIMIT = 256;

type Operand = 'u1' | 'u2' | 'u4' | 'u8' | 'uleb' | 'sleb' | 'addr' | 'off' | 'value' | 'expr' | 'typed';

const OPS = new Map<number, readonly Operand[]>([
  [0x03, ['addr']],
  [0x08, ['u1']],
  [0x09, ['u1']],
  [0x0a, ['u2']],
  [0x0b, ['u2']],
  [0x0c, ['u4']],
  [0x0d, ['u4']],
  [0x0e, ['u8']],
  [0x0f, ['u8']],
  [0x10, ['uleb']],
  [0x11, ['sleb']],
  [0x15, ['u1']],
  [0x23, ['uleb']],
  [0x28, ['u2']],
  [0x2f, ['u2']],
  [0x90, ['uleb']],
  [0x91, ['sleb']],
  [0x92, ['uleb', 'sleb']],
  [0x93, ['uleb']],
  [0x94, ['u1']],
  [0x95, ['u1']],
  [0x98, ['u2']],
  [0x99, ['u4']],
  [0x9a, ['off']],
  [0x9d, ['uleb', 'uleb']],
  [0x9e, ['value']],
  [0xa0, ['off', 'sleb']],
  [0xa1, ['uleb']],
  [0xa2, ['uleb']],
  [0xa3, ['expr']],
  [0xa4, ['uleb', 'typed']],
  [0xa5, ['uleb', 'uleb']],
  [0xa6, ['u1', 'uleb']],
  [0xa7, ['u1', 'uleb']],
  [0xa8, ['uleb']],
  [0xa9, ['uleb']],
  // GNU extensions gcc emits.
  [0xf2, ['off', 'sleb']],
  [0xf3, ['expr']],
  [0xf4, ['uleb', 'typed']],
  [0xf5, ['uleb', 'uleb']],
  [0xf6, ['u1', 'uleb']],
  [0xf7, ['uleb']],
  [0xf9, ['uleb']],
  [0xfa, ['u4']],
  [0xfb, ['uleb']],
  [0xfc, ['uleb']],
  [0xfd, ['off']],
]);

/** Opcodes without operands: stack, arithmetic, lit*, reg*, and the GNU TLS/uninit markers. */
function noOperands(op: number): boolean {
  return (
    op === 0x06 ||
    (op >= 0x12 && op <= 0x27 && op !== 0x15 && op !== 0x23) ||
    (op >= 0x29 && op <= 0x2e) ||
    (op >= 0x30 && op <= 0x6f) ||
    (op >= 0x96 && op <= 0x97) ||
    (op >= 0x9b && op <= 0x9c) ||
    op === 0x9f ||
    op === 0xe0 ||
    op === 0xf0
  );
}

function address(c: Cursor, x: ExprContext, what: string): void {
  const v = c.uint(x.addr);
  need(
    v === 0n || (v >= x.span[0] && v <= x.span[1]),
    `${what} names address 0x${v.toString(16)}, outside the loaded image`,
  );
}

/** Decodes the expression in c's next `length` bytes; the bytes must be consumed exactly. */
export function decodeExpression(c: Cursor, length: number, x: ExprContext, depth = 0): void {
  need(depth < 4, 'a DWARF expression nests entry values too deeply');
  const end = c.pos + length;
  need(end <= c.end, `a DWARF expression of ${length} byte(s) runs past its container`);
  while (c.pos < end) {
    const at = c.pos;
    const op = c.u8();
    if (op >= 0x70 && op <= 0x8f) {
      c.sleb(); // DW_OP_breg0–31
      continue;
    }
    if (noOperands(op)) continue;
    const operands = OPS.get(op);
    need(operands !== undefined, `a DWARF expression has unknown operation 0x${op.toString(16)} at ${at}`);
    for (const o of operands) {
      if (o === 'u1') c.u8();
      else if (o === 'u2') c.u16();
      else if (o === 'u4') c.u32();
      else if (o === 'u8') c.u64();
      else if (o === 'uleb') c.uleb();
      else if (o === 'sleb') c.sleb();
      else if (o === 'addr') address(c, x, 'DW_OP_addr');
      else if (o === 'off') c.uint(x.offsetSize);
      else if (o === 'value') {
        const n = c.uleb();
        need(
          n <= BigInt(IMPLICIT_VALUE_LIMIT),
          `a DW_OP_implicit_value of ${n} bytes (more than ${IMPLICIT_VALUE_LIMIT})`,
        );
        c.skip(Number(n));
      } else if (o === 'typed') c.skip(c.u8());
      else {
        const n = c.uleb();
        need(n <= BigInt(end - c.pos), 'a DW_OP_entry_value block runs past its expression');
        decodeExpression(c, Number(n), x, depth + 1);
      }
    }
    need(c.pos <= end, `a DWARF operation at ${at} runs past the end of its expression`);
  }
}
