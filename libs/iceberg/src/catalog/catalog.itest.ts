import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, K2Error } from '@k2/core';
import { infraEndpoints, runPython, uniqueSuffix } from '@k2/testing';
import { currentSchema, currentSnapshot, type TableRequirement, type TableUpdate } from '../metadata';
import type { PartitionSpec, Schema, SortOrder, TableIdent, TableMetadata } from '../spec';
import type { FileIO } from '../io/file-io';
import { LocalFileIO } from '../io/local-file-io';
import type { LoadedTable } from './catalog';
import { RestCatalog } from './rest-catalog';
import { DEFAULT_SQL_CATALOG_NAME, SqlCatalog } from './sql-catalog';
import { parseSqlUri } from './sql-dialect';

/**
 * Interoperability of our catalogs with PyIceberg (SQLAlchemy SqlCatalog, REST client) and the Java REST fixture,
 * on the real local infrastructure: SQLite files, the Iceberg REST server on :8181 and PostgreSQL.
 */
const PY_SCRIPT = fs.readFileSync(path.join(__dirname, 'testdata', 'pyiceberg_catalog.py'), 'utf8');
const infra = infraEndpoints();
const io = new LocalFileIO();

interface PyCatalog {
  name: string;
  props: Record<string, string>;
}
interface PyTable {
  identifier: string[];
  metadata_location: string;
  location: string;
  table_uuid: string;
  schema: Schema;
  schema_id: number;
  spec: PartitionSpec;
  properties: Record<string, string>;
  current_snapshot_id: string | null;
  snapshot_ids: string[];
  rows: number | null;
}

const py = {
  list: (c: PyCatalog, namespace: string) => runPython<string[]>(PY_SCRIPT, { catalog: c, op: 'list', namespace }),
  load: (c: PyCatalog, table: string, count = false) => runPython<PyTable>(PY_SCRIPT, { catalog: c, op: 'load', table, count }),
  create: (c: PyCatalog, namespace: string, table: string, properties: Record<string, string> = {}) =>
    runPython<PyTable>(PY_SCRIPT, { catalog: c, op: 'create', namespace, table, properties }),
  append: (c: PyCatalog, table: string, rows: Array<Record<string, unknown>>) => runPython<PyTable>(PY_SCRIPT, { catalog: c, op: 'append', table, rows }),
  setProperties: (c: PyCatalog, table: string, properties: Record<string, string>) =>
    runPython<PyTable>(PY_SCRIPT, { catalog: c, op: 'set_properties', table, properties }),
};

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'symbol', required: true, type: 'string' },
    { id: 2, name: 'ts', required: true, type: 'timestamptz' },
    { id: 3, name: 'price', required: false, type: 'decimal(18, 8)' },
    { id: 4, name: 'qty', required: false, type: 'long' },
    { id: 5, name: 'tags', required: false, type: { type: 'list', 'element-id': 6, element: 'string', 'element-required': false } },
  ],
};
const spec: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' }] };
/**
 * For tables PyIceberg appends to: PyIceberg 0.12 computes year/month/day/hour/bucket/truncate partition values
 * with the optional pyiceberg-core package, which the venv does not have; identity needs nothing.
 */
const identitySpec: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'symbol', transform: 'identity' }] };
const sortOrder: SortOrder = { 'order-id': 0, fields: [] };
const TS = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in microseconds

