/**
 * Just enough of an ELF file to decide what pkgforge's CI would strip.
 * pkgforge's wrapper kept the top-level files whose `file -i` MIME type
 * contains `executable`: `application/x-executable` (ET_EXEC) and
 * `application/x-pie-executable` (ET_DYN with DF_1_PIE in DT_FLAGS_1, which
 * is how libmagic 5.45 on Ubuntu 24.04 tells a PIE from a library).
 * `application/x-sharedlib` (a DYN without DF_1_PIE) does not match, so
 * shared libraries were never stripped. rebuild reads the header and the
 * dynamic segment itself instead of shelling out to `file`.
 */
import { open } from 'node:fs/promises';

export interface ElfIdent {
  class: 32 | 64;
  endian: 'little' | 'big';
  /** e_type: 1 REL, 2 EXEC, 3 DYN, 4 CORE. */
  type: number;
  /** e_machine: 62 x86_64, 183 aarch64, … */
  machine: number;
}

/** What `file -i` would call the file: the MIME subtype pkgforge's grep looked at. */
export type FileMime =
  | 'x-executable'
  | 'x-pie-executable'
  | 'x-sharedlib'
  | 'x-object'
  | 'x-coredump'
  | 'other';

/** Bytes needed by sniffElf: e_ident (16) + e_type (2) + e_machine (2). */
export const ELF_SNIFF_BYTES = 20;

const PT_DYNAMIC = 2;
const DT_FLAGS_1 = 0x6ffffffb;
const DF_1_PIE = 0x08000000;
/** Bounds: a hostile header cannot make us read more than this. */
const MAX_PHNUM = 4096;
const MAX_DYNAMIC_BYTES = 1 << 20;

/** The header facts of an ELF file, or undefined when `head` is not one. Pure. */
export function sniffElf(head: Uint8Array): ElfIdent | undefined {
  if (head.length < ELF_SNIFF_BYTES) return undefined;
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const cls = head[4] === 1 ? 32 : head[4] === 2 ? 64 : undefined;
  const endian = head[5] === 1 ? 'little' : head[5] === 2 ? 'big' : undefined;
  if (!cls || !endian) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const le = endian === 'little';
  return { class: cls, endian, type: view.getUint16(16, le), machine: view.getUint16(18, le) };
}

/** e_type 2 (EXEC) or 3 (DYN: PIE executables and shared objects). */
export function isExecutableOrShared(ident: ElfIdent): boolean {
  return ident.type === 2 || ident.type === 3;
}

/** Whether pkgforge's `grep "application/.*executable"` matched this MIME type. */
export function mimeIsExecutable(mime: FileMime): boolean {
  return mime === 'x-executable' || mime === 'x-pie-executable';
}

export function elfTypeName(type: number): string {
  return ({ 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' } as Record<number, string>)[type] ?? `type-${type}`;
}

/** Reads the first bytes of `path` and sniffs them. */
export async function readElfIdent(path: string): Promise<ElfIdent | undefined> {
  return (await readElfFacts(path))?.ident;
}

/** The ELF header facts and what `file -i` would call the file, or undefined for non-ELF. */
export async function readElfFacts(path: string): Promise<{ ident: ElfIdent; mime: FileMime } | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    const ident = sniffElf(head.subarray(0, bytesRead));
    if (!ident) return undefined;
    if (ident.type === 1) return { ident, mime: 'x-object' };
    if (ident.type === 2) return { ident, mime: 'x-executable' };
    if (ident.type === 4) return { ident, mime: 'x-coredump' };
    if (ident.type !== 3) return { ident, mime: 'other' };
    const pie = await hasPieFlag(fh, head.subarray(0, bytesRead), ident);
    return { ident, mime: pie ? 'x-pie-executable' : 'x-sharedlib' };
  } finally {
    await fh.close();
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

/** DF_1_PIE in the PT_DYNAMIC segment's DT_FLAGS_1. Malformed or truncated → false. */
async function hasPieFlag(fh: Handle, head: Buffer, ident: ElfIdent): Promise<boolean> {
  const le = ident.endian === 'little';
  const is64 = ident.class === 64;
  if (head.length < (is64 ? 64 : 52)) return false;
  const num = (b: Buffer, off: number, size: 4 | 8) =>
    size === 8
      ? Number(le ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off))
      : le
        ? b.readUInt32LE(off)
        : b.readUInt32BE(off);
  const u16 = (b: Buffer, off: number) => (le ? b.readUInt16LE(off) : b.readUInt16BE(off));
  const phoff = num(head, is64 ? 32 : 28, is64 ? 8 : 4);
  const phentsize = u16(head, is64 ? 54 : 42);
  const phnum = Math.min(u16(head, is64 ? 56 : 44), MAX_PHNUM);
  if (phentsize < (is64 ? 56 : 32) || !Number.isSafeInteger(phoff)) return false;
  const size = (await fh.stat()).size;
  if (phoff + phentsize * phnum > size) return false;
  const ph = Buffer.alloc(phentsize * phnum);
  await fh.read(ph, 0, ph.length, phoff);
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    const type = le ? ph.readUInt32LE(o) : ph.readUInt32BE(o);
    if (type !== PT_DYNAMIC) continue;
    const offset = num(ph, o + (is64 ? 8 : 4), is64 ? 8 : 4);
    const filesz = Math.min(num(ph, o + (is64 ? 32 : 16), is64 ? 8 : 4), MAX_DYNAMIC_BYTES);
    if (!Number.isSafeInteger(offset) || offset + filesz > size) return false;
    const dyn = Buffer.alloc(filesz);
    await fh.read(dyn, 0, filesz, offset);
    const ent = is64 ? 16 : 8;
    for (let d = 0; d + ent <= filesz; d += ent) {
      const tag = num(dyn, d, is64 ? 8 : 4);
      if (tag === 0) break;
      if (tag === DT_FLAGS_1) return (num(dyn, d + (is64 ? 8 : 4), is64 ? 8 : 4) & DF_1_PIE) !== 0;
    }
    return false;
  }
  return false;
}
