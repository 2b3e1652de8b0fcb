/**
 * A file described instead of written: an ordered list of pieces, each a
 * range of an input file, literal bytes (rewritten headers, a new string
 * table) or zeros. A post-processing simulation that is a plan reads the
 * input once per use and holds only its literals (a few KiB), whatever the
 * file's size; PlanSource reads a plan like a file.
 */

/** What a plan reads its ranges from (the forensics ByteSource fits). */
export interface RangeReader {
  readonly name: string;
  readonly size: number;
  readInto(buf: Buffer, offset: number, length: number): Promise<number>;
}

export type Piece =
  | { kind: 'range'; from: number; length: number }
  | { kind: 'bytes'; data: Buffer }
  | { kind: 'zero'; length: number };

export const pieceLength = (p: Piece): number => (p.kind === 'bytes' ? p.data.length : p.length);

/** Builds a plan in output order; a piece placed before the end so far is refused. */
export class PlanBuilder {
  readonly pieces: Piece[] = [];
  private end = 0;

  get size(): number {
    return this.end;
  }

  /** Zeros up to `offset` (nothing when already there). */
  padTo(offset: number): void {
    if (offset < this.end) throw new RangeError(`plan: ${offset} is before ${this.end}`);
    if (offset > this.end) this.push({ kind: 'zero', length: offset - this.end });
  }

  bytesAt(offset: number, data: Buffer): void {
    this.padTo(offset);
    if (data.length > 0) this.push({ kind: 'bytes', data });
  }

  rangeAt(offset: number, from: number, length: number): void {
    this.padTo(offset);
    if (length > 0) this.push({ kind: 'range', from, length });
  }

  private push(p: Piece): void {
    const last = this.pieces[this.pieces.length - 1];
    if (last?.kind === 'range' && p.kind === 'range' && last.from + last.length === p.from)
      last.length += p.length;
    else if (last?.kind === 'zero' && p.kind === 'zero') last.length += p.length;
    else this.pieces.push(p);
    this.end += pieceLength(p);
  }
}

/** A plan read like a file: positioned reads resolve to the input's ranges and the literals. */
export class PlanSource {
  readonly size: number;
  private readonly starts: number[] = [];

  constructor(
    readonly input: RangeReader,
    readonly pieces: readonly Piece[],
    readonly name: string,
  ) {
    let at = 0;
    for (const p of pieces) {
      this.starts.push(at);
      at += pieceLength(p);
    }
    this.size = at;
  }

  /** Index of the piece holding `offset` (binary search). */
  private pieceAt(offset: number): number {
    let lo = 0;
    let hi = this.pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async readInto(buf: Buffer, offset: number, length: number): Promise<number> {
    const want = Math.max(0, Math.min(length, this.size - offset));
    let done = 0;
    let i = this.pieceAt(offset);
    while (done < want) {
      const p = this.pieces[i];
      if (!p) break;
      const start = this.starts[i] ?? 0;
      const within = offset + done - start;
      const n = Math.min(pieceLength(p) - within, want - done);
      if (p.kind === 'zero') buf.fill(0, done, done + n);
      else if (p.kind === 'bytes') p.data.copy(buf, done, within, within + n);
      else {
        const got = await this.input.readInto(buf.subarray(done, done + n), p.from + within, n);
        if (got !== n) return done + got;
      }
      done += n;
      i++;
    }
    return done;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read ${offset}+${length} past ${this.size}`);
    }
    const buf = Buffer.allocUnsafe(length);
    const got = await this.readInto(buf, offset, length);
    if (got !== length) throw new Error(`${this.input.name} shrank while its simulation was read`);
    return buf;
  }

  /** Whether `[offset, offset+length)` is one range of the input read from `otherOffset` of `other` itself. */
  sameBytes(offset: number, length: number, other: unknown, otherOffset: number): boolean {
    if (other !== this.input || length <= 0 || offset < 0 || offset + length > this.size) return false;
    const i = this.pieceAt(offset);
    const p = this.pieces[i];
    const start = this.starts[i] ?? 0;
    return (
      p?.kind === 'range' && offset + length <= start + p.length && p.from + (offset - start) === otherOffset
    );
  }

  /** The input is the caller's: closing a plan closes nothing. */
  async close(): Promise<void> {}
}
