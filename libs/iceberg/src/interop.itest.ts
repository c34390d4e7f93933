import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runPython } from '@k2/testing';
import type { Catalog } from './catalog/catalog';
import { createCatalog } from './catalog/factory';
import { DEFAULT_SQL_CATALOG_NAME } from './catalog/sql-catalog';
import { createFileIO, type ResolvingFileIO } from './io/resolving-file-io';
import { currentSchema } from './metadata';
import { ParquetWriter } from './parquet-writer';
import { planScan, type PlannedFile, type Predicate } from './scan';
import type { Long, PrimitiveType, TableIdent } from './spec';
import { decimalText, deserializeValue } from './values';

/**
 * Our read path on a table PyIceberg wrote: PyIceberg's SqlCatalog creates a table (identity(symbol) partitioning,
 * the only transform PyIceberg 0.12 writes without pyiceberg-core) and appends two snapshots; our SqlCatalog loads
 * it, planScan prunes PyIceberg's manifests by partition and column bounds, and DuckDB reads the planned Parquet
 * files back to exactly the rows PyIceberg was given (63-bit longs, 8-digit decimals, µs timestamps included).
 */
const PY_SCRIPT = fs.readFileSync(path.join(__dirname, 'catalog', 'testdata', 'pyiceberg_write_table.py'), 'utf8');

interface Row {
  message_id: string;
  symbol: string;
  exchange: string;
  /** µs since the epoch. */
  timestamp: string;
  price: string;
  quantity: string;
  source_sequence: string | null;
  trade_conditions: Array<string | null> | null;
}

interface PyWritten {
  metadata_location: string;
  format_version: number;
  snapshot_ids: string[];
  current_snapshot_id: string;
  rows: Row[];
}

const PRICE_ID = 5;
const TIMESTAMP_ID = 4;
const SOURCE_SEQUENCE_ID = 7;

const byId = (a: Row, b: Row): number => a.message_id.localeCompare(b.message_id);
const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

