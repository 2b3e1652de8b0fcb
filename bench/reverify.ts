/**
 * Warm re-verify overhead (issue 12, item 5): `rebuild verify lc --arch
 * x86_64` (the shipped wc-host example, published to a loopback registry
 * with its metadata index) as a whole process, after one unmeasured run has
 * filled every cache (builder images, metadata, blobs). What the recipe
 * itself costs is the time its containers ran, as the engine reports it
 * (its `start` and `die` events for the containers that process made); the
 * rest is rebuild's overhead: start-up, metadata, manifest, checksums,
 * image checks, container create/attach/wait/remove, collection,
 * post-processing, hashing, reports, exit. Target: overhead under 1 s.
 * Beside it, labelled: the same compile by `docker run --rm` (the floor of
 * any containerised build) and one run's step-by-step times.
 * Environment: BENCH_REVERIFY_RUNS (default 5).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import YAML from 'yaml';
import { OWNER_LABEL, OWNER_PID_LABEL } from '../src/engine/cleanup.js';
import { connectEngine } from '../src/engine/docker.js';
import { EXAMPLES_DIR, publishExample } from '../test/helpers/publish.js';
import { REGISTRY_BIN, startMetadataServer, startRegistry } from '../test/helpers/registry.js';
import { type Case, load, median, rebuildCase, runOnce, secs, type TimedRun } from './measure.js';

const RUNS = Number(process.env.BENCH_REVERIFY_RUNS ?? 5);
const TARGET_MS = 1000;

interface EngineEvent {
  status?: string;
  Action?: string;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Container start/die times from the engine, by the rebuild process that made the container. */
async function watchContainers(docker: Docker) {
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['start', 'die'], label: [OWNER_LABEL] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  const events: { pid: number; id: string; action: string; ms: number }[] = [];
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const e = JSON.parse(line) as EngineEvent;
      const pid = Number(e.Actor?.Attributes?.[OWNER_PID_LABEL]);
      const action = e.Action ?? e.status ?? '';
      if (pid && e.timeNano) events.push({ pid, id: e.Actor?.ID ?? '', action, ms: e.timeNano / 1e6 });
    }
  });
  return {
    /** Milliseconds during which at least one of `pid`'s containers ran. */
    runningMs(pid: number): number {
      const mine = events.filter((e) => e.pid === pid);
      const spans: [number, number][] = [];
      for (const s of mine.filter((e) => e.action === 'start')) {
        const die = mine.find((e) => e.action === 'die' && e.id === s.id && e.ms >= s.ms);
        if (die) spans.push([s.ms, die.ms]);
      }
      spans.sort((a, b) => a[0] - b[0]);
      let total = 0;
      let end = Number.NEGATIVE_INFINITY;
      for (const [a, b] of spans) {
        const from = Math.max(a, end);
        if (b > from) total += b - from;
        end = Math.max(end, b);
      }
      return total;
    },
    stop: () => stream.destroy(),
  };
}

/** One run with its stderr lines time-stamped: where the time goes (labelled in the summary). */
function steps(c: Case): Promise<{ at: number; line: string }[]> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(c.cmd, c.args, { env: c.env, stdio: ['ignore', 'ignore', 'pipe'] });
    const lines: { at: number; line: string }[] = [];
    let rest = '';
    child.stderr.on('data', (d: Buffer) => {
      const at = performance.now() - t0;
      rest += d.toString();
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) lines.push({ at, line });
    });
    child.on('error', reject);
    child.on('close', () => {
      lines.push({ at: performance.now() - t0, line: '(exit)' });
      resolve(lines);
    });
  });
}

