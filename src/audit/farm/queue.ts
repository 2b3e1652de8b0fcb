/**
 * The job queue: pg-boss on the audit database's PostgreSQL server. Jobs are
 * sent, and completed, inside the store's own transactions (pg-boss accepts
 * the transaction's connection as its executor), so a job exists exactly
 * when its row in `jobs` does, and is completed exactly when its result is
 * recorded.
 */
import type pg from 'pg';
import PgBoss from 'pg-boss';
import { postgresError } from '../db/postgres.js';
import type { SqlTransaction } from '../db/sql.js';
import { redactText, redactUrl } from '../db/sql.js';

export interface QueueOptions {
  /**
   * How often pg-boss looks for expired leases, seconds: a fraction of the
   * shortest lease in use, so a dead worker's job moves on soon after its
   * lease ends.
   */
  maintenanceSeconds: number;
  /** Connections pg-boss keeps (default 2). */
  max?: number;
  onError?: (message: string) => void;
}

/** What a job carries: enough for any worker to verify the unit without asking the coordinator. */
export interface JobData {
  unit: string;
  query: string;
  record: import('../../upstream/types.js').PackageRecord;
  verify: Record<string, unknown>;
  retry: import('../policy.js').RetryPolicy;
  deadline: string | null;
  /**
   * The job's lease, seconds: the worker renews it every quarter of it
   * while it builds, so only a dead worker loses a job, and soon. (Absent
   * in jobs of older coordinators: their lease was fixed.)
   */
  leaseSeconds?: number;
}

/** A job as it is sent. */
export interface OutgoingJob {
  id: string;
  data: JobData;
  priority: number;
  singletonKey: string;
  retryLimit: number;
}

/** pg-boss's schema (its default). */
const SCHEMA = 'pgboss';

function executor(tx: SqlTransaction, seen?: { rowCount: number }) {
  const client = tx.native as pg.PoolClient;
  return {
    executeSql: async (text: string, values?: unknown[]) => {
      const r = await client.query(text, values);
      if (seen) seen.rowCount = r.rowCount ?? 0;
      return r;
    },
  };
}

export class JobQueue {
  private readonly boss: PgBoss;
  private readonly known = new Set<string>();

  private constructor(boss: PgBoss) {
    this.boss = boss;
  }

  static async open(url: string, opts: QueueOptions): Promise<JobQueue> {
    const boss = new PgBoss({
      connectionString: url,
      max: opts.max ?? 2,
      schedule: false,
      // Expired leases are found by the maintenance pass: often enough that a
      // dead worker's job moves on within a fraction of its lease.
      maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.floor(opts.maintenanceSeconds))),
      monitorStateIntervalSeconds: 60,
    });
    boss.on('error', (err: Error) => opts.onError?.(redactText(err.message)));
    try {
      await boss.start();
    } catch (err) {
      await boss.stop({ graceful: false, wait: false }).catch(() => undefined);
      throw postgresError(err, redactUrl(url));
    }
    return new JobQueue(boss);
  }

  private async ensureQueue(name: string): Promise<void> {
    if (this.known.has(name)) return;
    if (!(await this.boss.getQueue(name))) {
      // `short`: at most one queued job per singleton key (unit and inputs).
      await this.boss.createQueue(name, { name, policy: 'short' }).catch(async (err: unknown) => {
        if (!(await this.boss.getQueue(name))) throw err;
      });
    }
    this.known.add(name);
  }

  /** Creates the queue outside any transaction (it is DDL), so `send` can run inside one. */
  prepare(name: string): Promise<void> {
    return this.ensureQueue(name);
  }

  /**
   * Sends jobs inside `tx`, one statement for all of them; throws when the
   * queue already holds one with the same singleton key (nothing is sent).
   */
  async sendMany(
    tx: SqlTransaction,
    queue: string,
    jobs: readonly OutgoingJob[],
    leaseSeconds: number,
  ): Promise<void> {
    if (jobs.length === 0) return;
    const seen = { rowCount: 0 };
    await this.boss.insert(
      jobs.map((j) => ({
        id: j.id,
        name: queue,
        data: j.data as unknown as object,
        priority: j.priority,
        singletonKey: j.singletonKey,
        retryLimit: j.retryLimit,
        retryDelay: 1,
        expireInSeconds: leaseSeconds,
      })),
      { db: executor(tx, seen) },
    );
    // pg-boss skips a job whose singleton key is already queued (ON CONFLICT DO NOTHING).
    if (seen.rowCount !== jobs.length) {
      throw new Error(
        `the queue ${queue} already holds ${jobs.length - seen.rowCount} of these ${jobs.length} jobs`,
      );
    }
  }

  /**
   * Renews a job's lease while its worker builds: it now ends `leaseSeconds`
   * from now. pg-boss 10 has no heartbeat of its own; it expires an active
   * job when `started_on + expire_in` has passed, so the renewal moves
   * `expire_in`. False when the job is no longer active (completed, or its
   * lease already passed to another worker).
   */
  async renew(queue: string, id: string, leaseSeconds: number): Promise<boolean> {
    const r = (await this.boss.getDb().executeSql(
      `UPDATE ${SCHEMA}.job SET expire_in = (now() - started_on) + $3::integer * interval '1 second'
       WHERE name = $1 AND id = $2 AND state = 'active'`,
      [queue, id, leaseSeconds],
    )) as { rowCount?: number };
    return r.rowCount === 1;
  }

  /** Up to `n` jobs of `queue`, highest priority first, in one statement. */
  async fetch(queue: string, n = 1): Promise<Array<{ id: string; data: JobData }>> {
    await this.ensureQueue(queue);
    const jobs = await this.boss.fetch<JobData>(queue, { batchSize: Math.max(1, n) });
    return (jobs ?? []).map((j) => ({ id: j.id, data: j.data }));
  }

  /** Completes the job inside `tx`; false when the queue no longer has it active (its lease expired). */
  async complete(tx: SqlTransaction, queue: string, id: string): Promise<boolean> {
    return (await this.completeMany(tx, queue, [id])) === 1;
  }

  /** Completes jobs inside `tx`, one statement; how many the queue still had active. */
  async completeMany(tx: SqlTransaction, queue: string, ids: readonly string[]): Promise<number> {
    // pg-boss 10 takes an array of ids with data and options (its types only with options, which
    // its code would take for the data), and returns the affected count although its types say void.
    const r = (await this.boss.complete(
      queue,
      [...ids] as unknown as string,
      {},
      { db: executor(tx) },
    )) as unknown as {
      affected?: number;
    };
    return r?.affected ?? 0;
  }

  /** Gives a job back (a worker stopping): it is retried, by this or another worker. */
  async giveBack(queue: string, id: string, why: string): Promise<void> {
    await this.boss.fail(queue, id, { message: why });
  }

  /** The queue's view of a job: created, retry, active, completed, failed … (undefined: gone). */
  async state(queue: string, id: string): Promise<string | undefined> {
    const j = await this.boss.getJobById(queue, id, { includeArchive: true });
    return j?.state;
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true, timeout: 5_000 }).catch(() => undefined);
  }
}
