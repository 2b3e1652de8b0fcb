/** Bytes kept by every BoundedOutput of one build, against one limit. */
export class OutputBudget {
  used = 0;
  constructor(readonly limit = Number.POSITIVE_INFINITY) {}
}

/**
 * The last `maxBytes` of a stream, for `docker logs`: the oldest chunks are
 * dropped once the cap is reached (or the budget shared with the build's
 * other containers is spent), and the replay says how much was lost.
 */
export class BoundedOutput {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(
    readonly maxBytes: number,
    private readonly budget = new OutputBudget(),
  ) {}

  push(chunk: Buffer): void {
    let c = chunk;
    if (c.length > this.maxBytes) {
      this.dropped += c.length - this.maxBytes;
      c = c.subarray(c.length - this.maxBytes);
    }
    // Room for it: this stream's own oldest output goes first, under its cap and the shared budget.
    this.dropOldest(
      Math.max(this.size + c.length - this.maxBytes, this.budget.used + c.length - this.budget.limit),
    );
    const room = Math.max(0, this.budget.limit - this.budget.used);
    if (c.length > room) {
      this.dropped += c.length - room;
      c = c.subarray(c.length - room);
    }
    if (c.length === 0) return;
    // A copy, not a view: a small slice would keep its whole parent buffer alive, uncounted.
    const kept = Buffer.from(c);
    this.chunks.push(kept);
    this.size += kept.length;
    this.budget.used += kept.length;
  }

  get droppedBytes(): number {
    return this.dropped;
  }

  /** The container is forgotten: what it kept no longer counts against the budget. */
  release(): void {
    this.budget.used -= this.size;
    this.chunks = [];
    this.size = 0;
  }

  /** What is kept, preceded by a note when something was dropped. */
  replay(): Buffer[] {
    if (this.dropped === 0) return [...this.chunks];
    const note = Buffer.from(
      `[rebuild: the first ${this.dropped} bytes of this output were dropped; docker logs keeps the last ${this.maxBytes} bytes (less when the build's containers together printed more than ${this.budget.limit})]\n`,
    );
    return [note, ...this.chunks];
  }

  private dropOldest(n: number): void {
    let left = n;
    while (left > 0) {
      const first = this.chunks[0];
      if (!first) return;
      const cut = Math.min(first.length, left);
      if (cut < first.length) this.chunks[0] = first.subarray(cut);
      else this.chunks.shift();
      this.size -= cut;
      this.budget.used -= cut;
      this.dropped += cut;
      left -= cut;
    }
  }
}
