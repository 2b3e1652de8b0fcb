/**
 * Call frame instructions (`.debug_frame` CIEs and FDEs) decoded one by
 * one: every DW_CFA_* opcode must be known and its operands read (the
 * expression blocks decoded as DWARF expressions); once a DW_CFA_nop
 * appears, only padding (more nops) may follow.
 */

import { type Cursor, need } from './cursor.js';
import { decodeExpression, type ExprContext } from './dwarf-expr.js';

type Operand = 'uleb' | 'sleb' | 'u1' | 'u2' | 'u4' | 'addr' | 'expr';

const CFA = new Map<number, readonly Operand[]>([
  [0x01, ['addr']],
  [0x02, ['u1']],
  [0x03, ['u2']],
  [0x04, ['u4']],
  [0x05, ['uleb', 'uleb']],
  [0x06, ['uleb']],
  [0x07, ['uleb']],
  [0x08, ['uleb']],
  [0x09, ['uleb', 'uleb']],
  [0x0a, []],
  [0x0b, []],
  [0x0c, ['uleb', 'uleb']],
  [0x0d, ['uleb']],
  [0x0e, ['uleb']],
  [0x0f, ['expr']],
  [0x10, ['uleb', 'expr']],
  [0x11, ['uleb', 'sleb']],
  [0x12, ['uleb', 'sleb']],
  [0x13, ['sleb']],
  [0x14, ['uleb', 'uleb']],
  [0x15, ['uleb', 'sleb']],
  [0x16, ['uleb', 'expr']],
  [0x2d, []], // GNU_window_save / AArch64 negate_ra_state
  [0x2e, ['uleb']], // GNU_args_size
  [0x2f, ['uleb', 'uleb']], // GNU_negative_offset_extended
]);

/**
 * Where the instructions belong: a CIE's initial instructions describe the
 * state at a function's entry and never advance the location; an FDE's
 * advances (times the code alignment) stay inside its address range.
 */
export interface CfiScope {
  /** Bytes the location may advance: undefined in a CIE (no advance at all). */
  range?: bigint;
  codeAlign: bigint;
}

/** Decodes the call frame instructions from c's position to its end. */
export function decodeCfi(c: Cursor, x: ExprContext, scope: CfiScope): void {
  let padding = false;
  let loc = 0n;
  const advance = (delta: bigint, at: number) => {
    need(scope.range !== undefined, `a CIE's initial instructions advance the location (at ${at})`);
    loc += delta * scope.codeAlign;
    need(loc <= scope.range, `call frame instructions at ${at} advance past the end of their FDE`);
  };
  while (c.left > 0) {
    const at = c.pos;
    const op = c.u8();
    if (padding) {
      need(op === 0, `call frame instructions continue after DW_CFA_nop padding at ${at}`);
      continue;
    }
    if (op === 0) {
      padding = true;
      continue;
    }
    const high = op & 0xc0;
    if (high === 0x40) {
      advance(BigInt(op & 0x3f), at);
      continue;
    }
    if (high === 0xc0) continue; // restore
    if (high === 0x80) {
      c.uleb(); // offset
      continue;
    }
    const operands = CFA.get(op);
    need(operands !== undefined, `unknown call frame instruction 0x${op.toString(16)} at ${at}`);
    for (const o of operands) {
      if (o === 'uleb') c.uleb();
      else if (o === 'sleb') c.sleb();
      else if (o === 'u1') advance(BigInt(c.u8()), at);
      else if (o === 'u2') advance(BigInt(c.u16()), at);
      else if (o === 'u4') advance(BigInt(c.u32()), at);
      else if (o === 'addr') {
        const v = c.uint(x.addr);
        need(scope.range !== undefined, `a CIE's initial instructions set the location (at ${at})`);
        need(
          v === 0n || (v >= x.span[0] && v <= x.span[1]),
          `a DW_CFA_set_loc names 0x${v.toString(16)}, outside the loaded image`,
        );
      } else {
        const n = c.uleb();
        need(n <= BigInt(c.left), `a call frame expression at ${at} runs past its entry`);
        decodeExpression(c, Number(n), x);
      }
    }
  }
}
