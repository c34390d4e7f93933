import { gunzipSync } from 'node:zlib';
import { ErrorCode, FatalError, TransientError, type Logger } from '@k2/core';
import { parseIcebergJson, stringifyIcebergJson } from '../json';
import {
  applyUpdates,
  checkRequirements,
  commitConflict,
  newTableMetadata,
  nextMetadataLocation,
  withMetadataLog,
  type TableRequirement,
  type TableUpdate,
} from '../metadata';
import type { TableIdent, TableMetadata } from '../spec';
import type { FileIO } from '../io/file-io';
import type { Catalog, CreateTableRequest, LoadedTable } from './catalog';
import { openSqlDatabase, parseSqlUri, SqlStoreError, type SqlDatabase, type SqlDatabaseOptions, type SqlParam } from './sql-dialect';

/**
 * The catalog name the local Iceberg REST fixture (tools/infra, K2RestCatalogServer) gives its JdbcCatalog:
 * RESTCatalogServer's `catalog.name` default. Rows are keyed by catalog name, so this default lets a SqlCatalog
 * on $K2_DATA_DIR/iceberg/catalog.db see exactly the tables the REST fixture serves.
 */
export const DEFAULT_SQL_CATALOG_NAME = 'rest_backend';

/**
 * DDL of Java's JdbcUtil (V0_CREATE_CATALOG_SQL followed by V1_UPDATE_CATALOG_SQL, which adds `iceberg_type`, and
 * CREATE_NAMESPACE_PROPERTIES_TABLE_SQL), with IF NOT EXISTS. PyIceberg's SQLAlchemy model declares the same
 * tables (it marks property_key/property_value NOT NULL; we never write NULL there), so whichever of the three
 * creates the database first, the others accept it: Java finds the iceberg_type column and does not migrate,
 * PyIceberg probes for it and runs in "v1" mode.
 */
const CREATE_TABLES_SQL =
  'CREATE TABLE IF NOT EXISTS iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,' +
  'table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),' +
  'iceberg_type VARCHAR(5),PRIMARY KEY (catalog_name, table_namespace, table_name))';
const CREATE_NAMESPACE_PROPERTIES_SQL =
  'CREATE TABLE IF NOT EXISTS iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,namespace VARCHAR(255) NOT NULL,' +
  'property_key VARCHAR(255),property_value VARCHAR(1000),PRIMARY KEY (catalog_name, namespace, property_key))';

/** JdbcUtil: rows with iceberg_type 'VIEW' are views; NULL (V0 writers, PyIceberg v0 mode) or 'TABLE' are tables. */
const TABLE_FILTER = "(iceberg_type = 'TABLE' OR iceberg_type IS NULL)";

/** PostgreSQL: 42P07 duplicate_table when two processes create the tables at once. */
const DUPLICATE_TABLE_STATES = new Set(['42P07', '23505']);

export interface SqlCatalogOptions {
  /** See `parseSqlUri` for the accepted forms (jdbc:sqlite:, sqlite://, paths, postgresql://, jdbc:postgresql://). */
  uri: string;
  /** Root of default table locations, e.g. `file:///data/warehouse` or `s3://bucket/prefix`. */
  warehouse: string;
  /** `iceberg_tables.catalog_name`; defaults to DEFAULT_SQL_CATALOG_NAME. */
  name?: string;
  logger?: Logger;
  database?: SqlDatabaseOptions;
}

type SchemaVersion = 'v0' | 'v1';

type TableRow = { metadata_location: string | null };

/**
 * Iceberg catalog in the JDBC layout shared by Java's JdbcCatalog and PyIceberg's SqlCatalog, on SQLite or
 * PostgreSQL. Commits follow JdbcTableOperations.doCommit: write a new metadata file, then swap the pointer with
 * `UPDATE … WHERE metadata_location = <the one we read>`; zero rows changed means another writer won.
 */
export class SqlCatalog implements Catalog {
  readonly name: string;
  private readonly db: SqlDatabase;
  private readonly warehouse: string;
  private readonly log: Logger | undefined;
  private ready: Promise<SchemaVersion> | undefined;

