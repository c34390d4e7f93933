import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runPython } from '@k2/testing';
import type { Catalog } from './catalog/catalog';
import { createCatalog } from './catalog/factory';
import { DEFAULT_SQL_CATALOG_NAME } from './catalog/sql-catalog';
import { storeDataFile } from './data-file';
import { createFileIO, type ResolvingFileIO } from './io/resolving-file-io';
import { ParquetWriter, type RowValue } from './parquet-writer';
import { commitSnapshot } from './snapshot';
import type { Schema, TableIdent } from './spec';

/**
 * ADR 0022, other readers on what our writer now writes: a table with message_id as Iceberg uuid, written through
 * ParquetWriter (data pages v2, delta/dictionary encodings) and committed by our snapshot producer, read back by
 * PyIceberg 0.12 (scan, a row filter on the uuid that needs our 16-byte bounds) and by PyArrow directly. Ids come
 * back as the same canonical lowercase text, and in the same order as the text, sign-bit boundary included.
 */
const PY_READ = String.raw`
import json, sys, uuid
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import EqualTo
inp = json.load(sys.stdin)
cat = SqlCatalog(inp['name'], uri=inp['uri'], warehouse=inp['warehouse'])
t = cat.load_table(inp['table'])
arrow = t.scan().to_arrow()
ids = [str(x) for x in arrow.column('message_id').to_pylist()]
probe = inp['probe']
hit = t.scan(row_filter=EqualTo('message_id', uuid.UUID(probe)))
files = [f.file.file_path for f in t.scan().plan_files()]
raw = pq.read_table(files[0].replace('file://', ''))
print(json.dumps({
  'type': str(t.schema().find_field('message_id').field_type),
  'arrow_type': str(arrow.schema.field('message_id').type),
  'ids': ids,
  'probe_rows': [str(x) for x in hit.to_arrow().column('message_id').to_pylist()],
  'probe_files': len(list(hit.plan_files())),
  'seq': [int(x) for x in arrow.column('seq').to_pylist()],
  'parquet_physical': str(pq.ParquetFile(files[0].replace('file://', '')).schema.column(0).physical_type),
  'pyarrow_ids': [str(uuid.UUID(bytes=bytes(x))) if isinstance(x, (bytes, bytearray)) else str(x) for x in raw.column('message_id').to_pylist()],
  'seq_encodings': list(pq.ParquetFile(files[0].replace('file://', '')).metadata.row_group(0).column(2).encodings),
}))
`;

interface PyOut {
  type: string;
  arrow_type: string;
  ids: string[];
  probe_rows: string[];
  probe_files: number;
  seq: number[];
  parquet_physical: string;
  pyarrow_ids: string[];
  seq_encodings: string[];
}

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'message_id', required: true, type: 'uuid' },
    { id: 2, name: 'symbol', required: true, type: 'string' },
    { id: 3, name: 'seq', required: true, type: 'long' },
  ],
};
const EDGES = ['00000000-0000-0000-0000-000000000000', '7fffffff-ffff-ffff-ffff-ffffffffffff', '80000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];

describe('a uuid table our writer wrote, read by PyIceberg and PyArrow', () => {
  let dir: string;
  let io: ResolvingFileIO;
  let catalog: Catalog;
  let w: ParquetWriter;
  const ident: TableIdent = { namespace: [`layout_${process.pid}`], name: 'trades' };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-layout-itest-'));
    io = createFileIO({ endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false });
    catalog = createCatalog({ type: 'sql', uri: `jdbc:sqlite:file:${path.join(dir, 'catalog.db')}`, warehouse: pathToFileURL(path.join(dir, 'wh')).href }, io);
    w = await ParquetWriter.create({ threads: 1, tmpDir: path.join(dir, 'tmp') });
  });

  afterAll(async () => {
    await catalog?.close();
    io?.close();
    await w?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('returns the canonical lowercase ids in text order, and prunes by the uuid bounds', async () => {
    // Two files whose id ranges do not overlap, so an equality filter can skip one by its bounds.
    const low = [EDGES[0], EDGES[1], ...Array.from({ length: 300 }, () => `0${randomUUID().slice(1)}`)];
    const high = [EDGES[2], EDGES[3], ...Array.from({ length: 300 }, () => `f${randomUUID().slice(1)}`)];
    await catalog.createNamespace(ident.namespace);
    await catalog.createTable(ident, { schema, spec: { 'spec-id': 0, fields: [] }, sortOrder: { 'order-id': 0, fields: [] } });
    const rows = (ids: string[], from: number): RowValue[][] => ids.map((id, i) => [id, 'BTCUSDT', BigInt(from + i)]);
    await commitSnapshot(catalog, io, ident, async (base) => ({
      operation: 'append',
      added: [
        await storeDataFile(io, base.metadata, {}, [], await w.write(schema, rows(low, 0), ['message_id'])),
        await storeDataFile(io, base.metadata, {}, [], await w.write(schema, rows(high, 1000), ['message_id'])),
      ],
    }));
    const py = runPython<PyOut>(PY_READ, {
      name: DEFAULT_SQL_CATALOG_NAME,
      uri: `sqlite:///${path.join(dir, 'catalog.db')}`,
      warehouse: pathToFileURL(path.join(dir, 'wh')).href,
      table: `${ident.namespace[0]}.${ident.name}`,
      probe: high[10],
    });
    expect(py.type).toBe('uuid');
    expect(py.parquet_physical).toBe('FIXED_LEN_BYTE_ARRAY');
    expect(py.seq_encodings).toContain('DELTA_BINARY_PACKED');
    const all = [...low, ...high];
    expect([...py.ids].sort()).toEqual([...all].sort());
    // PyIceberg's str() of each value is exactly the text we were given; PyArrow reads a file (sorted by
    // message_id in DuckDB) in the text order.
    expect([[...low].sort(), [...high].sort()]).toContainEqual(py.pyarrow_ids);
    expect(py.probe_rows).toEqual([high[10]]);
    expect(py.probe_files).toBe(1);
  });
});
