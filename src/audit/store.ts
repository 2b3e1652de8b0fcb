/**
 * The audit database, on SQLite (the embedded default) or PostgreSQL
 * (`--db postgresql://…`): the same schema, migrations and SQL on both,
 * through the small driver interface of ./db/sql.ts. Every write is one
 * transaction that excludes the other writers.
 *
 * It keeps every audit, every verdict (results, and the latest per unit),
 * what each audit did with each selected package (items), the claims that
 * stop two audits from verifying the same package at once, and, for a
 * distributed audit, its queue jobs and the workers. A claim names its owner
 * (pid, host) and expires unless its owner keeps it alive; a claim whose
 * owner is a dead process on this host is taken over at once (an audit
 * killed with SIGKILL).
 */
import { hostname } from 'node:os';
import type { Arch } from '../engine/types.js';
import { RebuildError } from '../util/errors.js';
import type { VerifyVerdict } from '../verify/types.js';
import { isConnectionError, PostgresDatabase } from './db/postgres.js';
import {
  isPostgresUrl,
  type SqlDatabase,
  type SqlExec,
  type SqlTransaction,
  type SqlValue,
} from './db/sql.js';
import { SqliteDatabase, sqliteError } from './db/sqlite.js';
import { classifyChange } from './policy.js';
import { appendRecent, decodeRecent, encodeRecent, RECENT_VERDICTS, type RecentVerdict } from './recent.js';
import { migrationFor, SCHEMA_VERSION } from './schema.js';
import type { AuditItem, AuditRunRow, ChangeKind, StoredResult } from './types.js';

export interface StoreOptions {
  /** Clock (tests). */
  now?: () => Date;
  /** Identity of this process (tests pretend to be another audit). */
  pid?: number;
  host?: string;
  /** How long a claim or a running audit stays valid without a heartbeat (default 10 min). */
  ttlMs?: number;
  /** Is this pid alive on this host (tests). */
  pidAlive?: (pid: number) => boolean;
  busyTimeoutMs?: number;
}

/** The fields of a result that come from verifying (the store adds ids and the change). */
export type NewResult = Omit<
  StoredResult,
  'id' | 'auditId' | 'change' | 'prevId' | 'prevVerdict' | 'prevVersion' | 'worker' | 'workerMode' | 'jobId'
> & { inputs?: unknown };

/** Who produced a result in a distributed audit, and the queue job it completes. */
export interface ResultSource {
  worker: string;
  workerMode: 'native' | 'emulated';
  jobId: string;
  /** The job's lease token: the result is recorded only while this worker still holds the job. */
  lease: string;
  /** Completes the queue job inside the same transaction; false when the queue no longer has it active. */
  complete: (tx: SqlTransaction) => Promise<boolean>;
}

/** A worker's finished job, for `recordWorkerResults`. */
export interface WorkerResult {
  auditId: number;
  res: NewResult;
  wallMs: number;
  /** The pg-boss queue the job came from. */
  queue: string;
  source: Omit<ResultSource, 'complete'>;
}

export type ClaimOutcome =
  | { ok: true; tookOver?: { auditId: number; pid: number; host: string } }
  | { ok: false; holder: { auditId: number; pid: number; host: string; heartbeatAt: string } };

export function defaultPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface ResultRow {
  id: number;
  audit_id: number;
  unit: string;
  repo: string;
  pkg: string;
  pkg_id: string;
  arch: string;
  version: string;
  shasum: string;
  bsum: string;
  build_date: string;
  ghcr_pkg: string;
  record_key: string;
  inputs_hash: string | null;
  image_tag: string | null;
  image_id: string | null;
  emulator: string | null;
  recipe_digest: string | null;
  verdict: string;
  summary: string;
  published_sha256: string | null;
  published_blake3: string | null;
  rebuilt_sha256: string | null;
  rebuilt_blake3: string | null;
  explanations: string;
  differences: string;
  error: string | null;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  attempts: number;
  attempt_verdicts: string;
  out_dir: string | null;
  report_json: string | null;
  report_md: string | null;
  report_html: string | null;
  log_path: string | null;
  change: string;
  prev_id: number | null;
  worker?: string | null;
  worker_mode?: string | null;
  job_id?: string | null;
  prev_verdict?: string | null;
  prev_version?: string | null;
}

const RESULT_COLUMNS = `r.*, p.verdict AS prev_verdict, p.version AS prev_version`;
const RESULT_FROM = `results r LEFT JOIN results p ON p.id = r.prev_id`;
const LATEST_FROM = `latest l JOIN results r ON r.id = l.result_id LEFT JOIN results p ON p.id = r.prev_id`;

function toResult(r: ResultRow): StoredResult {
  return {
    id: r.id,
    auditId: r.audit_id,
    unit: r.unit,
    repo: r.repo,
    pkg: r.pkg,
    pkgId: r.pkg_id,
    arch: r.arch as Arch,
    version: r.version,
    shasum: r.shasum,
    bsum: r.bsum,
    buildDate: r.build_date,
    ghcrPkg: r.ghcr_pkg,
    recordKey: r.record_key,
    inputsHash: r.inputs_hash,
    imageTag: r.image_tag,
    imageId: r.image_id,
    emulator: r.emulator,
    recipeDigest: r.recipe_digest,
    verdict: r.verdict as VerifyVerdict,
    summary: r.summary,
    publishedSha256: r.published_sha256,
    publishedBlake3: r.published_blake3,
    rebuiltSha256: r.rebuilt_sha256,
    rebuiltBlake3: r.rebuilt_blake3,
    explanations: JSON.parse(r.explanations) as unknown[],
    differences: JSON.parse(r.differences) as unknown[],
    error: r.error ? (JSON.parse(r.error) as { message: string; fix?: string }) : null,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    attempts: r.attempts,
    attemptVerdicts: JSON.parse(r.attempt_verdicts) as VerifyVerdict[],
    outDir: r.out_dir,
    reportJson: r.report_json,
    reportMarkdown: r.report_md,
    reportHtml: r.report_html,
    logPath: r.log_path,
    change: r.change as ChangeKind,
    prevId: r.prev_id,
    prevVerdict: (r.prev_verdict ?? null) as VerifyVerdict | null,
    prevVersion: r.prev_version ?? null,
    worker: r.worker ?? null,
    workerMode: (r.worker_mode ?? null) as StoredResult['workerMode'],
    jobId: r.job_id ?? null,
  };
}

