/**
 * The audit database's schema, as numbered migrations, the same for SQLite
 * and PostgreSQL. The driver keeps the number of migrations applied (SQLite:
 * `PRAGMA user_version`; PostgreSQL: the `rebuild_schema` table); each runs
 * in its own transaction, so a database is always at one version or the
 * next, never between. Append migrations; never edit one that has shipped.
 * They are written in SQLite's words; `migrationFor` says the one thing
 * PostgreSQL spells differently (an integer key that numbers itself).
 */
import type { Dialect } from './db/sql.js';

export const MIGRATIONS: readonly string[] = [
  // 1: audits, results, items, claims
  `
  CREATE TABLE audits (
    id            INTEGER PRIMARY KEY,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT,
    heartbeat_at  TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('running','finished','interrupted','killed','failed')),
    pid           INTEGER NOT NULL,
    host          TEXT    NOT NULL,
    options       TEXT    NOT NULL,
    selected      INTEGER,
    exit_code     INTEGER,
    report_dir    TEXT,
    error         TEXT
  );
  CREATE TABLE results (
    id               INTEGER PRIMARY KEY,
    audit_id         INTEGER NOT NULL REFERENCES audits(id),
    unit             TEXT    NOT NULL,
    repo             TEXT    NOT NULL,
    pkg              TEXT    NOT NULL,
    pkg_id           TEXT    NOT NULL,
    arch             TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    shasum           TEXT    NOT NULL,
    bsum             TEXT    NOT NULL,
    build_date       TEXT    NOT NULL,
    ghcr_pkg         TEXT    NOT NULL,
    record_key       TEXT    NOT NULL,
    inputs_hash      TEXT,
    inputs           TEXT,
    image_tag        TEXT,
    image_id         TEXT,
    emulator         TEXT,
    recipe_digest    TEXT,
    verdict          TEXT    NOT NULL,
    summary          TEXT    NOT NULL,
    published_sha256 TEXT,
    published_blake3 TEXT,
    rebuilt_sha256   TEXT,
    rebuilt_blake3   TEXT,
    explanations     TEXT    NOT NULL DEFAULT '[]',
    differences      TEXT    NOT NULL DEFAULT '[]',
    error            TEXT,
    started_at       TEXT    NOT NULL,
    finished_at      TEXT    NOT NULL,
    duration_ms      INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    attempt_verdicts TEXT    NOT NULL,
    out_dir          TEXT,
    report_json      TEXT,
    report_md        TEXT,
    report_html      TEXT,
    log_path         TEXT,
    change           TEXT    NOT NULL,
    prev_id          INTEGER REFERENCES results(id)
  );
  CREATE INDEX results_unit ON results (unit, id);
  CREATE INDEX results_pkg ON results (pkg);
  CREATE INDEX results_pkg_id ON results (pkg_id);
  CREATE TABLE items (
    audit_id   INTEGER NOT NULL REFERENCES audits(id),
    unit       TEXT    NOT NULL,
    repo       TEXT    NOT NULL,
    pkg        TEXT    NOT NULL,
    pkg_id     TEXT    NOT NULL,
    arch       TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    result_id  INTEGER REFERENCES results(id),
    wall_ms    INTEGER,
    PRIMARY KEY (audit_id, unit)
  );
  CREATE TABLE claims (
    unit          TEXT    PRIMARY KEY,
    audit_id      INTEGER NOT NULL REFERENCES audits(id),
    pid           INTEGER NOT NULL,
    host          TEXT    NOT NULL,
    claimed_at    TEXT    NOT NULL,
    heartbeat_at  TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL
  );
  `,
  // 2: the latest verdict per unit (so an unchanged audit costs the same after
  // 30 nights as after one), the worker that produced a result and the queue
  // job it completed, the distributed audit's jobs and the workers.
  `
  CREATE TABLE latest (
    unit       TEXT    PRIMARY KEY,
    result_id  INTEGER NOT NULL REFERENCES results(id)
  );
  INSERT INTO latest (unit, result_id)
    SELECT unit, max(id) FROM results WHERE verdict != 'error' GROUP BY unit;
  ALTER TABLE results ADD COLUMN worker TEXT;
  ALTER TABLE results ADD COLUMN worker_mode TEXT;
  ALTER TABLE results ADD COLUMN job_id TEXT;
  CREATE UNIQUE INDEX results_job ON results (job_id);
  CREATE TABLE workers (
    name          TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    arches        TEXT    NOT NULL,
    native_arch   TEXT    NOT NULL,
    tags          TEXT    NOT NULL,
    jobs          INTEGER NOT NULL,
    busy          INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT    NOT NULL,
    heartbeat_at  TEXT    NOT NULL,
    stopped_at    TEXT
  );
  CREATE TABLE jobs (
    id           TEXT    PRIMARY KEY,
    audit_id     INTEGER NOT NULL REFERENCES audits(id),
    unit         TEXT    NOT NULL,
    queue        TEXT    NOT NULL,
    arch         TEXT    NOT NULL,
    needs        TEXT    NOT NULL,
    priority     INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued','running','done','given-up')),
    worker       TEXT,
    worker_mode  TEXT,
    lease        TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    result_id    INTEGER REFERENCES results(id),
    enqueued_at  TEXT    NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
  );
  CREATE UNIQUE INDEX jobs_open ON jobs (unit) WHERE state IN ('queued','running');
  CREATE INDEX jobs_audit ON jobs (audit_id, state);
  `,
  // 3: each unit's last verdicts (the morning report's strip) as one row, so the
  // report reads one short row per unit, not every unit's whole history. The
  // store fills it from the results in the same transaction (AuditStore.refillRecent).
  `
  CREATE TABLE recent_verdicts (
    unit      TEXT    PRIMARY KEY,
    verdicts  TEXT    NOT NULL
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Migration `index` as this dialect runs it. */
export function migrationFor(dialect: Dialect, index: number): string {
  const sql = MIGRATIONS[index]!;
  if (dialect === 'sqlite') return sql;
  return sql.replace(/INTEGER PRIMARY KEY/g, 'INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY');
}