  constructor(
    readonly io: FileIO,
    opts: SqlCatalogOptions,
    db?: SqlDatabase,
  ) {
    this.name = opts.name ?? DEFAULT_SQL_CATALOG_NAME;
    this.warehouse = opts.warehouse.replace(/\/+$/, '');
    this.log = opts.logger;
    this.db = db ?? openSqlDatabase(parseSqlUri(opts.uri), { ...opts.database, logger: opts.logger });
  }

  async createNamespace(namespace: string[], properties: Record<string, string> = {}): Promise<void> {
    const ns = namespaceString(namespace);
    await this.init();
    if (await this.namespaceExists(namespace)) return;
    // JdbcCatalog.createNamespace and PyIceberg both store `exists`=`true` so a namespace without properties has a row.
    const props = Object.entries({ ...properties, exists: 'true' });
    const values = props.map(() => '(?, ?, ?, ?)').join(', ');
    const params = props.flatMap(([k, v]): SqlParam[] => [this.name, ns, k, v]);
    // DO NOTHING: a concurrent creator of the same namespace is not an error (createNamespace is idempotent).
    await this.db.execute(
      `INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value) VALUES ${values} ON CONFLICT DO NOTHING`,
      params,
    );
  }

  /** As JdbcUtil.namespaceExists: a namespace exists if it has properties, tables, or child namespaces. */
  async namespaceExists(namespace: string[]): Promise<boolean> {
    const ns = namespaceString(namespace);
    await this.init();
    const like = ns.replace(/[!_%]/g, (c) => `!${c}`) + '.%';
    const rows = await this.db.query<{ ns: string }>(
      "SELECT table_namespace AS ns FROM iceberg_tables WHERE catalog_name = ? AND (table_namespace = ? OR table_namespace LIKE ? ESCAPE '!') " +
        "UNION SELECT namespace AS ns FROM iceberg_namespace_properties WHERE catalog_name = ? AND (namespace = ? OR namespace LIKE ? ESCAPE '!')",
      [this.name, ns, like, this.name, ns, like],
    );
    // SQLite's LIKE ignores ASCII case; the exact test is done here.
    return rows.some((r) => r.ns === ns || r.ns.startsWith(`${ns}.`));
  }

  async listTables(namespace: string[]): Promise<TableIdent[]> {
    const ns = namespaceString(namespace);
    const v = await this.init();
    if (!(await this.namespaceExists(namespace))) throw notFound(`namespace ${ns} does not exist`);
    const rows = await this.db.query<{ table_name: string }>(
      `SELECT table_name FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ?${v === 'v1' ? ` AND ${TABLE_FILTER}` : ''} ORDER BY table_name`,
      [this.name, ns],
    );
    return rows.map((r) => ({ namespace: [...namespace], name: r.table_name }));
  }

  async tableExists(ident: TableIdent): Promise<boolean> {
    return (await this.row(ident)) !== undefined;
  }

  async loadTable(ident: TableIdent): Promise<LoadedTable> {
    const row = await this.row(ident);
    if (!row?.metadata_location) throw notFound(`table ${identName(ident)} does not exist`);
    return { ident, metadata: await this.readMetadata(row.metadata_location), metadataLocation: row.metadata_location };
  }

