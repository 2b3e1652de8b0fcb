/**
 * Starts the worker threads a hashPair of two files will use, ahead of it:
 * each takes tens of ms to boot, which then overlap the caller's loading and
 * parsing. A module of its own, so that small pairs load no thread code.
 */
import { statSync } from 'node:fs';
import { blake3ModuleForWorkers, PARALLEL_MIN_SIZE, pairThreads } from './digest.js';

/**
 * One reader for same-sized large files (b gets its own only if they
 * differ); a reader each, and b's SHA-256, for large files of different
 * sizes (one reader for both on two cores, see PairThreads). Files it cannot stat are left to the comparison to report.
 * Resolves once they are started (not booted).
 */
export async function prestartPairThreads(aPath: string, bPath: string): Promise<void> {
  if (!blake3ModuleForWorkers()) return;
  let sizes: number[];
  try {
    sizes = [statSync(aPath).size, statSync(bPath).size];
  } catch {
    return;
  }
  const [a, b] = sizes.map((n) => n >= PARALLEL_MIN_SIZE);
  if (!a && !b) return;
  const { prestartRingWorkers } = await import('./threads.js');
  if (sizes[0] === sizes[1]) prestartRingWorkers(1);
  else if (pairThreads() === 'one reader') prestartRingWorkers(1);
  else prestartRingWorkers((a ? 1 : 0) + (b ? 1 : 0), b ? 1 : 0);
}