/** Adds an optional `venue` column the way Java's SchemaUpdate commits it (requirements included). */
function addVenue(m: TableMetadata): { requirements: TableRequirement[]; updates: TableUpdate[] } {
  const cur = currentSchema(m);
  const nextId = Math.max(...m.schemas.map((s) => s['schema-id'])) + 1;
  const field = { id: m['last-column-id'] + 1, name: 'venue', required: false, type: 'string' as const };
  return {
    requirements: [
      { type: 'assert-current-schema-id', 'current-schema-id': m['current-schema-id'] },
      { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': m['last-column-id'] },
    ],
    updates: [
      { action: 'add-schema', schema: { ...cur, 'schema-id': nextId, fields: [...cur.fields, field] }, 'last-column-id': field.id },
      { action: 'set-current-schema', 'schema-id': -1 },
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

/** LocalFileIO whose first `n` writes wait for each other, so two commits read the same base before either swaps. */
function barrierIO(n: number): FileIO {
  const inner = new LocalFileIO();
  const waiting: Array<() => void> = [];
  let released = false;
  return Object.assign(Object.create(inner) as LocalFileIO, {
    async write(uri: string, data: Buffer): Promise<void> {
      if (!released) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length >= n) {
            released = true;
            waiting.splice(0).forEach((f) => f());
          }
        });
      }
      await inner.write(uri, data);
    },
  });
}

/**
 * The same checks for SQLite and PostgreSQL: our SqlCatalog and PyIceberg's SqlCatalog on one database, each
 * reading and committing to the other's tables, plus a lost compare-and-swap between two of our instances.
 */
