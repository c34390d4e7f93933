import { randomUUID } from 'node:crypto';
import { TRADE_V2_SCHEMA } from '@k2/schema';
import { avroToIcebergSchema, type AvroField } from './avro-schema';
import { ParquetWriter, parquetCopyOptions, type RowValue } from './parquet-writer';
import type { Schema } from './spec';
import { deserializeValue, serializeValue, uuidBytes, uuidText } from './values';

/** ADR 0022: Parquet v2 pages with per-type encodings, and message_id as Iceberg uuid for tables created so. */
const tradeFields = (TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields;

const uuidSchema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'message_id', required: true, type: 'uuid' },
    { id: 2, name: 'symbol', required: true, type: 'string' },
    { id: 3, name: 'seq', required: true, type: 'long' },
  ],
};

// The sign-bit boundary and both ends: byte order, text order and DuckDB's UUID order must agree on them.
const EDGES = ['00000000-0000-0000-0000-000000000000', '7fffffff-ffff-ffff-ffff-ffffffffffff', '80000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];

describe('uuid values', () => {
  it('serializes as 16 big-endian bytes and reads back as canonical lowercase text', () => {
    const id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11';
    expect(uuidBytes(id).toString('hex')).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
    expect(serializeValue('uuid', id)).toEqual(uuidBytes(id));
    expect(deserializeValue('uuid', uuidBytes(id))).toBe(id.toLowerCase());
    expect(uuidText(uuidBytes(EDGES[2]))).toBe(EDGES[2]);
    expect(() => uuidBytes('not-a-uuid')).toThrow('is not a UUID');
    expect(() => uuidText(Buffer.alloc(15))).toThrow('16 bytes');
  });

  it('orders the same as bytes and as lowercase text', () => {
    const ids = [...EDGES, ...Array.from({ length: 200 }, () => randomUUID())];
    const byText = [...ids].sort();
    const byBytes = [...ids].sort((a, b) => Buffer.compare(uuidBytes(a), uuidBytes(b)));
    expect(byBytes).toEqual(byText);
  });
});

describe('schema mapping with uuidColumns', () => {
  it('makes a new string column uuid and leaves every other column alone', () => {
    const plain = avroToIcebergSchema(tradeFields).schema;
    const mapped = avroToIcebergSchema(tradeFields, undefined, undefined, { uuidColumns: ['message_id', 'vendor_data', 'timestamp'] }).schema;
    expect(mapped.fields.find((f) => f.name === 'message_id')!.type).toBe('uuid');
    // vendor_data is a map kept as JSON text, timestamp is no string: neither can be uuid.
    expect(mapped.fields.filter((f) => f.name !== 'message_id')).toEqual(plain.fields.filter((f) => f.name !== 'message_id'));
  });

  it('never changes the type of an existing column (string → uuid is no legal promotion)', () => {
    const { schema, lastColumnId } = avroToIcebergSchema(tradeFields);
    const again = avroToIcebergSchema(tradeFields, schema, lastColumnId, { uuidColumns: ['message_id'] });
    expect(again.changed).toBe(false);
    expect(again.schema.fields.find((f) => f.name === 'message_id')!.type).toBe('string');
  });
});

describe('Parquet layout', () => {
  let w: ParquetWriter;
  beforeAll(async () => {
    w = await ParquetWriter.create({ threads: 1 });
  });
  afterAll(() => w.close());

  it('writes data pages v2: delta encodings for integers, dictionary for repeated strings', async () => {
    expect(parquetCopyOptions(uuidSchema.fields)).toContain('PARQUET_VERSION V2');
    const rows: RowValue[][] = Array.from({ length: 5000 }, (_, i) => [randomUUID(), ['BTCUSDT', 'ETHUSDT'][i % 2], BigInt(i)]);
    const f = await w.write({ ...uuidSchema, fields: uuidSchema.fields.map((x) => (x.name === 'message_id' ? { ...x, type: 'string' } : x)) }, rows, ['symbol', 'seq']);
    const enc = Object.fromEntries((await w.connection.runAndReadAll(`SELECT path_in_schema, encodings FROM parquet_metadata('${f.localPath}')`)).getRows().map(([p, e]) => [String(p), String(e)]));
    expect(enc['seq']).toBe('DELTA_BINARY_PACKED');
    expect(enc['symbol']).toBe('RLE_DICTIONARY');
    expect(enc['message_id']).toBe('DELTA_LENGTH_BYTE_ARRAY');
  });

  it('writes uuid as FIXED_LEN_BYTE_ARRAY(16) with the UUID logical type, 16-byte bounds and canonical text back', async () => {
    const ids = [...EDGES, ...Array.from({ length: 1000 }, () => randomUUID())];
    // Upper-case input is canonicalised by the cast; what comes back is lowercase.
    const rows: RowValue[][] = ids.map((id, i) => [i === 5 ? id.toUpperCase() : id, 'BTCUSDT', BigInt(i)]);
    const f = await w.write(uuidSchema, rows, ['message_id']);
    const c = w.connection;
    const col = (await c.runAndReadAll(`SELECT type, type_length, logical_type FROM parquet_schema('${f.localPath}') WHERE name = 'message_id'`)).getRows()[0];
    expect(String(col[0])).toBe('FIXED_LEN_BYTE_ARRAY');
    expect(Number(col[1])).toBe(16);
    expect(String(col[2])).toContain('UUID');
    const sorted = [...ids].sort();
    expect(f.lowerBounds.get(1)).toEqual(uuidBytes(sorted[0]));
    expect(f.upperBounds.get(1)).toEqual(uuidBytes(sorted[sorted.length - 1]));
    // DuckDB's UUID order is the lowercase text order, sign-bit boundary included.
    const back = (await c.runAndReadAll(`SELECT CAST(message_id AS VARCHAR) FROM '${f.localPath}'`)).getRows().map((r) => String(r[0]));
    expect(back).toEqual(sorted);
    expect(await w.readStringColumn([f.localPath], 'message_id')).toEqual(sorted);
    // 16 bytes a value at most (random ids do not compress), against 36 as text.
    expect(f.columnSizes.get(1)!).toBeLessThanOrEqual(16 * ids.length + 1024);
  });

  it('refuses text that is not a UUID for a uuid column', async () => {
    await expect(w.write(uuidSchema, [['not-a-uuid', 'BTCUSDT', 1n]])).rejects.toThrow('writing Parquet failed');
  });
});
