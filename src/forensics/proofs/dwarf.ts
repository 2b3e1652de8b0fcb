/**
 * `.debug_*` sections: DWARF, proven section by section to parse as what
 * its name claims. Every unit-structured section is walked unit by unit:
 * each unit length (32- or 64-bit DWARF) must land exactly on the next unit
 * and the last on the section's end, each version must be one that section
 * has had, and the header fields must be sane (address sizes, offsets into
 * the sections they point at). `.debug_abbrev` is parsed entry by entry,
 * and `.debug_info` is walked DIE by DIE with those abbreviations: every
 * attribute of every DIE must be read with its form and the DIEs must fill
 * each unit exactly. `.debug_str` / `.debug_line_str` are NUL-terminated
 * text strings; `.debug_types` type units are walked like `.debug_info`, and
 * macro units are decoded entry by entry (dwarf-macro.ts). Any other
 * `.debug_*` name (`.debug_cu_index`/`.debug_tu_index` of .dwp packages
 * among them) is not explained.
 *
 * Why nothing hides here: no loader reads these sections (outside every
 * program header, checked first) and gdb does not execute them (the one
 * section gdb runs, .debug_gdb_scripts, is never explained); a payload would
 * have to be a well-formed DWARF unit whose bytes all parse, strings that
 * are text, and the whole is bounded (debugLimit, routes of outside.ts).
 */
import { Cursor, checkStringTable, isText, need, quote } from './cursor.js';
import { decodeExpression, type ExprContext } from './dwarf-expr.js';
import { decodeCfi } from './dwarf-frame.js';
import { decodeLineUnit } from './dwarf-line.js';
import { type MacroRefs, proveMacinfo, proveMacro } from './dwarf-macro.js';
import { loadedSpan } from './symbols.js';
import type { Proof, ProofSubject } from './types.js';

/**
 * A DW_FORM_block* value of an attribute that is not a location is constant
 * data (DW_AT_const_value of an aggregate, a vendor blob): toolchains write
 * a few dozen bytes at most, so anything longer is bytes nothing explains.
 */
export const BLOCK_LIMIT = 256;
/** Attributes of the location / DWARF-expression class, whose blocks are decoded as expressions. */
const LOCATION_ATTRS = new Set([
  0x02, 0x19, 0x2a, 0x38, 0x40, 0x48, 0x4a, 0x4d, 0x4e, 0x50, 0x51, 0x52, 0x7e, 0x7f, 0x81, 0x2111, 0x2112,
  0x2113,
]);

export interface Unit {
  /** Offset of the unit's first byte after unit_length. */
  body: number;
  end: number;
  offsetSize: 4 | 8;
  version: number;
}

/** Walks unit lengths; calls `each` with a cursor over each unit's contents after unit_length. */
export function units(
  s: ProofSubject,
  versions: readonly number[] | 'none',
  each: (c: Cursor, u: Unit) => void,
): void {
  const little = s.elf.header.endian === 'little';
  const c = new Cursor(s.bytes, little);
  need(s.bytes.length > 0, 'it is empty');
  while (c.left > 0) {
    const at = c.pos;
    let len = BigInt(c.u32());
    let offsetSize: 4 | 8 = 4;
    if (len === 0xffffffffn) {
      len = c.u64();
      offsetSize = 8;
    } else need(len < 0xfffffff0n, `the unit at offset ${at} has a reserved length 0x${len.toString(16)}`);
    need(
      len >= 2n && len <= BigInt(c.left),
      `the unit at offset ${at} (length ${len}) does not fit in the section (${c.left} bytes left)`,
    );
    const end = c.pos + Number(len);
    const u = new Cursor(s.bytes, little, c.pos, end);
    const version = versions === 'none' ? 0 : u.u16();
    if (versions !== 'none')
      need(
        versions.includes(version),
        `the unit at offset ${at} has version ${version} (${versions.join(', ')} expected)`,
      );
    each(u, { body: c.pos, end, offsetSize, version });
    c.pos = end;
  }
}