interface AuditRowRaw {
  id: number;
  started_at: string;
  finished_at: string | null;
  heartbeat_at: string;
  status: AuditRunRow['status'];
  pid: number;
  host: string;
  options: string;
  selected: number | null;
  exit_code: number | null;
  report_dir: string | null;
  error: string | null;
}

function toAudit(r: AuditRowRaw): AuditRunRow {
  return {
    id: r.id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    pid: r.pid,
    host: r.host,
    options: JSON.parse(r.options) as Record<string, unknown>,
    selected: r.selected,
    exitCode: r.exit_code,
    reportDir: r.report_dir,
    error: r.error,
  };
}

/** A worker as registered in the database (`rebuild audit status`, routing). */
export interface WorkerRow {
  name: string;
  host: string;
  pid: number;
  /** Arches it builds, each native or emulated. */
  arches: Array<{ arch: Arch; mode: 'native' | 'emulated' }>;
  nativeArch: Arch;
  tags: Record<string, string>;
  jobs: number;
  busy: number;
  startedAt: string;
  heartbeatAt: string;
  stoppedAt: string | null;
}

export type JobState = 'queued' | 'running' | 'done' | 'given-up';

export interface JobRow {
  id: string;
  auditId: number;
  unit: string;
  queue: string;
  arch: Arch;
  needs: Record<string, string>;
  priority: number;
  state: JobState;
  worker: string | null;
  workerMode: 'native' | 'emulated' | null;
  attempts: number;
  resultId: number | null;
  enqueuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface JobRowRaw {
  id: string;
  audit_id: number;
  unit: string;
  queue: string;
  arch: string;
  needs: string;
  priority: number;
  state: JobState;
  worker: string | null;
  worker_mode: string | null;
  attempts: number;
  result_id: number | null;
  enqueued_at: string;
  started_at: string | null;
  finished_at: string | null;
}

function toJob(r: JobRowRaw): JobRow {
  return {
    id: r.id,
    auditId: r.audit_id,
    unit: r.unit,
    queue: r.queue,
    arch: r.arch as Arch,
    needs: JSON.parse(r.needs) as Record<string, string>,
    priority: r.priority,
    state: r.state,
    worker: r.worker,
    workerMode: r.worker_mode as JobRow['workerMode'],
    attempts: r.attempts,
    resultId: r.result_id,
    enqueuedAt: r.enqueued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

interface WorkerRowRaw {
  name: string;
  host: string;
  pid: number;
  arches: string;
  native_arch: string;
  tags: string;
  jobs: number;
  busy: number;
  started_at: string;
  heartbeat_at: string;
  stopped_at: string | null;
}

function toWorker(r: WorkerRowRaw): WorkerRow {
  return {
    name: r.name,
    host: r.host,
    pid: r.pid,
    arches: JSON.parse(r.arches) as WorkerRow['arches'],
    nativeArch: r.native_arch as Arch,
    tags: JSON.parse(r.tags) as Record<string, string>,
    jobs: r.jobs,
    busy: r.busy,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    stoppedAt: r.stopped_at,
  };
}

const ITEM_UPSERT = `INSERT INTO items (audit_id, unit, repo, pkg, pkg_id, arch, version, status, detail, result_id, wall_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (audit_id, unit) DO UPDATE SET repo = excluded.repo, pkg = excluded.pkg, pkg_id = excluded.pkg_id,
    arch = excluded.arch, version = excluded.version, status = excluded.status, detail = excluded.detail,
    result_id = excluded.result_id, wall_ms = excluded.wall_ms`;

/** One row's values for ITEM_UPSERT, in its column order. */
function itemValues(
  auditId: number,
  it: Pick<AuditItem, 'unit' | 'repo' | 'pkg' | 'pkgId' | 'arch' | 'version' | 'status' | 'detail'> & {
    resultId: number | null;
    wallMs?: number | undefined;
  },
): SqlValue[] {
  return [
    auditId,
    it.unit,
    it.repo,
    it.pkg,
    it.pkgId,
    it.arch,
    it.version,
    it.status,
    it.detail,
    it.resultId,
    it.wallMs === undefined ? null : Math.round(it.wallMs),
  ];
}

/** The columns a new result row fills, in the order of `resultValues`. */
const RESULT_INSERT = `INSERT INTO results (audit_id, unit, repo, pkg, pkg_id, arch, version, shasum, bsum, build_date,
  ghcr_pkg, record_key, inputs_hash, inputs, image_tag, image_id, emulator, recipe_digest, verdict, summary,
  published_sha256, published_blake3, rebuilt_sha256, rebuilt_blake3, explanations, differences, error,
  started_at, finished_at, duration_ms, attempts, attempt_verdicts, out_dir, report_json, report_md,
  report_html, log_path, change, prev_id, worker, worker_mode, job_id)`;

/** One result row's values for RESULT_INSERT. */
function resultValues(
  auditId: number,
  res: NewResult,
  change: ChangeKind,
  prevId: number | null,
  source: Pick<ResultSource, 'worker' | 'workerMode' | 'jobId'> | undefined,
): SqlValue[] {
  return [
    auditId,
    res.unit,
    res.repo,
    res.pkg,
    res.pkgId,
    res.arch,
    res.version,
    res.shasum,
    res.bsum,
    res.buildDate,
    res.ghcrPkg,
    res.recordKey,
    res.inputsHash,
    res.inputs === undefined ? null : JSON.stringify(res.inputs),
    res.imageTag,
    res.imageId,
    res.emulator,
    res.recipeDigest,
    res.verdict,
    res.summary,
    res.publishedSha256,
    res.publishedBlake3,
    res.rebuiltSha256,
    res.rebuiltBlake3,
    JSON.stringify(res.explanations),
    JSON.stringify(res.differences),
    res.error ? JSON.stringify(res.error) : null,
    res.startedAt,
    res.finishedAt,
    Math.round(res.durationMs),
    res.attempts,
    JSON.stringify(res.attemptVerdicts),
    res.outDir,
    res.reportJson,
    res.reportMarkdown,
    res.reportHtml,
    res.logPath,
    change,
    prevId,
    source?.worker ?? null,
    source?.workerMode ?? null,
    source?.jobId ?? null,
  ];
}

/** ITEM_UPSERT for `n` rows at once. */
function itemUpsert(n: number): string {
  if (n === 1) return ITEM_UPSERT;
  const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  return ITEM_UPSERT.replace(row, Array.from({ length: n }, () => row).join(', '));
}

/**
 * One item per unit, the last given winning (as one upsert after another
 * would): a statement may not upsert the same row twice.
 */
function latestPerUnit(items: readonly AuditItem[]): AuditItem[] {
  const byUnit = new Map<string, AuditItem>();
  for (const it of items) {
    byUnit.delete(it.unit);
    byUnit.set(it.unit, it);
  }
  return [...byUnit.values()];
}

export class AuditStore {
  /** Where the database is, safe to print (no password). */
  readonly path: string;
  readonly pid: number;
  readonly host: string;
  readonly db: SqlDatabase;
  private readonly now: () => Date;
  readonly ttlMs: number;
  private readonly pidAlive: (pid: number) => boolean;

  private constructor(db: SqlDatabase, opts: StoreOptions) {
    this.db = db;
    this.path = db.location;
    this.now = opts.now ?? (() => new Date());
    this.pid = opts.pid ?? process.pid;
    this.host = opts.host ?? hostname();
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.pidAlive = opts.pidAlive ?? defaultPidAlive;
  }

  /**
   * Opens (or creates) the database — an SQLite file path, or a
   * `postgresql://` connection string — and brings its schema up to date.
   * Anything that is not an audit database is refused with a
   * RebuildError('state') naming it, and left untouched.
   */
  static async open(location: string, opts: StoreOptions = {}): Promise<AuditStore> {
    const db: SqlDatabase = isPostgresUrl(location)
      ? await PostgresDatabase.open(location)
      : SqliteDatabase.open(location, opts.busyTimeoutMs);
    try {
      const version = await db.schemaVersion();
      if (version > SCHEMA_VERSION) {
        throw new RebuildError(
          'state',
          `was written by a newer rebuild (schema ${version}; this rebuild knows up to ${SCHEMA_VERSION})`,
          { subject: db.location, fix: 'upgrade rebuild, or use another --db' },
        );
      }
      const store = new AuditStore(db, opts);
      await store.migrate();
      return store;
    } catch (err) {
      await db.close();
      throw db.dialect === 'sqlite' ? sqliteError(err, db.location) : err;
    }
  }

  /** Applies the migrations this database lacks, each in its own transaction. */
  private async migrate(): Promise<void> {
    for (;;) {
      const applied = await this.db.transaction(async (tx) => {
        const version = await this.db.schemaVersion(tx);
        if (version >= SCHEMA_VERSION) return false;
        await tx.exec(migrationFor(this.db.dialect, version));
        // 3 made the table of each unit's last verdicts: filled from the results it sums up.
        if (version + 1 === 3) await this.refillRecent(tx);
        await this.db.setSchemaVersion(tx, version + 1);
        return true;
      });
      if (!applied) return;
    }
  }

  schemaVersion(): Promise<number> {
    return this.db.schemaVersion();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  iso(offsetMs = 0): string {
    return new Date(this.now().getTime() + offsetMs).toISOString();
  }

  /** Whether an owner (audit, claim or worker) still counts as alive. */
  ownerAlive(pid: number, host: string, expiresAt: string): boolean {
    if (expiresAt <= this.iso()) return false;
    if (host === this.host) return this.pidAlive(pid);
    return true;
  }

  // ---------------------------------------------------------------- audits

  private async markDeadAudits(tx: SqlExec): Promise<AuditRunRow[]> {
    const running = await tx.all<AuditRowRaw>(`SELECT * FROM audits WHERE status = 'running'`);
    const killed: AuditRunRow[] = [];
    for (const a of running) {
      const expires = new Date(Date.parse(a.heartbeat_at) + this.ttlMs).toISOString();
      if (!this.ownerAlive(a.pid, a.host, expires)) {
        await tx.run(`UPDATE audits SET status = 'killed', finished_at = ? WHERE id = ?`, [this.iso(), a.id]);
        await tx.run('DELETE FROM claims WHERE audit_id = ?', [a.id]);
        killed.push(toAudit({ ...a, status: 'killed' }));
      }
    }
    return killed;
  }

  /** Marks dead audits killed and records a new running one, in `tx`. */
  private async insertAudit(
    tx: SqlExec,
    options: Record<string, unknown>,
  ): Promise<{ id: number; killed: AuditRunRow[] }> {
    const killed = await this.markDeadAudits(tx);
    const now = this.iso();
    const row = await tx.get<{ id: number }>(
      `INSERT INTO audits (started_at, heartbeat_at, status, pid, host, options) VALUES (?, ?, 'running', ?, ?, ?) RETURNING id`,
      [now, now, this.pid, this.host, JSON.stringify(options)],
    );
    return { id: row!.id, killed };
  }

  /**
   * Starts an audit: marks audits whose process is gone as `killed` (their
   * claims become free), then records this one as running.
   */
  async beginAudit(options: Record<string, unknown>): Promise<{ id: number; killed: AuditRunRow[] }> {
    return this.db.transaction(async (tx) => {
      return this.insertAudit(tx, options);
    });
  }

  /**
   * A distributed audit's coordinator restarted: takes over the newest
   * distributed audit that is unfinished and whose coordinator is gone, so
   * its queued and running jobs stay its own (nothing lost, nothing queued
   * twice). Without one, begins a new audit.
   */
  async resumeOrBeginAudit(
    options: Record<string, unknown>,
  ): Promise<{ id: number; killed: AuditRunRow[]; resumed: boolean }> {
    return this.db.transaction(async (tx) => {
      const candidates = await tx.all<AuditRowRaw>(
        `SELECT * FROM audits WHERE status = 'running' OR (status = 'killed' AND id IN (SELECT audit_id FROM jobs WHERE state IN ('queued','running'))) ORDER BY id DESC`,
      );
      for (const a of candidates) {
        const opts = JSON.parse(a.options) as Record<string, unknown>;
        if (opts.distributed !== true) continue;
        const expires = new Date(Date.parse(a.heartbeat_at) + this.ttlMs).toISOString();
        if (a.status === 'running' && this.ownerAlive(a.pid, a.host, expires)) continue;
        const now = this.iso();
        await tx.run(
          `UPDATE audits SET status = 'running', finished_at = NULL, heartbeat_at = ?, pid = ?, host = ? WHERE id = ?`,
          [now, this.pid, this.host, a.id],
        );
        return { id: a.id, killed: [], resumed: true };
      }
      return { ...(await this.insertAudit(tx, options)), resumed: false };
    });
  }

  /** Keeps this audit and its claims alive. */
  async heartbeat(auditId: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('UPDATE audits SET heartbeat_at = ? WHERE id = ?', [this.iso(), auditId]);
      await tx.run('UPDATE claims SET heartbeat_at = ?, expires_at = ? WHERE audit_id = ?', [
        this.iso(),
        this.iso(this.ttlMs),
        auditId,
      ]);
    });
  }

  async setSelected(auditId: number, selected: number): Promise<void> {
    await this.db.run('UPDATE audits SET selected = ? WHERE id = ?', [selected, auditId]);
  }

  async finishAudit(
    auditId: number,
    end: { status: AuditRunRow['status']; exitCode?: number; reportDir?: string; error?: string },
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run(
        'UPDATE audits SET status = ?, finished_at = ?, exit_code = ?, report_dir = coalesce(?, report_dir), error = ? WHERE id = ?',
        [end.status, this.iso(), end.exitCode ?? null, end.reportDir ?? null, end.error ?? null, auditId],
      );
      await tx.run('DELETE FROM claims WHERE audit_id = ?', [auditId]);
    });
  }

