/**
 * The SQLite driver: better-sqlite3, WAL, a busy timeout, the schema version
 * in `user_version`. Calls are synchronous underneath; a promise chain keeps
 * one transaction at a time on the connection, so concurrent async callers
 * of one store never see each other's half-done transaction.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { RebuildError } from '../../util/errors.js';
import type { SqlDatabase, SqlExec, SqlTransaction, SqlValue } from './sql.js';

const SQLITE_MAGIC = 'SQLite format 3\0';

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
      { subject: path, fix: FIX_NOT_DB },
    );
  }
}

class SqliteExec implements SqlExec {
  readonly dialect = 'sqlite' as const;
  constructor(protected readonly db: Database.Database) {}

  async all<T>(sql: string, args: readonly SqlValue[] = []): Promise<T[]> {
    const stmt = this.db.prepare(sql);
    if (!stmt.reader) {
      stmt.run(...args);
      return [];
    }
    return stmt.all(...args) as T[];
  }

  async get<T>(sql: string, args: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, args))[0];
  }

  async run(sql: string, args: readonly SqlValue[] = []): Promise<number> {
    return this.db.prepare(sql).run(...args).changes;
  }

  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }
}

class SqliteTx extends SqliteExec implements SqlTransaction {
  get native(): unknown {
    return this.db;
  }
}

export class SqliteDatabase extends SqliteExec implements SqlDatabase {
  readonly location: string;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(path: string, db: Database.Database) {
    super(db);
    this.location = path;
  }

  /**
   * Opens (or creates) the file. Anything that is not an SQLite database is
   * refused with a RebuildError('state') naming the file, and left untouched.
   */
  static open(path: string, busyTimeoutMs = 30_000): SqliteDatabase {
    checkFile(path);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new RebuildError(
        'state',
        `cannot create the directory of the audit database: ${(err as Error).message}`,
        { subject: path, fix: 'choose a writable --db path' },
      );
    }
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: busyTimeoutMs });
    } catch (err) {
      throw new RebuildError('state', `cannot open the audit database: ${(err as Error).message}`, {
        subject: path,
        fix: 'choose a writable --db path',
      });
    }
    try {
      // Read first: a file that is not a database fails here, before any write.
      db.pragma('user_version', { simple: true });
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
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
      return new SqliteDatabase(path, db);
    } catch (err) {
      db.close();
      throw sqliteError(err, path);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  override all<T>(sql: string, args?: readonly SqlValue[]): Promise<T[]> {
    return this.serial(() => super.all<T>(sql, args));
  }

  override run(sql: string, args?: readonly SqlValue[]): Promise<number> {
    return this.serial(() => super.run(sql, args));
  }

  override exec(sql: string): Promise<void> {
    return this.serial(() => super.exec(sql));
  }

  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(new SqliteTx(this.db));
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async setSchemaVersion(_tx: SqlExec, version: number): Promise<void> {
    this.db.pragma(`user_version = ${Math.trunc(version)}`);
  }

  async close(): Promise<void> {
    await this.tail;
    if (this.db.open) this.db.close();
  }
}

/** An SQLite error as the RebuildError a user can act on. */
export function sqliteError(err: unknown, path: string): RebuildError {
  if (err instanceof RebuildError) return err;
  const code = (err as { code?: string }).code ?? '';
  const notDb = code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT';
  return new RebuildError(
    'state',
    notDb
      ? `is not a usable audit database (${(err as Error).message})`
      : `cannot use the audit database: ${(err as Error).message}`,
    { subject: path, fix: notDb ? FIX_NOT_DB : 'check the file and its permissions', cause: err },
  );
}
