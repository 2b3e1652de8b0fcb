/**
 * `rebuild compare` (issue 12, item 3) at three sizes, each a whole process as
 * a user runs it, against `cat a b > /dev/null` (reading both files, the
 * floor) and diffoscope. The files are real linked executables (gcc, debug
 * info, symbols) whose .data holds N MB of random bytes, so that every size
 * has the same shape. Pairs per size:
 *   identical  the program and a copy;
 *   one-byte   one byte flipped in the middle of .data (loaded data: different);
 *   stripped   pkgforge's post-processing of the program (objcopy
 *              --remove-section=.comment --remove-section='.note.*', then
 *              strip --strip-all) against the program (equivalent).
 * Targets: identical and one-byte ≤ 3× cat, stripped ≤ 8× cat; peak memory of
 * the process tree (objcopy/strip included) under 150 MiB at every size.
 * Environment: BENCH_COMPARE_SIZES (MB, default 10,100,400), BENCH_COMPARE_RUNS,
 * BENCH_DIFFOSCOPE=skip, BENCH_DIFFOSCOPE_TIMEOUT (seconds per run, default 180),
 * BENCH_COMPARE_BASELINE (another rebuild entry point, e.g. a build of the
 * previous commit, measured interleaved with this one: an A/B of a change).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Case, interleaved, type Measured, mib, ratio, rebuildCase, runOnce, secs } from './measure.js';

const SIZES = (process.env.BENCH_COMPARE_SIZES ?? '10,100,400').split(',').map(Number);
const RUNS = Number(process.env.BENCH_COMPARE_RUNS ?? 5);
const MEMORY_TARGET = 150 * 2 ** 20;
const BASELINE = process.env.BENCH_COMPARE_BASELINE;
/** A diffoscope run this short is measured as often as rebuild's, interleaved with it. */
const INTERLEAVE_MS = 5000;

const MAIN_C = `#include <stdio.h>
extern const unsigned char _binary_blob_bin_start[], _binary_blob_bin_end[];
int main(void) {
  unsigned long sum = 0;
  for (const unsigned char *p = _binary_blob_bin_start; p < _binary_blob_bin_end; p += 4096) sum += *p;
  printf("%lu\\n", sum);
  return 0;
}
`;

interface Pair {
  name: 'identical' | 'one-byte' | 'stripped';
  a: string;
  b: string;
  ok: number[];
  verdict: string;
  target: number;
}

/** A program of about `mb` MB and its three pairs, in `dir`. */
function makePairs(dir: string, mb: number): Pair[] {
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(join(dir, 'main.c'), MAIN_C);
  const blob = Buffer.alloc(mb * 1_000_000);
  for (let at = 0; at < blob.length; at += 1 << 20)
    randomBytes(Math.min(1 << 20, blob.length - at)).copy(blob, at);
  writeFileSync(join(dir, 'blob.bin'), blob);
  run('objcopy', ['-I', 'binary', '-O', 'elf64-x86-64', '-B', 'i386:x86-64', 'blob.bin', 'blob.o']);
  run('gcc', ['-g', '-O1', '-o', 'prog', 'main.c', 'blob.o']);
  rmSync(join(dir, 'blob.bin'));
  const prog = join(dir, 'prog');
  copyFileSync(prog, join(dir, 'prog.copy'));
  const bytes = readFileSync(prog);
  const start = bytes.indexOf(blob.subarray(0, 64));
  const at = start + Math.floor(blob.length / 2);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  writeFileSync(join(dir, 'prog.flipped'), bytes);
  run('objcopy', ['--remove-section=.comment', '--remove-section=.note.*', 'prog', 'prog.pkgforge']);
  run('strip', ['--strip-all', 'prog.pkgforge']);
  return [
    { name: 'identical', a: prog, b: join(dir, 'prog.copy'), ok: [0], verdict: 'identical', target: 3 },
    { name: 'one-byte', a: prog, b: join(dir, 'prog.flipped'), ok: [2], verdict: 'different', target: 3 },
    { name: 'stripped', a: join(dir, 'prog.pkgforge'), b: prog, ok: [1], verdict: 'equivalent', target: 8 },
  ];
}

