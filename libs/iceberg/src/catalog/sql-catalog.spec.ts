import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { ErrorCode, K2Error } from '@k2/core';
import { currentSnapshot, type TableRequirement, type TableUpdate } from '../metadata';
import type { Long, PartitionSpec, Schema, Snapshot, SortOrder, TableMetadata } from '../spec';
import { LocalFileIO, toPath } from '../io/local-file-io';
import type { FileIO } from '../io/file-io';
import type { LoadedTable } from './catalog';
import { DEFAULT_SQL_CATALOG_NAME, SqlCatalog } from './sql-catalog';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'symbol', required: true, type: 'string' },
    { id: 2, name: 'ts', required: true, type: 'timestamptz' },
    { id: 3, name: 'price', required: false, type: 'decimal(18, 8)' },
  ],
};
const spec: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' }] };
const sortOrder: SortOrder = { 'order-id': 0, fields: [] };
const ident = { namespace: ['market'], name: 'trades' };

/**
 * A snapshot that applyUpdates accepts. The manifest list path is a fake string: these tests exercise only the
 * catalog's pointer swap, and nothing here reads manifests.
 */
function snapshot(base: TableMetadata, id: Long): Snapshot {
  return {
    'snapshot-id': id,
    'parent-snapshot-id': currentSnapshot(base)?.['snapshot-id'] ?? null,
    'sequence-number': base['last-sequence-number'] + 1,
    'timestamp-ms': Date.now(),
    'manifest-list': `${base.location}/metadata/snap-${id}-fake.avro`,
    summary: { operation: 'append' },
    'schema-id': base['current-schema-id'],
  };
}

function append(base: TableMetadata, id: Long): { requirements: TableRequirement[]; updates: TableUpdate[] } {
  return {
    requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': currentSnapshot(base)?.['snapshot-id'] ?? null }],
    updates: [
      { action: 'add-snapshot', snapshot: snapshot(base, id) },
      { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
    ],
  };
}

async function rejection(p: Promise<unknown>): Promise<K2Error> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(K2Error);
    return e as K2Error;
  }
  throw new Error('expected a rejection');
}