export const offset = (c: Cursor, u: Unit) => (u.offsetSize === 8 ? c.u64() : BigInt(c.u32()));

export function addressSize(c: Cursor): number {
  const a = c.u8();
  need(a === 2 || a === 4 || a === 8, `an address size of ${a}`);
  return a;
}

export function segmentSelector(c: Cursor): void {
  need(c.u8() === 0, 'a segment selector size other than 0');
}

/** Size of another section of the same file by name, uncompressed (0 when absent). */
export async function sizeOf(s: ProofSubject, name: string): Promise<bigint> {
  const t = s.elf.sections.find((x) => x.name === name);
  if (!t) return 0n;
  return (t.flags & 0x800n) === 0n ? BigInt(t.size) : BigInt((await s.read(t)).length);
}

function within(v: bigint, size: bigint, what: string): void {
  need(
    v < size || (v === 0n && size === 0n),
    `${what} (0x${v.toString(16)}) points past the end of its section (${size} bytes)`,
  );
}

// --- .debug_abbrev --------------------------------------------------------

export interface Abbrev {
  tag: number;
  children: boolean;
  forms: number[];
  attrs: number[];
}

const FORMS = new Set([
  ...Array.from({ length: 0x2c }, (_, i) => i + 1).filter((f) => f !== 0x02),
  0x1f01,
  0x1f02,
  0x1f20,
  0x1f21,
]);

/** Abbreviation tables by offset. */
export function parseAbbrevs(bytes: Buffer, little: boolean): Map<number, Map<bigint, Abbrev>> {
  const tables = new Map<number, Map<bigint, Abbrev>>();
  const c = new Cursor(bytes, little);
  while (c.left > 0) {
    const start = c.pos;
    const table = new Map<bigint, Abbrev>();
    for (;;) {
      const code = c.uleb();
      if (code === 0n) break;
      need(!table.has(code), `abbreviation code ${code} is defined twice in the table at ${start}`);
      const tag = c.uleb();
      need(tag > 0n && tag <= 0xffffn, `abbreviation ${code} has tag ${tag}`);
      const children = c.u8();
      need(children <= 1, `abbreviation ${code} has a children flag of ${children}`);
      const forms: number[] = [];
      const attrs: number[] = [];
      for (;;) {
        const attr = c.uleb();
        const form = c.uleb();
        if (attr === 0n && form === 0n) break;
        need(attr > 0n && attr <= 0x3fffn, `abbreviation ${code} has attribute 0x${attr.toString(16)}`);
        need(FORMS.has(Number(form)), `abbreviation ${code} has unknown form 0x${form.toString(16)}`);
        if (form === 0x21n) c.sleb();
        forms.push(Number(form));
        attrs.push(Number(attr));
      }
      table.set(code, { tag: Number(tag), children: children === 1, forms, attrs });
    }
    tables.set(start, table);
  }
  return tables;
}

export const proveAbbrev: Proof = ({ bytes, elf }) => {
  need(bytes.length > 0, 'it is empty');
  parseAbbrevs(bytes, elf.header.endian === 'little');
  return undefined;
};

// --- .debug_info ------------------------------------------------------------

export interface Sizes {
  str: bigint;
  lineStr: bigint;
  span: [bigint, bigint];
}

/**
 * Reads the variable part of an attribute `attr` of `form`; returns how many
 * fixed bytes follow. Expression values (exprloc, and blocks of location
 * attributes) are decoded here and return 0; other blocks are capped.
 */
