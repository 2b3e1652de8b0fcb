/**
 * The one build-path substitution two builds of the same source may differ
 * by: each side's DW_AT_comp_dir, less the path components they end in
 * alike (/tmp/abc123/src ↔ /tmp/xyz789/src gives /tmp/abc123 ↔ /tmp/xyz789).
 * A string of a may differ from b's only as b's with every b prefix written
 * as a's, and b's only as a's with every a prefix written as b's (both
 * ways, so a has no choice left per occurrence): a's string is a function
 * of b's, and the prefix is the only free text, bounded and reported.
 */
import { isText } from '../proofs/cursor.js';

export interface PathSubstitution {
  a: string;
  b: string;
}

/** Longest prefix a build path substitution may have (a's free bytes). */
export const PREFIX_LIMIT = 256;

function prefixes(ca: string, cb: string): PathSubstitution | undefined {
  const xa = ca.split('/');
  const xb = cb.split('/');
  while (xa.length > 1 && xb.length > 1 && xa[xa.length - 1] === xb[xb.length - 1]) {
    xa.pop();
    xb.pop();
  }
  const a = xa.join('/');
  const b = xb.join('/');
  return a === '' || b === '' ? undefined : { a, b };
}

/**
 * The substitution the units' comp_dir pairs agree on (undefined when every
 * pair is equal), or why there is none.
 */
export function deriveSubstitution(
  pairs: ReadonlyArray<[Buffer | undefined, Buffer | undefined]>,
): PathSubstitution | undefined | { reason: string } {
  let sub: PathSubstitution | undefined;
  for (const [ba, bb] of pairs) {
    if (ba === undefined || bb === undefined || ba.equals(bb)) continue;
    const p = prefixes(ba.toString('latin1'), bb.toString('latin1'));
    if (!p) return { reason: "the units' DW_AT_comp_dir values differ by more than a build directory" };
    if (!sub) sub = p;
    else if (sub.a !== p.a || sub.b !== p.b)
      return { reason: "the units' DW_AT_comp_dir values differ by more than one build directory" };
  }
  if (!sub) return undefined;
  if (sub.a.length > PREFIX_LIMIT || sub.b.length > PREFIX_LIMIT)
    return { reason: `the build directories differ in more than ${PREFIX_LIMIT} bytes` };
  if (!isText(Buffer.from(sub.a, 'latin1')) || !isText(Buffer.from(sub.b, 'latin1')))
    return { reason: 'a build directory is not text' };
  return sub;
}

/** Whether string x of a is string y of b, modulo the substitution (both ways). */
export function sameText(x: Buffer, y: Buffer, sub: PathSubstitution | undefined): boolean {
  if (x.equals(y)) return true;
  if (!sub) return false;
  const sx = x.toString('latin1');
  const sy = y.toString('latin1');
  return sx.replaceAll(sub.a, sub.b) === sy && sy.replaceAll(sub.b, sub.a) === sx;
}

export const describeSubstitution = (s: PathSubstitution) =>
  `build directory ${JSON.stringify(s.a)} ↔ ${JSON.stringify(s.b)}`;
