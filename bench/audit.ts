/**
 * `npm run bench -- audit`:
 *
 * 1. The per-package cost of a nightly audit in which nothing changed, for
 *    10,000 packages: a real database holding 10,000 verified results, a
 *    synthetic 10,000-record index served by a loopback metadata server,
 *    and `rebuild audit` as a user runs it, a whole process (open and
 *    migrate the database, fetch and validate the index, select, reap
 *    orphans, decide every package is unchanged, record the items, write
 *    the three reports). Target: under 20 ms per package. Every run must
 *    skip every package (nothing may be rebuilt).
 * 2. The throughput of a real audit of the shipped examples (real verifier,
 *    engine, loopback registry), first run and an unchanged second run.
 * 3. The same unchanged audit after 1, 14 and 30 nights of history (that
 *    many results per package), on SQLite and on PostgreSQL, the three
 *    databases' runs interleaved so that a busy machine slows them alike:
 *    the latest-result table and each unit's row of recent verdicts keep
 *    it flat (target: 30 nights within 1.2× of one night).
 * 4. The farm's queue overhead per job at 10,000 jobs (real PostgreSQL and
 *    pg-boss, each worker a process of its own with a no-op verifier, the
 *    coordinator in this one), end to end from enqueueing to the morning
 *    report, with 1 and 2 workers. Target: under 5 ms per job.
 *
 * `AUDIT_BENCH_ONLY=unchanged,history,queue,examples` runs only those parts.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAuditRequest } from '../src/audit/audit.js';
import { runDistributedAudit } from '../src/audit/farm/coordinator.js';
import { DEFAULT_RETRY } from '../src/audit/policy.js';
import { AuditStore } from '../src/audit/store.js';
import { connectEngine } from '../src/engine/docker.js';
import { type RunningPostgres, startPostgres } from '../test/helpers/postgres.js';
import { publishExample } from '../test/helpers/publish.js';
import { recordFor, startMetadataServer, startRegistry } from '../test/helpers/registry.js';
import { seedVerifier } from './helpers/seed-verifier.js';
import { serverCpuMs } from './helpers/server-cpu.js';
import { interleaved, load, type Measured, rebuildCase } from './measure.js';

const N = Number(process.env.AUDIT_BENCH_PACKAGES ?? 10_000);
const JOBS = Number(process.env.AUDIT_BENCH_JOBS ?? 10_000);
/** Jobs each bench worker runs at once (`rebuild worker --jobs`): a no-op build costs nothing, so several are in flight. */
const WORKER_JOBS = Number(process.env.AUDIT_BENCH_WORKER_JOBS ?? 16);
const NIGHTS = [1, 14, 30] as const;
/** Interleaved whole-process runs of each history case. */
const HISTORY_RUNS = Number(process.env.AUDIT_BENCH_HISTORY_RUNS ?? 5);
const TARGET_MS = 20;
const ONLY = new Set((process.env.AUDIT_BENCH_ONLY ?? 'unchanged,history,queue,examples').split(','));

/** Worker processes (bench/helpers/noop-worker.ts) until `stop()`, which returns the jobs each verified and its CPU time. */
function startWorkerProcesses(db: string, n: number, outDir: string) {
  const procs = Array.from({ length: n }, (_, i) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'helpers', 'noop-worker.ts'),
        db,
        `bench-${i}`,
        outDir,
        String(WORKER_JOBS),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const ended = new Promise<{ calls: number; cpuMs: number }>((res, rej) => {
      child.on('error', rej);
      child.on('close', () =>
        res(JSON.parse(out.trim() || '{"calls":-1,"cpuMs":0}') as { calls: number; cpuMs: number }),
      );
    });
    return { child, ended };
  });
  return {
    async stop(): Promise<Array<{ calls: number; cpuMs: number }>> {
      for (const p of procs) p.child.kill('SIGTERM');
      return Promise.all(procs.map((p) => p.ended));
    },
  };
}

/** Waits until `n` workers are registered and alive (their start-up is not queue overhead). */
async function workersAlive(db: string, n: number): Promise<void> {
  const store = await AuditStore.open(db);
  try {
    for (let i = 0; i < 1200; i++) {
      if ((await store.workers(20_000)).filter((w) => w.alive).length >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`queue bench: ${n} worker(s) did not start within 2 minutes`);
  } finally {
    await store.close();
  }
}

/** N records as pkgforge publishes them (strings), each with its own name, id, artifact and hashes. */
export async function syntheticIndex(n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const name = `pkg${String(i).padStart(5, '0')}`;
    out.push(
      await recordFor({
        repo: 'bincache',
        arch: 'x86_64',
        pkg: name,
        pkgId: `example.invalid.bench.${name}`,
        version: `1.${i % 100}.0`,
        buildDate: '2025-06-01T00:00:00Z',
        mainFile: name,
        files: [
          { name, bytes: Buffer.from(`#!/bin/sh\necho ${name}\n`) },
          { name: 'SBUILD', bytes: Buffer.from('#!/SBUILD\n') },
        ],
      }),
    );
  }
  return out;
}

