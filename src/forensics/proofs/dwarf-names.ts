/**
 * `.debug_names` (DWARF 5 name index), decoded whole, index by index: the
 * header (version 5, zero padding, a known augmentation string, no more
 * hash buckets than names need); compile- and type-unit lists whose offsets
 * are where such units of .debug_info start; the hash table (every bucket
 * names the first of its names, every hash is the DWARF hash of its name);
 * the name table (distinct text strings of .debug_str); the abbreviation
 * table (distinct abbreviations with 16-bit codes, each used, known DW_IDX_*
 * attributes with their forms, each at most once, DW_IDX_die_offset always,
 * zero padding only); and the entry pool, whose
 * series of entries (one non-empty series per name, distinct entries, ended
 * by 0) must fill it exactly, each starting where its name points (then at
 * most 3 zero bytes: LLVM aligns each index to 4).
 *
 * What this lets through, and why it is safe: an entry names a unit by its
 * index in the lists and a DIE by an offset where a DIE of the entry's tag
 * starts in that unit, so an attacker chooses which existing name, unit and
 * DIE an entry points at (each at most once per name), never bytes of their
 * own; that the DIE carries that name is not checked. Foreign type units
 * (8-byte signatures, split DWARF) and DW_IDX_type_hash (8 free bytes) are
 * not explained: a false alarm stated as such, not a hiding place.
 */
import { Cursor, isText, need, quote } from './cursor.js';
import { offset, units, walkInfo } from './dwarf.js';
import { type InfoUnit, infoUnits, unitAt } from './dwarf-info-units.js';
import type { Proof } from './types.js';

const IDX_COMPILE_UNIT = 1;
const IDX_TYPE_UNIT = 2;
const IDX_DIE_OFFSET = 3;
const IDX_PARENT = 4;
const FORM_FLAG_PRESENT = 0x19;
/** Augmentation strings toolchains write (LLVM; gdb's index writer), without their NUL padding. */
const AUGMENTATIONS = new Set(['', 'LLVM0700', 'GDB', 'GDB2', 'GDB3']);
/** Constant and reference forms an index attribute may use, by their size (0: ULEB128). */
const VALUE_FORMS: Record<number, number> = {
  11: 1,
  5: 2,
  6: 4,
  7: 8,
  15: 0,
  17: 1,
  18: 2,
  19: 4,
  20: 8,
  21: 0,
};

interface NameAbbrev {
  tag: number;
  attrs: Array<{ idx: number; form: number }>;
}

/** The DWARF 5 name hash (section 7.33): DJB over the name, case-folded as LLVM and gdb fold it. */
export function nameHash(name: Buffer): number {
  let h = 5381;
  const add = (b: number) => {
    h = (Math.imul(h, 33) + b) >>> 0;
  };
  let ascii = true;
  for (const b of name) if (b > 0x7f) ascii = false;
  if (ascii) {
    for (const b of name) add(b >= 0x41 && b <= 0x5a ? b + 0x20 : b);
    return h;
  }
  for (const ch of name.toString('utf8')) {
    const cp = ch.codePointAt(0)!;
    // DWARF 5 folds both dotted capital I and dotless small i to 'i'.
    const folded = cp === 0x130 || cp === 0x131 ? 'i' : ch.toLowerCase();
    for (const b of Buffer.from([...folded].length === 1 ? folded : ch, 'utf8')) add(b);
  }
  return h;
}