  async setReportDir(auditId: number, dir: string): Promise<void> {
    await this.db.run('UPDATE audits SET report_dir = ? WHERE id = ?', [dir, auditId]);
  }

  async audit(id: number): Promise<AuditRunRow | undefined> {
    const r = await this.db.get<AuditRowRaw>('SELECT * FROM audits WHERE id = ?', [id]);
    return r ? toAudit(r) : undefined;
  }

  async audits(limit = 50): Promise<AuditRunRow[]> {
    return (await this.db.all<AuditRowRaw>('SELECT * FROM audits ORDER BY id DESC LIMIT ?', [limit])).map(
      toAudit,
    );
  }

  // ---------------------------------------------------------------- claims

  /**
   * Claims a unit for an audit, atomically. Fails when another audit holds
   * it and is alive; takes over a claim whose owner is dead or expired.
   */
  async claim(unit: string, auditId: number): Promise<ClaimOutcome> {
    return this.db.transaction(async (tx): Promise<ClaimOutcome> => {
      const c = await tx.get<{
        audit_id: number;
        pid: number;
        host: string;
        heartbeat_at: string;
        expires_at: string;
      }>('SELECT * FROM claims WHERE unit = ?', [unit]);
      let tookOver: { auditId: number; pid: number; host: string } | undefined;
      if (c) {
        if (c.audit_id === auditId) return { ok: true };
        if (this.ownerAlive(c.pid, c.host, c.expires_at)) {
          return {
            ok: false,
            holder: { auditId: c.audit_id, pid: c.pid, host: c.host, heartbeatAt: c.heartbeat_at },
          };
        }
        tookOver = { auditId: c.audit_id, pid: c.pid, host: c.host };
        await tx.run('DELETE FROM claims WHERE unit = ?', [unit]);
      }
      const now = this.iso();
      await tx.run(
        'INSERT INTO claims (unit, audit_id, pid, host, claimed_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [unit, auditId, this.pid, this.host, now, now, this.iso(this.ttlMs)],
      );
      return tookOver ? { ok: true, tookOver } : { ok: true };
    });
  }

