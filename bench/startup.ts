/**
 * Start-up, where users wait most often (issue 12, item 1): `rebuild --help`
 * and `rebuild compare` of two small ELF files, each a whole process, against
 * `node -e 0` (the floor for any Node program) and diffoscope on the same
 * pairs. Targets: within 2.5× of `node -e 0`; faster than diffoscope.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Case, interleaved, mib, ratio, rebuildCase, secs } from './measure.js';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 9);

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function run(log: (line: string) => void): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rebuild-bench-startup-'));
  try {
    const trueCopy = join(dir, 'true');
    copyFileSync('/bin/true', trueCopy);
    const pairs = [
      { name: 'identical (/bin/true, a copy)', a: '/bin/true', b: trueCopy, ok: [0] },
      { name: 'different (/bin/true, /bin/false)', a: '/bin/true', b: '/bin/false', ok: [2] },
    ];
    const diffoscope = process.env.BENCH_DIFFOSCOPE !== 'skip' && has('diffoscope');
    const cases: Case[] = [
      { label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
      rebuildCase('rebuild --help', ['--help']),
      ...pairs.map((p) => rebuildCase(`rebuild compare ${p.name}`, ['compare', p.a, p.b], p.ok)),
      ...(diffoscope
        ? pairs.map((p) => ({
            label: `diffoscope ${p.name}`,
            cmd: 'diffoscope',
            args: ['--no-progress', p.a, p.b],
            ok: [0, 1],
          }))
        : []),
    ];
    const m = await interleaved(cases, RUNS);
    const by = new Map(m.map((x) => [x.label, x]));
    const floor = by.get('node -e 0')!.ms;
    const floorCpu = by.get('node -e 0')!.cpuMs;
    const cpuRatio = (label: string) => {
      const cpu = by.get(label)!.cpuMs;
      return `${secs(cpu)} = ${ratio(cpu, floorCpu, 'node -e 0')}`;
    };
    for (const x of m)
      log(
        `${x.label}: ${secs(x.ms)} median of ${RUNS}, CPU ${secs(x.cpuMs)}, peak RSS ${mib(x.peakTreeRss)}`,
      );
    const out = [
      `node -e 0: ${secs(floor)} (median of ${RUNS}, interleaved with the rest)`,
      `rebuild --help: ${secs(by.get('rebuild --help')!.ms)} = ${ratio(by.get('rebuild --help')!.ms, floor, 'node -e 0', 2.5)}; CPU ${cpuRatio('rebuild --help')}`,
    ];
    for (const p of pairs) {
      const ours = by.get(`rebuild compare ${p.name}`)!.ms;
      let line = `rebuild compare ${p.name}: ${secs(ours)} = ${ratio(ours, floor, 'node -e 0', 2.5)}; CPU ${cpuRatio(`rebuild compare ${p.name}`)}`;
      const d = by.get(`diffoscope ${p.name}`);
      if (d) line += `; diffoscope ${secs(d.ms)}: rebuild = ${ratio(ours, d.ms, 'diffoscope', 1)}`;
      else line += '; diffoscope not run (BENCH_DIFFOSCOPE=skip or not installed)';
      out.push(line);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
