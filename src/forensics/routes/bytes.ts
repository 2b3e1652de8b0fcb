/** The bytes route: files that are not both ELF and differ, compared as bytes (and as text when both are). */
import { createTwoFilesPatch } from 'diff/lib/patch/create.js';
import { compareRanges, readClipped } from '../bytes.js';
import type { ByteSource } from '../elf/source.js';
import { hintFor } from '../hints.js';
import { hexAround } from '../region-context.js';
import { readText } from '../text.js';
import type { Difference } from '../types.js';

const MAX_TEXT_DIFF = 1 << 20;
const hex = (n: number) => `0x${n.toString(16)}`;

export interface BytesOutcome {
  differences: Difference[];
  textDiff?: string;
  textA: boolean;
  textB: boolean;
}

export async function bytesRoute(
  srcA: ByteSource,
  srcB: ByteSource,
  elfA: boolean,
  elfB: boolean,
  withContext: boolean,
  names: { a: string; b: string } = { a: srcA.name, b: srcB.name },
): Promise<BytesOutcome> {
  const [ta, tb] = await Promise.all([readText(srcA), readText(srcB)]);
  const out: BytesOutcome = { differences: [], textA: ta !== undefined, textB: tb !== undefined };
  if (elfA !== elfB) {
    out.differences.push({
      region: 'format',
      detail: `${elfA ? 'a' : 'b'} is an ELF file, ${elfA ? 'b' : 'a'} is not`,
    });
  }
  const r = await compareRanges(srcA, 0, srcA.size, srcB, 0, srcB.size);
  const d: Difference = {
    region: 'content',
    detail: `${r.differing} byte(s) differ${srcA.size !== srcB.size ? ` (sizes ${srcA.size} and ${srcB.size})` : ''}, the first at offset ${hex(r.first ?? 0)}`,
    a: { offset: 0, size: srcA.size },
    b: { offset: 0, size: srcB.size },
    differingBytes: r.differing,
  };
  if (r.first !== undefined) d.firstDifference = r.first;
  if (ta !== undefined && tb !== undefined && ta.length <= MAX_TEXT_DIFF && tb.length <= MAX_TEXT_DIFF) {
    out.textDiff = trimLines(createTwoFilesPatch(names.a, names.b, ta, tb, '', '', { context: 3 }), 400);
    d.context = { kind: 'text', unified: out.textDiff };
  } else if (withContext && r.first !== undefined) {
    d.context = await hexAround(srcA, 0, srcA.size, srcB, 0, srcB.size, r.first);
  }
  if (r.first !== undefined) {
    const [wa, wb] = await Promise.all([
      readClipped(srcA, Math.max(0, r.first - 256), 512),
      readClipped(srcB, Math.max(0, r.first - 256), 512),
    ]);
    const hint = hintFor(wa, wb, Math.min(256, r.first), true);
    if (hint) d.hint = hint;
  }
  out.differences.push(d);
  return out;
}

function trimLines(text: string, max: number): string {
  const lines = text.split('\n');
  return lines.length > max
    ? [...lines.slice(0, max), `… (${lines.length - max} more lines)`].join('\n')
    : text;
}
