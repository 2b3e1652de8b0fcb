/** Hints and human context (disassembly, strings, hex) for a differing region. */
import { readClipped } from './bytes.js';
import { disassemblyContext, hexContext, stringsContext } from './context.js';
import type { ElfFile } from './elf/reader.js';
import type { ByteSource } from './elf/source.js';
import { hintFor } from './hints.js';
import type { DiffContext, Difference } from './types.js';

/** A region on both sides: file offsets and sizes, and its address and kind when loaded. */
export interface Region {
  name: string;
  offA: number;
  lenA: number;
  offB: number;
  lenB: number;
  /** Virtual address of the region's first byte, when known. */
  addr?: bigint;
  exec: boolean;
}

const STRINGISH = /^\.(rodata|comment|dynstr|strtab|interp|gnu\.version_d|gnu\.version_r|data\.rel\.ro)/;

export async function addContext(
  d: Difference,
  a: ByteSource,
  b: ByteSource,
  elf: ElfFile,
  r: Region,
  first: number,
  withContext: boolean,
): Promise<void> {
  const W = 256;
  const start = Math.max(0, first - W);
  const [wa, wb] = await Promise.all([
    readClipped(a, r.offA + start, Math.min(2 * W, Math.max(0, r.lenA - start))),
    readClipped(b, r.offB + start, Math.min(2 * W, Math.max(0, r.lenB - start))),
  ]);
  const hint = hintFor(wa, wb, first - start, elf.header.endian === 'little', {
    epoch: !r.exec,
    absolute: Number((r.addr ?? 0n) & 0xffffn) + first,
  });
  if (hint) d.hint = hint;
  if (!withContext) return;
  let ctx: DiffContext | undefined;
  if (r.exec && r.addr !== undefined) {
    const s = Math.max(0, (first - 48) & ~3);
    const len = 96;
    const [ba, bb] = await Promise.all([
      readClipped(a, r.offA + s, Math.min(len, Math.max(0, r.lenA - s))),
      readClipped(b, r.offB + s, Math.min(len, Math.max(0, r.lenB - s))),
    ]);
    ctx = await disassemblyContext(
      ba,
      bb,
      r.addr + BigInt(s),
      r.addr + BigInt(first),
      elf.header.machine,
      elf.header.class,
      elf.header.endian,
    );
  } else if (STRINGISH.test(r.name) || mostlyPrintable(wa)) {
    const S = 1024;
    const s = Math.max(0, first - S);
    const [ba, bb] = await Promise.all([
      readClipped(a, r.offA + s, Math.min(2 * S, Math.max(0, r.lenA - s))),
      readClipped(b, r.offB + s, Math.min(2 * S, Math.max(0, r.lenB - s))),
    ]);
    ctx = stringsContext(ba, bb, r.name);
  }
  d.context = ctx ?? (await hexAround(a, r.offA, r.lenA, b, r.offB, r.lenB, first));
}

function mostlyPrintable(buf: Buffer): boolean {
  if (buf.length === 0) return false;
  let n = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if ((c >= 0x20 && c < 0x7f) || c === 0 || c === 0x0a || c === 0x09) n++;
  }
  return n / buf.length > 0.85;
}

export async function hexAround(
  a: ByteSource,
  offA: number,
  lenA: number,
  b: ByteSource,
  offB: number,
  lenB: number,
  first: number,
): Promise<DiffContext> {
  const s = Math.max(0, Math.floor(first / 16) * 16 - 48);
  const [ba, bb] = await Promise.all([
    readClipped(a, offA + s, Math.min(112, Math.max(0, lenA - s))),
    readClipped(b, offB + s, Math.min(112, Math.max(0, lenB - s))),
  ]);
  return hexContext(ba, bb, s);
}