export function formSize(c: Cursor, form: number, attr: number, u: Unit, addr: number, sizes: Sizes): number {
  const block = (n: bigint) => {
    if (form === 0x18 || LOCATION_ATTRS.has(attr)) {
      need(n <= BigInt(c.left), `an expression of ${n} bytes runs past its unit`);
      const x: ExprContext = { addr, offsetSize: u.offsetSize, span: sizes.span };
      decodeExpression(c, Number(n), x);
      return 0;
    }
    need(
      n <= BigInt(BLOCK_LIMIT),
      `attribute 0x${attr.toString(16)} holds a ${n}-byte block (more than ${BLOCK_LIMIT})`,
    );
    return Number(n);
  };
  switch (form) {
    case 0x01:
      return addr;
    case 0x03:
      return block(BigInt(c.u16()));
    case 0x04:
      return block(BigInt(c.u32()));
    case 0x05:
    case 0x12:
    case 0x26:
    case 0x2a:
      return 2;
    case 0x06:
    case 0x13:
    case 0x1c:
    case 0x28:
    case 0x2c:
      return 4;
    case 0x07:
    case 0x14:
    case 0x20:
    case 0x24:
      return 8;
    case 0x08: {
      const s = c.cstr();
      need(isText(s), `an inline string is not text (${quote(s)})`);
      return 0;
    }
    case 0x09:
    case 0x18:
      return block(c.uleb());
    case 0x0a:
      return block(BigInt(c.u8()));
    case 0x0b:
    case 0x11:
    case 0x25:
    case 0x29:
      return 1;
    case 0x0c: {
      const f = c.u8();
      need(f <= 1, `a flag of ${f}`);
      return 0;
    }
    case 0x0d:
      c.sleb();
      return 0;
    case 0x0e:
      within(offset(c, u), sizes.str, 'a .debug_str offset');
      return 0;
    case 0x1f:
      within(offset(c, u), sizes.lineStr, 'a .debug_line_str offset');
      return 0;
    case 0x0f:
    case 0x15:
    case 0x1a:
    case 0x1b:
    case 0x22:
    case 0x23:
    case 0x1f01:
    case 0x1f02: {
      c.uleb();
      return 0;
    }
    case 0x10:
      return u.version === 2 ? addr : u.offsetSize;
    case 0x16: {
      const f = Number(c.uleb());
      need(f !== 0x16 && FORMS.has(f), `an indirect form 0x${f.toString(16)}`);
      return formSize(c, f, attr, u, addr, sizes);
    }
    case 0x17:
    case 0x1d:
    case 0x1f20:
    case 0x1f21:
      return u.offsetSize;
    case 0x19:
    case 0x21:
      return 0;
    case 0x1e:
      return 16;
    case 0x27:
    case 0x2b:
      return 3;
    default:
      need(false, `unknown form 0x${form.toString(16)}`);
  }
}

/** Called with each section-offset value of a DIE attribute (DWARF 2–3 data4/data8 included). */
export type OffsetVisitor = (attr: number, value: bigint) => void;

/**
 * Walks .debug_info (the subject) DIE by DIE; `visit` sees the section
 * offsets attributes hold, `onDie` each DIE's section offset and tag. With
 * `types`, the subject is DWARF 4's .debug_types, whose type units are
 * walked the same way.
 */
