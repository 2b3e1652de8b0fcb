/**
 * The audit farm in one process, against a real PostgreSQL server (a
 * throw-away cluster on 127.0.0.1), real pg-boss and the real coordinator
 * and worker code, with a fake verifier (these test scheduling, routing and
 * state; test/audit/farm.engine.test.ts runs `rebuild worker` processes with
 * the real verifier and engine): the morning report is the same on SQLite
 * and PostgreSQL, a distributed audit reports what a local one does plus
 * which worker did what, native-first routing, a job no worker can take
 * waits (and is not lost), a result from a worker that lost its lease is
 * not recorded, a worker renews the lease of a long build, workers running
 * several jobs at once take and record them in batches.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditRequest, runAuditRequest } from '../../src/audit/audit.js';
import { runDistributedAudit } from '../../src/audit/farm/coordinator.js';
import { JobQueue } from '../../src/audit/farm/queue.js';
import { farmStatus, renderFarmStatus } from '../../src/audit/farm/status.js';
import { runWorker, type WorkerRequest } from '../../src/audit/farm/worker.js';
import { DEFAULT_RETRY } from '../../src/audit/policy.js';
import type { AuditSummary } from '../../src/audit/report.js';
import { AuditStore } from '../../src/audit/store.js';
import type { Verifier } from '../../src/audit/types.js';
import type { Arch } from '../../src/engine/types.js';
import type { PackageRecord } from '../../src/upstream/types.js';
import type { VerifyVerdict } from '../../src/verify/types.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { type RunningServer, recordFor, startMetadataServer } from '../helpers/registry.js';
import { checkRecentVerdicts, newResult, tempDir, unit, verifyResult } from './fixtures.js';

let pg: RunningPostgres;
let work: string;
let cleanup: () => Promise<void>;
let dbn = 0;

beforeAll(async () => {
  pg = await startPostgres();
  ({ dir: work, cleanup } = await tempDir('rebuild-farm-'));
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  await cleanup?.();
});

async function record(
  pkg: string,
  arch: Arch = 'x86_64',
  version = '1.0.0',
): Promise<Record<string, unknown>> {
  return recordFor({
    repo: 'bincache',
    arch,
    pkg,
    pkgId: `example.invalid.farm.${pkg}`,
    version,
    buildDate: '2025-06-01T00:00:00Z',
    mainFile: pkg,
    files: [
      { name: pkg, bytes: Buffer.from(`#!/bin/sh\necho ${pkg} ${version}\n`) },
      { name: 'SBUILD', bytes: Buffer.from('#!/SBUILD\n') },
    ],
  });
}

/** Answers from a table (pkg → verdict); records who was asked. */
function verifier(answers: Record<string, VerifyVerdict> = {}) {
  const calls: string[] = [];
  const verify: Verifier = async (rec: PackageRecord, opts) => {
    calls.push(`${rec.pkg}@${rec.arch}`);
    await new Promise((r) => setTimeout(r, 20));
    return verifyResult(rec, opts, answers[rec.pkg] ?? 'reproducible');
  };
  return { verify, calls };
}

function request(
  db: string,
  meta: RunningServer,
  arches: Arch[],
  over: Partial<AuditRequest> = {},
): AuditRequest {
  return {
    db,
    reportsDir: join(work, `reports-${++dbn}`),
    filter: {},
    arches,
    jobs: 2,
    retry: { ...DEFAULT_RETRY, backoffMs: 10 },
    metadata: { baseUrl: meta.url, cacheDir: false },
    registry: {},
    ...over,
  };
}

const nights = (p: AuditSummary['packages'][number]) => p.nights.map((n) => ({ ...n, at: '' }));

/** A summary without what differs between two runs of the same audit: times, paths, the database, the host. */
function stable(s: AuditSummary): unknown {
  return {
    ...s,
    audit: { ...s.audit, startedAt: '', finishedAt: '', database: '', pid: 0, host: '', options: {} },
    packages: s.packages.map((p) => ({ ...p, durationMs: 0, wallMs: 0, worker: null, nights: nights(p) })),
    changes: s.changes.map((p) => ({ ...p, durationMs: 0, wallMs: 0, worker: null, nights: nights(p) })),
    previous: s.previous
      ? { ...s.previous, finishedAt: '', report: s.previous.report ? 'REPORT' : null }
      : null,
  };
}