async function sqlInterop(openCatalog: (io?: FileIO) => SqlCatalog, pyCat: PyCatalog, ns: string): Promise<void> {
  const opened: SqlCatalog[] = [];
  const open = (fio?: FileIO) => {
    const c = openCatalog(fio);
    opened.push(c);
    return c;
  };
  const ours = open();
  const ident: TableIdent = { namespace: [ns], name: 'ours' };
  try {
    await ours.createNamespace([ns], { owner: 'k2' });
    await ours.createNamespace([ns]);
    const created = await ours.createTable(ident, { schema, spec, sortOrder, properties: { 'k2.owner': 'itest' } });

    // PyIceberg lists and loads our table: same file, uuid, field ids, spec and properties.
    expect(py.list(pyCat, ns)).toContain(`${ns}.ours`);
    const seen = py.load(pyCat, `${ns}.ours`);
    expect(seen.metadata_location).toBe(created.metadataLocation);
    expect(seen.table_uuid).toBe(created.metadata['table-uuid']);
    expect(seen.location).toBe(created.metadata.location);
    expect(seen.schema.fields).toEqual(schema.fields);
    expect(seen.spec).toEqual(spec);
    expect(seen.properties).toEqual({ 'k2.owner': 'itest' });

    // PyIceberg commits to our table (its own CAS on the row we inserted); we load its metadata file.
    const pyCommitted = py.setProperties(pyCat, `${ns}.ours`, { 'py.touched': 'yes' });
    expect(pyCommitted.metadata_location).toMatch(/\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/);
    const afterPyCommit = await open().loadTable(ident);
    expect(afterPyCommit.metadataLocation).toBe(pyCommitted.metadata_location);
    expect(afterPyCommit.metadata.properties).toEqual({ 'k2.owner': 'itest', 'py.touched': 'yes' });
    expect(afterPyCommit.metadata['metadata-log']?.map((e) => e['metadata-file'])).toEqual([created.metadataLocation]);

    // PyIceberg creates a table and appends; we load it with its ids and snapshot id intact.
    const pyMade = py.create(pyCat, ns, `${ns}.py_made`, { origin: 'pyiceberg' });
    const pyAppended = py.append(pyCat, `${ns}.py_made`, [{ symbol: 'ETH-USD', ts: TS, qty: 7 }]);
    const pySnap = pyAppended.current_snapshot_id!;
    const pyIdent: TableIdent = { namespace: [ns], name: 'py_made' };
    expect(await ours.listTables([ns])).toEqual([ident, pyIdent]);
    const loaded = await ours.loadTable(pyIdent);
    expect(loaded.metadataLocation).toBe(pyAppended.metadata_location);
    expect(loaded.metadata['table-uuid']).toBe(pyMade.table_uuid);
    expect(currentSchema(loaded.metadata).fields).toEqual(pyMade.schema.fields);
    expect(loaded.metadata.properties?.['origin']).toBe('pyiceberg');
    expect(String(currentSnapshot(loaded.metadata)?.['snapshot-id'])).toBe(pySnap);
    expect(String(loaded.metadata['current-snapshot-id'])).toBe(pySnap);

    // We evolve PyIceberg's table; our rewrite keeps its snapshot id, and PyIceberg reads and appends on top.
    const evo = addVenue(loaded.metadata);
    const evolved = await ours.commitTable(pyIdent, evo.requirements, evo.updates);
    const pySeesEvolved = py.load(pyCat, `${ns}.py_made`, true);
    expect(pySeesEvolved.metadata_location).toBe(evolved.metadataLocation);
    expect(pySeesEvolved.schema_id).toBe(1);
    expect(pySeesEvolved.schema.fields.map((f) => [f.id, f.name])).toEqual([
      [1, 'symbol'],
      [2, 'ts'],
      [3, 'qty'],
      [4, 'venue'],
    ]);
    expect(pySeesEvolved.current_snapshot_id).toBe(pySnap);
    expect(pySeesEvolved.rows).toBe(1);
    const second = py.append(pyCat, `${ns}.py_made`, [{ symbol: 'ETH-USD', ts: TS + 1, qty: 8, venue: 'kraken' }]);
    expect(second.snapshot_ids).toEqual([pySnap, second.current_snapshot_id]);
    expect((await ours.loadTable(pyIdent)).metadata.snapshots?.map((s) => String(s['snapshot-id']))).toEqual(second.snapshot_ids);

    // Two of our instances commit on the same base: the database lets exactly one swap the pointer.
    const base = await ours.loadTable(ident);
    const gate = barrierIO(2);
    const [a, b] = [open(gate), open(gate)];
    try {
      const results = await Promise.allSettled([
        a.commitTable(ident, [{ type: 'assert-table-uuid', uuid: base.metadata['table-uuid'] }], [{ action: 'set-properties', updates: { writer: 'a' } }]),
        b.commitTable(ident, [{ type: 'assert-table-uuid', uuid: base.metadata['table-uuid'] }], [{ action: 'set-properties', updates: { writer: 'b' } }]),
      ]);
      const won = results.filter((r): r is PromiseFulfilledResult<LoadedTable> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0].reason as K2Error).code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
      expect((lost[0].reason as K2Error).retriable).toBe(true);
      const final = py.load(pyCat, `${ns}.ours`);
      expect(final.metadata_location).toBe(won[0].value.metadataLocation);
      expect(final.properties['writer']).toBe(won[0].value.metadata.properties?.['writer']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  } finally {
    await ours.dropTable(ident).catch(() => undefined);
    await ours.dropTable({ namespace: [ns], name: 'py_made' }).catch(() => undefined);
    // A PostgreSQL pool keeps idle connections (and the test process) alive until closed.
    await Promise.all(opened.map((c) => c.close()));
  }
}

describe('SqlCatalog on SQLite with PyIceberg', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-catalog-itest-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('shares a database we created with PyIceberg SqlCatalog both ways', async () => {
    const db = path.join(dir, 'catalog.db');
    const warehouse = pathToFileURL(path.join(dir, 'warehouse')).href;
    const pyCat = { name: DEFAULT_SQL_CATALOG_NAME, props: { type: 'sql', uri: `sqlite:///${db}`, warehouse } };
    await sqlInterop((fio = io) => new SqlCatalog(fio, { uri: `jdbc:sqlite:file:${db}`, warehouse }), pyCat, 'market');
  });

  it('opens a database PyIceberg created first, reads its snapshot and commits on it', async () => {
    const db = path.join(dir, 'py-first.db');
    const warehouse = pathToFileURL(path.join(dir, 'warehouse')).href;
    const pyCat = { name: 'k2_py_first', props: { type: 'sql', uri: `sqlite:///${db}`, warehouse } };
    py.create(pyCat, 'ns', 'ns.t');
    const appended = py.append(pyCat, 'ns.t', [{ symbol: 'SOL-USD', ts: TS, qty: 1 }]);
    const ours = new SqlCatalog(io, { uri: `sqlite:///${db}`, warehouse, name: 'k2_py_first' });
    try {
      const ident = { namespace: ['ns'], name: 't' };
      const t = await ours.loadTable(ident);
      const snap = currentSnapshot(t.metadata)!['snapshot-id'];
      expect(String(snap)).toBe(appended.current_snapshot_id);
      const c = await ours.commitTable(ident, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': snap }], [
        { action: 'set-properties', updates: { 'k2.touched': 'yes' } },
      ]);
      const seen = py.load(pyCat, 'ns.t', true);
      expect(seen.metadata_location).toBe(c.metadataLocation);
      expect(seen.properties['k2.touched']).toBe('yes');
      expect(seen.current_snapshot_id).toBe(appended.current_snapshot_id);
      expect(seen.rows).toBe(1);
    } finally {
      await ours.close();
    }
  });
});

