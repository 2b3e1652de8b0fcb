/**
 * `.debug_aranges` (DWARF 2–5 address range tables): each set's header
 * (version 2, an offset that is where a compile unit of .debug_info starts,
 * one set per unit, the file's address size, no segments), its padding (one
 * fill byte repeated: GNU as writes zeros, LLVM 0xff), then (address,
 * length) tuples up to a (0, 0) terminator that ends the set exactly.
 *
 * Why nothing hides here: every tuple covers part of the loaded image, or is
 * a linker's tombstone for a discarded function (address 0, 1, -1 or -2,
 * as pairInImage accepts, dwarf.ts) with a length no larger than the image.
 * What an attacker can choose is which addresses inside the image a tuple
 * names: a few bits of a 16-byte tuple, never a byte string of their own.
 */
import { need } from './cursor.js';
import { addressSize, offset, segmentSelector, TOMBSTONES, units } from './dwarf.js';
import { infoUnits, unitAt } from './dwarf-info-units.js';
import { loadedSpan } from './symbols.js';
import type { Proof } from './types.js';

export const proveAranges: Proof = async (s) => {
  const cus = await infoUnits(s);
  const span = loadedSpan(s.elf);
  const size = span[1] - span[0];
  const elfAddr = s.elf.header.class === 64 ? 8 : 4;
  const seen = new Set<number>();
  units(s, [2], (c, u) => {
    const cu = unitAt(cus, offset(c, u), 'its .debug_info offset');
    need(!seen.has(cu.start), `two address range sets describe the unit at ${cu.start}`);
    seen.add(cu.start);
    const addr = addressSize(c);
    need(addr === elfAddr, `a set has address size ${addr} in a file of ${elfAddr}-byte addresses`);
    segmentSelector(c);
    const tuple = 2 * addr;
    const header = u.offsetSize === 8 ? 12 : 4;
    const used = c.pos - u.body + header;
    const pad = ((used + tuple - 1) & ~(tuple - 1)) - used;
    // GNU as writes zeros, LLVM 0xff bytes (Rust's standard library): one fill byte, nothing else.
    const fill = pad > 0 ? c.u8() : 0;
    need(
      fill === 0 || fill === 0xff,
      'the padding before its address ranges is neither zeros nor 0xff bytes',
    );
    for (let i = 1; i < pad; i++)
      need(c.u8() === fill, 'the padding before its address ranges is not uniform');
    need(c.left % tuple === 0 && c.left >= tuple, 'its address ranges are not whole (address, length) pairs');
    while (c.left > tuple) {
      const at = c.pos;
      const start = c.uint(addr);
      const length = c.uint(addr);
      need(
        (start >= span[0] && start + length <= span[1]) || (TOMBSTONES.has(start) && length <= size),
        `the address range at ${at} (0x${start.toString(16)}, length 0x${length.toString(16)}) lies outside the loaded image`,
      );
    }
    need(c.uint(addr) === 0n && c.uint(addr) === 0n, 'its address ranges do not end with a (0, 0) pair');
  });
  return undefined;
};