  async createTable(ident: TableIdent, req: CreateTableRequest): Promise<LoadedTable> {
    const ns = namespaceString(ident.namespace);
    checkName(ident.name);
    const v = await this.init();
    if (!(await this.namespaceExists(ident.namespace))) throw notFound(`namespace ${ns} does not exist`);
    // Checked first so the common "already exists" case leaves no metadata file behind; the INSERT decides races.
    if (await this.tableExists(ident)) throw commitConflict(`table ${identName(ident)} already exists`);
    const location = (req.location ?? this.defaultLocation(ident)).replace(/\/+$/, '');
    const metadata = newTableMetadata({ location, schema: req.schema, spec: req.spec, sortOrder: req.sortOrder, properties: req.properties });
    const metadataLocation = nextMetadataLocation(metadata, undefined);
    await this.io.write(metadataLocation, Buffer.from(stringifyIcebergJson(metadata)));
    const sql =
      v === 'v1'
        ? "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type) VALUES (?, ?, ?, ?, NULL, 'TABLE')"
        : 'INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location) VALUES (?, ?, ?, ?, NULL)';
    try {
      await this.db.execute(sql, [this.name, ns, ident.name, metadataLocation]);
    } catch (e) {
      if (e instanceof SqlStoreError && e.outcome === 'unknown') {
        if (await this.swapLanded(ident, metadataLocation, e)) return { ident, metadata, metadataLocation };
        throw e;
      }
      await this.discard(metadataLocation, e);
      if (e instanceof SqlStoreError && e.kind === 'duplicate') throw commitConflict(`table ${identName(ident)} already exists`);
      throw e;
    }
    return { ident, metadata, metadataLocation };
  }

  async commitTable(ident: TableIdent, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable> {
    const v = await this.init();
    const row = await this.row(ident);
    if (!row?.metadata_location) throw notFound(`table ${identName(ident)} does not exist`);
    const baseLocation = row.metadata_location;
    const base = await this.readMetadata(baseLocation);
    if (base['format-version'] !== 2) {
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `table ${identName(ident)} has format version ${String(base['format-version'])}; only v2 is written`);
    }
    checkRequirements(base, requirements);
    if (updates.length === 0) return { ident, metadata: base, metadataLocation: baseLocation };

    const next = withMetadataLog(applyUpdates(base, updates), baseLocation, base['last-updated-ms']);
    const nextLocation = nextMetadataLocation(next, baseLocation);
    await this.io.write(nextLocation, Buffer.from(stringifyIcebergJson(next)));
    let changed: number;
    try {
      changed = await this.db.execute(
        'UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? ' +
          `WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ?${v === 'v1' ? ` AND ${TABLE_FILTER}` : ''}`,
        [nextLocation, baseLocation, this.name, namespaceString(ident.namespace), ident.name, baseLocation],
      );
    } catch (e) {
      if (e instanceof SqlStoreError && e.outcome === 'unknown') {
        if (await this.swapLanded(ident, nextLocation, e)) return { ident, metadata: next, metadataLocation: nextLocation };
        throw e;
      }
      await this.discard(nextLocation, e);
      throw e;
    }
    if (changed === 0) {
      // Nothing references the new file: the pointer moved on (or the table was dropped) since we read it.
      await this.discard(nextLocation, undefined);
      throw commitConflict(`table ${identName(ident)} was updated concurrently: ${baseLocation} is no longer current`);
    }
    return { ident, metadata: next, metadataLocation: nextLocation };
  }

  async dropTable(ident: TableIdent): Promise<void> {
    const v = await this.init();
    const n = await this.db.execute(
      `DELETE FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?${v === 'v1' ? ` AND ${TABLE_FILTER}` : ''}`,
      [this.name, namespaceString(ident.namespace), ident.name],
    );
    if (n === 0) throw notFound(`table ${identName(ident)} does not exist`);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** JdbcCatalog.defaultWarehouseLocation: `<warehouse>/<level1>/…/<name>` (PyIceberg's SqlCatalog agrees). */
  defaultLocation(ident: TableIdent): string {
    return [this.warehouse, ...ident.namespace, ident.name].join('/');
  }

  private async row(ident: TableIdent): Promise<TableRow | undefined> {
    const v = await this.init();
    const rows = await this.db.query<TableRow>(
      `SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?${v === 'v1' ? ` AND ${TABLE_FILTER}` : ''}`,
      [this.name, namespaceString(ident.namespace), ident.name],
    );
    return rows[0];
  }

  private async readMetadata(location: string): Promise<TableMetadata> {
    const raw = await this.io.read(location);
    // `write.metadata.compression-codec=gzip` files (Java names them .gz.metadata.json) are recognised by magic.
    const bytes = raw.length > 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    let m: unknown;
    try {
      m = parseIcebergJson(bytes.toString('utf8'));
    } catch (e) {
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `metadata file ${location} is not valid JSON`, { cause: e });
    }
    if (typeof m !== 'object' || m === null || !('format-version' in m) || !('location' in m)) {
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `metadata file ${location} is not Iceberg table metadata`);
    }
    return m as TableMetadata;
  }

