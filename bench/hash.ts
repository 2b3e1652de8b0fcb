/**
 * Hashing (issue 12, item 2): `rebuild hash FILE` (SHA-256 + BLAKE3, one
 * read) as a whole process against the strongest single-hash tools installed,
 * on a 1 GiB file in the page cache, interleaved runs, medians:
 * `openssl dgst -sha256` (SHA-NI where the CPU has it), `b3sum` with all
 * threads and with one, and `cat` for the cost of reading alone.
 * Target: rebuild ≤ 1.15× openssl. The in-process hashFile figure is printed
 * beside it, labelled. Environment: BENCH_HASH_MIB (default 1024).
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLAKE3_IMPLEMENTATION, hashFile } from '../src/hash/digest.js';
import { interleaved, load, median, mib, ratio, rebuildCase, secs } from './measure.js';

const MIB = Number(process.env.BENCH_HASH_MIB ?? 1024);
const SIZE = MIB * 2 ** 20;
const RUNS = Number(process.env.BENCH_HASH_RUNS ?? 5);

async function makeFile(path: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const block = randomBytes(1 << 20);
    for (let i = 0; i < MIB; i++) {
      block.writeUInt32LE(i, 0); // no two blocks alike
      await handle.write(block);
    }
  } finally {
    await handle.close();
  }
}

export async function run(log: (line: string) => void): Promise<string[]> {
  const path = join(tmpdir(), `rebuild-bench-hash-${process.pid}.bin`);
  await makeFile(path);
  try {
    const gbps = (ms: number) => `${(SIZE / 1e6 / ms).toFixed(2)} GB/s`;
    const m = await interleaved(
      [
        rebuildCase('rebuild hash', ['hash', path]),
        { label: 'openssl dgst -sha256', cmd: 'openssl', args: ['dgst', '-sha256', path] },
        { label: 'b3sum', cmd: 'b3sum', args: [path] },
        { label: 'b3sum --num-threads 1', cmd: 'b3sum', args: ['--num-threads', '1', path] },
        { label: 'cat', cmd: 'cat', args: [path] },
      ].map((c) => ({ ...c, captureStdout: c.label !== 'cat' })),
      RUNS,
    );
    const by = new Map(m.map((x) => [x.label, x]));
    for (const x of m)
      log(`${x.label}: ${secs(x.ms)} (${gbps(x.ms)}), CPU ${secs(x.cpuMs)}, peak RSS ${mib(x.peakTreeRss)}`);

    // The results must agree, or the speed means nothing.
    const [sha, b3] = (by.get('rebuild hash')!.runs[0]!.stdout.split(/\s+/) as [string, string]).slice(0, 2);
    const refSha = /= ([0-9a-f]{64})/.exec(by.get('openssl dgst -sha256')!.runs[0]!.stdout)?.[1];
    const refB3 = by.get('b3sum')!.runs[0]!.stdout.split(' ')[0];
    if (sha !== refSha || b3 !== refB3) throw new Error('rebuild hash disagrees with openssl/b3sum');

    const inProcess: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await hashFile(path);
      inProcess.push(performance.now() - t);
    }
    const ours = by.get('rebuild hash')!.ms;
    const openssl = by.get('openssl dgst -sha256')!.ms;
    const cpu = (label: string) => by.get(label)!.cpuMs;
    return [
      `${MIB} MiB, page cache warm, median of ${RUNS} interleaved whole-process runs (${load()}); BLAKE3 by ${BLAKE3_IMPLEMENTATION}`,
      `rebuild hash (SHA-256 + BLAKE3): ${secs(ours)} = ${ratio(ours, openssl, 'openssl dgst -sha256', 1.15)}`,
      `CPU (user + system, children included): rebuild hash ${secs(cpu('rebuild hash'))} = ${ratio(cpu('rebuild hash'), cpu('openssl dgst -sha256'), 'openssl')}, ${ratio(cpu('rebuild hash'), cpu('openssl dgst -sha256') + cpu('b3sum --num-threads 1'), 'openssl + b3sum --num-threads 1 (both hashes, two processes)')}; openssl ${secs(cpu('openssl dgst -sha256'))}, b3sum --num-threads 1 ${secs(cpu('b3sum --num-threads 1'))}`,
      `openssl dgst -sha256 ${secs(openssl)}; b3sum ${secs(by.get('b3sum')!.ms)}; b3sum --num-threads 1 ${secs(by.get('b3sum --num-threads 1')!.ms)}; cat ${secs(by.get('cat')!.ms)}`,
      `rebuild hash = ${ratio(ours, by.get('b3sum --num-threads 1')!.ms, 'b3sum --num-threads 1')}, ${ratio(ours, by.get('cat')!.ms, 'cat')}; peak RSS ${mib(by.get('rebuild hash')!.peakTreeRss)}`,
      `in process (hashFile, no start-up; for comparison only): ${secs(median(inProcess))} (${gbps(median(inProcess))})`,
    ];
  } finally {
    await rm(path, { force: true });
  }
}
