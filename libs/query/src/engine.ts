import {
  BIGINT,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBTimestampTZValue,
  INTEGER,
  LIST,
  JSDuckDBValueConverter,
  TIMESTAMPTZ,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBMaterializedResult,
  type DuckDBType,
} from '@duckdb/node-api';
import path from 'node:path';
import { ErrorCode, FatalError, K2Error, TransientError } from '@k2/core';
import { isKnownSql, SANDBOX_SQL, SQL, type SandboxSqlName, type SqlName } from './sql';

/** A bound parameter value; bigint µs for timestamps (typed by the parameter's declared kind). */
export type SqlValue = string | number | bigint | null | readonly string[] | readonly bigint[];

/** Declared type of every parameter name used in sql.ts. */
const PARAM_TYPES: Record<string, DuckDBType> = {
  files: LIST(VARCHAR),
  ids: LIST(VARCHAR),
  symbols: LIST(VARCHAR),
  asset_class: VARCHAR,
  symbol: VARCHAR,
  exchange: VARCHAR,
  start: TIMESTAMPTZ,
  end: TIMESTAMPTZ,
  cursor_ts: TIMESTAMPTZ,
  cursor_id: VARCHAR,
  limit: INTEGER,
  bucket_us: BIGINT,
  dirs: LIST(VARCHAR),
  // Reference data (issue 16 part 6).
  record_type: VARCHAR,
  // export (issue 16): the captured tail rows and spool paths ($symbols, $asset_class: cross-source reads above)
  tail: VARCHAR,
  tail_min: TIMESTAMPTZ,
  tail_max: TIMESTAMPTZ,
  rows: VARCHAR,
  path: VARCHAR,
  // Trading days and time zones (issue 16): SQL.barsBounded's bucket lists, epoch µs.
  bucket_starts: LIST(BIGINT),
  bucket_ends: LIST(BIGINT),
  // Replay-then-follow (issue 16).
  after_ts: TIMESTAMPTZ,
  after_id: VARCHAR,
};

function toDuck(name: string, v: SqlValue): unknown {
  if (v === null) return null;
  const t = PARAM_TYPES[name];
  if (t === TIMESTAMPTZ) return new DuckDBTimestampTZValue(v as bigint);
  if (Array.isArray(v)) return new DuckDBListValue([...v]);
  return v;
}

export interface EngineOptions {
  /** DuckDB worker threads (shared by all connections). */
  threads?: number;
  memoryLimit?: string;
  /** Connections, i.e. queries that may run at once. */
  connections?: number;
  /**
   * The only directories DuckDB may read (the local warehouse, the S3 download cache). Every other file, every
   * URL and every extension download is refused: external access is off and the configuration is locked, so not
   * even a statement could turn it back on. Default: none (the engine can read nothing but what is allowed).
   */
  allowedDirectories?: readonly string[];
}

/** Directories as allowed_directories takes them: absolute, ending with a separator so `/cache` does not also allow `/cache-other`. */
export function sandboxDirectories(dirs: readonly string[]): string[] {
  return dirs.map((d) => `${path.resolve(d)}${path.sep}`.replace(/\/+$/, '/'));
}

/**
 * DuckDB for reads: one in-memory database, a small pool of connections (a connection runs one query at a time),
 * and only the statements of sql.ts. Parquet footers are cached between queries (enable_object_cache), which
 * matters because the same immutable files are read by request after request.
 */
