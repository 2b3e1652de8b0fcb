/**
 * What the audit store needs from a database, and nothing more: statements
 * with `?` placeholders, transactions, a schema version. SQLite (the embedded
 * default) and PostgreSQL (`--db postgresql://…`) each implement it once, so
 * the store's SQL is written once for both.
 */
export type SqlValue = string | number | null;
export type Dialect = 'sqlite' | 'postgres';

export interface SqlExec {
  readonly dialect: Dialect;
  /** Rows of a query (or of a statement with RETURNING). */
  all<T>(sql: string, args?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, args?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, args?: readonly SqlValue[]): Promise<number>;
  /** Several statements without arguments (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlTransaction extends SqlExec {
  /**
   * The driver's own connection for this transaction (PostgreSQL: a pg
   * client), so that a queue library can complete a job in the same
   * transaction as the result it produced.
   */
  readonly native: unknown;
}

export interface TransactionOptions {
  /**
   * false: the transaction only writes rows no other non-exclusive one
   * writes at the same time (the farm's workers each record their own job,
   * one open job per unit), so such transactions need not wait for one
   * another; they still exclude, and wait for, the exclusive ones
   * (PostgreSQL: the advisory lock taken shared). SQLite has one writer
   * anyway. Default true.
   */
  exclusive?: boolean;
}

export interface SqlDatabase extends SqlExec {
  /** Where it is, safe to print (a connection string without its password). */
  readonly location: string;
  /**
   * Runs `fn` in one transaction that excludes every other writer of the
   * database (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped
   * advisory lock), so read-then-write logic needs no retry loop.
   */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  schemaVersion(tx?: SqlExec): Promise<number>;
  setSchemaVersion(tx: SqlExec, version: number): Promise<void>;
  close(): Promise<void>;
}

/** A connection string names PostgreSQL; anything else is an SQLite file path. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(db);
}

/** The connection string with its password (and any password parameter) replaced by `***`. */
export function redactUrl(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const u = new URL(db);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(k)) u.searchParams.set(k, '***');
    }
    return u.toString();
  } catch {
    // not parseable: hide everything between the scheme and the host
    return db.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Any connection string inside a message, its password replaced by `***`. */
export function redactText(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@\s]*@/gi, '$1***@');
}
