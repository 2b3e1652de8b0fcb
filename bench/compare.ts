/**
 * `rebuild compare` against diffoscope and sha256sum on a large real binary
 * (issue 3, section 6): the `node` executable (unstripped, ~95 MB) against
 *   1. its pkgforge-style stripped copy (objcopy --remove-section=.comment
 *      --remove-section='.note.*', then strip --strip-all), and
 *   2. a copy with one byte changed in .text.
 * Targets: rebuild ≥100× faster than diffoscope, ≤4× the time sha256sum takes
 * to read both files, the same regions found, bounded memory.
 *
 * Environment: BENCH_NODE=<path> (another binary), BENCH_DIFFOSCOPE=skip,
 * BENCH_DIFFOSCOPE_TIMEOUT=<seconds> (default 600 per pair).
 */
import { copyFile, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { simulatePkgforgePostProcessing } from '../src/forensics/postprocess.js';

const ROOT = join(import.meta.dirname, '..');
const RUNS = 3;

interface ChildResult {
  /** compare() alone, inside the child process. */
  ms: number;
  /** Whole child process, including Node + tsx start-up. */
  wallMs: number;
  /** Peak resident set size of the child, KiB. */
  maxRssKiB: number;
  verdict: string;
  route: string;
  regions: string[];
  kinds: string[];
}

/** Runs compare() in a fresh Node process, so its peak RSS is its own. */
async function compareInChild(a: string, b: string): Promise<ChildResult> {
  const code = `
    import { compare } from ${JSON.stringify(join(ROOT, 'src/forensics/compare.ts'))};
    const t = performance.now();
    const r = await compare(process.argv[1], process.argv[2]);
    const ms = performance.now() - t;
    process.stdout.write(JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, verdict: r.verdict,
      route: r.route, regions: r.differences.map((d) => d.region), kinds: r.explanations.map((e) => e.kind) }));`;
  const t = performance.now();
  const r = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', code, a, b], { cwd: ROOT });
  const wallMs = performance.now() - t;
  return { ...(JSON.parse(r.stdout) as Omit<ChildResult, 'wallMs'>), wallMs };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function textSection(path: string): Promise<{ offset: number; size: number }> {
  const { stdout } = await execa('readelf', ['-SW', path]);
  const m = /\]\s+\.text\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(stdout);
  if (!m?.[1] || !m[2]) throw new Error(`${path}: no .text section`);
  return { offset: Number.parseInt(m[1], 16), size: Number.parseInt(m[2], 16) };
}

interface DiffoscopeResult {
  ms: number;
  timedOut: boolean;
  exitCode: number | undefined;
  reportBytes: number;
  mentionsText: boolean;
  /** ELF section names that appear in the report's headings. */
  sections: string[];
}

async function runDiffoscope(
  a: string,
  b: string,
  report: string,
  timeoutMs: number,
): Promise<DiffoscopeResult> {
  const t = performance.now();
  const r = await execa('diffoscope', ['--text', report, '--no-progress', a, b], {
    reject: false,
    timeout: timeoutMs,
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const ms = performance.now() - t;
  const reportBytes = (await stat(report).catch(() => ({ size: 0 }))).size;
  // The report can be hundreds of MB: let grep stream it.
  const heads = await execa('grep', ['-oE', '^[│├└ ]*(├──|└──|───) .*', report], {
    reject: false,
    stdout: 'pipe',
  });
  const sections = new Set<string>();
  for (const line of heads.stdout.split('\n')) {
    for (const m of line.matchAll(/(?:--section=|^[│├└─ ]+)(\.[A-Za-z_][\w.]*)/g))
      if (m[1]) sections.add(m[1]);
  }
  const text = await execa('grep', ['-c', '-F', '.text', report], { reject: false });
  return {
    ms,
    timedOut: r.timedOut,
    exitCode: r.exitCode,
    reportBytes,
    mentionsText: Number.parseInt(text.stdout || '0', 10) > 0,
    sections: [...sections].sort(),
  };
}

export async function run(log: (line: string) => void): Promise<string[]> {
  const nodePath = await realpath(process.env.BENCH_NODE ?? (await execa('which', ['node'])).stdout.trim());
  const described = (await execa('file', ['-b', nodePath])).stdout;
  const size = (await stat(nodePath)).size;
  log(`binary: ${nodePath} (${mib(size)}): ${described.slice(0, 160)}`);
  if (!/not stripped/.test(described))
    log('warning: this binary is stripped; the stripped pair will be nearly identical');

  const dir = await mkdtemp(join(tmpdir(), 'rebuild-bench-compare-'));
  try {
    const unstripped = join(dir, 'node');
    await copyFile(nodePath, unstripped);
    const sim = await simulatePkgforgePostProcessing(unstripped, {
      machine: 62,
      class: 64,
      endian: 'little',
      workDir: dir,
    });
    if ('skipped' in sim) throw new Error(`cannot make the stripped copy: ${sim.skipped}`);
    const stripped = join(dir, 'node.pkgforge');
    await copyFile(sim.outputPath, stripped);
    await sim.cleanup();
    const flipped = join(dir, 'node.flipped');
    const text = await textSection(unstripped);
    const bytes = await readFile(unstripped);
    const at = text.offset + Math.floor(text.size / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    await writeFile(flipped, bytes);
    log(`stripped copy: ${mib((await stat(stripped)).size)} (${sim.steps.join('; ')})`);
    log(
      `flipped copy: byte 0x${at.toString(16)} of .text [0x${text.offset.toString(16)}, +0x${text.size.toString(16)})`,
    );

    // Warm the page cache so that every tool reads from memory.
    await execa('cat', [unstripped, stripped, flipped], { stdout: 'ignore' });

    const pairs = [
      { name: 'stripped', a: stripped, b: unstripped, expectRegion: undefined as string | undefined },
      { name: 'one-byte', a: unstripped, b: flipped, expectRegion: '.text' },
    ];
    const small = await compareInChild('/bin/true', '/bin/true');
    log(
      `baseline: compare of two tiny files: peak RSS ${mib(small.maxRssKiB * 1024)}, process wall ${secs(small.wallMs)}`,
    );

    const summary: string[] = [];
    const skipDiffoscope = process.env.BENCH_DIFFOSCOPE === 'skip';
    const diffoscopeTimeout = Number(process.env.BENCH_DIFFOSCOPE_TIMEOUT ?? 600) * 1000;
    for (const p of pairs) {
      const results: ChildResult[] = [];
      for (let i = 0; i < RUNS; i++) results.push(await compareInChild(p.a, p.b));
      const last = results[results.length - 1] as ChildResult;
      const rebuildMs = median(results.map((r) => r.ms));
      const rebuildWall = median(results.map((r) => r.wallMs));
      const rss = Math.max(...results.map((r) => r.maxRssKiB)) * 1024;
      const shaRuns: number[] = [];
      for (let i = 0; i < RUNS; i++) shaRuns.push(await timeIt(() => execa('sha256sum', [p.a, p.b])));
      const shaMs = median(shaRuns);
      log(
        `${p.name}: rebuild compare ${secs(rebuildMs)} (process ${secs(rebuildWall)}), verdict ${last.verdict} via ${last.route}, ` +
          `regions [${last.regions.join(', ')}], explanations [${[...new Set(last.kinds)].join(', ')}], peak RSS ${mib(rss)}`,
      );
      log(`${p.name}: sha256sum of both files ${secs(shaMs)}`);
      const vsSha = rebuildMs / shaMs;
      const line = [
        `${p.name}: rebuild ${secs(rebuildMs)} = ${vsSha.toFixed(2)}× sha256sum (${secs(shaMs)}; target ≤4×)`,
        `process ${secs(rebuildWall)} = ${(rebuildWall / shaMs).toFixed(2)}× sha256sum`,
        `peak RSS ${mib(rss)} for ${mib(size)} files`,
      ];
      if (p.expectRegion) {
        line.push(`rebuild found ${p.expectRegion}: ${last.regions.includes(p.expectRegion) ? 'yes' : 'NO'}`);
      }
      if (skipDiffoscope) {
        line.push('diffoscope skipped (BENCH_DIFFOSCOPE=skip)');
      } else {
        log(`${p.name}: running diffoscope (up to ${secs(diffoscopeTimeout)})…`);
        const report = join(dir, `diffoscope-${p.name}.txt`);
        const d = await runDiffoscope(p.a, p.b, report, diffoscopeTimeout);
        const ratio = d.ms / rebuildMs;
        log(
          `${p.name}: diffoscope ${d.timedOut ? 'TIMED OUT after' : 'took'} ${secs(d.ms)}, exit ${d.exitCode ?? '-'}, ` +
            `report ${mib(d.reportBytes)}, sections in report headings: ${d.sections.slice(0, 25).join(' ')}${d.sections.length > 25 ? ' …' : ''}`,
        );
        line.push(
          `diffoscope ${d.timedOut ? '>' : ''}${secs(d.ms)}: rebuild is ${d.timedOut ? '>' : ''}${ratio.toFixed(0)}× faster (target ≥100×)`,
        );
        if (p.expectRegion)
          line.push(`diffoscope mentions ${p.expectRegion}: ${d.mentionsText ? 'yes' : 'no'}`);
        await rm(report, { force: true });
      }
      summary.push(line.join('; '));
    }
    return summary;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