function parseAbbrevTable(c: Cursor): Map<bigint, NameAbbrev> {
  const table = new Map<bigint, NameAbbrev>();
  const shapes = new Set<string>();
  for (;;) {
    const code = c.uleb();
    if (code === 0n) break;
    need(!table.has(code), `name abbreviation ${code} is defined twice`);
    // Codes are tags (LLVM 14) or small indices (later LLVM, gdb): at most 16 bits.
    need(code <= 0xffffn, `name abbreviation code ${code} is larger than any toolchain writes`);
    const tag = c.uleb();
    need(tag > 0n && tag <= 0xffffn, `name abbreviation ${code} has tag ${tag}`);
    const attrs: NameAbbrev['attrs'] = [];
    for (;;) {
      const idx = Number(c.uleb());
      const form = Number(c.uleb());
      if (idx === 0 && form === 0) break;
      // Each index attribute at most once: the entry's values are checked by what they name,
      // and an earlier value of the same attribute (overwritten by the later one) would go unread.
      need(
        !attrs.some((x) => x.idx === idx),
        `name abbreviation ${code} gives index attribute 0x${idx.toString(16)} twice (the first value would go unchecked)`,
      );
      const known = idx >= IDX_COMPILE_UNIT && idx <= IDX_PARENT;
      const vendor = idx >= 0x2000 && idx <= 0x3fff;
      need(
        known || vendor,
        `name abbreviation ${code} has index attribute 0x${idx.toString(16)}, which rebuild does not explain (DW_IDX_type_hash and unknown ones carry unchecked bytes)`,
      );
      need(
        form === FORM_FLAG_PRESENT ? idx === IDX_PARENT || vendor : known && VALUE_FORMS[form] !== undefined,
        `name abbreviation ${code} gives index attribute 0x${idx.toString(16)} the form 0x${form.toString(16)}`,
      );
      attrs.push({ idx, form });
    }
    // LLVM and gdb index DIEs: every entry names one, which is what checks its tag.
    need(
      attrs.some((x) => x.idx === IDX_DIE_OFFSET),
      `name abbreviation ${code} names no DIE (no DW_IDX_die_offset), so nothing checks its tag`,
    );
    const shape = `${tag}:${attrs.map((x) => `${x.idx}/${x.form}`).join(',')}`;
    need(!shapes.has(shape), `name abbreviation ${code} repeats an earlier abbreviation`);
    shapes.add(shape);
    table.set(code, { tag: Number(tag), attrs });
  }
  while (c.left > 0) need(c.u8() === 0, 'its abbreviation table is followed by bytes that are not zero');
  return table;
}

function readValue(c: Cursor, form: number): bigint {
  const n = VALUE_FORMS[form]!;
  return n === 0 ? c.uleb() : c.uint(n);
}