export async function run(log: (line: string) => void): Promise<string[]> {
  const diffoscope = process.env.BENCH_DIFFOSCOPE !== 'skip';
  const timeoutMs = Number(process.env.BENCH_DIFFOSCOPE_TIMEOUT ?? 180) * 1000;
  const rows: string[][] = [
    [
      'size',
      'pair',
      'verdict',
      'rebuild',
      'cat a b',
      'ratio (target)',
      'CPU rebuild / cat',
      'peak RSS',
      'diffoscope',
      ...(BASELINE ? ['baseline (CPU)'] : []),
    ],
  ];
  const notes: string[] = [];
  for (const mb of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), `rebuild-bench-compare-${mb}-`));
    try {
      const pairs = makePairs(dir, mb);
      log(
        `${mb} MB: program ${mib(statSync(pairs[0]!.a).size)}, stripped ${mib(statSync(pairs[2]!.a).size)}`,
      );
      for (const p of pairs) {
        const ours: Case = {
          ...rebuildCase(`rebuild ${p.name}`, ['compare', '--json', '-', p.a, p.b], p.ok),
          captureStdout: true,
        };
        const cat: Case = { label: 'cat', cmd: 'cat', args: [p.a, p.b] };
        const baseline: Case[] = BASELINE
          ? [{ ...ours, label: 'baseline', args: [BASELINE, ...ours.args.slice(1)] }]
          : [];
        // diffoscope once first: one that finishes within INTERLEAVE_MS is then measured like
        // rebuild (interleaved, median); a slower one is quoted from that one run.
        const peer: Case = {
          label: 'diffoscope',
          cmd: 'diffoscope',
          args: ['--no-progress', '--text', join(dir, 'diffoscope.txt'), p.a, p.b],
          ok: [0, 1],
          timeoutMs,
        };
        const probe = diffoscope ? await runOnce(peer) : undefined;
        const withPeer = probe && !probe.timedOut && probe.wallMs <= INTERLEAVE_MS;
        const measured = await interleaved([ours, cat, ...baseline, ...(withPeer ? [peer] : [])], RUNS);
        const [r, c] = measured as [Measured, Measured];
        const base = BASELINE ? measured[2] : undefined;
        const peerMs = withPeer ? measured[measured.length - 1]!.ms : probe?.wallMs;
        const verdict = (JSON.parse(r.runs[0]!.stdout) as { verdict: string }).verdict;
        if (verdict !== p.verdict)
          notes.push(`${mb} MB ${p.name}: verdict ${verdict}, expected ${p.verdict}`);
        let d = 'skipped';
        if (probe && peerMs !== undefined) {
          d = probe.timedOut
            ? `> ${secs(timeoutMs)} (timed out): rebuild < ${(r.ms / timeoutMs).toFixed(3)}× diffoscope`
            : `${secs(peerMs)}${withPeer ? '' : ' (one run)'}: rebuild = ${ratio(r.ms, peerMs, 'diffoscope', 1)}`;
        }
        rmSync(join(dir, 'diffoscope.txt'), { force: true });
        const memory = r.peakTreeRss <= MEMORY_TARGET ? '' : ' (over 150 MiB)';
        rows.push([
          `${mb} MB`,
          p.name,
          verdict,
          secs(r.ms),
          secs(c.ms),
          ratio(r.ms, c.ms, 'cat', p.target),
          `${secs(r.cpuMs)} / ${secs(c.cpuMs)}`,
          `${mib(r.peakTreeRss)}${memory}`,
          d,
          ...(base ? [`${secs(base.ms)} (${secs(base.cpuMs)})`] : []),
        ]);
        log(rows[rows.length - 1]!.join(' | '));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const table = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return [
    `whole processes, median of ${RUNS} interleaved runs (diffoscope too when a run takes at most ${secs(INTERLEAVE_MS)}, else its one run); CPU is user + system of the process tree (less sensitive than wall time to other load on the machine); peak RSS of the process tree (children included)`,
    ...table,
    ...notes,
  ];
}
