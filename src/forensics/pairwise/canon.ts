/**
 * A section's canonical form for pairwise comparison: its bytes in order,
 * except that strings are set apart (compared by text, modulo the build
 * path substitution) and references by what they point at. Everything else
 * (constants, flags, blocks, expressions, addresses, LEB128 encodings as
 * written) is kept byte for byte, so equal canonical forms leave an
 * attacker no bytes of their own choosing but the ones set apart.
 */
export class Canon {
  private readonly parts: Buffer[] = [];
  /** Strings in order (undefined until a deferred one is resolved). */
  readonly strings: Array<Buffer | undefined> = [];
  /** Reference targets in order: section offsets until resolved to DIE ordinals. */
  readonly refs: number[] = [];
  private pending: { buf: Buffer; start: number; end: number } | undefined;

  private tag(kind: number, n: number): void {
    this.flush();
    const t = Buffer.alloc(5);
    t[0] = kind;
    t.writeUInt32BE(n >>> 0, 1);
    this.parts.push(t);
  }
  private flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const t = Buffer.alloc(5);
    t.writeUInt32BE(p.end - p.start, 1);
    this.parts.push(t, p.buf.subarray(p.start, p.end));
  }
  /** Bytes [start, end) of buf, kept as they are (contiguous runs merge). */
  raw(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    const p = this.pending;
    if (p && p.buf === buf && p.end === start) p.end = end;
    else {
      this.flush();
      this.pending = { buf, start, end };
    }
  }
  /** A string compared by text; returns its index (deferred strings pass undefined). */
  str(s: Buffer | undefined): number {
    this.tag(1, this.strings.length);
    this.strings.push(s);
    return this.strings.length - 1;
  }
  ref(target: number): void {
    this.tag(2, this.refs.length);
    this.refs.push(target);
  }
  bytes(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }
}