/** "start-up 0.41 s · Finding … 0.10 s · …": the gaps between step starts, from a time-stamped run. */
function stepTable(lines: { at: number; line: string }[]): string {
  const marks = [{ at: 0, name: 'start-up' }];
  for (const { at, line } of lines) {
    const m = /▶ (.+)$/.exec(line) ?? /^\[started\] (.+)$/.exec(line);
    if (m) marks.push({ at, name: m[1]!.replace(/ \(.*$/, '').slice(0, 40) });
  }
  marks.push({ at: lines.at(-1)?.at ?? 0, name: '' });
  return marks
    .slice(0, -1)
    .map((m, i) => `${m.name} ${((marks[i + 1]!.at - m.at) / 1000).toFixed(2)} s`)
    .join(' · ');
}

export async function run(log: (line: string) => void): Promise<string[]> {
  let docker: Docker;
  try {
    docker = await connectEngine();
  } catch {
    return ['warm re-verify: skipped (no engine)'];
  }
  try {
    await readFile(REGISTRY_BIN);
  } catch {
    return [
      `warm re-verify: skipped (${REGISTRY_BIN} is missing: scripts/setup-engine.sh --with-test-tools)`,
    ];
  }
  const work = await mkdtemp(join(tmpdir(), 'rebuild-bench-reverify-'));
  const registry = await startRegistry();
  const published = await publishExample(registry.url, 'wc-host');
  const meta = await startMetadataServer({
    bincache: { x86_64: [published.record] },
    pkgcache: { x86_64: [] },
  });
  const watch = await watchContainers(docker);
  try {
    const out = join(work, 'out');
    const env = { ...process.env, CI: '1', XDG_CACHE_HOME: join(work, 'cache') };
    const verify: Case = {
      ...rebuildCase('rebuild verify lc', [
        'verify',
        'lc',
        '--arch',
        'x86_64',
        '--out',
        out,
        '--metadata-base',
        meta.url,
        '--registry-mirror',
        `ghcr.io=${registry.url}`,
      ]),
      env,
    };
    log('warm-up run (fills the image, metadata and blob caches)…');
    await runOnce(verify);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as {
      verdict: string;
      build?: { inputs: { image: { id: string } } };
    };
    if (result.verdict !== 'reproducible')
      throw new Error(`warm-up verdict ${result.verdict}, not reproducible`);
    const image = result.build?.inputs.image.id;
    if (!image) throw new Error('the warm-up result names no builder image');

    // The same compile as the recipe, by hand: the docker CLI's own create/start/wait/remove included.
    const recipe = YAML.parse(
      (await readFile(join(EXAMPLES_DIR, 'wc-host', 'SBUILD'), 'utf8')).replace(/^#!.*\n/, ''),
    ) as { x_exec: { run: string } };
    const peerDir = join(work, 'peer');
    await mkdir(join(peerDir, 'SBUILD_TEMP'), { recursive: true });
    // The container's root may be an unprivileged host uid (a remapping engine), as for rebuild's own work directory.
    for (const d of [work, peerDir, join(peerDir, 'SBUILD_TEMP')]) await chmod(d, 0o777);
    const peer: Case = {
      label: 'docker run --rm (same compile)',
      cmd: 'docker',
      args: [
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${peerDir}:/sbuild`,
        '-e',
        'SBUILD_OUTDIR=/sbuild',
        '-e',
        'SBUILD_TMPDIR=/sbuild/SBUILD_TEMP',
        '-e',
        'PKGVER=0.3.0',
        image,
        'sh',
        '-c',
        recipe.x_exec.run,
      ],
    };

    const ours: TimedRun[] = [];
    const peers: TimedRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await runOnce(verify);
      ours.push(r);
      peers.push(await runOnce(peer));
      log(`run ${i + 1}: rebuild ${secs(r.wallMs)}, its containers ran ${secs(watch.runningMs(r.pid))}`);
    }
    // The engine's events can trail the process by a moment.
    await new Promise((r) => setTimeout(r, 500));
    const overheads = ours.map((r) => r.wallMs - watch.runningMs(r.pid));
    const wall = median(ours.map((r) => r.wallMs));
    const span = median(ours.map((r) => watch.runningMs(r.pid)));
    const overhead = median(overheads);
    const peerMs = median(peers.map((r) => r.wallMs));
    const breakdown = stepTable(await steps(verify));
    return [
      `warm re-verify of lc (wc-host example, x86_64, loopback registry), median of ${RUNS} whole-process runs interleaved with the peer (${load()})`,
      `rebuild verify: ${secs(wall)}, of which its build containers ran ${secs(span)} (engine start→die); rebuild's own CPU ${secs(median(ours.map((r) => r.cpuMs)))}`,
      `overhead beyond the build: ${secs(overhead)} (target < ${secs(TARGET_MS)}: ${overhead < TARGET_MS ? 'met' : 'NOT MET'}); per run ${overheads.map((o) => (o / 1000).toFixed(2)).join(', ')} s`,
      `docker run --rm of the same compile: ${secs(peerMs)}; rebuild = ${(wall / peerMs).toFixed(2)}× it, +${secs(wall - peerMs)}`,
      `one run's steps (for comparison only): ${breakdown}`,
    ];
  } finally {
    watch.stop();
    await meta.stop();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
