/**
 * Group commit: items added while a write is under way are written together
 * by the next one, so a worker with many jobs finishing at once records them
 * in a few transactions, not one each, and a lone result is written at once.
 */
export interface GroupCommit<T, R> {
  /** Resolves with this item's own result once the write that took it is done. */
  add(item: T): Promise<R>;
}

export function groupCommit<T, R>(write: (batch: T[]) => Promise<R[]>, maxBatch: number): GroupCommit<T, R> {
  let pending: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  let running = false;
  async function drain(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      try {
        const out = await write(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(out[i] as R);
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    running = false;
  }
  return {
    add(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (!running) {
          running = true;
          // The jobs that finish in this same turn of the event loop join the first write.
          setImmediate(() => void drain());
        }
      });
    },
  };
}
