/**
 * `rebuild audit --db postgresql://… --distributed`: selects the units as a
 * local audit does, decides what is already done, enqueues the rest (one job
 * per unit and inputs, highest priority first), waits while workers verify
 * them, and writes the same morning report. Killed and restarted, it resumes
 * its own audit: jobs already queued or running stay as they are, units
 * already verified stay verified, nothing is queued twice.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connectEngine } from '../../engine/docker.js';
import { RebuildError } from '../../util/errors.js';
import type { AuditDepsOverride, AuditRequest, AuditRun } from '../audit.js';
import { engineEnvironment, loadSelection, writeMorningReport } from '../audit.js';
import { isPostgresUrl } from '../db/sql.js';
import { decideSkip, type Environment, recordKey } from '../policy.js';
import { itemOf, sleepFor } from '../run.js';
import { AuditStore, type JobRow } from '../store.js';
import type { AuditItem, StoredResult, Unit } from '../types.js';
import { JobQueue } from './queue.js';
import { needsOf, parseNeedsFile, priorityOf, queueName, routable, type Tags } from './routing.js';

/** A worker whose heartbeat is older than this counts as gone (it beats every WORKER_BEAT_MS). */
export const WORKER_BEAT_MS = 5_000;
export const WORKER_ALIVE_MS = 4 * WORKER_BEAT_MS;
/**
 * Default lease, seconds. The worker renews it every quarter of it while
 * it builds (however long the build), so it only bounds how long the job
 * of a worker that died (or lost the database) waits before another takes
 * it over.
 */
export const DEFAULT_LEASE_SECONDS = 120;
/** Jobs enqueued per transaction. */
const ENQUEUE_BATCH = 500;

export interface FarmRequest {
  /** `--needs FILE`: per-package resource needs. */
  needsFile?: string;
  leaseSeconds?: number;
  /** How often the coordinator looks at the queue (default 1 s). */
  pollMs?: number;
  log?: (line: string) => void;
}

export function requirePostgres(db: string, what: string): void {
  if (!isPostgresUrl(db)) {
    throw new RebuildError('usage', `${what} needs the audit database on PostgreSQL`, {
      fix: 'give --db postgresql://user@host/dbname (the workers and the coordinator share it)',
    });
  }
}

/** When the coordinator has no engine, an image is taken to be what the last result used. */
function trustingEnvironment(latest: ReadonlyMap<string, StoredResult>): Environment {
  const ids = new Map<string, string>();
  for (const r of latest.values()) if (r.imageTag && r.imageId) ids.set(r.imageTag, r.imageId);
  return { imageId: (tag) => ids.get(tag) };
}

function describeNeeds(arch: string, needs: Tags): string {
  const n = Object.entries(needs).map(([k, v]) => `${k}=${v}`);
  return n.length ? `${arch} with ${n.join(', ')}` : arch;
}

