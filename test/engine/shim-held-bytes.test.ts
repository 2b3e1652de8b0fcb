import { describe, expect, it } from 'vitest';
import { HeldBytes, StreamBuffer } from '../../src/engine/shim/server.js';

describe('shim output held for readers that never come', () => {
  it('is bounded for all jobs together, not only per stream', () => {
    // Each stream may hold 80 bytes, all streams together 100: the second stream keeps what fits.
    const held = new HeldBytes(100);
    const a = new StreamBuffer(80, held);
    const b = new StreamBuffer(80, held);
    a.write(Buffer.alloc(60));
    b.write(Buffer.alloc(30));
    b.write(Buffer.alloc(30));
    expect(held.used).toBe(90);
    expect(b.droppedBytes).toBe(30);
    // A forgotten job's unread output no longer counts.
    a.release();
    expect(held.used).toBe(30);
    b.write(Buffer.alloc(30));
    expect(b.droppedBytes).toBe(30);
    expect(held.used).toBe(60);
  });

  it('still bounds one stream by its own limit', () => {
    const held = new HeldBytes(1000);
    const a = new StreamBuffer(80, held);
    a.write(Buffer.alloc(50));
    a.write(Buffer.alloc(50));
    expect(a.droppedBytes).toBe(50);
    expect(held.used).toBe(50);
  });
});
