import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { isRebuildError } from '../../src/util/errors.js';
import { gcc, pkgforgeStrip, SOURCE } from './fixtures.js';
import { prng } from './prng.js';

const SEED = 20261125;
const ITERATIONS = 3000;
const EXTREMES = [0, 1, 0x7f, 0xff, 0xffff, 0xffffffff, 0x80000000, 0x10000];

let dir: string;
let base: Buffer;
let unstripped: Buffer;
let basePath: string;
let strippedPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-fuzz-'));
  basePath = await gcc(join(dir, 'src'), join(dir, 'base'), SOURCE);
  strippedPath = await pkgforgeStrip(basePath, join(dir, 'stripped'));
  base = await readFile(strippedPath);
  unstripped = await readFile(basePath);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function mutate(src: Buffer, rnd: () => number): Buffer {
  const pick = (n: number) => Math.floor(rnd() * n);
  const kind = pick(6);
  if (kind === 0) return src.subarray(0, pick(src.length)); // truncation
  const b = Buffer.from(src);
  if (kind === 1) {
    // a few random bytes anywhere
    for (let i = 0, n = 1 + pick(4); i < n; i++) b[pick(b.length)] = pick(256);
    return b;
  }
  // Header-ish regions: ELF header, program headers, section header table (at e_shoff).
  const shoff = Number(b.readBigUInt64LE(0x28));
  const regions = [
    [0, 64],
    [64, 64 + 56 * b.readUInt16LE(0x38)],
    [shoff, Math.min(b.length, shoff + 64 * b.readUInt16LE(0x3c))],
  ] as const;
  const [s, e] = regions[pick(regions.length)]!;
  if (e <= s) return b;
  const at = s + pick(e - s);
  if (kind === 2) {
    b[at] = pick(256);
  } else if (kind === 3 && at + 4 <= b.length) {
    b.writeUInt32LE(EXTREMES[pick(EXTREMES.length)]!, at - (at % 4));
  } else if (kind === 4 && at + 8 <= b.length) {
    const v = BigInt(EXTREMES[pick(EXTREMES.length)]!) * BigInt(1 + pick(3));
    b.writeBigUInt64LE(v, at - (at % 8));
  } else {
    return Buffer.concat([b, Buffer.alloc(1 + pick(64), pick(256))]);
  }
  return b;
}

/** Per comparison: far beyond any honest run on a loaded machine, so only a hang reaches it. */
const HANG_MS = 60_000;

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzz: mutated and truncated ELF files', () => {
  it(`${ITERATIONS} mutants each give a verdict or a RebuildError, none hangs (seed ${SEED})`, async () => {
    const rnd = prng(SEED);
    const mutant = join(dir, 'mutant');
    const started = Date.now();
    const outcomes = { identical: 0, equivalent: 0, different: 0, error: 0 };
    let slowest = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      // Mutate the stripped file and the unstripped one (symbols, debug info) in turn.
      const m = mutate(i % 4 < 2 ? base : unstripped, rnd);
      await writeFile(mutant, m);
      // Most iterations skip the child processes (objdump/objcopy) to stay fast;
      // every 30th runs the full comparison, post-processing simulation included.
      const full = i % 30 === 0;
      const t0 = Date.now();
      const other = i % 2 === 0 ? strippedPath : basePath;
      try {
        // A bound that only catches a hang (a loop on a hostile offset), not a slow machine.
        const c = await within(
          compare(other, mutant, { postProcessing: full, context: full }),
          HANG_MS,
          `iteration ${i}`,
        );
        expect(['identical', 'equivalent', 'different']).toContain(c.verdict);
        // Never a silent verdict: every benign difference is named, every other one listed.
        if (c.verdict === 'equivalent') expect(c.explanations.length).toBeGreaterThan(0);
        if (c.verdict === 'different') expect(c.differences.length).toBeGreaterThan(0);
        outcomes[c.verdict]++;
        JSON.stringify(c); // must serialise (no bigint left in the document)
      } catch (err) {
        if (!isRebuildError(err)) {
          throw new Error(`iteration ${i} (seed ${SEED}): ${err instanceof Error ? err.stack : String(err)}`);
        }
        expect(err.message.length).toBeGreaterThan(0);
        expect(err.subject).toBeDefined();
        outcomes.error++;
      }
      slowest = Math.max(slowest, Date.now() - t0);
    }
    const total = Date.now() - started;
    // Both kinds of outcome must occur, or the mutations are not reaching the reader.
    expect(outcomes.error).toBeGreaterThan(100);
    expect(outcomes.different).toBeGreaterThan(100);
    console.log(`fuzz: ${JSON.stringify(outcomes)} in ${total} ms, slowest ${slowest} ms`);
  }, 900_000);
});