/**
 * Copies the newest night `nights` times (new audits, the same verdicts), in
 * SQL the two stores share, and points the latest-result table at the newest
 * copy: what 30 nights of audits leave behind, without 30 × N verifications.
 */
export async function addNights(db: string, nights: number): Promise<void> {
  const store = await AuditStore.open(db);
  try {
    for (let i = 0; i < nights; i++) {
      await store.db.transaction(async (tx) => {
        const last = (await tx.get<{ id: number }>('SELECT max(audit_id) AS id FROM results'))!.id;
        const a = (await tx.get<{ id: number }>(
          `INSERT INTO audits (started_at, heartbeat_at, status, pid, host, options)
           SELECT started_at, heartbeat_at, 'finished', pid, host, options FROM audits WHERE id = ? RETURNING id`,
          [last],
        ))!.id;
        const cols = `unit, repo, pkg, pkg_id, arch, version, shasum, bsum, build_date, ghcr_pkg, record_key, inputs_hash,
          inputs, image_tag, image_id, emulator, recipe_digest, verdict, summary, published_sha256, published_blake3,
          rebuilt_sha256, rebuilt_blake3, explanations, differences, error, started_at, finished_at, duration_ms,
          attempts, attempt_verdicts, out_dir, report_json, report_md, report_html, log_path, change, prev_id`;
        await tx.run(
          `INSERT INTO results (audit_id, ${cols}) SELECT ?, ${cols} FROM results WHERE audit_id = ?`,
          [a, last],
        );
        await tx.run(
          `UPDATE latest SET result_id = (SELECT max(r.id) FROM results r WHERE r.unit = latest.unit AND r.audit_id = ?)`,
          [a],
        );
      });
    }
    // What the store keeps beside the results it records (the strip's recent verdicts).
    await store.refillRecent();
    // What autovacuum does between real nights: without it the measured audits would
    // race a vacuum of the 30 nights just bulk-inserted (and pay their hint bits).
    if (store.db.dialect === 'postgres') await store.db.exec('VACUUM ANALYZE');
  } finally {
    await store.close();
  }
}

/** A copy of a seeded database (SQLite: the file, closed; PostgreSQL: a database made from it as template). */
async function copyDatabase(from: string, name: string, dir: string, pgs?: RunningPostgres): Promise<string> {
  if (!pgs) {
    const to = join(dir, `${name}.db`);
    await copyFile(from, to);
    return to;
  }
  const pg = (await import('pg')).default;
  const url = new URL(from);
  const template = url.pathname.slice(1);
  url.pathname = '/postgres';
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await c.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}

/** The last run's summary.json of an audit run into `out`: every package must have been skipped. */
async function checkSkipped(out: string, n: number, label: string): Promise<void> {
  const s = JSON.parse(await readFile(join(out, 'latest', 'summary.json'), 'utf8')) as {
    counts: { skipped: number };
  };
  if (s.counts.skipped !== n)
    throw new Error(`${label}: the unchanged audit skipped ${s.counts.skipped} of ${n}`);
}

const perPackage = (ms: number) => (ms / N).toFixed(3);