export const proveNames: Proof = async (s) => {
  const all = await infoUnits(s);
  const strSec = s.elf.sections.find((x) => x.name === '.debug_str');
  const str = strSec ? await s.read(strSec) : Buffer.alloc(0);
  const little = s.elf.header.endian === 'little';
  const dies = new Map<number, number>();
  const infoSec = s.elf.sections.find((x) => x.name === '.debug_info');
  if (infoSec)
    await walkInfo({ ...s, section: infoSec, bytes: await s.read(infoSec) }, undefined, (at, tag) =>
      dies.set(at, tag),
    );
  units(s, [5], (c, u) => {
    need(c.u16() === 0, 'its header padding is not zero');
    const [cuCount, localTus, foreignTus, bucketCount, nameCount, abbrevSize, augSize] = Array.from(
      { length: 7 },
      () => c.u32(),
    ) as [number, number, number, number, number, number, number];
    need(
      foreignTus === 0,
      `it lists ${foreignTus} foreign type unit(s) (split DWARF), whose signatures rebuild cannot check`,
    );
    need(augSize % 4 === 0 && augSize <= 64, `an augmentation string of ${augSize} bytes`);
    const aug = c.buf.subarray(c.pos, c.pos + augSize);
    c.skip(augSize);
    const augText = aug.subarray(0, aug.indexOf(0) < 0 ? aug.length : aug.indexOf(0));
    need(
      AUGMENTATIONS.has(augText.toString('latin1')) && aug.subarray(augText.length).every((b) => b === 0),
      `its augmentation string ${quote(aug)} is not one a toolchain writes`,
    );
    // LLVM uses at most one bucket per name, gdb about as many: more are zeros nothing needs.
    need(bucketCount <= 2 * nameCount + 16, `it has ${bucketCount} hash buckets for ${nameCount} names`);
    const unitList = (count: number, types: number[], what: string): InfoUnit[] =>
      Array.from({ length: count }, () => {
        const unit = unitAt(all, offset(c, u), what);
        need(types.includes(unit.type), `${what} names a unit of type ${unit.type}`);
        return unit;
      });
    need(cuCount * u.offsetSize <= c.left, `its list of ${cuCount} compile units runs past its index`);
    const cus = unitList(cuCount, [1, 3, 4], 'a compile unit offset');
    need(localTus * u.offsetSize <= c.left, `its list of ${localTus} type units runs past its index`);
    const tus = unitList(localTus, [2], 'a type unit offset');
    need(
      4 * bucketCount + (bucketCount > 0 ? 4 : 0) * nameCount + 2 * u.offsetSize * nameCount + abbrevSize <=
        c.left,
      'its hash, name and abbreviation tables run past its index',
    );
    const buckets = Array.from({ length: bucketCount }, () => c.u32());
    const hashes = bucketCount > 0 ? Array.from({ length: nameCount }, () => c.u32()) : [];
    const strings = Array.from({ length: nameCount }, () => offset(c, u));
    const entries = Array.from({ length: nameCount }, () => offset(c, u));
    const abbrevs = parseAbbrevTable(new Cursor(c.buf, little, c.pos, c.pos + abbrevSize));
    c.skip(abbrevSize);

    // Names: distinct text strings whose hashes and buckets are exactly what they must be.
    const distinct = new Set<string>();
    let bucket = 0;
    strings.forEach((o, i) => {
      need(o < BigInt(str.length), `name ${i + 1} points past .debug_str (0x${o.toString(16)})`);
      const nul = str.indexOf(0, Number(o));
      need(nul >= 0, `name ${i + 1} is not NUL-terminated in .debug_str`);
      const name = str.subarray(Number(o), nul);
      need(name.length > 0 && isText(name), `name ${i + 1} is not text (${quote(name)})`);
      need(!distinct.has(name.toString('latin1')), `name ${quote(name)} is listed twice`);
      distinct.add(name.toString('latin1'));
      if (bucketCount === 0) return;
      need(hashes[i] === nameHash(name), `name ${i + 1} (${quote(name)}) has a hash that is not its own`);
      const b = hashes[i]! % bucketCount;
      need(b >= bucket, `name ${i + 1} is out of its bucket's order`);
      if (i === 0 || b !== bucket)
        need(buckets[b] === i + 1, `bucket ${b} does not point at its first name (${i + 1})`);
      bucket = b;
    });
    const used = new Set(hashes.map((h) => h % bucketCount));
    buckets.forEach((v, b) => {
      need(v === 0 || used.has(b), `bucket ${b} points at name ${v}, which hashes elsewhere`);
    });

    // The entry pool: one series per name, back to back, filling the rest of the index.
    const pool = c.pos;
    const starts = new Set(entries.map((e) => Number(e)));
    need(starts.size === entries.length, 'two names point at the same series of entries');
    const usedAbbrevs = new Set<bigint>();
    need(
      entries.every((e) => e < BigInt(u.end - pool)),
      'an entry offset points past its entry pool',
    );
    const seen = new Set<number>();
    const entryAt = new Set<number>();
    const parents: number[] = [];
    while (c.left > 0) {
      const at = c.pos - pool;
      // LLVM aligns the end of each index to 4 bytes with zeros.
      if (c.left < 4 && seen.size === starts.size && c.buf.subarray(c.pos, u.end).every((x) => x === 0))
        break;
      need(starts.has(at), `its entry pool holds bytes at ${at} that no name points at`);
      seen.add(at);
      const series = new Set<string>();
      for (;;) {
        const from = c.pos;
        const code = c.uleb();
        if (code === 0n) break;
        entryAt.add(from - pool);
        usedAbbrevs.add(code);
        const a = abbrevs.get(code);
        need(a !== undefined, `an entry at ${from - pool} uses abbreviation ${code}, which is not defined`);
        let unit: InfoUnit | undefined = cuCount === 1 && localTus === 0 ? cus[0] : undefined;
        let die: bigint | undefined;
        for (const { idx, form } of a.attrs) {
          if (form === FORM_FLAG_PRESENT) continue;
          const v = readValue(c, form);
          if (idx === IDX_COMPILE_UNIT) {
            need(v < BigInt(cuCount), `an entry names compile unit ${v} of ${cuCount}`);
            unit = cus[Number(v)];
          } else if (idx === IDX_TYPE_UNIT) {
            need(v < BigInt(localTus), `an entry names type unit ${v} of ${localTus}`);
            unit = tus[Number(v)];
          } else if (idx === IDX_DIE_OFFSET) die = v;
          else parents.push(Number(v));
        }
        if (die !== undefined) {
          need(unit !== undefined, `the entry at ${from - pool} does not say which unit its DIE is in`);
          need(
            die > 0n && BigInt(unit.start) + die < BigInt(unit.end),
            `the entry at ${from - pool} points at DIE offset 0x${die.toString(16)}, outside its unit`,
          );
          const tag = dies.get(unit.start + Number(die));
          need(
            tag === a.tag,
            `the entry at ${from - pool} points at DIE offset 0x${die.toString(16)}, where no DIE of tag 0x${a.tag.toString(16)} starts`,
          );
        }
        const key = c.buf.toString('latin1', from, c.pos);
        need(!series.has(key), `the entry at ${from - pool} repeats an earlier entry of its name`);
        series.add(key);
      }
      need(series.size > 0, `the name whose entries start at ${at} has none`);
    }
    for (const code of abbrevs.keys())
      need(usedAbbrevs.has(code), `name abbreviation ${code} is used by no entry`);
    need(seen.size === starts.size, 'a name points at no series of entries in its entry pool');
    for (const p of parents)
      need(entryAt.has(p), `an entry's parent (${p}) is not where an entry of the pool starts`);
  });
  return undefined;
};