export async function walkInfo(
  s: ProofSubject,
  visit?: OffsetVisitor,
  onDie?: (offset: number, tag: number) => void,
  types = false,
): Promise<void> {
  const abbrevSec = s.elf.sections.find((x) => x.name === '.debug_abbrev');
  need(abbrevSec !== undefined, 'there is no .debug_abbrev to read its entries with');
  const abbrevs = parseAbbrevs(await s.read(abbrevSec), s.elf.header.endian === 'little');
  const sizes: Sizes = {
    str: await sizeOf(s, '.debug_str'),
    lineStr: await sizeOf(s, '.debug_line_str'),
    span: loadedSpan(s.elf),
  };
  units(s, types ? [4] : [2, 3, 4, 5], (c, u) => {
    let addr: number;
    let abbrevOffset: bigint;
    /** A type unit's type_offset (from the unit's first byte), which must name one of its DIEs. */
    let typeOffset: bigint | undefined;
    if (u.version >= 5) {
      const type = c.u8();
      need(type >= 1 && type <= 6, `a unit type of ${type}`);
      addr = addressSize(c);
      abbrevOffset = offset(c, u);
      if (type === 2 || type === 6) {
        c.skip(8);
        typeOffset = offset(c, u);
      } else if (type === 4 || type === 5) c.skip(8);
    } else {
      abbrevOffset = offset(c, u);
      addr = addressSize(c);
      if (types) {
        c.skip(8); // type_signature
        typeOffset = offset(c, u);
      }
    }
    const table = abbrevs.get(Number(abbrevOffset));
    need(table !== undefined, `a unit's abbreviation offset ${abbrevOffset} starts no abbreviation table`);
    const unitStart = u.body - (u.offsetSize === 8 ? 12 : 4);
    let typeDie = typeOffset === undefined;
    let depth = 0;
    while (c.left > 0) {
      const at = c.pos;
      const code = c.uleb();
      if (code === 0n) {
        depth = Math.max(0, depth - 1);
        continue;
      }
      const a = table.get(code);
      need(a !== undefined, `a DIE uses abbreviation ${code}, which its table does not define`);
      if (BigInt(at - unitStart) === typeOffset) typeDie = true;
      onDie?.(at, a.tag);
      a.forms.forEach((form, i) => {
        const attr = a.attrs[i]!;
        const n = formSize(c, form, attr, u, addr, sizes);
        const isOffset = form === 0x17 || (u.version < 4 && (form === 0x06 || form === 0x07));
        if (visit && isOffset) visit(attr, c.uint(n));
        else c.skip(n);
      });
      if (a.children) depth++;
    }
    need(typeDie, `a type unit's type_offset (${typeOffset}) names none of its DIEs`);
  });
}

export const proveInfo: Proof = async (s) => {
  await walkInfo(s);
  return undefined;
};

// --- the other unit-structured sections --------------------------------------

const proveLine: Proof = async (s) => {
  const x = {
    little: s.elf.header.endian === 'little',
    addr: s.elf.header.class === 64 ? 8 : 4,
    span: loadedSpan(s.elf),
    str: await sizeOf(s, '.debug_str'),
    lineStr: await sizeOf(s, '.debug_line_str'),
  };
  units(s, [2, 3, 4, 5], (c, u) => decodeLineUnit(c, u.version, u.offsetSize, x));
  return undefined;
};

const provePubnames: Proof = async (s) => {
  const info = await sizeOf(s, '.debug_info');
  const gnu = s.section.name.startsWith('.debug_gnu_');
  units(s, [2], (c, u) => {
    within(offset(c, u), info, 'a .debug_info offset');
    offset(c, u);
    for (;;) {
      const o = offset(c, u);
      if (o === 0n) break;
      if (gnu) c.u8();
      need(isText(c.cstr()), 'a name is not text');
    }
    need(c.left === 0, `a name set has ${c.left} byte(s) after its terminator`);
  });
  return undefined;
};

const proveStrOffsets: Proof = async (s) => {
  const str = await sizeOf(s, '.debug_str');
  units(s, [5], (c, u) => {
    need(c.u16() === 0, 'its header padding is not zero');
    need(c.left % u.offsetSize === 0, 'its offsets are not whole');
    while (c.left > 0) within(offset(c, u), str, 'a .debug_str offset');
  });
  return undefined;
};

/** DW_AT_GNU_locviews: gcc's location view pairs, written just before their location list. */
const AT_GNU_LOCVIEWS = 0x2137;

/** Offsets into the subject (a location list section) that .debug_info's location attributes and views name. */
async function locationOffsets(s: ProofSubject): Promise<{ lists: Set<number>; views: Set<number> }> {
  const lists = new Set<number>();
  const views = new Set<number>();
  const infoSec = s.elf.sections.find((x) => x.name === '.debug_info');
  if (!infoSec) return { lists, views };
  await walkInfo({ ...s, section: infoSec, bytes: await s.read(infoSec) }, (attr, v) => {
    if (v >= BigInt(s.bytes.length)) return; // an offset into another section (.debug_line, ranges…)
    if (attr === AT_GNU_LOCVIEWS) views.add(Number(v));
    else if (LOCATION_ATTRS.has(attr)) lists.add(Number(v));
  });
  return { lists, views };
}