describe('RestCatalog against the Iceberg REST fixture', () => {
  const rest = new RestCatalog(io, { uri: infra.icebergRestUri });
  const ns = `k2_itest_${uniqueSuffix()}`;
  const ident: TableIdent = { namespace: [ns], name: 'trades' };
  const sqlIdent: TableIdent = { namespace: [ns], name: 'sql_made' };
  const pyCat = { name: 'default', props: { type: 'rest', uri: infra.icebergRestUri } };
  const fixtureWarehouse = process.env['ICEBERG_WAREHOUSE'] ?? pathToFileURL(path.join(infra.dataDir, 'iceberg', 'warehouse')).href;

  afterAll(async () => {
    await rest.dropTable(ident).catch(() => undefined);
    await rest.dropTable(sqlIdent).catch(() => undefined);
    await fetch(`${infra.icebergRestUri}/v1/namespaces/${ns}`, { method: 'DELETE' }).catch(() => undefined);
    await rest.close();
  });

  it('creates, loads and evolves a table, refuses a stale commit, and agrees with PyIceberg and the JDBC database', async () => {
    await rest.createNamespace([ns]);
    await rest.createNamespace([ns]);
    expect(await rest.namespaceExists([ns])).toBe(true);
    expect(await rest.namespaceExists([`${ns}_missing`])).toBe(false);

    const created = await rest.createTable(ident, { schema, spec: identitySpec, sortOrder, properties: { 'k2.owner': 'itest' } });
    expect(currentSchema(created.metadata).fields.map((f) => f.name)).toEqual(schema.fields.map((f) => f.name));
    expect(created.metadata.properties?.['k2.owner']).toBe('itest');
    expect(created.metadata['partition-specs'][0].fields.map((f) => [f.name, f.transform])).toEqual([['symbol', 'identity']]);
    const dup = await rejection(rest.createTable(ident, { schema, spec: identitySpec, sortOrder }));
    expect(dup.code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);

    const loaded = await rest.loadTable(ident);
    expect(loaded.metadataLocation).toBe(created.metadataLocation);
    expect(await rest.tableExists(ident)).toBe(true);
    expect(await rest.tableExists({ namespace: [ns], name: 'missing' })).toBe(false);
    expect(await rest.listTables([ns])).toEqual([ident]);
    expect((await rejection(rest.loadTable({ namespace: [ns], name: 'missing' }))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);

    const evo = addVenue(loaded.metadata);
    const evolved = await rest.commitTable(ident, [{ type: 'assert-table-uuid', uuid: loaded.metadata['table-uuid'] }, ...evo.requirements], evo.updates);
    const evolvedSchema = currentSchema(evolved.metadata);
    expect(evolvedSchema.fields.at(-1)).toMatchObject({ name: 'venue', required: false, type: 'string' });

    const pySees = py.load(pyCat, `${ns}.trades`);
    expect(pySees.metadata_location).toBe(evolved.metadataLocation);
    expect(pySees.schema_id).toBe(evolved.metadata['current-schema-id']);
    expect(pySees.schema.fields).toEqual(evolvedSchema.fields);

    const appended = py.append(pyCat, `${ns}.trades`, [{ symbol: 'BTC-USD', ts: TS, qty: 1, venue: 'binance' }]);
    const afterAppend = await rest.loadTable(ident);
    expect(String(currentSnapshot(afterAppend.metadata)?.['snapshot-id'])).toBe(appended.current_snapshot_id);

    // Built before PyIceberg's append (main had no snapshot): the server refuses it with 409.
    const stale = await rejection(
      rest.commitTable(ident, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }], [{ action: 'set-properties', updates: { stale: 'yes' } }]),
    );
    expect(stale.code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
    expect(stale.retriable).toBe(true);
    expect((await rest.loadTable(ident)).metadata.properties?.['stale']).toBeUndefined();

    // The fixture's JdbcCatalog keeps its rows under DEFAULT_SQL_CATALOG_NAME: our SqlCatalog on the same file
    // sees the table and can commit to it, and the REST server serves that commit.
    const sql = new SqlCatalog(io, { uri: `jdbc:sqlite:file:${path.join(infra.dataDir, 'iceberg', 'catalog.db')}`, warehouse: fixtureWarehouse });
    try {
      const viaSql = await sql.loadTable(ident);
      expect(viaSql.metadataLocation).toBe(afterAppend.metadataLocation);
      expect(String(viaSql.metadata['current-snapshot-id'])).toBe(appended.current_snapshot_id);
      const snap = currentSnapshot(viaSql.metadata)!['snapshot-id'];
      const c = await sql.commitTable(ident, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': snap }], [
        { action: 'set-properties', updates: { 'k2.via': 'sql' } },
      ]);
      const back = await rest.loadTable(ident);
      expect(back.metadataLocation).toBe(c.metadataLocation);
      expect(back.metadata.properties?.['k2.via']).toBe('sql');
      expect(String(back.metadata['current-snapshot-id'])).toBe(appended.current_snapshot_id);

      // And the other way: a table our SqlCatalog creates in the fixture's database is served (Java parses our
      // metadata file) and takes a REST commit.
      const sqlMade = await sql.createTable(sqlIdent, { schema, spec, sortOrder, properties: { origin: 'k2-sql' } });
      expect(sqlMade.metadata.location).toBe(`${fixtureWarehouse}/${ns}/sql_made`);
      const served = await rest.loadTable(sqlIdent);
      expect(served.metadataLocation).toBe(sqlMade.metadataLocation);
      expect(served.metadata['table-uuid']).toBe(sqlMade.metadata['table-uuid']);
      expect(currentSchema(served.metadata).fields).toEqual(schema.fields);
      expect(served.metadata['partition-specs']).toEqual([spec]);
      const viaRest = await rest.commitTable(sqlIdent, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }], [
        { action: 'set-properties', updates: { 'k2.via': 'rest' } },
      ]);
      const reread = await sql.loadTable(sqlIdent);
      expect(reread.metadataLocation).toBe(viaRest.metadataLocation);
      expect(reread.metadata.properties).toEqual({ origin: 'k2-sql', 'k2.via': 'rest' });
    } finally {
      await sql.close();
    }
  });
});

describe('SqlCatalog on PostgreSQL with PyIceberg', () => {
  const uri = process.env['ICEBERG_PG_URI'] ?? 'postgresql://k2:k2secret@127.0.0.1:5433/k2_catalog';
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-catalog-pg-itest-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('shares the database with PyIceberg SqlCatalog both ways', async () => {
    const target = parseSqlUri(uri);
    if (target.dialect !== 'postgres') throw new Error(`ICEBERG_PG_URI is not a PostgreSQL URI: ${uri}`);
    const warehouse = pathToFileURL(path.join(dir, 'warehouse')).href;
    const name = 'k2_itest';
    // SQLAlchemy names the driver in the scheme.
    const pyCat = { name, props: { type: 'sql', uri: target.connectionString.replace(/^postgresql:/, 'postgresql+psycopg2:'), warehouse } };
    await sqlInterop((fio = io) => new SqlCatalog(fio, { uri, warehouse, name }), pyCat, `market_${uniqueSuffix()}`);
  });
});