describe('SqlCatalog (SQLite)', () => {
  let dir: string;
  let dbFile: string;
  let warehouse: string;
  const io = new LocalFileIO();
  const open: SqlCatalog[] = [];

  function catalog(opts: { name?: string; io?: FileIO; busyTimeoutMs?: number } = {}): SqlCatalog {
    const c = new SqlCatalog(opts.io ?? io, {
      uri: `jdbc:sqlite:file:${dbFile}`,
      warehouse,
      name: opts.name,
      database: { busyTimeoutMs: opts.busyTimeoutMs },
    });
    open.push(c);
    return c;
  }

  function raw(): Database.Database {
    return new Database(dbFile);
  }

  const metadataFiles = (t: LoadedTable) => fs.readdirSync(path.join(toPath(t.metadata.location), 'metadata')).sort();

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-sql-catalog-'));
    dbFile = path.join(dir, 'cat', 'catalog.db');
    warehouse = pathToFileURL(path.join(dir, 'warehouse')).href;
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the JdbcCatalog V1 tables, keeps the rollback journal and defaults to the REST fixture name', async () => {
    const c = catalog();
    expect(c.name).toBe(DEFAULT_SQL_CATALOG_NAME);
    expect(c.name).toBe('rest_backend');
    await c.namespaceExists(['x']);
    const db = raw();
    const cols = (db.prepare('PRAGMA table_info(iceberg_tables)').all() as Array<{ name: string; pk: number }>).map((r) => `${r.name}${r.pk ? '*' : ''}`);
    expect(cols).toEqual(['catalog_name*', 'table_namespace*', 'table_name*', 'metadata_location', 'previous_metadata_location', 'iceberg_type']);
    const nsCols = (db.prepare('PRAGMA table_info(iceberg_namespace_properties)').all() as Array<{ name: string }>).map((r) => r.name);
    expect(nsCols).toEqual(['catalog_name', 'namespace', 'property_key', 'property_value']);
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  });

  it('creates namespaces idempotently with exists=true, and sees parents of multi-level namespaces', async () => {
    const c = catalog();
    expect(await c.namespaceExists(['market'])).toBe(false);
    await c.createNamespace(['market'], { owner: 'k2' });
    await c.createNamespace(['market'], { owner: 'someone-else' });
    await c.createNamespace(['a', 'b']);
    expect(await c.namespaceExists(['market'])).toBe(true);
    expect(await c.namespaceExists(['a'])).toBe(true);
    expect(await c.namespaceExists(['a', 'b'])).toBe(true);
    expect(await c.namespaceExists(['a', 'c'])).toBe(false);
    expect(await c.namespaceExists(['MARKET'])).toBe(false);
    const db = raw();
    const rows = db.prepare('SELECT catalog_name, namespace, property_key, property_value FROM iceberg_namespace_properties ORDER BY 2, 3').all();
    db.close();
    expect(rows).toEqual([
      { catalog_name: 'rest_backend', namespace: 'a.b', property_key: 'exists', property_value: 'true' },
      { catalog_name: 'rest_backend', namespace: 'market', property_key: 'exists', property_value: 'true' },
      { catalog_name: 'rest_backend', namespace: 'market', property_key: 'owner', property_value: 'k2' },
    ]);
  });

  it('rejects namespace levels and names that the dotted encoding cannot hold', async () => {
    const c = catalog();
    expect((await rejection(c.createNamespace(['a.b']))).code).toBe(ErrorCode.ICEBERG_INVALID);
    expect((await rejection(c.createNamespace([]))).code).toBe(ErrorCode.ICEBERG_INVALID);
  });

  it('creates a table at <warehouse>/<ns>/<name>, lists and loads it', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const created = await c.createTable(ident, { schema, spec, sortOrder, properties: { 'k2.owner': 'test' } });
    expect(created.metadata.location).toBe(`${warehouse}/market/trades`);
    expect(created.metadataLocation).toMatch(new RegExp(`^${warehouse}/market/trades/metadata/00000-[0-9a-f-]{36}\\.metadata\\.json$`));
    expect(await io.exists(created.metadataLocation)).toBe(true);

    const loaded = await catalog().loadTable(ident);
    expect(loaded.metadataLocation).toBe(created.metadataLocation);
    expect(loaded.metadata).toEqual(created.metadata);
    expect(loaded.metadata.schemas[0]).toEqual(schema);
    expect(loaded.metadata.properties).toEqual({ 'k2.owner': 'test' });
    expect(await c.listTables(['market'])).toEqual([ident]);
    expect(await c.tableExists(ident)).toBe(true);
    expect(await c.tableExists({ namespace: ['market'], name: 'quotes' })).toBe(false);

    const db = raw();
    expect(db.prepare('SELECT * FROM iceberg_tables').all()).toEqual([
      {
        catalog_name: 'rest_backend',
        table_namespace: 'market',
        table_name: 'trades',
        metadata_location: created.metadataLocation,
        previous_metadata_location: null,
        iceberg_type: 'TABLE',
      },
    ]);
    db.close();
  });

  it('honours an explicit location', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const loc = pathToFileURL(path.join(dir, 'elsewhere', 't')).href;
    const t = await c.createTable(ident, { schema, spec, sortOrder, location: `${loc}/` });
    expect(t.metadata.location).toBe(loc);
    expect(t.metadataLocation.startsWith(`${loc}/metadata/`)).toBe(true);
  });

  it('refuses a second create with ICEBERG_COMMIT_CONFLICT and leaves no metadata file behind', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const t = await c.createTable(ident, { schema, spec, sortOrder });
    const err = await rejection(catalog().createTable(ident, { schema, spec, sortOrder }));
    expect(err.code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
    expect(err.retriable).toBe(true);
    expect(metadataFiles(t)).toHaveLength(1);
  });

  it('loses a create race at the INSERT and deletes its metadata file', async () => {
    const a = catalog();
    await a.createNamespace(['market']);
    // Both pass the existence check before either inserts: writes wait for each other.
    const io2 = barrierIO(2);
    const [r1, r2] = await Promise.allSettled([
      catalog({ io: io2 }).createTable(ident, { schema, spec, sortOrder }),
      catalog({ io: io2 }).createTable(ident, { schema, spec, sortOrder }),
    ]);
    const ok = [r1, r2].filter((r) => r.status === 'fulfilled') as Array<PromiseFulfilledResult<LoadedTable>>;
    const failed = [r1, r2].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect((failed[0].reason as K2Error).code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
    expect(metadataFiles(ok[0].value)).toEqual([path.basename(ok[0].value.metadataLocation)]);
  });

  it('answers ICEBERG_NOT_FOUND for missing tables and namespaces', async () => {
    const c = catalog();
    expect((await rejection(c.loadTable(ident))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
    expect((await rejection(c.createTable(ident, { schema, spec, sortOrder }))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
    expect((await rejection(c.listTables(['nope']))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
    expect((await rejection(c.commitTable(ident, [], []))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
    expect((await rejection(c.dropTable(ident))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
  });

  it('commits with assert-ref-snapshot-id, logs the previous metadata file and rejects a stale base', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const t0 = await c.createTable(ident, { schema, spec, sortOrder });

    const a1 = append(t0.metadata, 1001);
    const t1 = await c.commitTable(ident, a1.requirements, a1.updates);
    expect(t1.metadataLocation).toMatch(/\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/);
    expect(currentSnapshot(t1.metadata)?.['snapshot-id']).toBe(1001);
    expect(t1.metadata['last-sequence-number']).toBe(1);
    expect(t1.metadata['metadata-log']).toEqual([{ 'metadata-file': t0.metadataLocation, 'timestamp-ms': t0.metadata['last-updated-ms'] }]);
    expect(await c.loadTable(ident)).toEqual(t1);

    const db = raw();
    expect(db.prepare('SELECT metadata_location, previous_metadata_location FROM iceberg_tables').get()).toEqual({
      metadata_location: t1.metadataLocation,
      previous_metadata_location: t0.metadataLocation,
    });
    db.close();

    // Built on t0 again: main is at 1001 now, so the requirement fails before anything is written.
    const stale = append(t0.metadata, 1002);
    const err = await rejection(c.commitTable(ident, stale.requirements, stale.updates));
    expect(err.code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
    expect(err.retriable).toBe(true);
    expect(metadataFiles(t1)).toHaveLength(2);
    expect((await c.loadTable(ident)).metadataLocation).toBe(t1.metadataLocation);
  });

  it('returns the current table for a commit without updates, writing nothing', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const t0 = await c.createTable(ident, { schema, spec, sortOrder });
    expect(await c.commitTable(ident, [{ type: 'assert-table-uuid', uuid: t0.metadata['table-uuid'] }], [])).toEqual(t0);
    expect(metadataFiles(t0)).toHaveLength(1);
  });

  it('lets exactly one of two catalogs win a compare-and-swap on the same base', async () => {
    const setup = catalog();
    await setup.createNamespace(['market']);
    const t0 = await setup.createTable(ident, { schema, spec, sortOrder });
    // The barrier holds both metadata writes until both commits have read the same base row, so both reach the
    // UPDATE … WHERE metadata_location = <base>, and the database decides.
    const io2 = barrierIO(2);
    const a = catalog({ io: io2 });
    const b = catalog({ io: io2 });
    const ca = append(t0.metadata, 2001);
    const cb = append(t0.metadata, 2002);
    const results = await Promise.allSettled([a.commitTable(ident, ca.requirements, ca.updates), b.commitTable(ident, cb.requirements, cb.updates)]);

    const ok = results.filter((r) => r.status === 'fulfilled') as Array<PromiseFulfilledResult<LoadedTable>>;
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    const err = failed[0].reason as K2Error;
    expect(err).toBeInstanceOf(K2Error);
    expect(err.code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
    expect(err.retriable).toBe(true);

    const current = await setup.loadTable(ident);
    expect(current.metadataLocation).toBe(ok[0].value.metadataLocation);
    expect(current.metadata.snapshots).toHaveLength(1);
    // The loser's metadata file was deleted; the base and the winner's remain.
    expect(metadataFiles(current)).toEqual([path.basename(t0.metadataLocation), path.basename(current.metadataLocation)].sort());

    // The loser retries on the new base and succeeds.
    const winnerId = currentSnapshot(current.metadata)!['snapshot-id'];
    const retry = append(current.metadata, winnerId === 2001 ? 2002 : 2001);
    const t2 = await (winnerId === 2001 ? b : a).commitTable(ident, retry.requirements, retry.updates);
    expect(t2.metadata.snapshots!.map((s) => s['snapshot-id'])).toEqual([winnerId, winnerId === 2001 ? 2002 : 2001]);
  });

  it('keeps 63-bit snapshot ids exact through commit, file and load', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const t0 = await c.createTable(ident, { schema, spec, sortOrder });
    const big = 2n ** 62n + 123456789n; // 4611686018550844693: not representable as a JS number
    const a1 = append(t0.metadata, big);
    const t1 = await c.commitTable(ident, a1.requirements, a1.updates);
    const text = fs.readFileSync(toPath(t1.metadataLocation), 'utf8');
    expect(text).toContain('"current-snapshot-id":4611686018550844693');
    expect(text).toContain('"snapshot-id":4611686018550844693');

    const loaded = await catalog().loadTable(ident);
    expect(loaded.metadata['current-snapshot-id']).toBe(big);
    expect(loaded.metadata.refs?.['main']['snapshot-id']).toBe(big);
    expect(currentSnapshot(loaded.metadata)?.['snapshot-id']).toBe(big);

    // A child commit asserts the bigint parent and links to it.
    const a2 = append(loaded.metadata, big + 1n);
    const t2 = await c.commitTable(ident, a2.requirements, a2.updates);
    expect(currentSnapshot(t2.metadata)?.['parent-snapshot-id']).toBe(big);
  });

  it('reads gzip-compressed metadata files', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const t0 = await c.createTable(ident, { schema, spec, sortOrder });
    const p = toPath(t0.metadataLocation);
    const { gzipSync } = await import('node:zlib');
    fs.writeFileSync(p, gzipSync(fs.readFileSync(p)));
    expect((await catalog().loadTable(ident)).metadata).toEqual(t0.metadata);
  });

  it('keeps catalogs with different names apart in one database', async () => {
    const a = catalog({ name: 'a' });
    const b = catalog({ name: 'b' });
    await a.createNamespace(['market']);
    await a.createTable(ident, { schema, spec, sortOrder });
    expect(await b.namespaceExists(['market'])).toBe(false);
    expect(await b.tableExists(ident)).toBe(false);
  });

  it('ignores view rows (iceberg_type VIEW) for tables, as JdbcCatalog does', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const db = raw();
    db.prepare("INSERT INTO iceberg_tables VALUES ('rest_backend', 'market', 'v', 'file:///nowhere/v.metadata.json', NULL, 'VIEW')").run();
    db.close();
    expect(await c.tableExists({ namespace: ['market'], name: 'v' })).toBe(false);
    expect(await c.listTables(['market'])).toEqual([]);
    expect((await rejection(c.createTable({ namespace: ['market'], name: 'v' }, { schema, spec, sortOrder }))).code).toBe(
      ErrorCode.ICEBERG_COMMIT_CONFLICT,
    );
  });

  it('works on a V0 database (no iceberg_type column) without migrating it', async () => {
    fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    const db = raw();
    // JdbcUtil.V0_CREATE_CATALOG_SQL and CREATE_NAMESPACE_PROPERTIES_TABLE_SQL, verbatim.
    db.exec(
      'CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),PRIMARY KEY (catalog_name, table_namespace, table_name))',
    );
    db.exec(
      'CREATE TABLE iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,namespace VARCHAR(255) NOT NULL,property_key VARCHAR(255),property_value VARCHAR(1000),PRIMARY KEY (catalog_name, namespace, property_key))',
    );
    db.close();
    const c = catalog();
    await c.createNamespace(['market']);
    const t0 = await c.createTable(ident, { schema, spec, sortOrder });
    const a1 = append(t0.metadata, 7);
    await c.commitTable(ident, a1.requirements, a1.updates);
    expect(await c.listTables(['market'])).toEqual([ident]);
    const db2 = raw();
    expect((db2.prepare('PRAGMA table_info(iceberg_tables)').all() as Array<{ name: string }>).map((r) => r.name)).not.toContain('iceberg_type');
    db2.close();
  });

  it('reports a database locked past the busy timeout as retriable STORAGE_UNAVAILABLE', async () => {
    const c = catalog({ busyTimeoutMs: 100 });
    await c.createNamespace(['market']);
    const locker = raw();
    locker.exec('BEGIN EXCLUSIVE');
    try {
      const err = await rejection(c.createNamespace(['other']));
      expect(err.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
      expect(err.retriable).toBe(true);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    await c.createNamespace(['other']);
    expect(await c.namespaceExists(['other'])).toBe(true);
  });

  it('drops only the catalog entry', async () => {
    const c = catalog();
    await c.createNamespace(['market']);
    const t0 = await c.createTable(ident, { schema, spec, sortOrder });
    await c.dropTable(ident);
    expect(await c.tableExists(ident)).toBe(false);
    expect(await io.exists(t0.metadataLocation)).toBe(true);
    expect(await c.namespaceExists(['market'])).toBe(true);
  });
});

/** LocalFileIO whose first `n` writes wait for each other, to line concurrent commits up deterministically. */
function barrierIO(n: number): FileIO {
  const inner = new LocalFileIO();
  let waiting: Array<() => void> = [];
  let released = false;
  return Object.assign(Object.create(inner) as LocalFileIO, {
    async write(uri: string, data: Buffer): Promise<void> {
      if (!released) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length >= n) {
            released = true;
            const go = waiting;
            waiting = [];
            go.forEach((f) => f());
          }
        });
      }
      await inner.write(uri, data);
    },
  });
}
