/**
 * AppImage type 2 layout: an ELF runtime, then a SquashFS image at the
 * runtime's end. The runtime finds its image the way this does (the end of
 * the section header table or of the last section, whichever is later:
 * type2-runtime's get_elf_size and squishy's get_offset), so the image
 * mounted at run time is the one compared here. Pure over the header bytes.
 */
import { open } from 'node:fs/promises';
import { parseSuperblock, type SquashfsSuperblock, SUPERBLOCK_READ_BYTES } from './squashfs.js';

export interface ElfHeaderFacts {
  is64: boolean;
  little: boolean;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface SectionRange {
  name: string;
  offset: number;
  size: number;
}

export function elfHeaderFacts(h: Buffer): ElfHeaderFacts | undefined {
  if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = h[4] === 2;
  const little = h[5] !== 2;
  const u16 = (o: number) => (little ? h.readUInt16LE(o) : h.readUInt16BE(o));
  const u32 = (o: number) => (little ? h.readUInt32LE(o) : h.readUInt32BE(o));
  const u64 = (o: number) => Number(little ? h.readBigUInt64LE(o) : h.readBigUInt64BE(o));
  return is64
    ? {
        is64,
        little,
        phoff: u64(0x20),
        shoff: u64(0x28),
        phentsize: u16(0x36),
        phnum: u16(0x38),
        shentsize: u16(0x3a),
        shnum: u16(0x3c),
        shstrndx: u16(0x3e),
      }
    : {
        is64,
        little,
        phoff: u32(0x1c),
        shoff: u32(0x20),
        phentsize: u16(0x2a),
        phnum: u16(0x2c),
        shentsize: u16(0x2e),
        shnum: u16(0x30),
        shstrndx: u16(0x32),
      };
}

/** A bounded positioned reader over a file. */
export interface Reader {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export async function withReader<T>(path: string, fn: (r: Reader) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const reader: Reader = {
      size,
      async read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset));
        const buf = Buffer.alloc(n);
        if (n > 0) await fh.read(buf, 0, n, offset);
        return buf;
      },
    };
    return await fn(reader);
  } finally {
    await fh.close();
  }
}

const MAX_SECTIONS = 4096;

/** Section offsets, sizes and names (names from the section name table). */
export async function sectionRanges(r: Reader, e: ElfHeaderFacts): Promise<SectionRange[]> {
  if (e.shnum === 0 || e.shnum > MAX_SECTIONS || e.shentsize < (e.is64 ? 64 : 40)) return [];
  const table = await r.read(e.shoff, e.shnum * e.shentsize);
  if (table.length < e.shnum * e.shentsize) return [];
  const num = (o: number, wide: boolean) =>
    wide
      ? Number(e.little ? table.readBigUInt64LE(o) : table.readBigUInt64BE(o))
      : e.little
        ? table.readUInt32LE(o)
        : table.readUInt32BE(o);
  const raw = Array.from({ length: e.shnum }, (_, i) => {
    const at = i * e.shentsize;
    return {
      nameOff: num(at, false),
      type: num(at + 4, false),
      offset: num(at + (e.is64 ? 0x18 : 0x10), e.is64),
      size: num(at + (e.is64 ? 0x20 : 0x14), e.is64),
    };
  });
  const strtab = raw[e.shstrndx];
  const names = strtab ? await r.read(strtab.offset, Math.min(strtab.size, 1 << 20)) : Buffer.alloc(0);
  return raw.map((s) => {
    const end = names.indexOf(0, s.nameOff);
    const name =
      s.nameOff < names.length ? names.subarray(s.nameOff, end < 0 ? undefined : end).toString('latin1') : '';
    // SHT_NOBITS (8) occupies no file bytes.
    return { name, offset: s.offset, size: s.type === 8 ? 0 : s.size };
  });
}

/** Where the runtime ends, as the AppImage runtime computes it. */
export async function runtimeEnd(r: Reader, e: ElfHeaderFacts): Promise<number> {
  const shtEnd = e.shoff + e.shentsize * e.shnum;
  if (e.shnum === 0 || e.shnum > MAX_SECTIONS) return shtEnd;
  const last = await r.read(e.shoff + (e.shnum - 1) * e.shentsize, e.shentsize);
  if (last.length < e.shentsize) return shtEnd;
  const off = e.is64 ? 0x18 : 0x10;
  const big = (o: number) =>
    e.is64
      ? Number(e.little ? last.readBigUInt64LE(o) : last.readBigUInt64BE(o))
      : e.little
        ? last.readUInt32LE(o)
        : last.readUInt32BE(o);
  const lastEnd = big(off) + big(off + (e.is64 ? 8 : 4));
  return Math.max(shtEnd, lastEnd);
}

/** Whether the ELF asks for a program interpreter (PT_INTERP): a dynamic runtime. */
export async function hasInterpreter(r: Reader, e: ElfHeaderFacts): Promise<boolean> {
  if (e.phnum === 0 || e.phnum > MAX_SECTIONS) return false;
  const table = await r.read(e.phoff, e.phnum * e.phentsize);
  for (let i = 0; i < e.phnum; i++) {
    const at = i * e.phentsize;
    if (at + 4 > table.length) break;
    const type = e.little ? table.readUInt32LE(at) : table.readUInt32BE(at);
    if (type === 3) return true;
  }
  return false;
}

export interface AppImageLayout {
  /** Offset of the SquashFS image = size of the runtime. */
  offset: number;
  superblock: SquashfsSuperblock;
  /** Runtime asks for an interpreter (pkgforge repacks only such "dynamic" AppImages). */
  dynamicRuntime: boolean;
  /** Bytes after the image (bytes_used), and whether they are all zero. */
  trailing: number;
  trailingZero: boolean;
}

/** The layout of an AppImage, or why it is not one rebuild can descend into. */
export async function appImageLayout(path: string): Promise<AppImageLayout | { error: string }> {
  return withReader(path, async (r) => {
    const e = elfHeaderFacts(await r.read(0, 64));
    if (!e) return { error: 'not an ELF file' };
    const offset = await runtimeEnd(r, e);
    if (offset <= 0 || offset >= r.size) return { error: `the runtime ends at ${offset}, outside the file` };
    const sb = parseSuperblock(await r.read(offset, SUPERBLOCK_READ_BYTES));
    if ('error' in sb) return { error: `no SquashFS image at offset ${offset}: ${sb.error}` };
    const end = offset + sb.bytesUsed;
    if (end > r.size)
      return { error: `the SquashFS image claims ${sb.bytesUsed} bytes, past the end of the file` };
    const trailing = r.size - end;
    const tail = await r.read(end, Math.min(trailing, 1 << 20));
    return {
      offset,
      superblock: sb,
      dynamicRuntime: await hasInterpreter(r, e),
      trailing,
      trailingZero: trailing <= 1 << 20 && tail.every((b) => b === 0),
    };
  });
}
