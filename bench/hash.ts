/**
 * Hashing throughput: rebuild's one-pass SHA-256 + BLAKE3 against
 * `sha256sum` and `b3sum` run one after the other on the same 256 MiB file,
 * in the same run (page cache warm for everyone). Targets (issue 2):
 * at least 2x faster than sha256sum + b3sum, and BLAKE3 alone at least half
 * of single-threaded b3sum.
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createBLAKE3 } from 'hash-wasm';
import { BLAKE3_IMPLEMENTATION, createBlake3, hashFile } from '../src/hash/digest.js';

const SIZE = 256 * 1024 * 1024;
const RUNS = 3;

async function makeFile(path: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const block = randomBytes(1 << 20);
    for (let i = 0; i < SIZE / block.length; i++) {
      block[0] = i & 0xff; // no two blocks alike
      await handle.write(block);
    }
  } finally {
    await handle.close();
  }
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  await fn(); // warm-up: page cache, JIT
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** BLAKE3 alone, through rebuild's hasher, or hash-wasm's for comparison. */
async function blake3Only(path: string, wasm = false): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const h = wasm ? await createBLAKE3() : createBlake3();
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
    return 'hex' in h ? h.hex() : h.digest('hex');
  } finally {
    await handle.close();
  }
}

export async function run(log: (line: string) => void): Promise<string[]> {
  const path = join(tmpdir(), `rebuild-bench-hash-${process.pid}.bin`);
  await makeFile(path);
  try {
    const mbps = (s: number) => `${(SIZE / 1e6 / s).toFixed(0)} MB/s`;
    const ours = await median(() => hashFile(path));
    log(`rebuild hashFile (SHA-256 + BLAKE3, one read): ${ours.toFixed(3)} s (${mbps(ours)})`);
    const b3 = await median(() => blake3Only(path));
    log(`rebuild BLAKE3 alone (${BLAKE3_IMPLEMENTATION}): ${b3.toFixed(3)} s (${mbps(b3)})`);
    const b3wasm = await median(() => blake3Only(path, true));
    log(`hash-wasm BLAKE3 (the fallback, for comparison): ${b3wasm.toFixed(3)} s (${mbps(b3wasm)})`);
    const sha = await median(() => execa('sha256sum', [path]));
    log(`sha256sum: ${sha.toFixed(3)} s (${mbps(sha)})`);
    const b3sum = await median(() => execa('b3sum', [path]));
    log(`b3sum (all threads): ${b3sum.toFixed(3)} s (${mbps(b3sum)})`);
    const b3sum1 = await median(() => execa('b3sum', ['--num-threads', '1', path]));
    log(`b3sum --num-threads 1: ${b3sum1.toFixed(3)} s (${mbps(b3sum1)})`);
    // The results must agree, or the speed means nothing.
    const d = await hashFile(path);
    const refSha = (await execa('sha256sum', [path])).stdout.split(' ')[0];
    const refB3 = (await execa('b3sum', ['--no-names', path])).stdout.trim();
    if (d.sha256 !== refSha || d.blake3 !== refB3) throw new Error('hashes disagree with sha256sum/b3sum');
    const both = sha + b3sum;
    const ratio = both / ours;
    const b3ratio = b3sum1 / b3;
    return [
      `hash: one pass SHA-256+BLAKE3 on 256 MiB: ${ours.toFixed(3)} s; sha256sum then b3sum: ${both.toFixed(3)} s`,
      `hash: speed-up vs sha256sum+b3sum: ${ratio.toFixed(2)}x (target >= 2x) ${ratio >= 2 ? 'OK' : 'BELOW TARGET'}`,
      `hash: BLAKE3 alone vs single-threaded b3sum: ${b3ratio.toFixed(2)}x (target >= 0.5x) ${b3ratio >= 0.5 ? 'OK' : 'BELOW TARGET'}`,
    ];
  } finally {
    await rm(path, { force: true });
  }
}
