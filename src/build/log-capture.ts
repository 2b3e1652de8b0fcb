import type { Writable } from 'node:stream';

/** build.log holds at most this much of the build's output (64 MiB); the cap is stated in the log and the result. */
export const BUILD_LOG_CAP_BYTES = 64 * 1024 ** 2;

/** A line longer than this is shown in pieces (output with no newline must not grow without bound). */
export const MAX_LINE_CHARS = 64 * 1024;

/** Writes up to `cap` bytes to the log; the rest is counted and dropped. */
export class CappedLog {
  private written = 0;
  private dropped = 0;

  constructor(
    private readonly out: Writable,
    readonly cap: number,
  ) {}

  /** True once output is being dropped (the live view stops too: it would grow without bound). */
  get full(): boolean {
    return this.written >= this.cap;
  }

  write(chunk: Buffer): void {
    const room = this.cap - this.written;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.out.write(part);
    this.written += part.length;
    this.dropped += chunk.length - part.length;
  }

  /** Writes the cap note (when output was dropped) and returns it for the result. */
  close(): string | undefined {
    if (this.dropped === 0) return undefined;
    const note = `build.log capped at ${this.cap} bytes: the last ${this.dropped} bytes of output were dropped`;
    this.out.write(`\n[rebuild] ${note}\n`);
    return note;
  }
}

/**
 * Splits output into lines for the live view, in linear time: the pending
 * partial line is kept as chunks and cut at MAX_LINE_CHARS.
 */
export class LineSplitter {
  private pending: string[] = [];
  private pendingLength = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    const text = this.decoder.decode(chunk, { stream: true });
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      this.add(text.slice(from, nl));
      this.flush(true);
      from = nl + 1;
    }
    this.add(text.slice(from));
  }

  /** Emits what is pending (at the end of the output, or a line break when `always`). */
  flush(always = false): void {
    if (this.pendingLength === 0 && !always) return;
    this.emit(this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
  }

  private add(text: string): void {
    let rest = text;
    while (this.pendingLength + rest.length > MAX_LINE_CHARS) {
      const room = MAX_LINE_CHARS - this.pendingLength;
      this.pending.push(rest.slice(0, room));
      this.pendingLength += room;
      this.flush();
      rest = rest.slice(room);
    }
    if (rest.length > 0) {
      this.pending.push(rest);
      this.pendingLength += rest.length;
    }
  }
}