export class QueryEngine {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiters: Array<(c: DuckDBConnection) => void> = [];
  private readonly prepared = new Map<DuckDBConnection, Map<SqlName, DuckDBPreparedStatement>>();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly all: DuckDBConnection[],
  ) {
    this.idle.push(...all);
  }

  static async create(opts: EngineOptions = {}): Promise<QueryEngine> {
    // No extension is ever installed or loaded on demand: Parquet is built into the bindings.
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(opts.threads ?? 2),
      memory_limit: opts.memoryLimit ?? '1GB',
      enable_object_cache: 'true',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const conns: DuckDBConnection[] = [];
    for (let i = 0; i < (opts.connections ?? 4); i++) conns.push(await instance.connect());
    // Instance-wide, before any read and in this order (see SANDBOX_SQL).
    await sandbox(conns[0], 'allowDirectories', { dirs: sandboxDirectories(opts.allowedDirectories ?? []) });
    await sandbox(conns[0], 'disableExternalAccess', {});
    await sandbox(conns[0], 'lockConfiguration', {});
    return new QueryEngine(instance, conns);
  }

  /**
   * Runs one statement of sql.ts with named parameters; rows as plain objects (VARCHAR → string, BIGINT →
   * bigint, lists → arrays). `signal` interrupts the running query (deadline reached).
   */
  query(name: SqlName, params: Record<string, SqlValue>, signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    return this.execute(name, params, signal, async (stmt) => (await stmt.runAndReadAll()).getRowObjectsJS() as Record<string, unknown>[]);
  }

  /**
   * The same, as one JS array per column (no object per row), converted one column of one 2048-row chunk at a
   * time with a turn of the event loop in between: for loading many rows in the background (a hot-tier slice)
   * without holding up the requests being served meanwhile.
   */
  queryColumns(name: SqlName, params: Record<string, SqlValue>, signal?: AbortSignal): Promise<Record<string, unknown[]>> {
    return this.execute(name, params, signal, async (stmt) => columnsYielding(await stmt.run()));
  }

  /**
   * Export (issue 16): runs a statement whose first column is text and hands it over one DuckDB chunk (2048 rows)
   * at a time, from a streaming result, so the whole answer is never held; `onChunk` may wait (the client's
   * backpressure) while the connection stays held. Returns the rows streamed.
   */
  streamLines(name: SqlName, params: Record<string, SqlValue>, signal: AbortSignal | undefined, onChunk: (lines: string[]) => Promise<void> | void): Promise<number> {
    return this.execute(name, params, signal, async (stmt) => {
      const result = await stmt.stream();
      let rows = 0;
      for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        rows += chunk.rowCount;
        await onChunk(chunk.getColumnValues(0) as string[]);
        if (signal?.aborted) throw signal.reason;
      }
      // An interrupt between chunks ends a streaming result as if it were complete: never report that as success.
      if (signal?.aborted) throw signal.reason;
      return rows;
    });
  }

  private async execute<T>(name: SqlName, params: Record<string, SqlValue>, signal: AbortSignal | undefined, read: (s: DuckDBPreparedStatement) => Promise<T>): Promise<T> {
    const text = SQL[name];
    if (!isKnownSql(text)) throw new FatalError(ErrorCode.INTERNAL, `refusing to run SQL that is not in sql.ts (${name})`);
    const conn = await this.acquire(signal).catch((e: unknown) => {
      throw classify(e, name, signal);
    });
    const onAbort = () => conn.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw signal.reason;
      let byName = this.prepared.get(conn);
      if (!byName) this.prepared.set(conn, (byName = new Map()));
      let stmt = byName.get(name);
      if (!stmt) byName.set(name, (stmt = await conn.prepare(text)));
      bindAll(stmt, name, params);
      return await read(stmt);
    } catch (e) {
      throw classify(e, name, signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.release(conn);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.all) c.closeSync();
    this.instance.closeSync();
  }

  /** A free connection, or a place in the queue for one; leaves the queue when `signal` aborts. */
  private acquire(signal?: AbortSignal): Promise<DuckDBConnection> {
    if (this.closed) return Promise.reject(new K2Error(ErrorCode.SHUTTING_DOWN, 'query engine is closed', { retriable: true }));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const c = this.idle.pop();
    if (c) return Promise.resolve(c);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const waiter = (conn: DuckDBConnection) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(conn);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private release(c: DuckDBConnection): void {
    const w = this.waiters.shift();
    if (w) w(c);
    else this.idle.push(c);
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function columnsYielding(result: DuckDBMaterializedResult): Promise<Record<string, unknown[]>> {
  const names = result.columnNames();
  const out: Record<string, unknown[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    for (let c = 0; c < names.length; c++) {
      const col = out[names[c]];
      chunk.visitColumnValues(c, (v, _r, _c, type) => col.push(JSDuckDBValueConverter(v, type, JSDuckDBValueConverter)));
      await turn();
    }
  }
  return out;
}

async function sandbox(conn: DuckDBConnection, name: SandboxSqlName, params: Record<string, SqlValue>): Promise<void> {
  const text = SANDBOX_SQL[name];
  const stmt = await conn.prepare(text);
  bindAll(stmt, name, params);
  await stmt.run();
}

/** Binds every parameter the statement declares, typed by PARAM_TYPES; a missing one is a bug. */
function bindAll(stmt: DuckDBPreparedStatement, name: string, params: Record<string, SqlValue>): void {
  const values: Record<string, unknown> = {};
  const types: Record<string, DuckDBType> = {};
  for (let i = 1; i <= stmt.parameterCount; i++) {
    const p = stmt.parameterName(i);
    if (!(p in params)) throw new FatalError(ErrorCode.INTERNAL, `SQL ${name}: parameter $${p} not bound`);
    values[p] = toDuck(p, params[p]);
    types[p] = PARAM_TYPES[p];
  }
  stmt.bind(values as Parameters<DuckDBPreparedStatement['bind']>[0], types);
}

/**
 * DuckDB reports failures as plain Errors whose message starts with its error class. Reading a file that
 * vanished or cannot be opened is the storage's problem (retriable, counts against the storage breaker); anything
 * else is a bug in a statement (not retriable, a 500).
 */
function classify(e: unknown, name: string, signal?: AbortSignal): unknown {
  if (e instanceof K2Error) return e;
  if (signal?.aborted) return signal.reason instanceof K2Error ? signal.reason : new TransientError(ErrorCode.TIMEOUT, `query ${name} interrupted at its deadline`, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  // A planned file outside QUERY_DUCKDB_ALLOWED_DIRS: a deployment mistake, not a storage outage and not retriable.
  if (/^(Error: )?Permission Error/.test(msg)) return new FatalError(ErrorCode.STORAGE_REJECTED, `query ${name}: the engine may not read this file (allowed directories): ${msg}`, { cause: e });
  if (/^(IO|HTTP) Error|No files found|Cannot open file|Interrupt/i.test(msg)) {
    return new TransientError(ErrorCode.STORAGE_UNAVAILABLE, `query ${name}: ${msg}`, { cause: e });
  }
  return new FatalError(ErrorCode.INTERNAL, `query ${name} failed: ${msg}`, { cause: e });
}