export async function runDistributedAudit(
  req: AuditRequest & FarmRequest,
  over: AuditDepsOverride = {},
): Promise<AuditRun> {
  requirePostgres(req.db, '--distributed');
  const log = req.log ?? (() => undefined);
  const needs = req.needsFile
    ? parseNeedsFile(
        await readFile(req.needsFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new RebuildError('input', `cannot read the needs file: ${err.code ?? err.message}`, {
            subject: req.needsFile,
            fix: 'give --needs a readable file: `<package or pkg_id> memory=16G` per line',
          });
        }),
        req.needsFile,
      )
    : new Map<string, Tags>();
  const leaseSeconds = req.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const store = await AuditStore.open(req.db, over.store);
  let queue: JobQueue | undefined;
  try {
    queue = await JobQueue.open(req.db, {
      maintenanceSeconds: leaseSeconds / 4,
      onError: (m) => log(`queue: ${m}`),
    });
    const { selection } = await loadSelection(req);
    const {
      id: auditId,
      killed,
      resumed,
    } = await store.resumeOrBeginAudit({
      distributed: true,
      packages: req.packagesFile ?? null,
      filter: req.filter,
      limit: req.limit ?? null,
      arches: req.arches,
      recheck: !!req.recheck,
      retryFailed: !!req.retryFailed,
      retry: req.retry,
      deadline: req.deadline?.toISOString() ?? null,
      lease: leaseSeconds,
    });
    if (resumed) log(`resuming audit #${auditId} (its coordinator was stopped)`);
    const startedAt = new Date().toISOString();
    const beat = setInterval(() => store.heartbeat(auditId).catch(() => undefined), 30_000);
    beat.unref();
    const reportsDir = resolve(req.reportsDir);
    const dir = join(reportsDir, `audit-${auditId}`);
    try {
      await store.setSelected(auditId, selection.units.length);
      await store.setReportDir(auditId, dir);
      const latest = await store.latestAll();
      let env: Environment;
      try {
        const docker = over.engine === undefined ? await connectEngine() : over.engine;
        env = docker ? await engineEnvironment(docker) : trustingEnvironment(latest);
      } catch {
        env = trustingEnvironment(latest);
      }
      const before = new Map((await store.items(auditId)).map((i) => [i.unit, i] as const));
      await store.recordItems(
        auditId,
        selection.unresolved.filter((u) => !before.has(u.unit)),
      );
      const plan: Array<{
        unit: Unit;
        prev: StoredResult | undefined;
        needs: Tags;
        queue: string;
        priority: number;
      }> = [];
      const skipped: AuditItem[] = [];
      for (const unit of selection.units) {
        const done = before.get(unit.key);
        if (done && done.status !== 'waiting') continue; // resumed: already settled in this audit
        const prev = latest.get(unit.key);
        const d = decideSkip(unit.record, prev, env, req);
        if (d.skip) {
          skipped.push(itemOf(unit, 'skipped', d.reason, prev));
          continue;
        }
        const n = needsOf(unit, needs);
        plan.push({
          unit,
          prev,
          needs: n,
          queue: queueName(unit.record.arch, n),
          priority: priorityOf(unit, prev),
        });
      }
      await store.recordItems(auditId, skipped);
      plan.sort((a, b) => b.priority - a.priority);
      for (const name of new Set(plan.map((p) => p.queue))) await queue.prepare(name);
      let queued = 0;
      let adopted = 0;
      const verify = {
        metadata: { ...req.metadata, cacheDir: undefined },
        registry: { ...req.registry, cacheDir: undefined },
        ...(req.network ? { network: req.network } : {}),
        ...(req.limits ? { limits: req.limits } : {}),
        ...(req.imageMap ? { imageMap: req.imageMap } : {}),
      };
      const verifyData = JSON.parse(JSON.stringify(verify)) as Record<string, unknown>;
      // Enqueued in batches: per batch one transaction, a handful of statements.
      for (let at = 0; at < plan.length; at += ENQUEUE_BATCH) {
        const part = plan.slice(at, at + ENQUEUE_BATCH);
        const n = await store.db.transaction(async (tx) => {
          const open = await store.openJobs(
            part.map((p) => p.unit.key),
            tx,
          );
          await store.adoptJobs(
            tx,
            auditId,
            [...open.values()].map((j) => j.id),
          );
          const fresh = part.filter((p) => !open.has(p.unit.key));
          const jobs = fresh.map((p) => ({ plan: p, id: randomUUID() }));
          await store.insertJobs(
            tx,
            jobs.map(({ plan: p, id }) => ({
              id,
              auditId,
              unit: p.unit.key,
              queue: p.queue,
              arch: p.unit.record.arch,
              needs: p.needs,
              priority: p.priority,
            })),
          );
          for (const name of new Set(jobs.map((j) => j.plan.queue))) {
            await queue!.sendMany(
              tx,
              name,
              jobs
                .filter((j) => j.plan.queue === name)
                .map(({ plan: p, id }) => ({
                  id,
                  data: {
                    unit: p.unit.key,
                    query: p.unit.query,
                    record: p.unit.record,
                    verify: verifyData,
                    retry: req.retry,
                    deadline: req.deadline?.toISOString() ?? null,
                    leaseSeconds,
                  },
                  priority: p.priority,
                  singletonKey: `${p.unit.key}|${recordKey(p.unit.record)}`,
                  retryLimit: 5,
                })),
              leaseSeconds,
            );
          }
          return { queued: jobs.length, adopted: open.size };
        });
        queued += n.queued;
        adopted += n.adopted;
      }
      log(
        `audit #${auditId}: ${selection.units.length} selected, ${skipped.length} already verified, ${queued} queued${adopted ? `, ${adopted} already in the queue` : ''}`,
      );

      // Wait for the workers.
      let interrupted = false;
      let deadlineReached = false;
      let unroutableStreak = 0;
      const waiting: JobRow[] = [];
      for (;;) {
        // Counts, not rows: with 10,000 jobs queued, loading them all on every look costs more than the jobs.
        const open = await store.openJobCounts(auditId);
        if (open.queued + open.running === 0) break;
        if (req.signal?.aborted) {
          interrupted = true;
          break;
        }
        const workers = await store.workers(WORKER_ALIVE_MS);
        const running = open.running ? await store.jobs({ auditId, states: ['running'] }) : [];
        // A job whose leases all expired: the queue gave up on it.
        for (const j of running) {
          if (j.startedAt && Date.parse(j.startedAt) + leaseSeconds * 1000 < Date.now()) {
            const st = await queue.state(j.queue, j.id);
            if (st === 'failed' || st === 'cancelled' || st === undefined) {
              await store.endJob(
                j.id,
                notReachedItem(
                  j,
                  selection.units,
                  `the queue gave up on it after ${j.attempts} lease(s) expired`,
                ),
              );
            }
          }
        }
        if (req.deadline && Date.now() >= req.deadline.getTime()) {
          deadlineReached = true;
          for (const j of await store.jobs({ auditId, states: ['queued'] })) {
            await store.endJob(
              j.id,
              notReachedItem(
                j,
                selection.units,
                `the deadline ${req.deadline.toISOString()} came before it started`,
              ),
            );
          }
          if (running.length === 0) break;
        } else if (
          running.length === 0 &&
          workers.some((w) => w.alive) &&
          (await store.queuedKinds(auditId)).every((k) => !routable(k, workers))
        ) {
          // Three looks in a row: nobody alive can ever take these.
          if (++unroutableStreak >= 3) {
            waiting.push(...(await store.jobs({ auditId, states: ['queued'] })));
            break;
          }
        } else unroutableStreak = 0;
        await sleepFor(req.pollMs ?? 1000, req.signal);
      }
      const alive = (await store.workers(WORKER_ALIVE_MS)).filter((w) => w.alive).length;
      await store.recordItems(
        auditId,
        waiting.map((j) =>
          waitingItem(
            j,
            selection.units,
            `waiting in the queue for a worker that builds ${describeNeeds(j.arch, j.needs)} (none of the ${alive} live workers can)`,
          ),
        ),
      );
      const items = await store.items(auditId);
      const byUnit = new Map(items.map((i) => [i.unit, i] as const));
      const ordered: AuditItem[] = [
        ...selection.unresolved.map((u) => byUnit.get(u.unit) ?? u),
        ...selection.units.map((u) => byUnit.get(u.key)).filter((x): x is AuditItem => x !== undefined),
      ];
      return await writeMorningReport(
        store,
        reportsDir,
        {
          auditId,
          dir,
          items: ordered,
          killed,
          interrupted,
          deadlineReached,
          startedAt,
          finishedAt: new Date().toISOString(),
        },
        req.deadline,
      );
    } finally {
      clearInterval(beat);
    }
  } finally {
    await queue?.close();
    await store.close();
  }
}

function unitItem(j: JobRow, units: readonly Unit[]): Omit<AuditItem, 'status' | 'detail'> {
  const u = units.find((x) => x.key === j.unit);
  const [repo = '', pkgId = '', pkg = ''] = j.unit.replace(/@[^@]*$/, '').split('/');
  return {
    unit: j.unit,
    repo: u?.record.repo ?? repo,
    pkg: u?.record.pkg ?? pkg,
    pkgId: u?.record.pkgId ?? pkgId,
    arch: j.arch,
    version: u?.record.version ?? '',
  };
}

function waitingItem(j: JobRow, units: readonly Unit[], detail: string): AuditItem {
  return { ...unitItem(j, units), status: 'waiting', detail };
}

function notReachedItem(j: JobRow, units: readonly Unit[], detail: string): AuditItem {
  return { ...unitItem(j, units), status: 'not-reached', detail };
}
