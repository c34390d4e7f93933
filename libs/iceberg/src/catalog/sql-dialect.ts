import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Pool, type PoolClient } from 'pg';
import { ErrorCode, FatalError, K2Error, redactSecrets, type Logger } from '@k2/core';

/**
 * The two databases the SQL catalog runs on, behind one small async interface. SQL text is written once with `?`
 * placeholders (SQLite's and JDBC's form) and rewritten to `$n` for PostgreSQL.
 */
export type SqlParam = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface SqlDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the database is, credentials removed (for messages and logs). */
  readonly target: string;
  query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  /** INSERT/UPDATE/DELETE/DDL; resolves to the number of rows changed. */
  execute(sql: string, params?: readonly SqlParam[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * `outcome` tells a failed write apart: 'not-applied' when the database answered with an error (the statement
 * rolled back), 'unknown' when the connection broke after the statement may have reached the server.
 */
export type SqlFailureKind = 'duplicate' | 'unavailable' | 'rejected';
export type SqlOutcome = 'not-applied' | 'unknown';

export class SqlStoreError extends K2Error {
  readonly kind: SqlFailureKind;
  readonly outcome: SqlOutcome;
  /** SQLite result code name (SQLITE_BUSY) or PostgreSQL SQLSTATE (23505), when there is one. */
  readonly sqlCode: string | undefined;

  constructor(kind: SqlFailureKind, outcome: SqlOutcome, message: string, sqlCode: string | undefined, cause: unknown) {
    const code =
      kind === 'duplicate' ? ErrorCode.ICEBERG_COMMIT_CONFLICT : kind === 'unavailable' ? ErrorCode.STORAGE_UNAVAILABLE : ErrorCode.STORAGE_REJECTED;
    super(code, message, { retriable: kind !== 'rejected', cause, context: { sqlCode, outcome } });
    this.kind = kind;
    this.outcome = outcome;
    this.sqlCode = sqlCode;
  }
}

export type SqlTarget = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; connectionString: string; display: string };

/**
 * Accepted catalog URIs:
 * - `jdbc:sqlite:file:/abs/path.db`, `jdbc:sqlite:/abs/path.db`, `jdbc:sqlite::memory:` (Java JdbcCatalog; query
 *   parameters are dropped);
 * - `sqlite:////abs/path.db` / `sqlite:///relative.db` (SQLAlchemy, i.e. PyIceberg: three slashes then the path, so
 *   an absolute path has four), `sqlite://` for memory;
 * - `file:///abs/path.db` and a plain filesystem path (relative to `cwd`);
 * - `postgresql://user:pw@host:port/db`, `postgres://…`, `postgresql+psycopg2://…` (SQLAlchemy driver suffix dropped),
 *   `jdbc:postgresql://host:port/db?user=…&password=…` (credentials moved into the URL, other parameters kept).
 */
export function parseSqlUri(uri: string, cwd = process.cwd()): SqlTarget {
  const u = uri.trim();
  const invalid = (why: string) => new FatalError(ErrorCode.CONFIG_INVALID, `catalog URI "${redactUri(u)}": ${why}`);
  if (/^(jdbc:)?postgres(ql)?(\+[\w-]+)?:\/\//i.test(u)) return postgresTarget(u, invalid);
  const jdbcSqlite = /^jdbc:sqlite:(.*)$/i.exec(u);
  if (jdbcSqlite) {
    const rest = jdbcSqlite[1].replace(/\?.*$/, '');
    if (rest === '' || rest === ':memory:' || rest === 'file::memory:') return { dialect: 'sqlite', file: ':memory:' };
    if (/^file:/i.test(rest)) return { dialect: 'sqlite', file: path.resolve(cwd, sqliteFileUriPath(rest)) };
    return { dialect: 'sqlite', file: path.resolve(cwd, rest) };
  }
  const alchemy = /^sqlite(\+[\w-]+)?:\/\/(.*)$/i.exec(u);
  if (alchemy) {
    const rest = alchemy[2].replace(/\?.*$/, '');
    if (rest === '' || rest === '/:memory:') return { dialect: 'sqlite', file: ':memory:' };
    if (!rest.startsWith('/')) throw invalid('expected sqlite:///<path> (four slashes for an absolute path)');
    return { dialect: 'sqlite', file: path.resolve(cwd, decodeURIComponent(rest.slice(1))) };
  }
  if (/^file:/i.test(u)) return { dialect: 'sqlite', file: sqliteFileUriPath(u) };
  if (/^[a-z][\w+.-]*:/i.test(u)) throw invalid('unsupported scheme (use jdbc:sqlite:, sqlite://, a path, postgresql:// or jdbc:postgresql://)');
  if (u === '') throw invalid('empty');
  return { dialect: 'sqlite', file: path.resolve(cwd, u) };
}

/** SQLite URI filenames (`file:/abs`, `file:///abs`, `file:rel`) are percent-decoded, as SQLite itself does. */
function sqliteFileUriPath(u: string): string {
  const noQuery = u.replace(/\?.*$/, '');
  if (/^file:\/\//i.test(noQuery)) return fileURLToPath(noQuery);
  return decodeURIComponent(noQuery.slice('file:'.length));
}

function postgresTarget(u: string, invalid: (why: string) => Error): SqlTarget {
  let url: URL;
  try {
    url = new URL(u.replace(/^jdbc:/i, '').replace(/^postgres(ql)?(\+[\w-]+)?:/i, 'postgresql:'));
  } catch {
    throw invalid('not a valid URL');
  }
  // JDBC passes credentials as query parameters; node-postgres reads them from the authority part.
  for (const [param, field] of [
    ['user', 'username'],
    ['password', 'password'],
  ] as const) {
    const v = url.searchParams.get(param);
    if (v !== null) {
      url[field] = encodeURIComponent(v);
      url.searchParams.delete(param);
    }
  }
  if (!url.hostname) throw invalid('missing host');
  if (url.pathname.length <= 1) throw invalid('missing database name');
  return { dialect: 'postgres', connectionString: url.href, display: redactUri(url.href) };
}

/** A catalog URI fit for logs and errors (`@k2/core`'s `redactSecrets`, the platform's one redaction). */
export function redactUri(uri: string): string {
  return redactSecrets(uri);
}

export interface SqlDatabaseOptions {
  /** SQLite: how long a write waits for another process's lock before SQLITE_BUSY (default 10 s). */
  busyTimeoutMs?: number;
  /** PostgreSQL pool size (default 4). */
  maxConnections?: number;
  /** PostgreSQL connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** PostgreSQL per-statement timeout (default 30 s). */
  statementTimeoutMs?: number;
  logger?: Logger;
}

export function openSqlDatabase(target: SqlTarget, opts: SqlDatabaseOptions = {}): SqlDatabase {
  return target.dialect === 'sqlite' ? new SqliteDatabase(target.file, opts) : new PostgresDatabase(target.connectionString, target.display, opts);
}

/**
 * better-sqlite3 is synchronous: a statement blocks the event loop for at most `busyTimeoutMs` while another
 * process (the Java REST fixture, PyIceberg) holds the lock. The journal mode is left alone on purpose: WAL would
 * change the file for every other client of it, and the REST fixture's JdbcCatalog opens the same file with the
 * default rollback journal.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  readonly target: string;
  private db: Database.Database | undefined;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly file: string,
    private readonly opts: SqlDatabaseOptions = {},
  ) {
    this.target = `sqlite:${file}`;
  }

  async query<T extends SqlRow = SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.run(sql, (s) => s.all(...params) as T[]);
  }

  async execute(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return this.run(sql, (s) => s.run(...params).changes);
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = undefined;
  }

  private run<T>(sql: string, fn: (s: Database.Statement) => T): T {
    try {
      const db = this.open();
      let s = this.statements.get(sql);
      if (!s) {
        s = db.prepare(sql);
        this.statements.set(sql, s);
      }
      return fn(s);
    } catch (e) {
      throw this.wrap(e);
    }
  }

  private open(): Database.Database {
    if (this.db) return this.db;
    if (this.file !== ':memory:') fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.db = new Database(this.file, { timeout: this.opts.busyTimeoutMs ?? 10_000 });
    return this.db;
  }

  private wrap(e: unknown): SqlStoreError {
    if (e instanceof SqlStoreError) return e;
    const code = (e as { code?: unknown }).code;
    const c = typeof code === 'string' ? code : undefined;
    const msg = `${this.target}: ${(e as Error).message}`;
    // A SQLite statement is atomic and runs in this process: every failure leaves the database unchanged.
    if (c === 'SQLITE_CONSTRAINT_PRIMARYKEY' || c === 'SQLITE_CONSTRAINT_UNIQUE') return new SqlStoreError('duplicate', 'not-applied', msg, c, e);
    if (c && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|PROTOCOL|NOLFS)/.test(c)) return new SqlStoreError('unavailable', 'not-applied', msg, c, e);
    if (c === 'ENOSPC' || c === 'EIO' || c === 'EMFILE') return new SqlStoreError('unavailable', 'not-applied', msg, c, e);
    return new SqlStoreError('rejected', 'not-applied', msg, c, e);
  }
}

/** SQLSTATE classes/codes after which trying again later can succeed (PostgreSQL appendix A). */
const PG_RETRIABLE = /^(08|53|57P0[1-3]|40001|40P01|55P03|57014|58)/;
/** Network-level errors from node: the server may or may not have run the statement. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  private readonly pool: Pool;
  private closing: Promise<void> | undefined;

  constructor(
    connectionString: string,
    readonly target: string,
    opts: SqlDatabaseOptions = {},
  ) {
    this.pool = new Pool({
      connectionString,
      max: opts.maxConnections ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 30_000,
      application_name: 'k2-iceberg-catalog',
    });
    // An idle client losing its connection emits 'error' on the pool; unhandled, it would crash the process.
    this.pool.on('error', (err) => opts.logger?.warn('iceberg sql catalog: idle PostgreSQL connection failed', { target, error: err.message }));
  }

  async query<T extends SqlRow = SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return (await this.run(sql, params)).rows as T[];
  }

  async execute(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return (await this.run(sql, params)).rowCount ?? 0;
  }

  /** Idempotent (pg's Pool.end throws when called twice). */
  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  private async run(sql: string, params: readonly SqlParam[]) {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw this.wrap(e, 'not-applied');
    }
    try {
      const r = await client.query(toDollarParams(sql), [...params]);
      client.release();
      return r;
    } catch (e) {
      // A client whose connection broke must not go back into the pool.
      client.release(sqlState(e) ? undefined : (e as Error));
      throw this.wrap(e, 'unknown');
    }
  }

  private wrap(e: unknown, ifNoAnswer: SqlOutcome): SqlStoreError {
    const state = sqlState(e);
    const msg = `${this.target}: ${(e as Error).message}`;
    if (state) {
      // The server answered with an error, so the statement (autocommit) was rolled back.
      if (state === '23505') return new SqlStoreError('duplicate', 'not-applied', msg, state, e);
      if (PG_RETRIABLE.test(state)) return new SqlStoreError('unavailable', 'not-applied', msg, state, e);
      return new SqlStoreError('rejected', 'not-applied', msg, state, e);
    }
    const code = (e as { code?: unknown }).code;
    const netCode = typeof code === 'string' && NET_CODES.has(code) ? code : undefined;
    // Without a SQLSTATE the failure is the connection itself (refused, reset, "Connection terminated", timeouts).
    return new SqlStoreError('unavailable', netCode === 'ECONNREFUSED' ? 'not-applied' : ifNoAnswer, msg, netCode, e);
  }
}

function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && (e as { severity?: unknown }).severity !== undefined ? code : undefined;
}

/** `?` → `$1…$n`; the catalog's SQL has no `?` inside literals. */
export function toDollarParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