const stableText = (md: string) =>
  md
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, 'T')
    .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+ \([^)]*\)/g, 'T')
    .replace(/\]\((?:\.\.\/)+[^)]*\/report\.html\)/g, '](PREVIOUS)')
    .replace(/`[^`]*(?:audit\.db|postgresql:[^`]*)`/g, 'DB')
    .replace(/on `[^`]*`/g, 'on HOST')
    .replace(/\d+(?:\.\d+)? (?:ms|s)\b/g, 'N');

async function startWorkers(db: string, specs: Array<Partial<WorkerRequest>>, verify: Verifier) {
  const controller = new AbortController();
  const runs = specs.map((s, i) =>
    runWorker(
      {
        db,
        name: `w${i + 1}`,
        arches: [{ arch: 'x86_64', mode: 'native' }],
        tags: {},
        jobs: 1,
        outDir: join(work, `worker-${dbn}-${i}`),
        pollMs: 100,
        signal: controller.signal,
        ...s,
      },
      { verify, engine: null },
    ),
  );
  const store = await AuditStore.open(db);
  try {
    for (let i = 0; i < 200; i++) {
      const alive = (await store.workers(20_000)).filter((w) => w.alive);
      if (alive.length >= specs.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await store.close();
  }
  return {
    async stop() {
      controller.abort();
      return Promise.all(runs);
    },
  };
}

describe('the store on PostgreSQL', () => {
  it("keeps each unit's recent verdicts as the results say, and refills them when an older database is opened", async () => {
    const db = await pg.createDatabase(`recent_${++dbn}`);
    const opened: AuditStore[] = [];
    try {
      await checkRecentVerdicts(async () => {
        const s = await AuditStore.open(db);
        opened.push(s);
        return s;
      });
    } finally {
      for (const s of opened) await s.close();
    }
  });
});

describe('the same audit on SQLite and on PostgreSQL', () => {
  it('gives the same morning report (JSON, Markdown) over two nights, and `history` reads both', async () => {
    const meta = await startMetadataServer({
      bincache: { x86_64: [await record('alpha'), await record('beta'), await record('gamma')] },
      pkgcache: { x86_64: [] },
    });
    try {
      const sqlite = join(work, 'same', 'audit.db');
      const postgres = await pg.createDatabase('same');
      const runs: Record<string, AuditSummary[]> = { sqlite: [], postgres: [] };
      const md: Record<string, string[]> = { sqlite: [], postgres: [] };
      for (const [name, db] of [
        ['sqlite', sqlite],
        ['postgres', postgres],
      ] as const) {
        meta.set({
          bincache: { x86_64: [await record('alpha'), await record('beta'), await record('gamma')] },
          pkgcache: { x86_64: [] },
        });
        const night1 = await runAuditRequest(request(db, meta, ['x86_64']), {
          verify: verifier({ gamma: 'different' }).verify,
          engine: null,
        });
        meta.set({
          bincache: {
            x86_64: [await record('alpha', 'x86_64', '1.1.0'), await record('beta'), await record('gamma')],
          },
          pkgcache: { x86_64: [] },
        });
        const night2 = await runAuditRequest(request(db, meta, ['x86_64'], { recheck: true }), {
          verify: verifier({ beta: 'different', gamma: 'reproducible' }).verify,
          engine: null,
        });
        runs[name] = [night1.summary, night2.summary];
        md[name] = [
          await readFile(night1.reports.markdown, 'utf8'),
          await readFile(night2.reports.markdown, 'utf8'),
        ];
      }
      expect(runs.postgres![1]!.exit.code).toBe(10); // beta regressed
      expect(runs.postgres![1]!.changes.map((c) => `${c.pkg}:${c.change}`).sort()).toEqual([
        'alpha:new-version',
        'beta:regression',
        'gamma:fixed',
      ]);
      expect(runs.postgres!.map(stable)).toEqual(runs.sqlite!.map(stable));
      expect(md.postgres!.map(stableText)).toEqual(md.sqlite!.map(stableText));
      expect(runs.postgres![0]!.audit.database).not.toContain(pg.password);
      const a = await AuditStore.open(sqlite);
      const b = await AuditStore.open(postgres);
      try {
        const strip = (rs: Awaited<ReturnType<AuditStore['history']>>) =>
          rs.map((r) => [r.auditId, r.version, r.verdict, r.change]);
        expect(strip(await b.history('beta'))).toEqual(strip(await a.history('beta')));
        expect(strip(await b.history('beta'))).toEqual([
          [1, '1.0.0', 'reproducible', 'first'],
          [2, '1.0.0', 'different', 'regression'],
        ]);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await meta.stop();
    }
  }, 120_000);
});

describe('a distributed audit (coordinator and workers in this process, real PostgreSQL and pg-boss)', () => {
  it('reports what the local audit reports, plus which worker did what; nothing is verified twice', async () => {
    const recs = [];
    for (const p of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) recs.push(await record(p));
    const meta = await startMetadataServer({ bincache: { x86_64: recs }, pkgcache: { x86_64: [] } });
    try {
      const lv = verifier({ a3: 'different', a5: 'build-failed' });
      const local = await runAuditRequest(request(join(work, 'local', 'audit.db'), meta, ['x86_64']), {
        verify: lv.verify,
        engine: null,
      });
      const db = await pg.createDatabase('dist');
      const v = verifier({ a3: 'different', a5: 'build-failed' });
      // The workers write where the coordinator reports (one machine, or shared storage): the same paths.
      const req = request(db, meta, ['x86_64']);
      const shared = { outDir: req.reportsDir };
      const workers = await startWorkers(db, [shared, shared, shared], v.verify);
      const dist = await runDistributedAudit({ ...req, pollMs: 100 }, { engine: null });
      await workers.stop();
      // The same attempts as the local audit: one each, a second for the new `different` and the build failure.
      expect(v.calls.sort()).toEqual(lv.calls.sort());
      expect(v.calls.filter((c) => c === 'a3@x86_64' || c === 'a5@x86_64')).toHaveLength(4);
      expect(stable(dist.summary)).toEqual(stable(local.summary));
      expect(dist.exitCode).toBe(local.exitCode);
      const by = dist.summary.packages.map((p) => p.worker?.name);
      expect(by.every((w) => w && /^w[123]$/.test(w))).toBe(true);
      const md = await readFile(dist.reports.markdown, 'utf8');
      expect(md).toContain('## Workers');
      expect(await readFile(local.reports.markdown, 'utf8')).not.toContain('## Workers');
      const store = await AuditStore.open(db);
      try {
        expect(await store.counts()).toMatchObject({ results: 6, jobs: 6 });
        expect((await store.jobs()).every((j) => j.state === 'done' && j.attempts === 1)).toBe(true);
        // Night two: nothing changed, nothing is queued.
        const v2 = verifier();
        const w2 = await startWorkers(db, [{}], v2.verify);
        const again = await runDistributedAudit(
          { ...request(db, meta, ['x86_64']), pollMs: 100 },
          { engine: null },
        );
        await w2.stop();
        expect(again.summary.counts.skipped).toBe(6);
        expect(v2.calls).toEqual([]);
        expect((await store.counts()).jobs).toBe(6);
      } finally {
        await store.close();
      }
    } finally {
      await meta.stop();
    }
  }, 120_000);

  it('a worker renews the lease of a build that outlasts it: the job stays its own, verified once', async () => {
    const meta = await startMetadataServer({
      bincache: { x86_64: [await record('long')] },
      pkgcache: { x86_64: [] },
    });
    try {
      const db = await pg.createDatabase('renew');
      // A build of 9 s under a 3 s lease: without the renewals pg-boss would expire
      // it after 3 s and the idle second worker would verify it again.
      const calls: string[] = [];
      const slow: Verifier = async (rec, opts) => {
        calls.push(rec.pkg);
        await new Promise((r) => setTimeout(r, 9_000));
        return verifyResult(rec, opts, 'reproducible');
      };
      const w = await startWorkers(db, [{}, {}], slow);
      const run = await runDistributedAudit(
        { ...request(db, meta, ['x86_64']), leaseSeconds: 3, pollMs: 100 },
        { engine: null },
      );
      await w.stop();
      expect(calls).toEqual(['long']);
      expect(run.summary.counts.verified).toBe(1);
      const store = await AuditStore.open(db);
      try {
        expect((await store.jobs()).map((j) => [j.state, j.attempts])).toEqual([['done', 1]]);
      } finally {
        await store.close();
      }
    } finally {
      await meta.stop();
    }
  }, 120_000);

  it('routes a foreign-arch job to a free native worker before an emulated one; records which', async () => {
    const meta = await startMetadataServer({
      bincache: { x86_64: [], aarch64: [await record('armonly', 'aarch64')] },
      pkgcache: { x86_64: [], aarch64: [] },
    });
    try {
      const db = await pg.createDatabase('route');
      const v = verifier();
      const emulated = { arches: [{ arch: 'aarch64' as const, mode: 'emulated' as const }] };
      const native = { arches: [{ arch: 'aarch64' as const, mode: 'native' as const }] };
      const both = await startWorkers(db, [emulated, native], v.verify);
      const first = await runDistributedAudit(
        { ...request(db, meta, ['aarch64']), pollMs: 100 },
        { engine: null },
      );
      await both.stop();
      const p = first.summary.packages[0]!;
      expect(p.status).toBe('verified');
      expect(p.worker).toEqual({ name: 'w2', mode: 'native' });
      // No native worker: the emulated one takes it.
      const only = await startWorkers(db, [emulated], v.verify);
      const second = await runDistributedAudit(
        { ...request(db, meta, ['aarch64'], { recheck: true }), pollMs: 100 },
        { engine: null },
      );
      await only.stop();
      expect(second.summary.packages[0]!.worker).toEqual({ name: 'w1', mode: 'emulated' });
    } finally {
      await meta.stop();
    }
  }, 120_000);

  it('a job whose needs no live worker satisfies is reported as waiting and stays queued', async () => {
    const meta = await startMetadataServer({
      bincache: { x86_64: [await record('small'), await record('huge')] },
      pkgcache: { x86_64: [] },
    });
    try {
      const db = await pg.createDatabase('needs');
      const needs = join(work, 'needs.txt');
      await writeFile(needs, '# per-package resource needs\nhuge memory=64G\nsmall memory=8G\n');
      const v = verifier();
      const w = await startWorkers(db, [{ tags: { memory: '16G' } }], v.verify);
      const run = await runDistributedAudit(
        { ...request(db, meta, ['x86_64']), needsFile: needs, pollMs: 100 },
        { engine: null },
      );
      const store = await AuditStore.open(db);
      try {
        expect(v.calls).toEqual(['small@x86_64']);
        const huge = run.summary.packages.find((p) => p.pkg === 'huge')!;
        expect(huge.status).toBe('waiting');
        expect(huge.detail).toMatch(/memory=64G/);
        expect(run.summary.counts.waiting).toBe(1);
        const open = await store.jobs({ states: ['queued'] });
        expect(open.map((j) => j.unit)).toEqual([expect.stringContaining('/huge@x86_64')]);
        const q = await JobQueue.open(db, { maintenanceSeconds: 15 });
        try {
          expect(await q.state(open[0]!.queue, open[0]!.id)).toBe('created');
        } finally {
          await q.close();
        }
        const status = await farmStatus(store);
        expect(status.counts).toMatchObject({ queued: 1, waiting: 1, running: 0 });
        expect(renderFarmStatus(status)).toMatch(/huge@x86_64 .*needs memory=64G .*WAITING/);
        expect(renderFarmStatus(status)).toMatch(/w1 +alive +x86_64\/native +tags memory=16G/);
      } finally {
        await w.stop();
        await store.close();
      }
      // A bigger machine joins: it takes the waiting job; the next audit finds it done, queues nothing.
      const big = await startWorkers(db, [{ name: 'big', tags: { memory: '128G' } }], v.verify);
      const next = await runDistributedAudit(
        { ...request(db, meta, ['x86_64']), needsFile: needs, pollMs: 100 },
        { engine: null },
      );
      await big.stop();
      expect(v.calls.filter((c) => c.startsWith('huge'))).toEqual(['huge@x86_64']);
      expect(next.summary.counts.skipped).toBe(2);
      const s2 = await AuditStore.open(db);
      try {
        const r = (await s2.history('huge'))[0]!;
        expect(r.worker).toBe('big');
        expect((await s2.items(r.auditId)).find((i) => i.pkg === 'huge')?.status).toBe('verified');
        expect((await s2.counts()).jobs).toBe(2);
      } finally {
        await s2.close();
      }
    } finally {
      await meta.stop();
    }
  }, 120_000);

  it('workers with --jobs 4 take and record jobs in batches: every unit verified once, one result per job', async () => {
    const recs = [];
    for (let i = 0; i < 12; i++) recs.push(await record(`b${String(i).padStart(2, '0')}`));
    const meta = await startMetadataServer({ bincache: { x86_64: recs }, pkgcache: { x86_64: [] } });
    try {
      const db = await pg.createDatabase('batches');
      let inFlight = 0;
      let most = 0;
      const calls: string[] = [];
      const verify: Verifier = async (rec, opts) => {
        calls.push(rec.pkg);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 50));
        inFlight--;
        return verifyResult(rec, opts, rec.pkg === 'b03' ? 'different' : 'reproducible');
      };
      const w = await startWorkers(db, [{ jobs: 4 }, { jobs: 4 }], verify);
      const run = await runDistributedAudit(
        { ...request(db, meta, ['x86_64']), pollMs: 100 },
        { engine: null },
      );
      await w.stop();
      // Several in flight at once (a batch), and still each unit once.
      expect(most).toBeGreaterThan(1);
      expect(calls.filter((c) => c !== 'b03').sort()).toEqual(
        recs.map((_, i) => `b${String(i).padStart(2, '0')}`).filter((c) => c !== 'b03'),
      );
      expect(run.summary.counts.verified).toBe(12);
      expect(run.summary.packages.every((p) => p.worker && /^w[12]$/.test(p.worker.name))).toBe(true);
      const store = await AuditStore.open(db);
      try {
        expect(await store.counts()).toMatchObject({ results: 12, jobs: 12 });
        const jobs = await store.jobs();
        expect(jobs.every((j) => j.state === 'done' && j.attempts === 1 && j.resultId !== null)).toBe(true);
        // Each job points at its own result, which names the job and the worker that held it.
        const results = await store.resultsOf(run.summary.audit.id);
        for (const j of jobs) {
          const r = results.find((x) => x.id === j.resultId)!;
          expect([r.jobId, r.unit, r.worker]).toEqual([j.id, j.unit, j.worker]);
        }
        expect((await store.latestAll()).size).toBe(12);
        expect(run.summary.packages.find((p) => p.pkg === 'b03')?.verdict).toBe('different');
      } finally {
        await store.close();
      }
    } finally {
      await meta.stop();
    }
  }, 120_000);

  it("a batch of results in which some jobs are no longer the worker's records only the others", async () => {
    const db = await pg.createDatabase('batch-lease');
    const store = await AuditStore.open(db);
    const queue = await JobQueue.open(db, { maintenanceSeconds: 15 });
    try {
      const { id: auditId } = await store.beginAudit({});
      const units = ['l1', 'l2', 'l3', 'l4'].map((p) => unit(p));
      const ids = units.map((_, i) => `00000000-0000-4000-8000-00000000000${i + 1}`);
      await queue.prepare('lease-test');
      await store.db.transaction(async (tx) => {
        await store.insertJobs(
          tx,
          units.map((u, i) => ({
            id: ids[i]!,
            auditId,
            unit: u.key,
            queue: 'lease-test',
            arch: 'x86_64',
            needs: {},
            priority: 0,
          })),
        );
        await queue.sendMany(
          tx,
          'lease-test',
          units.map((u, i) => ({
            id: ids[i]!,
            data: {
              unit: u.key,
              query: u.query,
              record: u.record,
              verify: {},
              retry: DEFAULT_RETRY,
              deadline: null,
            },
            priority: 0,
            singletonKey: u.key,
            retryLimit: 1,
          })),
          60,
        );
      });
      expect(await queue.fetch('lease-test', 4)).toHaveLength(4);
      expect(await store.startJobs(ids, 'w1', 'native', 'lease-1')).toHaveLength(4);
      // l2 went to another worker (a new lease in our table); the queue no longer has l3 active.
      await store.startJob(ids[1]!, 'w2', 'native', 'lease-2');
      await queue.giveBack('lease-test', ids[2]!, 'test');
      const entries = units.map((u, i) => ({
        auditId,
        res: newResult(u, 'reproducible'),
        wallMs: 1,
        queue: 'lease-test',
        source: { worker: 'w1', workerMode: 'native' as const, jobId: ids[i]!, lease: 'lease-1' },
      }));
      const out = await store.recordWorkerResults(entries, (tx, q, js) => queue.completeMany(tx, q, js));
      expect(out.map((r) => r?.jobId ?? null)).toEqual([ids[0], null, null, ids[3]]);
      expect((await store.resultsOf(auditId)).map((r) => r.unit).sort()).toEqual([
        units[0]!.key,
        units[3]!.key,
      ]);
      expect((await store.jobs()).map((j) => [j.unit, j.state, j.worker])).toEqual(
        expect.arrayContaining([
          [units[0]!.key, 'done', 'w1'],
          [units[1]!.key, 'running', 'w2'],
          [units[2]!.key, 'running', 'w1'],
          [units[3]!.key, 'done', 'w1'],
        ]),
      );
      expect(await queue.state('lease-test', ids[0]!)).toBe('completed');
      expect(await queue.state('lease-test', ids[3]!)).toBe('completed');
      // Recorded again (a retry after a lost connection): nothing is written twice.
      expect(
        (await store.recordWorkerResults(entries, (tx, q, js) => queue.completeMany(tx, q, js))).every(
          (r) => r === undefined,
        ),
      ).toBe(true);
      expect(await store.counts()).toMatchObject({ results: 2 });
    } finally {
      await queue.close();
      await store.close();
    }
  }, 120_000);
});
