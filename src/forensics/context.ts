/**
 * Short context for a differing region, for a person: a disassembly around
 * the first difference (objdump for the file's machine), a unified diff of
 * the printable strings (string-ish sections), or a hex dump.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffArrays } from 'diff/lib/diff/array.js';
import { createTwoFilesPatch } from 'diff/lib/patch/create.js';
import { findBinutils } from '../postprocess/binutils.js';
import { runTool } from '../util/run-tool.js';
import { EM } from './elf/constants.js';
import type { DiffContext } from './types.js';

/** 16 bytes per row: `offset  hex  |ascii|`, `mark` flags rows holding differences. */
export function hexRows(buf: Buffer, base: number, other?: Buffer): string[] {
  const rows: string[] = [];
  for (let i = 0; i < buf.length; i += 16) {
    const row = buf.subarray(i, i + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    let mark = ' ';
    if (other) {
      for (let j = 0; j < row.length; j++) if (other[i + j] !== row[j]) mark = '>';
    }
    rows.push(`${mark} ${(base + i).toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  return rows;
}

export function hexContext(a: Buffer, b: Buffer, base: number): DiffContext {
  return { kind: 'hex', a: hexRows(a, base, b), b: hexRows(b, base, a) };
}

/** Printable strings (4+ chars) of a buffer, one per line. */
export function printableStrings(buf: Buffer, min = 4): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= buf.length; i++) {
    const c = buf[i];
    const p = c !== undefined && ((c >= 0x20 && c < 0x7f) || c === 0x09);
    if (p && start < 0) start = i;
    if (!p && start >= 0) {
      if (i - start >= min) out.push(buf.toString('latin1', start, i));
      start = -1;
    }
  }
  return out;
}

/**
 * A unified diff of the printable strings of two windows, trimmed to
 * `maxLines`; undefined when the strings are the same (the bytes between
 * them differ: a hex view shows that better than an empty diff).
 */
export function stringsContext(a: Buffer, b: Buffer, region: string, maxLines = 40): DiffContext | undefined {
  const sa = printableStrings(a);
  const sb = printableStrings(b);
  const patch = createTwoFilesPatch(
    `a/${region}`,
    `b/${region}`,
    `${sa.join('\n')}\n`,
    `${sb.join('\n')}\n`,
    '',
    '',
    {
      context: 2,
    },
  );
  const lines = patch
    .split('\n')
    .filter((l) => !l.startsWith('====') && l !== '\\ No newline at end of file');
  if (!lines.some((l) => l.startsWith('@@'))) return undefined;
  const trimmed =
    lines.length > maxLines
      ? [...lines.slice(0, maxLines), `… (${lines.length - maxLines} more lines)`]
      : lines;
  return { kind: 'text', unified: trimmed.join('\n').trimEnd() };
}

/** objdump -b binary machine names. */
function objdumpArch(machine: number, cls: 32 | 64): string | undefined {
  switch (machine) {
    case EM.X86_64:
      return 'i386:x86-64';
    case EM.I386:
      return 'i386';
    case EM.AARCH64:
      return 'aarch64';
    case EM.ARM:
      return 'arm';
    case EM.RISCV:
      return cls === 64 ? 'riscv:rv64' : 'riscv:rv32';
    case EM.PPC64:
      return 'powerpc:common64';
    case EM.PPC:
      return 'powerpc:common';
    case EM.S390:
      return cls === 64 ? 's390:64-bit' : 's390:31-bit';
    case EM.MIPS:
      return cls === 64 ? 'mips:isa64r2' : 'mips:isa32r2';
    case EM.LOONGARCH:
      return cls === 64 ? 'loongarch64' : 'loongarch32';
    default:
      return undefined;
  }
}

/**
 * Disassembles each side's window (bytes at virtual address `vaddr`) and
 * marks the instruction holding `diffAddr` with `>`. Undefined when no
 * objdump for the machine is installed or it fails.
 */
export async function disassemblyContext(
  a: Buffer,
  b: Buffer,
  vaddr: bigint,
  diffAddr: bigint,
  machine: number,
  cls: 32 | 64,
  endian: 'little' | 'big',
): Promise<DiffContext | undefined> {
  const arch = objdumpArch(machine, cls);
  if (!arch) return undefined;
  const tools = await findBinutils(machine);
  if (!tools) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'rebuild-dis-'));
  try {
    const files = [join(dir, 'a.bin'), join(dir, 'b.bin')] as const;
    await Promise.all([writeFile(files[0], a), writeFile(files[1], b)]);
    // One objdump for both windows (same machine, same address): one process, not two.
    const r = await runTool(
      tools.objdump,
      [
        '-D',
        '-b',
        'binary',
        '-m',
        arch,
        endian === 'big' ? '-EB' : '-EL',
        `--adjust-vma=0x${vaddr.toString(16)}`,
        ...files,
      ],
      { timeoutMs: 20_000 },
    );
    if (r.exitCode !== 0) return undefined;
    const mark = (lines: string[]) => {
      const addrs = lines.map((l) => BigInt(`0x${l.trim().split(':')[0]}`));
      return lines.map((l, i) => {
        const here = addrs[i]!;
        const next = addrs[i + 1] ?? here + 16n;
        const m = diffAddr >= here && diffAddr < next ? '>' : ' ';
        return `${m} ${l.replace(/\t/g, '  ').trimEnd()}`;
      });
    };
    const [da, db] = splitByFile(r.stdout, files).map(mark);
    if (!da || !db || da.length === 0) return undefined;
    const [aa, ab] = alignInstructions(da, db);
    // Keep it short: a few instructions before and after the difference.
    const at = Math.max(
      0,
      aa.findIndex((l) => l.startsWith('>')),
    );
    const from = Math.max(0, at - 4);
    return { kind: 'disassembly', a: aa.slice(from, at + 7), b: ab.slice(from, at + 7) };
  } catch {
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The instruction lines objdump printed for each of `files`, in order: its
 * output names each file (`<file>:     file format binary`) before that
 * file's disassembly. Pure.
 */
export function splitByFile(stdout: string, files: readonly string[]): string[][] {
  const out = files.map((): string[] => []);
  let current = -1;
  for (const line of stdout.split('\n')) {
    const header = /^(.*):\s+file format /.exec(line);
    if (header) {
      current = files.indexOf(header[1] ?? '');
      continue;
    }
    if (current >= 0 && /^\s*[0-9a-f]+:\t/.test(line)) out[current]!.push(line);
  }
  return out;
}

/** An instruction without its address: the same instruction moved elsewhere compares equal. */
function instructionKey(line: string): string {
  return line.replace(/^[> ]\s*[0-9a-f]+:\s*/, '').trim();
}

/**
 * Aligns two disassemblies by diffing their instructions (jsdiff), not by
 * index: an inserted instruction leaves a gap (an empty line) on the other
 * side instead of shifting every line after it.
 */
export function alignInstructions(a: readonly string[], b: readonly string[]): [string[], string[]] {
  const ka = a.map(instructionKey);
  const kb = b.map(instructionKey);
  const outA: string[] = [];
  const outB: string[] = [];
  let ia = 0;
  let ib = 0;
  const parts = diffArrays(ka, kb);
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    if (!part) continue;
    const n = part.count ?? part.value.length;
    if (!part.added && !part.removed) {
      for (let k = 0; k < n; k++) {
        outA.push(a[ia++] ?? '');
        outB.push(b[ib++] ?? '');
      }
    } else if (part.removed) {
      // A removal followed by an addition is a change: pair them line by line.
      const next = parts[p + 1];
      const m = next?.added ? (next.count ?? next.value.length) : 0;
      for (let k = 0; k < Math.max(n, m); k++) {
        outA.push(k < n ? (a[ia++] ?? '') : '');
        outB.push(k < m ? (b[ib++] ?? '') : '');
      }
      if (m > 0) p++;
    } else {
      for (let k = 0; k < n; k++) {
        outA.push('');
        outB.push(b[ib++] ?? '');
      }
    }
  }
  return [outA, outB];
}