  /**
   * After a write whose outcome is unknown (the PostgreSQL connection broke mid-statement): it landed if the row
   * now points at our file. Otherwise the write most likely never ran, but it may also have landed and been
   * superseded already, so the file is kept (an orphan for maintenance at worst) and the retriable error stands:
   * a retry reloads the table and its requirements reject a second application.
   */
  private async swapLanded(ident: TableIdent, location: string, cause: SqlStoreError): Promise<boolean> {
    let current: string | null | undefined;
    try {
      current = (await this.row(ident))?.metadata_location;
    } catch (e) {
      throw new TransientError(ErrorCode.STORAGE_UNAVAILABLE, `${identName(ident)}: commit state unknown (${cause.message}); ${location} kept`, {
        cause: e,
        context: { commitState: 'unknown', metadataLocation: location },
      });
    }
    return current === location;
  }

  private async discard(location: string, cause: unknown): Promise<void> {
    try {
      await this.io.delete(location);
    } catch (e) {
      this.log?.warn('iceberg sql catalog: could not delete an uncommitted metadata file', { location, error: (e as Error).message, cause: (cause as Error | undefined)?.message });
    }
  }

  private init(): Promise<SchemaVersion> {
    this.ready ??= this.createTables().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  /**
   * Probes before creating (as PyIceberg does) so opening a shared, existing catalog takes no write lock; then
   * detects whether `iceberg_type` exists. A V0 database (no such column) is used as it is, not migrated: the
   * other tools sharing it may not expect the change.
   */
  private async createTables(): Promise<SchemaVersion> {
    for (const [table, ddl] of [
      ['iceberg_tables', CREATE_TABLES_SQL],
      ['iceberg_namespace_properties', CREATE_NAMESPACE_PROPERTIES_SQL],
    ] as const) {
      if (await this.probe(`SELECT 1 FROM ${table} WHERE 1 = 0`)) continue;
      try {
        await this.db.execute(ddl);
      } catch (e) {
        if (!(e instanceof SqlStoreError && e.sqlCode !== undefined && DUPLICATE_TABLE_STATES.has(e.sqlCode))) throw e;
      }
    }
    if (await this.probe('SELECT iceberg_type FROM iceberg_tables WHERE 1 = 0')) return 'v1';
    this.log?.warn('iceberg sql catalog: iceberg_tables has no iceberg_type column (V0 schema); views cannot be told apart', { target: this.db.target });
    return 'v0';
  }

  /** True if the statement runs; false if the database rejects it (missing table/column); unavailability throws. */
  private async probe(sql: string): Promise<boolean> {
    try {
      await this.db.query(sql);
      return true;
    } catch (e) {
      if (e instanceof SqlStoreError && e.kind === 'rejected') return false;
      throw e;
    }
  }
}

function notFound(message: string): FatalError {
  return new FatalError(ErrorCode.ICEBERG_NOT_FOUND, message);
}

const identName = (t: TableIdent): string => [...t.namespace, t.name].join('.');

/** JDBC and PyIceberg store multi-level namespaces joined by '.', so a level must not contain one. */
function namespaceString(levels: readonly string[]): string {
  if (levels.length === 0) throw new FatalError(ErrorCode.ICEBERG_INVALID, 'namespace must have at least one level');
  for (const l of levels) checkName(l);
  return levels.join('.');
}

function checkName(s: string): void {
  if (s.length === 0 || s.includes('.')) throw new FatalError(ErrorCode.ICEBERG_INVALID, `invalid namespace level or table name "${s}" (empty or contains '.')`);
}
