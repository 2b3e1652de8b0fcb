/**
 * `.debug_addr` (DWARF 5 address tables): each contribution's header
 * (version 5, the file's address size, no segments) and then whole
 * addresses, every one inside the loaded image or a linker's tombstone for
 * a discarded function (0, 1, -1, -2). A contribution must start where a
 * unit's DW_AT_addr_base (or GNU's DW_AT_GNU_addr_base) points: a table no
 * unit reads is not explained. GNU's pre-standard split DWARF 4 table
 * (DW_AT_GNU_addr_base 0) has no header: the whole section is addresses.
 *
 * What this lets through, and why it is safe: an entry is a loaded address
 * (or one of four tombstones), so an attacker who adds entries chooses only
 * which address inside the image each one names, a few bits per 8 bytes,
 * never a byte string of their own; the number of entries is not matched
 * against the indices units use (DW_FORM_addrx, DW_OP_addrx, loclists), and
 * the section is bounded in size like every debug section (debugLimit).
 */
import { Cursor, need } from './cursor.js';
import { addressSize, segmentSelector, TOMBSTONES, units, walkInfo } from './dwarf.js';
import { loadedSpan } from './symbols.js';
import type { Proof } from './types.js';

const AT_ADDR_BASE = 0x73;
const AT_GNU_ADDR_BASE = 0x2133;

export const proveAddr: Proof = async (s) => {
  const infoSec = s.elf.sections.find((x) => x.name === '.debug_info');
  need(infoSec !== undefined, 'there is no .debug_info whose units could read its addresses');
  const bases = new Set<bigint>();
  await walkInfo({ ...s, section: infoSec, bytes: await s.read(infoSec) }, (attr, v) => {
    if (attr === AT_ADDR_BASE || attr === AT_GNU_ADDR_BASE) bases.add(v);
  });
  const span = loadedSpan(s.elf);
  const elfAddr = s.elf.header.class === 64 ? 8 : 4;
  const loaded = (c: Cursor, a: number) => {
    const at = c.pos;
    const v = c.uint(a);
    need(
      TOMBSTONES.has(v) || (v >= span[0] && v <= span[1]),
      `the address at ${at} (0x${v.toString(16)}) lies outside the loaded image`,
    );
  };
  if (bases.has(0n)) {
    // GNU split DWARF 4 (DW_AT_GNU_addr_base): no header, the whole section is addresses.
    need(s.bytes.length % elfAddr === 0, 'its addresses are not whole');
    for (const b of bases)
      need(
        b % BigInt(elfAddr) === 0n && b < BigInt(s.bytes.length),
        `a unit's address base (${b}) is not where one of its addresses starts`,
      );
    const c = new Cursor(s.bytes, s.elf.header.endian === 'little');
    while (c.left > 0) loaded(c, elfAddr);
    return undefined;
  }
  units(s, [5], (c, u) => {
    const a = addressSize(c);
    need(a === elfAddr, `a table has address size ${a} in a file of ${elfAddr}-byte addresses`);
    segmentSelector(c);
    need(
      bases.has(BigInt(c.pos)),
      `the address table at ${u.body - (u.offsetSize === 8 ? 12 : 4)} is not the DW_AT_addr_base of any unit`,
    );
    need(c.left % a === 0, 'its addresses are not whole');
    while (c.left > 0) loaded(c, a);
  });
  return undefined;
};
