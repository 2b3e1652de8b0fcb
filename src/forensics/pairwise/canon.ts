/**
 * A section's canonical form for pairwise comparison: its bytes in order,
 * except that strings are set apart (compared by text, modulo the build
 * path substitution) and references by what they point at. Everything else
 * (constants, flags, blocks, expressions, addresses, LEB128 encodings as
 * written) is kept byte for byte, so equal canonical forms leave an
 * attacker no bytes of their own choosing but the ones set apart.
 */
export class Canon {
  /**
   * The canonical bytes, written into one growing buffer: a Buffer per tag or
   * run would be millions of small allocations for a large .debug_info.
   */
  private out = Buffer.allocUnsafe(4096);
  private len = 0;
  /** Strings in order (undefined until a deferred one is resolved). */
  readonly strings: Array<Buffer | undefined> = [];
  /** Reference targets in order: section offsets until resolved to DIE ordinals. */
  readonly refs: number[] = [];
  /** .debug_line offsets in order, until resolved to line unit ordinals. */
  readonly lineRefs: number[] = [];
  private pending: { buf: Buffer; start: number; end: number } | undefined;

  private room(n: number): void {
    if (this.len + n <= this.out.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.len + n));
    this.out.copy(next, 0, 0, this.len);
    this.out = next;
  }
  private header(kind: number, n: number): void {
    this.room(5);
    this.out[this.len] = kind;
    this.out.writeUInt32BE(n >>> 0, this.len + 1);
    this.len += 5;
  }
  private tag(kind: number, n: number): void {
    this.flush();
    this.header(kind, n);
  }
  private flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.header(0, p.end - p.start);
    this.room(p.end - p.start);
    this.len += p.buf.copy(this.out, this.len, p.start, p.end);
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
  /** A .debug_line offset (DW_AT_stmt_list), compared by the line unit it names. */
  lineRef(offset: number): void {
    this.tag(3, this.lineRefs.length);
    this.lineRefs.push(offset);
  }
  bytes(): Buffer {
    this.flush();
    return Buffer.from(this.out.subarray(0, this.len));
  }
}