/** Reads the LEB128 view pairs at c's position, which must end exactly where a list starts. */
function skipViews(c: Cursor, lists: Set<number>): void {
  const at = c.pos;
  while (c.left > 0 && !lists.has(c.pos)) {
    c.uleb();
    c.uleb();
  }
  need(lists.has(c.pos), `the location views at ${at} do not end where a location list starts`);
}

/**
 * DW_RLE_* / DW_LLE_* entry operands, by kind ('e' = a location expression,
 * LEB128-length-prefixed); DW_LLE_GNU_view_pair (9) is gcc's location view.
 */
const RLE: Record<number, string> = { 1: 'u', 2: 'uu', 3: 'uu', 4: 'uu', 5: 'a', 6: 'aa', 7: 'au' };
const LLE: Record<number, string> = {
  1: 'u',
  2: 'uue',
  3: 'uue',
  4: 'uue',
  5: 'e',
  6: 'a',
  7: 'aae',
  8: 'aue',
  9: 'uu',
};

/**
 * .debug_rnglists / .debug_loclists: after each unit's header and offset
 * table, a run of lists, every entry a known kind with its operands read
 * (addresses inside the loaded image or 0, expressions decoded), each list
 * ending with DW_RLE/DW_LLE_end_of_list, the unit consumed exactly.
 */
const proveLists: Proof = async (s) => {
  const loc = s.section.name.endsWith('loclists');
  const kinds = loc ? LLE : RLE;
  const span = loadedSpan(s.elf);
  const { lists, views } = loc
    ? await locationOffsets(s)
    : { lists: new Set<number>(), views: new Set<number>() };
  units(s, [5], (c, u) => {
    const addr = addressSize(c);
    segmentSelector(c);
    const count = c.u32();
    need(count * u.offsetSize <= c.left, `its offset table of ${count} entries runs past its unit`);
    const table = c.pos;
    for (let i = 0; i < count; i++) {
      const o = c.uint(u.offsetSize);
      need(o < BigInt(u.end - table), `offset table entry ${i} points past its unit`);
      lists.add(table + Number(o));
    }
    const x: ExprContext = { addr, offsetSize: u.offsetSize, span };
    let ended = true;
    while (c.left > 0) {
      const at = c.pos;
      if (ended && views.has(at) && !lists.has(at)) {
        skipViews(c, lists);
        continue;
      }
      const kind = c.u8();
      if (kind === 0) {
        ended = true;
        continue;
      }
      ended = false;
      const ops = kinds[kind];
      need(ops !== undefined, `an entry at ${at} has unknown kind ${kind}`);
      for (const o of ops) {
        if (o === 'u') c.uleb();
        else if (o === 'a') {
          const v = c.uint(addr);
          need(
            v === 0n || (v >= span[0] && v <= span[1]),
            `an entry at ${at} names 0x${v.toString(16)}, outside the loaded image`,
          );
        } else {
          const n = c.uleb();
          need(n <= BigInt(c.left), `an expression at ${at} runs past its unit`);
          decodeExpression(c, Number(n), x);
        }
      }
    }
    need(ended, 'its last list does not end with end_of_list');
  });
  return undefined;
};

/** .debug_types (DWARF 4 type units): walked DIE by DIE like .debug_info. */
const proveTypes: Proof = async (s) => {
  await walkInfo(s, undefined, undefined, true);
  return undefined;
};

/**
 * .debug_frame: CIEs (versions 1, 3, 4, without augmentation) and FDEs that
 * point at a CIE, with every call frame instruction decoded (dwarf-frame.ts)
 * and each FDE's initial location inside the loaded image (or 0: discarded).
 */
