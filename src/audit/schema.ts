/**
 * The audit database's schema, as numbered migrations. `PRAGMA user_version`
 * holds the number of migrations applied; each runs in its own transaction,
 * so a database is always at one version or the next, never between.
 * Append migrations; never edit one that has shipped.
 */
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;
