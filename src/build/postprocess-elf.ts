/**
 * Just enough of the ELF header to decide what pkgforge's CI would strip:
 * magic, class, byte order, e_type and e_machine. pkgforge's wrapper asked
 * `file -i` for "executable" (application/x-executable, x-pie-executable,
 * x-sharedlib), i.e. ELF files of type EXEC or DYN; rebuild reads the header
 * itself instead of shelling out to `file`.
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

/** Bytes needed by sniffElf: e_ident (16) + e_type (2) + e_machine (2). */
export const ELF_SNIFF_BYTES = 20;

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

export function elfTypeName(type: number): string {
  return ({ 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' } as Record<number, string>)[type] ?? `type-${type}`;
}

/** Reads the first bytes of `path` and sniffs them. */
export async function readElfIdent(path: string): Promise<ElfIdent | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(ELF_SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, ELF_SNIFF_BYTES, 0);
    return sniffElf(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