  async release(unit: string, auditId: number): Promise<void> {
    await this.db.run('DELETE FROM claims WHERE unit = ? AND audit_id = ?', [unit, auditId]);
  }

  async claims(): Promise<
    Array<{ unit: string; auditId: number; pid: number; host: string; expiresAt: string }>
  > {
    const rows = await this.db.all<{
      unit: string;
      audit_id: number;
      pid: number;
      host: string;
      expires_at: string;
    }>('SELECT unit, audit_id, pid, host, expires_at FROM claims ORDER BY unit');
    return rows.map((c) => ({
      unit: c.unit,
      auditId: c.audit_id,
      pid: c.pid,
      host: c.host,
      expiresAt: c.expires_at,
    }));
  }

  // ---------------------------------------------------------------- results

  /** The last verdict for a unit that says something (errors excluded). */
  async latest(unit: string, q: SqlExec = this.db): Promise<StoredResult | undefined> {
    const r = await q.get<ResultRow>(`SELECT ${RESULT_COLUMNS} FROM ${LATEST_FROM} WHERE l.unit = ?`, [unit]);
    return r ? toResult(r) : undefined;
  }

  /** `latest` for these units, by unit: one statement per 500 units. */
  async latestOf(units: readonly string[], q: SqlExec = this.db): Promise<Map<string, StoredResult>> {
    const out = new Map<string, StoredResult>();
    for (const part of chunks(units, 500)) {
      const rows = await q.all<ResultRow>(
        `SELECT ${RESULT_COLUMNS} FROM ${LATEST_FROM} WHERE l.unit IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const r of rows) out.set(r.unit, toResult(r));
    }
    return out;
  }

  /**
   * `latest` for every unit at once: one pass over the latest table, whose
   * size is the number of units, not of nights audited.
   */
  async latestAll(): Promise<Map<string, StoredResult>> {
    const rows = await this.db.all<ResultRow>(`SELECT ${RESULT_COLUMNS} FROM ${LATEST_FROM}`);
    const out = new Map<string, StoredResult>();
    for (const r of rows) out.set(r.unit, toResult(r));
    return out;
  }

  async result(id: number, q: SqlExec = this.db): Promise<StoredResult | undefined> {
    const r = await q.get<ResultRow>(`SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE r.id = ?`, [id]);
    return r ? toResult(r) : undefined;
  }

  /**
   * Records one verdict, its change against the previous verdict for the same
   * unit, this audit's item for it, and releases the claim: one transaction.
   * With a source (a distributed worker), the same transaction checks that
   * the worker still holds the job, marks the job done and completes it in
   * the queue; when it no longer holds it, nothing is written and the
   * result is `undefined` (the job was given to another worker).
   */
  async recordResult(
    auditId: number,
    res: NewResult,
    wallMs?: number,
    why?: string,
    source?: ResultSource,
  ): Promise<StoredResult | undefined> {
    return this.db
      .transaction(
        async (tx) => {
          if (source) {
            // Still this worker's job (its lease): marking it done locks its row.
            const held = await tx.run(
              `UPDATE jobs SET state = 'done', finished_at = ? WHERE id = ? AND state = 'running' AND worker = ? AND lease = ?`,
              [this.iso(), source.jobId, source.worker, source.lease],
            );
            if (held === 0) return undefined;
          }
          const prev = await this.latest(res.unit, tx);
          const change = classifyChange(prev, res);
          const values = resultValues(auditId, res, change, prev?.id ?? null, source);
          const row = (await tx.get<ResultRow>(
            `${RESULT_INSERT} VALUES (${values.map(() => '?').join(', ')}) RETURNING *`,
            values,
          ))!;
          const id = row.id;
          await this.appendRecentVerdicts(tx, [row]);
          if (res.verdict !== 'error') {
            await tx.run(
              'INSERT INTO latest (unit, result_id) VALUES (?, ?) ON CONFLICT (unit) DO UPDATE SET result_id = excluded.result_id',
              [res.unit, id],
            );
          }
          await tx.run(
            ITEM_UPSERT,
            itemValues(auditId, {
              ...res,
              status: 'verified',
              detail: why ?? res.summary,
              resultId: id,
              wallMs,
            }),
          );
          if (source) {
            // A worker holds no claim (claims are the local audit's).
            await tx.run('UPDATE jobs SET result_id = ? WHERE id = ?', [id, source.jobId]);
            // Not active in the queue any more: roll everything back (the queue gave it to someone else).
            if (!(await source.complete(tx))) throw new LeaseLost();
          } else {
            await tx.run('DELETE FROM claims WHERE unit = ? AND audit_id = ?', [res.unit, auditId]);
          }
          return toResult({
            ...row,
            prev_verdict: prev?.verdict ?? null,
            prev_version: prev?.version ?? null,
          });
        },
        // A worker's result touches its own job, unit and item only (one open job per unit).
        { exclusive: !source },
      )
      .catch((err: unknown) => {
        if (err instanceof LeaseLost || (err as { cause?: unknown }).cause instanceof LeaseLost)
          return undefined;
        throw err;
      });
  }

  /**
   * `recordResult` for several finished jobs of a worker at once, in one
   * transaction of a handful of statements whatever their number: each
   * result is written only while the worker still holds its job (its
   * lease), and its queue job is completed in the same transaction. When
   * the queue no longer has one of them active, or the batch fails for
   * any reason but a lost connection, they are recorded one by one, each
   * as `recordResult` does (so one lost lease drops only its own result).
   * The results come back in the order given, `undefined` where the job
   * was no longer this worker's.
   */
  async recordWorkerResults(
    entries: readonly WorkerResult[],
    complete: (tx: SqlTransaction, queue: string, jobIds: readonly string[]) => Promise<number>,
  ): Promise<Array<StoredResult | undefined>> {
    const oneByOne = async () => {
      const out: Array<StoredResult | undefined> = [];
      for (const e of entries) {
        out.push(
          await this.recordResult(e.auditId, e.res, e.wallMs, undefined, {
            ...e.source,
            complete: async (tx) => (await complete(tx, e.queue, [e.source.jobId])) === 1,
          }),
        );
      }
      return out;
    };
    // A unit twice (it cannot be: one open job per unit) would need the first result as the second's previous one.
    if (entries.length <= 1 || new Set(entries.map((e) => e.res.unit)).size !== entries.length) {
      return oneByOne();
    }
    try {
      return await this.db.transaction(
        async (tx) => {
          const held = new Set(
            (
              await tx.all<{ id: string }>(
                // The plain id list lets the planner find the rows by key; the triples check each one's holder.
                `UPDATE jobs SET state = 'done', finished_at = ? WHERE state = 'running'
                 AND id IN (${entries.map(() => '?').join(', ')})
                 AND (id, worker, lease) IN (VALUES ${entries.map(() => '(?, ?, ?)').join(', ')}) RETURNING id`,
                [
                  this.iso(),
                  ...entries.map((e) => e.source.jobId),
                  ...entries.flatMap((e) => [e.source.jobId, e.source.worker, e.source.lease]),
                ],
              )
            ).map((r) => r.id),
          );
          const mine = entries.filter((e) => held.has(e.source.jobId));
          if (mine.length === 0) return entries.map(() => undefined);
          const prevs = await this.latestOf(
            mine.map((e) => e.res.unit),
            tx,
          );
          const rows = mine.map((e) => {
            const prev = prevs.get(e.res.unit);
            return {
              e,
              prev,
              values: resultValues(e.auditId, e.res, classifyChange(prev, e.res), prev?.id ?? null, e.source),
            };
          });
          const inserted = await tx.all<ResultRow>(
            `${RESULT_INSERT} VALUES ${rows.map((r) => `(${r.values.map(() => '?').join(', ')})`).join(', ')} RETURNING *`,
            rows.flatMap((r) => r.values),
          );
          await this.appendRecentVerdicts(tx, inserted);
          const byJob = new Map(inserted.map((r) => [r.job_id ?? '', r] as const));
          const idOf = (e: WorkerResult) => byJob.get(e.source.jobId)!.id;
          const verdicts = rows.filter((r) => r.e.res.verdict !== 'error');
          if (verdicts.length > 0) {
            await tx.run(
              `INSERT INTO latest (unit, result_id) VALUES ${verdicts.map(() => '(?, ?)').join(', ')}
               ON CONFLICT (unit) DO UPDATE SET result_id = excluded.result_id`,
              verdicts.flatMap((r) => [r.e.res.unit, idOf(r.e)]),
            );
          }
          await tx.run(
            itemUpsert(rows.length),
            rows.flatMap((r) =>
              itemValues(r.e.auditId, {
                ...r.e.res,
                status: 'verified',
                detail: r.e.res.summary,
                resultId: idOf(r.e),
                wallMs: r.e.wallMs,
              }),
            ),
          );
          await tx.run(
            `UPDATE jobs SET result_id = CASE id ${rows.map(() => 'WHEN ? THEN CAST(? AS INTEGER)').join(' ')} END
             WHERE id IN (${rows.map(() => '?').join(', ')})`,
            [...rows.flatMap((r) => [r.e.source.jobId, idOf(r.e)]), ...rows.map((r) => r.e.source.jobId)],
          );
          let completed = 0;
          for (const queue of new Set(rows.map((r) => r.e.queue))) {
            completed += await complete(
              tx,
              queue,
              rows.filter((r) => r.e.queue === queue).map((r) => r.e.source.jobId),
            );
          }
          // One is no longer active in the queue (its lease passed on): roll back, record one by one.
          if (completed !== rows.length) throw new LeaseLost();
          return entries.map((e) => {
            const r = rows.find((x) => x.e === e);
            return r
              ? toResult({
                  ...byJob.get(e.source.jobId)!,
                  prev_verdict: r.prev?.verdict ?? null,
                  prev_version: r.prev?.version ?? null,
                })
              : undefined;
          });
        },
        { exclusive: false },
      );
    } catch (err) {
      // Not written (rolled back), or not known to be: a lost connection is the caller's to retry.
      if (isConnectionError(err)) throw err;
      return oneByOne();
    }
  }

  /** Records the items that were not verified (skipped, elsewhere, not reached …) in one transaction. */
  async recordItems(auditId: number, items: AuditItem[], q?: SqlTransaction): Promise<void> {
    if (items.length === 0) return;
    const write = async (tx: SqlExec) => {
      // Many rows a statement: one round trip per 500 items, not per item.
      for (const part of chunks(latestPerUnit(items), 500)) {
        await tx.run(
          itemUpsert(part.length),
          part.flatMap((it) => itemValues(auditId, { ...it, resultId: it.result?.id ?? null })),
        );
      }
    };
    if (q) await write(q);
    else await this.db.transaction(write);
  }

  /** What an audit did with every unit it selected. */
  async items(auditId: number): Promise<AuditItem[]> {
    const rows = await this.db.all<{
      unit: string;
      repo: string;
      pkg: string;
      pkg_id: string;
      arch: string;
      version: string;
      status: AuditItem['status'];
      detail: string;
      result_id: number | null;
      wall_ms: number | null;
    }>('SELECT * FROM items WHERE audit_id = ? ORDER BY unit', [auditId]);
    const results = new Map<number, StoredResult>();
    for (const r of await this.db.all<ResultRow>(
      `SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE r.id IN (SELECT result_id FROM items WHERE audit_id = ?)`,
      [auditId],
    )) {
      results.set(r.id, toResult(r));
    }
    return rows.map((r) => {
      const result = r.result_id === null ? undefined : results.get(r.result_id);
      return {
        unit: r.unit,
        repo: r.repo,
        pkg: r.pkg,
        pkgId: r.pkg_id,
        arch: r.arch as Arch,
        version: r.version,
        status: r.status,
        detail: r.detail,
        ...(result ? { result } : {}),
        ...(r.wall_ms === null ? {} : { wallMs: r.wall_ms }),
      };
    });
  }

  /** Results recorded by one audit, in order. */
  async resultsOf(auditId: number): Promise<StoredResult[]> {
    return (
      await this.db.all<ResultRow>(
        `SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE r.audit_id = ? ORDER BY r.id`,
        [auditId],
      )
    ).map(toResult);
  }

  /**
   * A package's verdicts over time, oldest first. `query` matches `pkg`,
   * `pkg_id` or the unit key, optionally qualified `name#repo`.
   */
  async history(query: string, arch?: Arch): Promise<StoredResult[]> {
    const [name, repo] = query.split('#', 2) as [string, string | undefined];
    const where = ['(r.pkg = ? OR r.pkg_id = ? OR r.unit = ?)'];
    const args: SqlValue[] = [name, name, name];
    if (repo) {
      where.push('r.repo = ?');
      args.push(repo);
    }
    if (arch) {
      where.push('r.arch = ?');
      args.push(arch);
    }
    return (
      await this.db.all<ResultRow>(
        `SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE ${where.join(' AND ')} ORDER BY r.id`,
        args,
      )
    ).map(toResult);
  }

  /**
   * The last `n` verdicts of each unit up to audit `upTo`, oldest first
   * (the report's strip): each unit's row of recent verdicts, one statement
   * per 500 units; the results themselves only for units whose row cannot
   * say (more than RECENT_VERDICTS asked, or a newer audit's verdict in it).
   */
  async lastVerdicts(
    units: readonly string[],
    upTo: number,
    n: number,
  ): Promise<Map<string, RecentVerdict[]>> {
    // The entries as decoded or read (each with its result's id), not copied: 14 × 10,000 of them.
    const out = new Map<string, RecentVerdict[]>();
    const unsure: string[] = [];
    const kept = n <= RECENT_VERDICTS ? await this.recentOf(units) : new Map<string, RecentVerdict[]>();
    for (const unit of units) {
      const list = kept.get(unit);
      if (n > RECENT_VERDICTS || list?.some((r) => r.auditId > upTo)) {
        unsure.push(unit);
        continue;
      }
      if (!list || list.length === 0) continue;
      out.set(unit, list.length > n ? list.slice(list.length - n) : list);
    }
    for (const [unit, list] of await this.lastResultVerdicts(this.db, unsure, upTo, n)) out.set(unit, list);
    return out;
  }

  /** Each unit's row of recent verdicts, oldest first (units without one are absent). */
  private async recentOf(
    units: readonly string[],
    q: SqlExec = this.db,
  ): Promise<Map<string, RecentVerdict[]>> {
    const out = new Map<string, RecentVerdict[]>();
    for (const part of chunks(units, 500)) {
      const rows = await q.all<{ unit: string; verdicts: string }>(
        `SELECT unit, verdicts FROM recent_verdicts WHERE unit IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const r of rows) {
        const list = decodeRecent(r.verdicts);
        if (list) out.set(r.unit, list);
      }
    }
    return out;
  }

  /**
   * The last `n` results of each unit up to audit `upTo`, oldest first, read
   * from the results (one statement per 500 units; all units when `units`
   * is null, every audit when `upTo` is).
   */
  private async lastResultVerdicts(
    q: SqlExec,
    units: readonly string[] | null,
    upTo: number | null,
    n: number,
  ): Promise<Map<string, RecentVerdict[]>> {
    const out = new Map<string, RecentVerdict[]>();
    for (const part of units === null ? [null] : chunks(units, 500)) {
      const rows = await q.all<{
        id: number;
        unit: string;
        finished_at: string;
        verdict: string;
        audit_id: number;
      }>(
        `SELECT id, unit, finished_at, verdict, audit_id FROM (
           SELECT r.id, r.unit, r.finished_at, r.verdict, r.audit_id,
             row_number() OVER (PARTITION BY r.unit ORDER BY r.id DESC) AS nth
           FROM results r WHERE ${upTo === null ? 'TRUE' : 'r.audit_id <= ?'}${part ? ` AND r.unit IN (${part.map(() => '?').join(', ')})` : ''}
         ) last WHERE nth <= ? ORDER BY unit, id`,
        [...(upTo === null ? [] : [upTo]), ...(part ?? []), n],
      );
      for (const r of rows) {
        const list = out.get(r.unit) ?? [];
        list.push({
          id: Number(r.id),
          finishedAt: r.finished_at,
          verdict: r.verdict as StoredResult['verdict'],
          auditId: Number(r.audit_id),
        });
        out.set(r.unit, list);
      }
    }
    return out;
  }

  /** Adds newly inserted results to their units' rows of recent verdicts (in the transaction that inserted them). */
  private async appendRecentVerdicts(
    tx: SqlExec,
    rows: ReadonlyArray<Pick<ResultRow, 'id' | 'unit' | 'audit_id' | 'verdict' | 'finished_at'>>,
  ): Promise<void> {
    const kept = await this.recentOf([...new Set(rows.map((r) => r.unit))], tx);
    for (const r of [...rows].sort((a, b) => Number(a.id) - Number(b.id))) {
      kept.set(
        r.unit,
        appendRecent(kept.get(r.unit) ?? [], {
          id: Number(r.id),
          auditId: Number(r.audit_id),
          verdict: r.verdict as StoredResult['verdict'],
          finishedAt: r.finished_at,
        }),
      );
    }
    await this.writeRecent(tx, kept);
  }

  private async writeRecent(tx: SqlExec, rows: ReadonlyMap<string, readonly RecentVerdict[]>): Promise<void> {
    for (const part of chunks([...rows], 500)) {
      await tx.run(
        `INSERT INTO recent_verdicts (unit, verdicts) VALUES ${part.map(() => '(?, ?)').join(', ')}
         ON CONFLICT (unit) DO UPDATE SET verdicts = excluded.verdicts`,
        part.flatMap(([unit, list]) => [unit, encodeRecent(list)]),
      );
    }
  }

  /**
   * Rewrites every unit's row of recent verdicts from the results (the
   * migration that made the table; a database whose results were written
   * by other means, as the history bench does).
   */
  async refillRecent(tx?: SqlTransaction): Promise<void> {
    const fill = async (q: SqlTransaction) => {
      await q.run('DELETE FROM recent_verdicts');
      await this.writeRecent(q, await this.lastResultVerdicts(q, null, null, RECENT_VERDICTS));
    };
    if (tx) await fill(tx);
    else await this.db.transaction(fill);
  }

  /** Row counts (tests, `--json`). */
  async counts(): Promise<{ audits: number; results: number; items: number; claims: number; jobs: number }> {
    const n = async (t: string) =>
      Number((await this.db.get<{ n: number | string }>(`SELECT count(*) AS n FROM ${t}`))!.n);
    return {
      audits: await n('audits'),
      results: await n('results'),
      items: await n('items'),
      claims: await n('claims'),
      jobs: await n('jobs'),
    };
  }

  // ---------------------------------------------------------------- distributed: jobs

  /** The job of a unit that is queued or running (any audit). */
  async openJob(unit: string, q: SqlExec = this.db): Promise<JobRow | undefined> {
    const r = await q.get<JobRowRaw>(`SELECT * FROM jobs WHERE unit = ? AND state IN ('queued','running')`, [
      unit,
    ]);
    return r ? toJob(r) : undefined;
  }

  /** The open jobs of these units (any audit), by unit: one statement per 500 units. */
  async openJobs(units: readonly string[], q: SqlExec = this.db): Promise<Map<string, JobRow>> {
    const out = new Map<string, JobRow>();
    for (const part of chunks(units, 500)) {
      const rows = await q.all<JobRowRaw>(
        `SELECT * FROM jobs WHERE state IN ('queued','running') AND unit IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const r of rows) out.set(r.unit, toJob(r));
    }
    return out;
  }

  /** Moves open jobs into `auditId` (a restarted coordinator adopting what is already queued). */
  async adoptJobs(tx: SqlExec, auditId: number, ids: readonly string[]): Promise<void> {
    for (const part of chunks(ids, 500)) {
      await tx.run(
        `UPDATE jobs SET audit_id = ? WHERE audit_id != ? AND id IN (${part.map(() => '?').join(', ')})`,
        [auditId, auditId, ...part],
      );
    }
  }

  /** Inserts queued jobs, 500 rows a statement. */
  async insertJobs(tx: SqlExec, jobs: readonly NewJob[]): Promise<void> {
    const now = this.iso();
    for (const part of chunks(jobs, 500)) {
      await tx.run(
        `INSERT INTO jobs (id, audit_id, unit, queue, arch, needs, priority, state, enqueued_at) VALUES ${part
          .map(() => "(?, ?, ?, ?, ?, ?, ?, 'queued', ?)")
          .join(', ')}`,
        part.flatMap((j) => [
          j.id,
          j.auditId,
          j.unit,
          j.queue,
          j.arch,
          JSON.stringify(j.needs),
          j.priority,
          now,
        ]),
      );
    }
  }

  /**
   * A worker took a job from the queue: it now holds it under a new lease
   * token (a worker that lost the job when its lease expired can no longer
   * record a result for it). False when the job is already done.
   */
  async startJob(
    jobId: string,
    worker: string,
    mode: 'native' | 'emulated',
    lease: string,
  ): Promise<JobRow | undefined> {
    return (await this.startJobs([jobId], worker, mode, lease))[0];
  }

  /** `startJob` for several jobs under one lease token, one statement; the ones already done are left out. */
  async startJobs(
    jobIds: readonly string[],
    worker: string,
    mode: 'native' | 'emulated',
    lease: string,
  ): Promise<JobRow[]> {
    if (jobIds.length === 0) return [];
    // One statement: the row locks it takes are all the exclusion it needs.
    const rows = await this.db.all<JobRowRaw>(
      `UPDATE jobs SET state = 'running', worker = ?, worker_mode = ?, lease = ?, attempts = attempts + 1, started_at = ?
       WHERE id IN (${jobIds.map(() => '?').join(', ')}) AND state IN ('queued','running') RETURNING *`,
      [worker, mode, lease, this.iso(), ...jobIds],
    );
    return rows.map(toJob);
  }

  /** A job that will not run (its deadline passed, or the queue gave up on it), with its item. */
  async endJob(jobId: string, item: AuditItem | undefined, tx?: SqlTransaction): Promise<void> {
    const write = async (q: SqlTransaction) => {
      await q.run(
        `UPDATE jobs SET state = 'given-up', finished_at = ? WHERE id = ? AND state IN ('queued','running')`,
        [this.iso(), jobId],
      );
      const j = await q.get<{ audit_id: number }>('SELECT audit_id FROM jobs WHERE id = ?', [jobId]);
      if (item && j) await this.recordItems(j.audit_id, [item], q);
    };
    if (tx) await write(tx);
    else await this.db.transaction(write);
  }

  /** How many of an audit's jobs are queued and running: what the coordinator watches, one small row. */
  async openJobCounts(auditId: number): Promise<{ queued: number; running: number }> {
    const r = await this.db.get<{ queued: number | string | null; running: number | string | null }>(
      `SELECT sum(CASE WHEN state = 'queued' THEN 1 ELSE 0 END) AS queued,
              sum(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running
       FROM jobs WHERE audit_id = ? AND state IN ('queued','running')`,
      [auditId],
    );
    return { queued: Number(r?.queued ?? 0), running: Number(r?.running ?? 0) };
  }

  /** The distinct (queue, arch, needs) of an audit's queued jobs: what routing looks at. */
  async queuedKinds(
    auditId: number,
  ): Promise<Array<{ queue: string; arch: Arch; needs: Record<string, string> }>> {
    const rows = await this.db.all<{ queue: string; arch: string; needs: string }>(
      `SELECT DISTINCT queue, arch, needs FROM jobs WHERE audit_id = ? AND state = 'queued' ORDER BY queue`,
      [auditId],
    );
    return rows.map((r) => ({
      queue: r.queue,
      arch: r.arch as Arch,
      needs: JSON.parse(r.needs) as Record<string, string>,
    }));
  }

  async jobs(filter: { auditId?: number; states?: JobState[] } = {}): Promise<JobRow[]> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (filter.auditId !== undefined) {
      where.push('audit_id = ?');
      args.push(filter.auditId);
    }
    if (filter.states) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      args.push(...filter.states);
    }
    return (
      await this.db.all<JobRowRaw>(
        `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY priority DESC, enqueued_at, id`,
        args,
      )
    ).map(toJob);
  }

  /**
   * Queues that hold unfinished jobs, with their arch and needs (what a
   * worker may fetch from). Running ones count: a job whose worker died
   * is still `running` here until another worker takes it from the queue.
   */
  async openQueues(): Promise<Array<{ queue: string; arch: Arch; needs: Record<string, string> }>> {
    const rows = await this.db.all<{ queue: string; arch: string; needs: string }>(
      `SELECT queue, arch, needs, max(priority) AS top FROM jobs WHERE state IN ('queued','running')
       GROUP BY queue, arch, needs ORDER BY top DESC, queue`,
    );
    return rows.map((r) => ({
      queue: r.queue,
      arch: r.arch as Arch,
      needs: JSON.parse(r.needs) as Record<string, string>,
    }));
  }

  // ---------------------------------------------------------------- distributed: workers

  async registerWorker(
    w: Omit<WorkerRow, 'busy' | 'startedAt' | 'heartbeatAt' | 'stoppedAt'>,
  ): Promise<void> {
    const now = this.iso();
    await this.db.run(
      `INSERT INTO workers (name, host, pid, arches, native_arch, tags, jobs, busy, started_at, heartbeat_at, stopped_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, NULL)
       ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, arches = excluded.arches,
         native_arch = excluded.native_arch, tags = excluded.tags, jobs = excluded.jobs, busy = 0,
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`,
      [
        w.name,
        w.host,
        w.pid,
        JSON.stringify(w.arches),
        w.nativeArch,
        JSON.stringify(w.tags),
        w.jobs,
        now,
        now,
      ],
    );
  }

  async workerBeat(name: string, busy: number): Promise<void> {
    await this.db.run('UPDATE workers SET heartbeat_at = ?, busy = ? WHERE name = ?', [
      this.iso(),
      busy,
      name,
    ]);
  }

  async workerStopped(name: string): Promise<void> {
    await this.db.run('UPDATE workers SET stopped_at = ?, busy = 0 WHERE name = ?', [this.iso(), name]);
  }

  /** Workers, each with whether it counts as alive (heartbeat within `aliveMs`, not stopped). */
  async workers(aliveMs: number): Promise<Array<WorkerRow & { alive: boolean }>> {
    const rows = (await this.db.all<WorkerRowRaw>('SELECT * FROM workers ORDER BY name')).map(toWorker);
    const cutoff = this.iso(-aliveMs);
    return rows.map((w) => ({ ...w, alive: w.stoppedAt === null && w.heartbeatAt > cutoff }));
  }
}

class LeaseLost extends Error {}

/** A job as the coordinator enqueues it. */
export type NewJob = Pick<JobRow, 'id' | 'auditId' | 'unit' | 'queue' | 'arch' | 'needs' | 'priority'>;

/** `xs` in consecutive slices of at most `n` (statements with a bounded number of parameters). */
function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