export async function run(log: (line: string) => void): Promise<string[]> {
  const summary: string[] = [];
  const work = await mkdtemp(join(tmpdir(), 'rebuild-bench-audit-'));
  try {
    // ---- 1. nothing changed, N packages
    log(`making a synthetic index of ${N.toLocaleString('en-US')} records…`);
    const records = await syntheticIndex(N);
    const meta = await startMetadataServer({ bincache: { x86_64: records }, pkgcache: { x86_64: [] } });
    const engine = await connectEngine().catch(() => null);
    if (!engine) log('no engine: measuring without the image checks and container reaping');
    try {
      const req = {
        db: join(work, 'big', 'audit.db'),
        reportsDir: join(work, 'big', 'reports'),
        filter: {},
        arches: ['x86_64' as const],
        jobs: 4,
        retry: DEFAULT_RETRY,
        metadata: { baseUrl: meta.url, cacheDir: join(work, 'metadata-cache') },
        registry: {},
      };
      // ---- 1 and 3. nothing changed, N packages, after 1, 14 and 30 nights; whole processes
      let pgs: RunningPostgres | undefined;
      if (ONLY.has('history') || ONLY.has('queue')) {
        try {
          pgs = await startPostgres();
        } catch (err) {
          summary.push(`PostgreSQL history, queue overhead: skipped (${(err as Error).message})`);
        }
      }
      try {
        const stores: Array<['SQLite' | 'PostgreSQL', string, RunningPostgres | undefined]> = [];
        if (ONLY.has('unchanged') || ONLY.has('history')) stores.push(['SQLite', req.db, undefined]);
        if (ONLY.has('history') && pgs)
          stores.push(['PostgreSQL', await pgs.createDatabase('bench_seed'), pgs]);
        for (const [name, seedDb, server] of stores) {
          const seed = seedVerifier();
          const t0 = performance.now();
          const first = await runAuditRequest(
            { ...req, db: seedDb, reportsDir: join(work, `seed-${name}`) },
            { verify: seed, engine },
          );
          if (first.summary.counts.verified !== N || seed.calls !== N) {
            throw new Error(`${name}: seeding verified ${first.summary.counts.verified} of ${N}`);
          }
          log(
            `${name}: seeded ${N} results in ${((performance.now() - t0) / 1000).toFixed(1)} s (instant fake verifier)`,
          );
          const nights = ONLY.has('history') ? NIGHTS : ([1] as const);
          const cases = [];
          const outs: string[] = [];
          for (const n of nights) {
            const db = await copyDatabase(seedDb, `bench_${name.toLowerCase()}_${n}`, work, server);
            if (n > 1) await addNights(db, n - 1);
            const out = join(work, `reports-${name}-${n}`);
            outs.push(out);
            cases.push(
              rebuildCase(`${name}, ${n} night(s)`, [
                'audit',
                '--db',
                db,
                '--metadata-base',
                meta.url,
                '--cache-dir',
                join(work, `cache-${name}-${n}`),
                '--arch',
                'x86_64',
                '--out',
                out,
                '--quiet',
              ]),
            );
          }
          const loadBefore = load();
          const measured: Measured[] = await interleaved(cases, HISTORY_RUNS);
          const loadAfter = load();
          for (const [i, n] of nights.entries()) await checkSkipped(outs[i]!, N, `${name}, ${n} night(s)`);
          for (const m of measured) {
            log(
              `${m.label}: wall ${m.runs.map((r) => perPackage(r.wallMs)).join(' ')} ms/package; cpu ${m.runs.map((r) => perPackage(r.cpuMs)).join(' ')}`,
            );
          }
          const one = measured[0]!;
          if (name === 'SQLite') {
            const per = one.ms / N;
            summary.push(
              `unchanged audit of ${N.toLocaleString('en-US')} packages (rebuild audit, whole process, SQLite, median of ${HISTORY_RUNS}): ${(one.ms / 1000).toFixed(2)} s = ${per.toFixed(3)} ms/package, CPU ${perPackage(one.cpuMs)} ms/package (target < ${TARGET_MS} ms: ${per < TARGET_MS ? 'met' : 'NOT MET'})`,
            );
          }
          for (const m of measured.slice(1)) {
            const ratio = m.ms / one.ms;
            const cpuRatio = m.cpuMs / one.cpuMs;
            const last = m === measured[measured.length - 1];
            summary.push(
              `unchanged audit, ${m.label} of history: ${perPackage(m.ms)} ms/package = ${ratio.toFixed(2)}× one night's ${perPackage(one.ms)}; CPU ${perPackage(m.cpuMs)} = ${cpuRatio.toFixed(2)}× one night's ${perPackage(one.cpuMs)}${last ? ` (target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'NOT MET'})` : ''}`,
            );
          }
          summary.push(
            `  (${name}: whole processes, ${HISTORY_RUNS} interleaved rounds after a warm-up, medians; ${loadBefore} before, ${loadAfter} after)`,
          );
        }
        if (pgs) {
          // ---- 4. queue overhead: worker processes, the coordinator here
          const jobRecords = records.slice(0, Math.min(JOBS, records.length));
          meta.set({ bincache: { x86_64: jobRecords }, pkgcache: { x86_64: [] } });
          const perWorkers: number[] = [];
          const cpuLines: string[] = [];
          for (const workers of ONLY.has('queue') ? [1, 2] : []) {
            const db = await pgs.createDatabase(`bench_queue_${workers}`);
            const outDir = join(work, `queue-${workers}`);
            // The coordinator's first open migrates the database; the workers find it ready.
            await (await AuditStore.open(db)).close();
            const procs = startWorkerProcesses(db, workers, outDir);
            let ended: Array<{ calls: number; cpuMs: number }>;
            let run: Awaited<ReturnType<typeof runDistributedAudit>>;
            let ms: number;
            let coordinatorCpu: NodeJS.CpuUsage;
            let serverCpu: number;
            try {
              await workersAlive(db, workers);
              const server0 = await serverCpuMs(pgs.dataDir);
              const cpu0 = process.cpuUsage();
              const t0 = performance.now();
              run = await runDistributedAudit(
                {
                  ...req,
                  db,
                  reportsDir: outDir,
                  pollMs: 200,
                  // When the coordinator has enqueued everything: the rest is the workers' and the report's.
                  log: (line) =>
                    log(`  coordinator at ${((performance.now() - t0) / 1000).toFixed(1)} s: ${line}`),
                },
                { engine: null },
              );
              ms = performance.now() - t0;
              coordinatorCpu = process.cpuUsage(cpu0);
              serverCpu = (await serverCpuMs(pgs.dataDir)) - server0;
            } finally {
              ended = await procs.stop();
            }
            const calls = ended.map((e) => e.calls);
            const total = calls.reduce((a, b) => a + b, 0);
            if (run.summary.counts.verified !== jobRecords.length || total !== jobRecords.length) {
              throw new Error(
                `queue bench: ${run.summary.counts.verified} of ${jobRecords.length} verified, ${calls.join(' + ')} calls`,
              );
            }
            perWorkers.push(ms);
            const perJob = (cpuMs: number) => (cpuMs / jobRecords.length).toFixed(2);
            const workerCpu = ended.reduce((a, e) => a + e.cpuMs, 0);
            const cpuLine = `CPU ms/job: coordinator ${perJob((coordinatorCpu.user + coordinatorCpu.system) / 1000)}, workers ${perJob(workerCpu)} (from their start), PostgreSQL ${perJob(serverCpu)}`;
            log(
              `queue: ${jobRecords.length} jobs, ${workers} worker process(es) × --jobs ${WORKER_JOBS}: ${(ms / 1000).toFixed(1)} s (${calls.join(' + ')} jobs); ${cpuLine}`,
            );
            cpuLines.push(`${workers} worker(s): ${cpuLine}`);
          }
          if (perWorkers.length === 2) {
            const per = perWorkers[0]! / jobRecords.length;
            summary.push(
              `farm queue, ${jobRecords.length.toLocaleString('en-US')} jobs, no-op verifier, --jobs ${WORKER_JOBS} per worker, end to end: ${per.toFixed(2)} ms/job with 1 worker process (target < 5 ms: ${per < 5 ? 'met' : 'NOT MET'}), ${(perWorkers[1]! / jobRecords.length).toFixed(2)} ms/job with 2 (${(perWorkers[0]! / perWorkers[1]!).toFixed(2)}× the throughput)`,
              ...cpuLines.map((l) => `  ${l}`),
            );
          }
        }
      } finally {
        await pgs?.stop();
      }
    } finally {
      await meta.stop();
    }

    // ---- 2. a real audit of the examples
    if (!ONLY.has('examples')) return summary;
    if (!engine) {
      summary.push('real audit of the examples: skipped (no engine)');
      return summary;
    }
    const registry = await startRegistry();
    const idx: Record<string, unknown>[] = [];
    for (const dir of ['wc-host', 'tally-container', 'hello-docker-run'] as const) {
      idx.push((await publishExample(registry.url, dir)).record);
    }
    const meta2 = await startMetadataServer({ bincache: { x86_64: idx }, pkgcache: { x86_64: [] } });
    try {
      const req = {
        db: join(work, 'examples', 'audit.db'),
        reportsDir: join(work, 'examples', 'reports'),
        filter: {},
        arches: ['x86_64' as const],
        jobs: 2,
        retry: DEFAULT_RETRY,
        metadata: { baseUrl: meta2.url, cacheDir: join(work, 'metadata-cache-2') },
        registry: { mirrors: { 'ghcr.io': registry.url }, cacheDir: join(work, 'blobs') },
      };
      let t0 = performance.now();
      const first = await runAuditRequest(req);
      const ms = performance.now() - t0;
      const n = first.summary.counts.verified;
      const verdicts = Object.entries(first.summary.counts.verdicts)
        .filter(([, c]) => c > 0)
        .map(([v, c]) => `${c} ${v}`)
        .join(', ');
      log(`real audit: ${n} verified (${verdicts}) in ${(ms / 1000).toFixed(1)} s`);
      t0 = performance.now();
      const second = await runAuditRequest(req);
      const ms2 = performance.now() - t0;
      summary.push(
        `real audit of the ${n} examples (x86_64, --jobs 2): ${(ms / 1000).toFixed(1)} s = ${(ms / 1000 / n).toFixed(2)} s/package, ${((n / ms) * 60_000).toFixed(0)} packages/min (${verdicts})`,
        `same audit again, nothing changed: ${(ms2 / 1000).toFixed(2)} s (${second.summary.counts.skipped} skipped)`,
      );
    } finally {
      await meta2.stop();
      await registry.stop();
    }
    return summary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