const proveFrame: Proof = (s) => {
  const little = s.elf.header.endian === 'little';
  const span = loadedSpan(s.elf);
  const elfAddr = s.elf.header.class === 64 ? 8 : 4;
  const cies = new Map<number, { addr: number; codeAlign: bigint }>();
  const fdes: Array<{ at: number; id: bigint; pos: number; end: number; offsetSize: 4 | 8 }> = [];
  units(s, 'none', (c, u) => {
    const id = offset(c, u);
    const cieId = u.offsetSize === 8 ? 0xffffffffffffffffn : 0xffffffffn;
    if (id !== cieId) {
      fdes.push({ at: u.body, id, pos: c.pos, end: u.end, offsetSize: u.offsetSize });
      return;
    }
    const v = c.u8();
    need(v === 1 || v === 3 || v === 4, `a CIE has version ${v}`);
    const aug = c.cstr();
    // Augmentations are an .eh_frame matter; gas and LLVM write none in .debug_frame.
    need(aug.length === 0, `a CIE has augmentation ${quote(aug)}, which rebuild does not decode here`);
    let addr = elfAddr;
    if (v === 4) {
      addr = addressSize(c);
      segmentSelector(c);
    }
    const codeAlign = c.uleb();
    need(codeAlign > 0n, 'a CIE has a code alignment factor of 0');
    c.sleb();
    if (v === 1) c.u8();
    else c.uleb();
    decodeCfi(c, { addr, offsetSize: u.offsetSize, span }, { codeAlign });
    cies.set(u.body - (u.offsetSize === 8 ? 12 : 4), { addr, codeAlign });
  });
  for (const f of fdes) {
    const cie = cies.get(Number(f.id));
    need(cie !== undefined, `the FDE at offset ${f.at} points at no CIE (0x${f.id.toString(16)})`);
    const { addr, codeAlign } = cie;
    const c = new Cursor(s.bytes, little, f.pos, f.end);
    const start = c.uint(addr);
    const range = c.uint(addr);
    need(
      start === 0n || (start >= span[0] && start + range <= span[1]),
      `the FDE at offset ${f.at} covers 0x${start.toString(16)}+${range}, outside the loaded image`,
    );
    decodeCfi(c, { addr, offsetSize: f.offsetSize, span }, { codeAlign, range });
  }
  return undefined;
};

/**
 * One (begin, end) pair of a DWARF 2–4 range or location list: absolute
 * addresses inside the loaded image, or offsets from a base no larger than
 * the image (gcc writes both), or a linker's tombstone for a discarded
 * function: begin = end at one of the values linkers write (GNU ld 0 or 1,
 * lld -1 or -2 at either address size). Any other begin = end pair would
 * carry 16 bytes of the attacker's choosing per entry.
 */
export const TOMBSTONES = new Set([
  0n,
  1n,
  0xffffffffn,
  0xfffffffen,
  0xffffffffffffffffn,
  0xfffffffffffffffen,
]);

function pairInImage(begin: bigint, end: bigint, span: [bigint, bigint], what: string): void {
  const size = span[1] - span[0];
  need(
    begin <= end &&
      ((begin >= span[0] && end <= span[1]) || end <= size || (begin === end && TOMBSTONES.has(begin))),
    `${what} (0x${begin.toString(16)}, 0x${end.toString(16)}) lies outside the loaded image`,
  );
}

function baseInImage(base: bigint, span: [bigint, bigint], what: string): void {
  need(
    base === 0n || (base >= span[0] && base <= span[1]),
    `${what} selects base address 0x${base.toString(16)}, outside the loaded image`,
  );
}

