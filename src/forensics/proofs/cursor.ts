/**
 * A bounds-checked, endian-aware read position over a section's bytes, for
 * the content proofs. Every read past the end throws a ProofFailure, which
 * the proof runner turns into the reason the section did not prove out.
 */

export class ProofFailure extends Error {}

/** Throws a ProofFailure with `why` unless `ok`. */
export function need(ok: boolean, why: string): asserts ok {
  if (!ok) throw new ProofFailure(why);
}

export class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    readonly little: boolean,
    start = 0,
    /** Reads stop here (exclusive). */
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  get left(): number {
    return this.end - this.pos;
  }
  private take(n: number): number {
    need(
      n >= 0 && this.pos + n <= this.end,
      `a read of ${n} byte(s) at offset ${this.pos} runs past the end (${this.end})`,
    );
    const at = this.pos;
    this.pos += n;
    return at;
  }
  skip(n: number): void {
    this.take(n);
  }
  u8(): number {
    return this.buf[this.take(1)]!;
  }
  u16(): number {
    const at = this.take(2);
    return this.little ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }
  u32(): number {
    const at = this.take(4);
    return this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }
  u64(): bigint {
    const at = this.take(8);
    return this.little ? this.buf.readBigUInt64LE(at) : this.buf.readBigUInt64BE(at);
  }
  /** An unsigned value of 1, 2, 4 or 8 bytes, as a bigint. */
  uint(size: number): bigint {
    if (size === 1) return BigInt(this.u8());
    if (size === 2) return BigInt(this.u16());
    if (size === 4) return BigInt(this.u32());
    need(size === 8, `unsupported field size ${size}`);
    return this.u64();
  }
  /** LEB128 (at most 10 bytes, i.e. 64 bits). */
  uleb(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.u8();
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
    throw new ProofFailure(`a LEB128 number at offset ${this.pos} is longer than 10 bytes`);
  }
  sleb(): void {
    this.uleb();
  }
  /** A NUL-terminated string (its bytes, without the NUL). */
  cstr(): Buffer {
    const nul = this.buf.indexOf(0, this.pos);
    need(nul >= 0 && nul < this.end, `a string at offset ${this.pos} has no terminating NUL`);
    const s = this.buf.subarray(this.pos, nul);
    this.pos = nul + 1;
    return s;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether bytes are text a toolchain writes: valid UTF-8 without control
 * characters (tab allowed). Shellcode and random data are neither.
 */
export function isText(b: Buffer): boolean {
  for (const c of b) if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** A short quotable form of a string for a reason. */
export function quote(b: Buffer): string {
  const s = b.toString('latin1', 0, Math.min(b.length, 40)).replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(b.length > 40 ? `${s}…` : s);
}

/**
 * Checks that a string table is a run of NUL-terminated text strings: it
 * starts and ends with NUL (an empty table is fine) and every string is text.
 */
export function checkStringTable(b: Buffer, what: string, startsWithNul: boolean): void {
  if (b.length === 0) return;
  if (startsWithNul) need(b[0] === 0, `${what} does not start with a NUL byte`);
  need(b[b.length - 1] === 0, `${what} does not end with a NUL byte (its last string is unterminated)`);
  let start = 0;
  while (start < b.length) {
    const nul = b.indexOf(0, start);
    const s = b.subarray(start, nul);
    need(isText(s), `${what} holds bytes that are not text at offset ${start} (${quote(s)})`);
    start = nul + 1;
  }
}
