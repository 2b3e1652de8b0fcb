/**
 * The PostgreSQL driver: a pg pool, `?` placeholders turned into `$n`, every
 * transaction serialised against the other writers by a transaction-scoped
 * advisory lock (the same guarantee SQLite's BEGIN IMMEDIATE gives the store),
 * the schema version in a one-row table. Errors name the database by its
 * redacted connection string only: the password never reaches a message.
 */
import pg from 'pg';
import { RebuildError } from '../../util/errors.js';
import {
  redactText,
  redactUrl,
  type SqlDatabase,
  type SqlExec,
  type SqlTransaction,
  type SqlValue,
  type TransactionOptions,
} from './sql.js';

/** The advisory lock key the store's write transactions take ("rebuild" in ASCII, truncated). */
const WRITE_LOCK = 0x72656275;

function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

class PgExec implements SqlExec {
  readonly dialect = 'postgres' as const;
  constructor(
    protected readonly q: Queryable,
    protected readonly location: string,
  ) {}

  async all<T>(sql: string, args: readonly SqlValue[] = []): Promise<T[]> {
    try {
      return (await this.q.query(numbered(sql), [...args])).rows as T[];
    } catch (err) {
      throw postgresError(err, this.location);
    }
  }

  async get<T>(sql: string, args: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, args))[0];
  }

  async run(sql: string, args: readonly SqlValue[] = []): Promise<number> {
    try {
      return (await this.q.query(numbered(sql), [...args])).rowCount ?? 0;
    } catch (err) {
      throw postgresError(err, this.location);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.q.query(sql);
    } catch (err) {
      throw postgresError(err, this.location);
    }
  }
}

class PgTx extends PgExec implements SqlTransaction {
  constructor(
    readonly native: pg.PoolClient,
    location: string,
  ) {
    super(native, location);
  }
}

export interface PostgresOptions {
  /** Connections in the pool (default 4). */
  max?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

export class PostgresDatabase extends PgExec implements SqlDatabase {
  override readonly location: string;
  private readonly pool: pg.Pool;

  private constructor(pool: pg.Pool, location: string) {
    super(pool, location);
    this.pool = pool;
    this.location = location;
  }

  /** Connects (once, to fail early with a clear line) and keeps a pool. */
  static async open(url: string, opts: PostgresOptions = {}): Promise<PostgresDatabase> {
    const location = redactUrl(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      application_name: 'rebuild',
    });
    // An idle connection the server (or the network) dropped: the pool replaces it.
    pool.on('error', () => undefined);
    try {
      const c = await pool.connect();
      c.release();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw postgresError(err, location);
    }
    return new PostgresDatabase(pool, location);
  }

  async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw postgresError(err, this.location);
    }
    let broken = false;
    try {
      // One round trip for both. Shared: excludes the exclusive writers, not the other row-locked ones.
      await client.query(
        `BEGIN; SELECT ${opts.exclusive === false ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'}(${WRITE_LOCK})`,
      );
      const out = await fn(new PgTx(client, this.location));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw postgresError(err, this.location);
    } finally {
      client.release(broken);
    }
  }

  async schemaVersion(tx?: SqlExec): Promise<number> {
    // Under the write lock: two processes opening a new database at once would race on the CREATE.
    if (!tx) return this.transaction((t) => this.schemaVersion(t));
    const q = tx;
    await q.exec('CREATE TABLE IF NOT EXISTS rebuild_schema (version INTEGER NOT NULL)');
    const row = await q.get<{ version: number }>('SELECT max(version) AS version FROM rebuild_schema');
    return row?.version ?? 0;
  }

  async setSchemaVersion(tx: SqlExec, version: number): Promise<void> {
    await tx.run('DELETE FROM rebuild_schema');
    await tx.run('INSERT INTO rebuild_schema (version) VALUES (?)', [version]);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** Connection-level failures: worth retrying with backoff (the server or the network is back soon). */
export function isConnectionError(err: unknown): boolean {
  const e = (err instanceof RebuildError ? err.cause : err) as
    | { code?: string; message?: string }
    | undefined;
  const code = e?.code ?? '';
  if (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'EPIPE',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENOTFOUND',
      '57P01',
      '57P03',
      '08006',
      '08003',
      '08001',
    ].includes(code)
  )
    return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(
    e?.message ?? '',
  );
}

/** A pg error as one clear line naming the (redacted) database. */
export function postgresError(err: unknown, location: string): RebuildError {
  if (err instanceof RebuildError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const raw = redactText(String(e.message ?? err));
  let message = `cannot use the audit database: ${raw}`;
  let fix = 'check the server, the database and the connection string';
  if (code === '28P01' || code === '28000') {
    message = 'the PostgreSQL server refused the credentials';
    fix = 'check the user and password in the connection string (or PGPASSWORD / ~/.pgpass)';
  } else if (code === '3D000') {
    message = 'the database does not exist on the PostgreSQL server';
    fix = 'create it (createdb) or correct the database name in the connection string';
  } else if (isConnectionError(err)) {
    message = `cannot reach the PostgreSQL server (${code || raw})`;
    fix = 'check that the server runs and the host and port in the connection string';
  }
  return new RebuildError('state', message, { subject: location, fix, cause: err });
}