describe('reading a table PyIceberg wrote', () => {
  let dir: string;
  let io: ResolvingFileIO;
  let catalog: Catalog;
  let duck: ParquetWriter;
  let py: PyWritten;
  const ident: TableIdent = { namespace: ['market'], name: 'trades' };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-interop-itest-'));
    const db = path.join(dir, 'catalog.db');
    const warehouse = pathToFileURL(path.join(dir, 'wh')).href;
    py = runPython<PyWritten>(PY_SCRIPT, { name: DEFAULT_SQL_CATALOG_NAME, uri: `sqlite:///${db}`, warehouse, namespace: 'market', table: 'market.trades' });
    // A local warehouse never touches S3, so the S3 settings stay empty.
    io = createFileIO({ endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false });
    catalog = createCatalog({ type: 'sql', uri: `jdbc:sqlite:file:${db}`, warehouse }, io);
    duck = await ParquetWriter.create({ tmpDir: path.join(dir, 'duck') });
  });

  afterAll(async () => {
    await catalog?.close();
    io?.close();
    await duck?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const plan = async (predicates: Predicate[] = [], snapshotId?: Long) =>
    planScan(io, await catalog.loadTable(ident), { predicates, snapshotId });
  const symbols = (files: PlannedFile[]): string[] => files.map((f) => String(f.file.partition['symbol'])).sort();

  /** The planned files' rows through DuckDB, every value as exact text. */
  async function read(files: PlannedFile[]): Promise<Row[]> {
    if (files.length === 0) return [];
    const paths = await Promise.all(files.map((f) => io.localPath(f.file['file-path'])));
    const reader = await duck.connection.runAndReadAll(
      'SELECT message_id, symbol, exchange, epoch_us("timestamp")::VARCHAR AS "timestamp", price::VARCHAR AS price, ' +
        'quantity::VARCHAR AS quantity, source_sequence::VARCHAR AS source_sequence, trade_conditions ' +
        `FROM read_parquet([${paths.map(quote).join(', ')}])`,
    );
    return (reader.getRowObjectsJson() as unknown as Row[]).sort(byId);
  }

  const expected = (pick: (r: Row) => boolean = () => true): Row[] => py.rows.filter(pick).sort(byId);

  it('loads the table with PyIceberg’s snapshots and schema', async () => {
    const t = await catalog.loadTable(ident);
    expect(py.format_version).toBe(2);
    expect(t.metadataLocation).toBe(py.metadata_location);
    // 63-bit ids: compared as decimal text, never through a JS number.
    expect(t.metadata.snapshots?.map((s) => String(s['snapshot-id']))).toEqual(py.snapshot_ids);
    expect(String(t.metadata['current-snapshot-id'])).toBe(py.current_snapshot_id);
    expect(py.snapshot_ids).toHaveLength(2);
    const schema = currentSchema(t.metadata);
    expect(schema.fields.map((f) => [f.id, f.name, f.required])).toEqual([
      [1, 'message_id', true],
      [2, 'symbol', true],
      [3, 'exchange', true],
      [TIMESTAMP_ID, 'timestamp', true],
      [PRICE_ID, 'price', true],
      [6, 'quantity', true],
      [SOURCE_SEQUENCE_ID, 'source_sequence', false],
      [8, 'trade_conditions', false],
    ]);
    expect(schema.fields.find((f) => f.name === 'price')?.type).toMatch(/^decimal\(18,\s*8\)$/);
    expect(t.metadata['partition-specs'].find((s) => s['spec-id'] === t.metadata['default-spec-id'])?.fields).toEqual([
      { 'source-id': 2, 'field-id': 1000, name: 'symbol', transform: 'identity' },
    ]);
  });

  it('plans every data file without predicates and reads back exactly PyIceberg’s rows', async () => {
    const p = await plan();
    expect(p.manifestsTotal).toBe(2);
    expect(p.manifestsScanned).toBe(2);
    // Snapshot 1 wrote BTCUSDT and ETHUSDT, snapshot 2 BTCUSDT, ETHUSDT and SOLUSDT: one file per partition each.
    expect(p.filesTotal).toBe(5);
    expect(symbols(p.files)).toEqual(['BTCUSDT', 'BTCUSDT', 'ETHUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(p.files.reduce((n, f) => n + f.file['record-count'], 0)).toBe(py.rows.length);
    expect(p.files.map((f) => f.sequenceNumber).sort()).toEqual([1, 1, 2, 2, 2]);
    for (const f of p.files) expect(await io.exists(f.file['file-path'])).toBe(true);

    const rows = await read(p.files);
    expect(rows).toEqual(expected());
    // The values the JS double would have broken survive.
    expect(rows.find((r) => r.message_id === 'm-1')).toMatchObject({ price: '65000.12345678', source_sequence: (2n ** 62n + 7n).toString(), timestamp: '1767323045123456' });
    expect(rows.find((r) => r.message_id === 'm-5')?.source_sequence).toBe('9223372036854775807');
  });

  it('prunes by the identity partition to the BTCUSDT files only', async () => {
    const p = await plan([{ column: 'symbol', op: 'eq', value: 'BTCUSDT' }]);
    expect(symbols(p.files)).toEqual(['BTCUSDT', 'BTCUSDT']);
    for (const f of p.files) expect(f.file['file-path']).toContain('/symbol=BTCUSDT/');
    expect(await read(p.files)).toEqual(expected((r) => r.symbol === 'BTCUSDT'));

    // The manifest-list partition summaries already rule manifests out: none holds XRPUSDT, and only the second
    // snapshot's manifest reaches above ETHUSDT.
    const none = await plan([{ column: 'symbol', op: 'eq', value: 'XRPUSDT' }]);
    expect(none.files).toEqual([]);
    expect(none.manifestsScanned).toBe(0);
    const above = await plan([{ column: 'symbol', op: 'gt', value: 'ETHUSDT' }]);
    expect(symbols(above.files)).toEqual(['SOLUSDT']);
    expect(above.manifestsScanned).toBe(1);
    expect(above.filesTotal).toBe(3);
  });

  it('prunes by PyIceberg’s column bounds (decimal, 63-bit long, negative timestamp)', async () => {
    // Only m-5 (65100) is above 65050; the other BTCUSDT file tops out at 65000.12345678.
    const pricey = await plan([{ column: 'price', op: 'gt', value: '65050' }]);
    expect(await read(pricey.files)).toEqual(expected((r) => r.message_id === 'm-5'));
    expect(pricey.files).toHaveLength(1);

    // 2^62 + 8 is beyond a double's precision: the file whose maximum is 2^62 + 7 must be pruned.
    const seq = await plan([{ column: 'source_sequence', op: 'gte', value: 2n ** 62n + 8n }]);
    expect(seq.files).toHaveLength(1);
    expect(await read(seq.files)).toEqual(expected((r) => r.message_id === 'm-5'));

    const beforeEpoch = await plan([{ column: 'timestamp', op: 'lt', value: 0n }]);
    expect(beforeEpoch.files).toHaveLength(1);
    expect(await read(beforeEpoch.files)).toEqual(expected((r) => r.message_id === 'm-6'));
  });

  it('time-travels to PyIceberg’s first snapshot', async () => {
    const t = await catalog.loadTable(ident);
    const first = t.metadata.snapshots!.find((s) => String(s['snapshot-id']) === py.snapshot_ids[0])!;
    const p = await plan([], first['snapshot-id']);
    expect(String(p.snapshot?.['snapshot-id'])).toBe(py.snapshot_ids[0]);
    expect(symbols(p.files)).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(await read(p.files)).toEqual(expected((r) => ['m-1', 'm-2', 'm-3'].includes(r.message_id)));
  });

  it('decodes PyIceberg’s manifest bounds and counts to each file’s actual values', async () => {
    const p = await plan();
    const schema = p.schema;
    const typeOf = (id: number) => schema.fields.find((f) => f.id === id)!.type as PrimitiveType;
    for (const { file } of p.files) {
      const local = await io.localPath(file['file-path']);
      const [actual] = (
        await duck.connection.runAndReadAll(
          'SELECT count(*)::VARCHAR AS n, min(price)::VARCHAR AS min_price, max(price)::VARCHAR AS max_price, ' +
            'min(epoch_us("timestamp"))::VARCHAR AS min_ts, max(epoch_us("timestamp"))::VARCHAR AS max_ts, ' +
            'min(source_sequence)::VARCHAR AS min_seq, max(source_sequence)::VARCHAR AS max_seq, count(source_sequence)::VARCHAR AS seq_values ' +
            `FROM read_parquet(${quote(local)})`,
        )
      ).getRowObjectsJson() as unknown as Array<Record<string, string | null>>;
      expect(String(file['record-count'])).toBe(actual['n']);

      const bound = (m: Map<number, Buffer> | undefined, id: number) => {
        const b = m?.get(id);
        return b === undefined ? undefined : deserializeValue(typeOf(id), b);
      };
      const lo = bound(file['lower-bounds'], PRICE_ID);
      const hi = bound(file['upper-bounds'], PRICE_ID);
      expect(typeof lo).toBe('bigint');
      expect(decimalText(lo as bigint, 8)).toBe(actual['min_price']);
      expect(decimalText(hi as bigint, 8)).toBe(actual['max_price']);
      expect(String(bound(file['lower-bounds'], TIMESTAMP_ID))).toBe(actual['min_ts']);
      expect(String(bound(file['upper-bounds'], TIMESTAMP_ID))).toBe(actual['max_ts']);

      const nulls = file['null-value-counts']?.get(SOURCE_SEQUENCE_ID);
      expect(String(file['record-count'] - (nulls ?? 0))).toBe(actual['seq_values']);
      if (actual['seq_values'] === '0') {
        expect(file['lower-bounds']?.get(SOURCE_SEQUENCE_ID)).toBeUndefined();
      } else {
        expect(String(bound(file['lower-bounds'], SOURCE_SEQUENCE_ID))).toBe(actual['min_seq']);
        expect(String(bound(file['upper-bounds'], SOURCE_SEQUENCE_ID))).toBe(actual['max_seq']);
      }
    }
  });
});
