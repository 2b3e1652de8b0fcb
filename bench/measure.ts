/**
 * Whole-process measurements for the benches: wall time, and the peak memory
 * of the process tree (the process and every child it starts, summed at each
 * sample: what a user's machine must hold at once), sampled from /proc.
 * Commands are run interleaved (A B C, A B C, …) so that a noisy, shared
 * machine slows every contender alike, and the medians are compared.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';

export interface Run {
  wallMs: number;
  /** CPU time (user + system) of the process and the descendants it waited for. */
  cpuMs: number;
  /** Peak of the summed resident set of the process and its descendants, bytes. */
  peakTreeRss: number;
  exitCode: number | null;
  stdout: string;
}

export interface Case {
  label: string;
  cmd: string;
  args: string[];
  /** Exit codes that are success for this command (default [0]). */
  ok?: number[];
  cwd?: string;
  /** Keep stdout (for checks); otherwise it is discarded. */
  captureStdout?: boolean;
  /** Kill after this long (the run then counts as timed out). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const PAGE = 4096;
/** USER_HZ: the unit of /proc's CPU times on Linux. */
const TICK_MS = 10;

/**
 * CPU time of this process's children that have ended and been waited for
 * (cutime + cstime in /proc/self/stat; each includes its own waited-for
 * descendants): sampled before and after a run, the difference is that run's.
 */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
    return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

/** "load 12.3" (the 1-minute load average, to read the figures by). */
export function load(): string {
  return `load ${loadavg()[0]!.toFixed(1)}`;
}

async function children(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function rss(pid: number): Promise<number> {
  try {
    const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
    return Number(statm.split(' ')[1] ?? 0) * PAGE;
  } catch {
    return 0;
  }
}

/** Resident bytes of a process and all its descendants, now. */
export async function treeRss(pid: number): Promise<number> {
  let total = await rss(pid);
  for (const child of await children(pid)) total += await treeRss(child);
  return total;
}

export interface TimedRun extends Run {
  timedOut: boolean;
  /** The process's id (to find what it asked the engine for). */
  pid: number;
  /** When it was started, as epoch milliseconds. */
  startedAtMs: number;
}

/** Runs one command to its end, sampling its tree's memory every 10 ms. */
export function runOnce(c: Case): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const startedAtMs = Date.now();
    const cpuBefore = childrenCpuMs();
    const child = spawn(c.cmd, c.args, {
      cwd: c.cwd,
      ...(c.env ? { env: c.env } : {}),
      stdio: ['ignore', c.captureStdout ? 'pipe' : 'ignore', 'pipe'],
      // A run that may time out gets a process group of its own, so that the whole tree is
      // killed: diffoscope's objdump and readelf children outlived it and loaded the next case.
      detached: c.timeoutMs !== undefined,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    let peak = 0;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling || child.pid === undefined) return;
      sampling = true;
      void treeRss(child.pid).then((n) => {
        peak = Math.max(peak, n);
        sampling = false;
      });
    }, 10);
    let timedOut = false;
    const timer = c.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, c.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      clearInterval(sampler);
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const cpuMs = childrenCpuMs() - cpuBefore;
      clearInterval(sampler);
      if (timer) clearTimeout(timer);
      if (!timedOut && !(c.ok ?? [0]).includes(code ?? -1)) {
        reject(new Error(`${c.label}: exit ${code}: ${stderr.trim().slice(0, 400)}`));
        return;
      }
      resolve({
        wallMs,
        cpuMs,
        peakTreeRss: peak,
        exitCode: code,
        stdout,
        timedOut,
        pid: child.pid ?? 0,
        startedAtMs,
      });
    });
  });
}

export interface Measured {
  label: string;
  /** Median wall time of the runs. */
  ms: number;
  /** Median CPU time of the runs (children included). */
  cpuMs: number;
  /** Highest tree peak over the runs. */
  peakTreeRss: number;
  runs: TimedRun[];
}

/** `runs` rounds of every case in turn (after one unmeasured warm-up round). */
export async function interleaved(cases: Case[], runs: number, warmUp = true): Promise<Measured[]> {
  if (warmUp) for (const c of cases) await runOnce(c);
  const all: TimedRun[][] = cases.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [i, c] of cases.entries()) all[i]!.push(await runOnce(c));
  }
  return cases.map((c, i) => ({
    label: c.label,
    ms: median(all[i]!.map((x) => x.wallMs)),
    cpuMs: median(all[i]!.map((x) => x.cpuMs)),
    peakTreeRss: Math.max(...all[i]!.map((x) => x.peakTreeRss)),
    runs: all[i]!,
  }));
}

export const median = (xs: number[]): number =>
  [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
export const secs = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** "1.07× openssl (target ≤ 1.15×: met)". */
export function ratio(ours: number, peer: number, peerName: string, target?: number): string {
  const r = ours / peer;
  const verdict = target === undefined ? '' : ` (target ≤ ${target}×: ${r <= target ? 'met' : 'NOT MET'})`;
  return `${r.toFixed(2)}× ${peerName}${verdict}`;
}

/** The rebuild CLI as a user runs it: node on bin/rebuild.js (the built dist/). */
export const REBUILD_BIN = new URL('../bin/rebuild.js', import.meta.url).pathname;
export function rebuildCase(label: string, args: string[], ok?: number[]): Case {
  return { label, cmd: process.execPath, args: [REBUILD_BIN, ...args], ...(ok ? { ok } : {}) };
}
