/**
 * `rebuild worker`: one machine of the farm. It registers what it can build
 * (arches, native or emulated, tags, how many at once), takes the jobs it
 * should (native first for a foreign arch, needs satisfied by its tags),
 * verifies each as `rebuild <pkg>` does with the audit's retry policy, and
 * records the result, logs and report paths in the transaction that
 * completes the job. A lost database connection does not stop a build: the
 * result is recorded once the connection is back, or dropped when the job's
 * lease passed to another worker meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { reapOrphans } from '../../engine/cleanup.js';
import { connectEngine } from '../../engine/docker.js';
import type { Arch } from '../../engine/types.js';
import { messageOf } from '../../util/errors.js';
import type { VerifyOptions } from '../../verify/types.js';
import { realVerifier } from '../audit.js';
import { isConnectionError } from '../db/postgres.js';
import type { RetryPolicy } from '../policy.js';
import {
  Interrupted,
  itemOf,
  silentProgress,
  sleepFor,
  toNewResult,
  unitOutDir,
  verifyWithRetries,
} from '../run.js';
import { AuditStore, type JobRow, type StoreOptions, type WorkerResult } from '../store.js';
import type { StoredResult, Unit, Verifier } from '../types.js';
import { requirePostgres, WORKER_ALIVE_MS, WORKER_BEAT_MS } from './coordinator.js';
import { groupCommit } from './group-commit.js';
import { type JobData, JobQueue } from './queue.js';
import { shouldTake, type Tags, type WorkerCaps, type WorkerMode } from './routing.js';

export interface WorkerRequest {
  db: string;
  name?: string;
  arches: Array<{ arch: Arch; mode: WorkerMode }>;
  tags: Tags;
  jobs: number;
  /** Where this worker writes per-package results (`<out>/audit-<id>/packages/…`). */
  outDir: string;
  signal?: AbortSignal;
  /** Look for work this often when idle (default 1 s). */
  pollMs?: number;
  /** Stop after this many jobs (tests, draining a machine); default: run until stopped. */
  maxJobs?: number;
  log?: (line: string) => void;
}

export interface WorkerDeps {
  verify?: Verifier;
  /** null: no engine (benches with a no-op verifier). */
  engine?: Docker | null;
  store?: StoreOptions;
}

/** How old the routing view (workers, queues) may be when the worker is taking jobs one after another. */
const VIEW_MS = 1000;

/** Results recorded in one transaction at most (each row of a result has 42 values). */
const RECORD_BATCH = 64;

/** Jobs taken together: their rows, and the last verdict of each of their units. */
interface StartedJobs {
  rows: Map<string, JobRow>;
  prevs: Map<string, StoredResult>;
}

/** How long a worker keeps trying to reach the database for one job (a result kept longer is dropped). */
const RECONNECT_FOR_MS = 24 * 3600_000;

/** Retries a database step across a lost connection: 0.5 s, 1 s, 2 s … up to 15 s apart, until `until`. */
async function withReconnect<T>(
  what: string,
  fn: () => Promise<T>,
  log: (line: string) => void,
  until: number,
): Promise<T> {
  let delay = 500;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + delay > until) throw err;
      log(
        `${what}: database unreachable (${messageOf(err)}); trying again in ${Math.round(delay / 100) / 10} s`,
      );
      await sleepFor(delay);
      delay = Math.min(delay * 2, 15_000);
    }
  }
}

