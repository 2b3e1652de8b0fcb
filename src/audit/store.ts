/**
 * The audit database: SQLite through better-sqlite3, WAL, a busy timeout,
 * every write in a transaction, the schema versioned by `user_version`.
 *
 * It keeps every audit, every verdict (results), what each audit did with
 * each selected package (items), and the claims that stop two audits from
 * verifying the same package at once. A claim names its owner (pid, host)
 * and expires unless its owner keeps it alive; a claim whose owner is a dead
 * process on this host is taken over at once (an audit killed with SIGKILL).
 */
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Arch } from '../engine/types.js';
import { RebuildError } from '../util/errors.js';
import type { VerifyVerdict } from '../verify/types.js';
import { classifyChange } from './policy.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import type { AuditItem, AuditRunRow, ChangeKind, StoredResult } from './types.js';

const SQLITE_MAGIC = 'SQLite format 3\0';

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
  'id' | 'auditId' | 'change' | 'prevId' | 'prevVerdict' | 'prevVersion'
> & { inputs?: unknown };

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

const FIX_NOT_DB =
  'point --db at an audit database (or a path that does not exist yet); this file was left as it is';

/** Refuses anything that exists and is not an SQLite database, before SQLite touches it. */
function checkFile(path: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new RebuildError('state', `cannot read the audit database: ${(err as Error).message}`, {
      subject: path,
      fix: 'check the path and its permissions',
    });
  }
  if (!st.isFile()) {
    throw new RebuildError('state', 'is not a file, so it cannot be the audit database', {
      subject: path,
      fix: FIX_NOT_DB,
    });
  }
  if (st.size === 0) return;
  const head = Buffer.alloc(16);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    readSync(fd, head, 0, 16, 0);
  } catch (err) {
    throw new RebuildError('state', `cannot read the audit database: ${(err as Error).message}`, {
      subject: path,
      fix: 'check the permissions of the file',
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head.toString('latin1') !== SQLITE_MAGIC) {
    throw new RebuildError(
      'state',
      'is not an SQLite database (wrong header), so it cannot be the audit database',
      {
        subject: path,
        fix: FIX_NOT_DB,
      },
    );
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
  prev_verdict?: string | null;
  prev_version?: string | null;
}

const RESULT_COLUMNS = `r.*, p.verdict AS prev_verdict, p.version AS prev_version`;
const RESULT_FROM = `results r LEFT JOIN results p ON p.id = r.prev_id`;

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

export class AuditStore {
  readonly path: string;
  readonly pid: number;
  readonly host: string;
  private readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly ttlMs: number;
  private readonly pidAlive: (pid: number) => boolean;

  private constructor(path: string, db: Database.Database, opts: StoreOptions) {
    this.path = path;
    this.db = db;
    this.now = opts.now ?? (() => new Date());
    this.pid = opts.pid ?? process.pid;
    this.host = opts.host ?? hostname();
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.pidAlive = opts.pidAlive ?? defaultPidAlive;
  }

  /**
   * Opens (or creates) the database at `path` and brings its schema up to
   * date. Anything that is not an audit database is refused with a
   * RebuildError('state') naming the file, and left untouched.
   */
  static open(path: string, opts: StoreOptions = {}): AuditStore {
    checkFile(path);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new RebuildError(
        'state',
        `cannot create the directory of the audit database: ${(err as Error).message}`,
        {
          subject: path,
          fix: 'choose a writable --db path',
        },
      );
    }
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: opts.busyTimeoutMs ?? 30_000 });
    } catch (err) {
      throw new RebuildError('state', `cannot open the audit database: ${(err as Error).message}`, {
        subject: path,
        fix: 'choose a writable --db path',
      });
    }
    try {
      // Read first: a file that is not a database fails here, before any write.
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new RebuildError(
          'state',
          `was written by a newer rebuild (schema ${version}; this rebuild knows up to ${SCHEMA_VERSION})`,
          { subject: path, fix: 'upgrade rebuild, or use another --db' },
        );
      }
      db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 30_000}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') {
        throw new RebuildError(
          'state',
          `cannot switch the audit database to WAL mode (got ${String(mode)})`,
          {
            subject: path,
            fix: 'put the database on a local file system',
          },
        );
      }
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      const store = new AuditStore(path, db, opts);
      store.migrate();
      return store;
    } catch (err) {
      db.close();
      if (err instanceof RebuildError) throw err;
      const code = (err as { code?: string }).code ?? '';
      const notDb = code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT';
      throw new RebuildError(
        'state',
        notDb
          ? `is not a usable audit database (${(err as Error).message})`
          : `cannot use the audit database: ${(err as Error).message}`,
        { subject: path, fix: notDb ? FIX_NOT_DB : 'check the file and its permissions', cause: err },
      );
    }
  }

  /** Applies the migrations this database lacks, each in its own transaction. */
  private migrate(): void {
    for (;;) {
      const applied = this.db.transaction(() => {
        const version = this.db.pragma('user_version', { simple: true }) as number;
        if (version >= SCHEMA_VERSION) return false;
        this.db.exec(MIGRATIONS[version]!);
        this.db.pragma(`user_version = ${version + 1}`);
        return true;
      });
      if (!applied.immediate()) return;
    }
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private iso(offsetMs = 0): string {
    return new Date(this.now().getTime() + offsetMs).toISOString();
  }

  /** Whether an owner (audit or claim) still counts as alive. */
  private ownerAlive(pid: number, host: string, expiresAt: string): boolean {
    if (expiresAt <= this.iso()) return false;
    if (host === this.host) return this.pidAlive(pid);
    return true;
  }

  // ---------------------------------------------------------------- audits

  /**
   * Starts an audit: marks audits whose process is gone as `killed` (their
   * claims become free), then records this one as running.
   */
  beginAudit(options: Record<string, unknown>): { id: number; killed: AuditRunRow[] } {
    return this.db
      .transaction(() => {
        const running = this.db
          .prepare(`SELECT * FROM audits WHERE status = 'running'`)
          .all() as AuditRowRaw[];
        const killed: AuditRunRow[] = [];
        for (const a of running) {
          const expires = new Date(Date.parse(a.heartbeat_at) + this.ttlMs).toISOString();
          if (!this.ownerAlive(a.pid, a.host, expires)) {
            this.db
              .prepare(`UPDATE audits SET status = 'killed', finished_at = ? WHERE id = ?`)
              .run(this.iso(), a.id);
            this.db.prepare('DELETE FROM claims WHERE audit_id = ?').run(a.id);
            killed.push(toAudit({ ...a, status: 'killed' }));
          }
        }
        const now = this.iso();
        const info = this.db
          .prepare(
            `INSERT INTO audits (started_at, heartbeat_at, status, pid, host, options) VALUES (?, ?, 'running', ?, ?, ?)`,
          )
          .run(now, now, this.pid, this.host, JSON.stringify(options));
        return { id: Number(info.lastInsertRowid), killed };
      })
      .immediate();
  }

  /** Keeps this audit and its claims alive. */
  heartbeat(auditId: number): void {
    this.db
      .transaction(() => {
        this.db.prepare('UPDATE audits SET heartbeat_at = ? WHERE id = ?').run(this.iso(), auditId);
        this.db
          .prepare('UPDATE claims SET heartbeat_at = ?, expires_at = ? WHERE audit_id = ?')
          .run(this.iso(), this.iso(this.ttlMs), auditId);
      })
      .immediate();
  }

  setSelected(auditId: number, selected: number): void {
    this.db.prepare('UPDATE audits SET selected = ? WHERE id = ?').run(selected, auditId);
  }

  finishAudit(
    auditId: number,
    end: { status: AuditRunRow['status']; exitCode?: number; reportDir?: string; error?: string },
  ): void {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            'UPDATE audits SET status = ?, finished_at = ?, exit_code = ?, report_dir = coalesce(?, report_dir), error = ? WHERE id = ?',
          )
          .run(
            end.status,
            this.iso(),
            end.exitCode ?? null,
            end.reportDir ?? null,
            end.error ?? null,
            auditId,
          );
        this.db.prepare('DELETE FROM claims WHERE audit_id = ?').run(auditId);
      })
      .immediate();
  }

  setReportDir(auditId: number, dir: string): void {
    this.db.prepare('UPDATE audits SET report_dir = ? WHERE id = ?').run(dir, auditId);
  }

  audit(id: number): AuditRunRow | undefined {
    const r = this.db.prepare('SELECT * FROM audits WHERE id = ?').get(id) as AuditRowRaw | undefined;
    return r ? toAudit(r) : undefined;
  }

  audits(limit = 50): AuditRunRow[] {
    return (this.db.prepare('SELECT * FROM audits ORDER BY id DESC LIMIT ?').all(limit) as AuditRowRaw[]).map(
      toAudit,
    );
  }

  // ---------------------------------------------------------------- claims

  /**
   * Claims a unit for an audit, atomically. Fails when another audit holds
   * it and is alive; takes over a claim whose owner is dead or expired.
   */
  claim(unit: string, auditId: number): ClaimOutcome {
    return this.db
      .transaction((): ClaimOutcome => {
        const c = this.db.prepare('SELECT * FROM claims WHERE unit = ?').get(unit) as
          | { audit_id: number; pid: number; host: string; heartbeat_at: string; expires_at: string }
          | undefined;
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
          this.db.prepare('DELETE FROM claims WHERE unit = ?').run(unit);
        }
        const now = this.iso();
        this.db
          .prepare(
            'INSERT INTO claims (unit, audit_id, pid, host, claimed_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(unit, auditId, this.pid, this.host, now, now, this.iso(this.ttlMs));
        return tookOver ? { ok: true, tookOver } : { ok: true };
      })
      .immediate();
  }

  release(unit: string, auditId: number): void {
    this.db.prepare('DELETE FROM claims WHERE unit = ? AND audit_id = ?').run(unit, auditId);
  }

  claims(): Array<{ unit: string; auditId: number; pid: number; host: string; expiresAt: string }> {
    return (
      this.db
        .prepare('SELECT unit, audit_id, pid, host, expires_at FROM claims ORDER BY unit')
        .all() as Array<{
        unit: string;
        audit_id: number;
        pid: number;
        host: string;
        expires_at: string;
      }>
    ).map((c) => ({ unit: c.unit, auditId: c.audit_id, pid: c.pid, host: c.host, expiresAt: c.expires_at }));
  }

  // ---------------------------------------------------------------- results

  /** The last verdict for a unit that says something (errors excluded). */
  latest(unit: string): StoredResult | undefined {
    const r = this.db
      .prepare(
        `SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE r.unit = ? AND r.verdict != 'error' ORDER BY r.id DESC LIMIT 1`,
      )
      .get(unit) as ResultRow | undefined;
    return r ? toResult(r) : undefined;
  }

  /** `latest` for every unit at once (one query: what an audit of 10,000 packages needs). */
  latestAll(): Map<string, StoredResult> {
    const rows = this.db
      .prepare(
        `SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM}
         WHERE r.id IN (SELECT max(id) FROM results WHERE verdict != 'error' GROUP BY unit)`,
      )
      .all() as ResultRow[];
    const out = new Map<string, StoredResult>();
    for (const r of rows) out.set(r.unit, toResult(r));
    return out;
  }

  result(id: number): StoredResult | undefined {
    const r = this.db.prepare(`SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE r.id = ?`).get(id) as
      | ResultRow
      | undefined;
    return r ? toResult(r) : undefined;
  }

  /**
   * Records one verdict, its change against the previous verdict for the same
   * unit, this audit's item for it, and releases the claim: one transaction.
   */
  recordResult(auditId: number, res: NewResult, wallMs?: number, why?: string): StoredResult {
    return this.db
      .transaction(() => {
        const prev = this.latest(res.unit);
        const change = classifyChange(prev, res);
        const info = this.db
          .prepare(
            `INSERT INTO results (audit_id, unit, repo, pkg, pkg_id, arch, version, shasum, bsum, build_date, ghcr_pkg,
              record_key, inputs_hash, inputs, image_tag, image_id, emulator, recipe_digest, verdict, summary,
              published_sha256, published_blake3, rebuilt_sha256, rebuilt_blake3, explanations, differences, error,
              started_at, finished_at, duration_ms, attempts, attempt_verdicts, out_dir, report_json, report_md,
              report_html, log_path, change, prev_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
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
            prev?.id ?? null,
          );
        const id = Number(info.lastInsertRowid);
        this.db
          .prepare(
            `INSERT OR REPLACE INTO items (audit_id, unit, repo, pkg, pkg_id, arch, version, status, detail, result_id, wall_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'verified', ?, ?, ?)`,
          )
          .run(
            auditId,
            res.unit,
            res.repo,
            res.pkg,
            res.pkgId,
            res.arch,
            res.version,
            why ?? res.summary,
            id,
            wallMs === undefined ? null : Math.round(wallMs),
          );
        this.db.prepare('DELETE FROM claims WHERE unit = ? AND audit_id = ?').run(res.unit, auditId);
        return this.result(id)!;
      })
      .immediate();
  }

  /** Records the items that were not verified (skipped, elsewhere, not reached …) in one transaction. */
  recordItems(auditId: number, items: AuditItem[]): void {
    if (items.length === 0) return;
    const stmt = this.db.prepare(
      `INSERT OR REPLACE INTO items (audit_id, unit, repo, pkg, pkg_id, arch, version, status, detail, result_id, wall_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db
      .transaction(() => {
        for (const it of items) {
          stmt.run(
            auditId,
            it.unit,
            it.repo,
            it.pkg,
            it.pkgId,
            it.arch,
            it.version,
            it.status,
            it.detail,
            it.result?.id ?? null,
            it.wallMs === undefined ? null : Math.round(it.wallMs),
          );
        }
      })
      .immediate();
  }

  /** What an audit did with every unit it selected. */
  items(auditId: number): AuditItem[] {
    const rows = this.db
      .prepare('SELECT * FROM items WHERE audit_id = ? ORDER BY unit')
      .all(auditId) as Array<{
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
    }>;
    return rows.map((r) => {
      const result = r.result_id === null ? undefined : this.result(r.result_id);
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
  resultsOf(auditId: number): StoredResult[] {
    return (
      this.db
        .prepare(`SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE r.audit_id = ? ORDER BY r.id`)
        .all(auditId) as ResultRow[]
    ).map(toResult);
  }

  /**
   * A package's verdicts over time, oldest first. `query` matches `pkg`,
   * `pkg_id` or the unit key, optionally qualified `name#repo`.
   */
  history(query: string, arch?: Arch): StoredResult[] {
    const [name, repo] = query.split('#', 2) as [string, string | undefined];
    const where = ['(r.pkg = ? OR r.pkg_id = ? OR r.unit = ?)'];
    const args: unknown[] = [name, name, name];
    if (repo) {
      where.push('r.repo = ?');
      args.push(repo);
    }
    if (arch) {
      where.push('r.arch = ?');
      args.push(arch);
    }
    return (
      this.db
        .prepare(`SELECT ${RESULT_COLUMNS} FROM ${RESULT_FROM} WHERE ${where.join(' AND ')} ORDER BY r.id`)
        .all(...args) as ResultRow[]
    ).map(toResult);
  }

  /** Row counts (tests, `--json`). */
  counts(): { audits: number; results: number; items: number; claims: number } {
    const n = (t: string) => (this.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { audits: n('audits'), results: n('results'), items: n('items'), claims: n('claims') };
  }
}
