/**
 * The last `maxBytes` of a stream, for `docker logs`: the oldest chunks are
 * dropped once the cap is reached, and the replay says how much was lost.
 */
export class BoundedOutput {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    let c = chunk;
    if (c.length > this.maxBytes) {
      this.dropped += c.length - this.maxBytes;
      c = c.subarray(c.length - this.maxBytes);
    }
    this.chunks.push(c);
    this.size += c.length;
    while (this.size > this.maxBytes) {
      const first = this.chunks[0];
      if (!first) break;
      const excess = this.size - this.maxBytes;
      if (first.length > excess) {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      } else {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      }
    }
  }

  get droppedBytes(): number {
    return this.dropped;
  }

  /** What is kept, preceded by a note when something was dropped. */
  replay(): Buffer[] {
    if (this.dropped === 0) return [...this.chunks];
    const note = Buffer.from(
      `[rebuild: the first ${this.dropped} bytes of this output were dropped; docker logs keeps the last ${this.maxBytes} bytes]\n`,
    );
    return [note, ...this.chunks];
  }
}