export async function runWorker(req: WorkerRequest, deps: WorkerDeps = {}): Promise<number> {
  requirePostgres(req.db, 'rebuild worker');
  const log = req.log ?? (() => undefined);
  const name = req.name ?? `${hostname()}:${process.pid}`;
  const store = await AuditStore.open(req.db, deps.store);
  let queue: JobQueue | undefined;
  const docker = deps.engine === undefined ? await connectEngine() : deps.engine;
  // Containers of an earlier run of this machine's workers that was killed: gone before any new work.
  if (docker) {
    const n = await reapOrphans(docker);
    if (n > 0) log(`removed ${n} container(s) left by a killed worker`);
  }
  const verify = deps.verify ?? realVerifier;
  const outRoot = resolve(req.outDir);
  // Jobs whose build is running (the --jobs slots), and jobs not yet settled (built, or
  // their result still being recorded): the next builds start while results are written.
  const busy = new Map<string, Promise<void>>();
  const open = new Map<string, Promise<void>>();
  let done = 0;
  const me = (): WorkerCaps => ({
    name,
    arches: req.arches,
    tags: req.tags,
    jobs: req.jobs,
    busy: busy.size,
    alive: true,
  });
  // The heartbeat carries the busy count routing looks at: one write in flight, the latest count next.
  let beating = false;
  let beatAgain = false;
  const beatSoon = (): void => {
    if (beating) {
      beatAgain = true;
      return;
    }
    beating = true;
    void store
      .workerBeat(name, busy.size)
      .catch(() => undefined)
      .finally(() => {
        beating = false;
        if (beatAgain) {
          beatAgain = false;
          beatSoon();
        }
      });
  };
  // Results of the jobs that finish while one is being recorded are recorded together.
  const recorder = groupCommit<{ result: WorkerResult; until: number }, StoredResult | undefined>(
    (batch) =>
      withReconnect(
        batch.length > 1 ? `recording ${batch.length} results` : 'recording the result',
        () =>
          store.recordWorkerResults(
            batch.map((b) => b.result),
            (tx, q, ids) => queue!.completeMany(tx, q, ids),
          ),
        log,
        Math.min(...batch.map((b) => b.until)),
      ),
    RECORD_BATCH,
  );
  try {
    queue = await JobQueue.open(req.db, { maintenanceSeconds: 15, onError: (m) => log(`queue: ${m}`) });
    await store.registerWorker({
      name,
      host: hostname(),
      pid: process.pid,
      arches: req.arches,
      nativeArch: req.arches.find((a) => a.mode === 'native')?.arch ?? req.arches[0]!.arch,
      tags: req.tags,
      jobs: req.jobs,
    });
    log(
      `worker ${name}: ${req.arches.map((a) => `${a.arch} (${a.mode})`).join(', ')}${
        Object.keys(req.tags).length
          ? `, tags ${Object.entries(req.tags)
              .map(([k, v]) => `${k}=${v}`)
              .join(',')}`
          : ''
      }, ${req.jobs} at once`,
    );
    const beat = setInterval(() => store.workerBeat(name, busy.size).catch(() => undefined), WORKER_BEAT_MS);
    beat.unref();
    try {
      // What routing looks at (the live workers, the open queues), looked up again
      // when it is a second old or nothing was taken: not twice per job.
      let view:
        | { at: number; workers: WorkerCaps[]; queues: Awaited<ReturnType<AuditStore['openQueues']>> }
        | undefined;
      // Whether the last look at the queues found nothing (then they are looked up afresh).
      let foundNothing = false;
      while (!req.signal?.aborted && (req.maxJobs === undefined || done + open.size < req.maxJobs)) {
        let took = false;
        // A free slot, and no more than one slot's worth of results waiting to be recorded.
        if (busy.size < req.jobs && open.size - busy.size < req.jobs) {
          try {
            if (!view || foundNothing || Date.now() - view.at > VIEW_MS) {
              view = {
                at: Date.now(),
                workers: (await store.workers(WORKER_ALIVE_MS)).map((w) => ({ ...w })),
                queues: await store.openQueues(),
              };
            }
            const free = Math.min(
              req.jobs - busy.size,
              req.maxJobs === undefined ? req.jobs : req.maxJobs - done - open.size,
            );
            for (const q of view.queues) {
              if (!shouldTake(me(), q, view.workers)) continue;
              // As many as there are free slots, in one statement.
              const jobs = await queue.fetch(q.queue, free);
              if (jobs.length === 0) continue;
              const mode = req.arches.find((a) => a.arch === q.arch)!.mode;
              const lease = randomUUID();
              const started = startJobs(
                jobs.map((j) => j.id),
                mode,
                lease,
              );
              for (const job of jobs) {
                let built!: () => void;
                const slot = new Promise<void>((r) => {
                  built = r;
                });
                const p = runJob(job.id, q.queue, job.data, mode, lease, started, built).finally(() => {
                  built();
                  open.delete(job.id);
                  done++;
                });
                open.set(job.id, p);
                busy.set(
                  job.id,
                  slot.then(() => {
                    busy.delete(job.id);
                    beatSoon();
                  }),
                );
              }
              // Not waited for: the next jobs need not wait for the busy count.
              beatSoon();
              took = true;
              break;
            }
            foundNothing = !took;
          } catch (err) {
            if (!isConnectionError(err)) throw err;
            log(`database unreachable (${messageOf(err)}); builds go on, looking for work again soon`);
          }
        }
        if (!took) {
          await Promise.race([sleepFor(req.pollMs ?? 1000, req.signal), ...busy.values(), ...open.values()]);
        }
      }
      await Promise.allSettled(open.values());
    } finally {
      clearInterval(beat);
      await store.workerStopped(name).catch(() => undefined);
    }
    return req.signal?.aborted ? 130 : 0;
  } finally {
    await queue?.close();
    await store.close();
  }

  /** Takes fetched jobs under one lease token, and looks up their units' last verdicts: two statements. */
  async function startJobs(jobIds: string[], mode: WorkerMode, lease: string): Promise<StartedJobs> {
    const rows = await withReconnect(
      jobIds.length > 1 ? `taking ${jobIds.length} jobs` : 'taking the job',
      () => store.startJobs(jobIds, name, mode, lease),
      log,
      Date.now() + RECONNECT_FOR_MS,
    );
    let prevs = new Map<string, StoredResult>();
    try {
      prevs = await store.latestOf(rows.map((r) => r.unit));
    } catch (err) {
      if (!isConnectionError(err)) throw err;
    }
    return { rows: new Map(rows.map((r) => [r.id, r] as const)), prevs };
  }

  async function runJob(
    jobId: string,
    queueName: string,
    data: JobData,
    mode: WorkerMode,
    lease: string,
    started: Promise<StartedJobs>,
    /** Called once the build is over (its slot is free), before its result is recorded. */
    built: () => void,
  ): Promise<void> {
    const t0 = Date.now();
    const until = () => t0 + RECONNECT_FOR_MS;
    const { rows, prevs } = await started;
    const row = rows.get(jobId);
    const unit: Unit = { key: data.unit, query: data.query, record: data.record };
    if (!row) {
      // Settled meanwhile (the coordinator's deadline, another worker): just clear it from the queue.
      await store.db.transaction((tx) => queue!.complete(tx, queueName, jobId)).catch(() => undefined);
      return;
    }
    const deadline = data.deadline ? new Date(data.deadline) : undefined;
    if (deadline && Date.now() >= deadline.getTime()) {
      await store.db.transaction(async (tx) => {
        await store.endJob(
          jobId,
          itemOf(unit, 'not-reached', `the deadline ${data.deadline} came before it started`),
          tx,
        );
        await queue!.complete(tx, queueName, jobId);
      });
      log(`${unit.key}: past the deadline, not started`);
      return;
    }
    log(`${unit.key}: verifying (${mode}, attempt ${row.attempts})`);
    const renewal = data.leaseSeconds ? renewLease(queueName, jobId, data.leaseSeconds, unit.key) : undefined;
    try {
      await verifyAndRecord(row, deadline, prevs.get(unit.key));
    } finally {
      renewal?.stop();
    }

    async function verifyAndRecord(
      row: JobRow,
      deadline: Date | undefined,
      prev: StoredResult | undefined,
    ): Promise<void> {
      const outDir = unitOutDir(join(outRoot, `audit-${row.auditId}`), unit);
      let outcome: Awaited<ReturnType<typeof verifyWithRetries>>;
      try {
        outcome = await verifyWithRetries(
          unit,
          prev,
          outDir,
          {
            verify: data.verify as Omit<VerifyOptions, 'query' | 'arch' | 'outDir' | 'signal'>,
            retry: data.retry as RetryPolicy,
            ...(deadline ? { deadline } : {}),
            ...(req.signal ? { signal: req.signal } : {}),
          },
          { verify, progress: silentProgress, now: () => new Date(), sleep: sleepFor },
        );
      } catch (err) {
        if (err instanceof Interrupted || req.signal?.aborted) {
          await giveBack(jobId, queueName, lease, 'the worker was stopped');
          log(`${unit.key}: stopped; the job goes back to the queue`);
          return;
        }
        throw err;
      }
      if (req.signal?.aborted) {
        await giveBack(jobId, queueName, lease, 'the worker was stopped');
        return;
      }
      const result = toNewResult(unit, outcome.result, outcome.verdicts, new Date());
      built();
      const stored = await recorder.add({
        result: {
          auditId: row.auditId,
          res: result,
          wallMs: Date.now() - t0,
          queue: queueName,
          source: { worker: name, workerMode: mode, jobId, lease },
        },
        until: until(),
      });
      if (stored) {
        log(`${unit.key}: ${stored.verdict} (${stored.change}) in ${Math.round((Date.now() - t0) / 1000)} s`);
      } else {
        log(`${unit.key}: the job's lease passed to another worker; this result was not recorded`);
      }
    }
  }

  /**
   * Renews the job's lease every quarter of it until stopped: a live worker
   * keeps its job however long the build takes, a dead one loses it within
   * one lease. A renewal that fails (database unreachable) is tried again
   * at the next tick; one that finds the job no longer active means the
   * lease passed on, which `recordResult` finds too.
   */
  function renewLease(queueName: string, jobId: string, leaseSeconds: number, what: string) {
    let lost = false;
    const timer = setInterval(
      () => {
        queue!
          .renew(queueName, jobId, leaseSeconds)
          .then((held) => {
            if (!held && !lost) {
              lost = true;
              log(`${what}: the queue no longer counts this job as ours (its lease ended)`);
            }
          })
          .catch(() => undefined);
      },
      Math.max(1000, (leaseSeconds * 1000) / 4),
    );
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  async function giveBack(jobId: string, queueName: string, lease: string, why: string): Promise<void> {
    await store.db
      .run(
        `UPDATE jobs SET state = 'queued', worker = NULL, lease = NULL WHERE id = ? AND lease = ? AND state = 'running'`,
        [jobId, lease],
      )
      .catch(() => undefined);
    await queue?.giveBack(queueName, jobId, why).catch(() => undefined);
  }
}