/** .debug_ranges (DWARF 2–4): (begin, end) address pairs, each list ending with (0, 0). */
const proveRanges: Proof = ({ bytes, elf }) => {
  const a = elf.header.class === 64 ? 8 : 4;
  const all = a === 8 ? 0xffffffffffffffffn : 0xffffffffn;
  const span = loadedSpan(elf);
  need(
    bytes.length > 0 && bytes.length % (2 * a) === 0,
    `its size is not a whole number of ${2 * a}-byte address pairs`,
  );
  const c = new Cursor(bytes, elf.header.endian === 'little');
  let last = false;
  while (c.left > 0) {
    const at = c.pos;
    const begin = c.uint(a);
    const end = c.uint(a);
    last = begin === 0n && end === 0n;
    if (last) continue;
    if (begin === all) baseInImage(end, span, `the range list entry at ${at}`);
    else pairInImage(begin, end, span, `the range at ${at}`);
  }
  need(last, 'its last list does not end with (0, 0)');
  return undefined;
};

/**
 * .debug_loc (DWARF 2–4), read from the lists .debug_info points at: each
 * list's (begin, end, expression length, expression) entries up to (0, 0),
 * with every expression decoded; gcc's location views (LEB128 pairs) fill
 * exactly the bytes from their DW_AT_GNU_locviews offset to the list.
 * Bytes no DIE points at are not explained.
 */
const proveLoc: Proof = async (s) => {
  const { bytes, elf } = s;
  need(
    elf.sections.some((x) => x.name === '.debug_info'),
    'there is no .debug_info whose location lists it could hold',
  );
  const { lists, views } = await locationOffsets(s);
  const a = elf.header.class === 64 ? 8 : 4;
  const all = a === 8 ? 0xffffffffffffffffn : 0xffffffffn;
  const span = loadedSpan(elf);
  const c = new Cursor(bytes, elf.header.endian === 'little');
  need(bytes.length > 0, 'it is empty');
  while (c.left > 0) {
    const at = c.pos;
    if (views.has(at) && !lists.has(at)) {
      skipViews(c, lists);
      continue;
    }
    need(lists.has(at), `it holds bytes at offset ${at} that no location attribute points at`);
    for (;;) {
      const here = c.pos;
      const begin = c.uint(a);
      const end = c.uint(a);
      if (begin === 0n && end === 0n) break;
      if (begin === all) {
        baseInImage(end, span, `the location list entry at ${here}`);
        continue;
      }
      pairInImage(begin, end, span, `the location range at ${here}`);
      decodeExpression(c, c.u16(), { addr: a, offsetSize: 4, span });
    }
  }
  return undefined;
};

const proveStrings: Proof = ({ bytes }) => {
  need(bytes.length > 0, 'it is empty');
  checkStringTable(bytes, 'it', false);
  return undefined;
};

/** The section offsets that .debug_info's attributes `attrs` hold (macro units and lists). */
const namedByInfo: MacroRefs = async (s, attrs) => {
  const named = new Set<number>();
  const infoSec = s.elf.sections.find((x) => x.name === '.debug_info');
  if (!infoSec) return named;
  await walkInfo({ ...s, section: infoSec, bytes: await s.read(infoSec) }, (attr, v) => {
    if (attrs.has(attr)) named.add(Number(v));
  });
  return named;
};

const proveMacroSection: Proof = async (s) =>
  proveMacro(s, namedByInfo, {
    str: await sizeOf(s, '.debug_str'),
    line: await sizeOf(s, '.debug_line'),
    strOffsets: await sizeOf(s, '.debug_str_offsets'),
  });

/** The DWARF sections we can prove, by name (without `.debug_` / `.zdebug_`). */
export const DWARF: Record<string, Proof> = {
  info: proveInfo,
  abbrev: proveAbbrev,
  line: proveLine,
  pubnames: provePubnames,
  pubtypes: provePubnames,
  gnu_pubnames: provePubnames,
  gnu_pubtypes: provePubnames,
  str_offsets: proveStrOffsets,
  rnglists: proveLists,
  loclists: proveLists,
  types: proveTypes,
  frame: proveFrame,
  ranges: proveRanges,
  loc: proveLoc,
  str: proveStrings,
  line_str: proveStrings,
  macro: proveMacroSection,
  macinfo: (s) => proveMacinfo(s, namedByInfo),
};
