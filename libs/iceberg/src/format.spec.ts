import { TRADE_V2_SCHEMA } from '@k2/schema';
import { readAvroFile, writeAvroFile } from './avro-file';
import { avroToIcebergSchema, type AvroField } from './avro-schema';
import { parseIcebergJson, stringifyIcebergJson } from './json';
import { readManifest, readManifestList, writeManifest, writeManifestList } from './manifest';
import { ancestors, applyUpdates, checkRequirements, currentSnapshot, newTableMetadata } from './metadata';
import { rangeMayMatch } from './scan';
import type { DataFile, ManifestFile, PartitionSpec, SortOrder } from './spec';
import {
  bigIntToMinimalBytes,
  bytesToBigInt,
  dayOfMicros,
  decimalText,
  deserializeValue,
  serializeValue,
  truncateLower,
  truncateUpper,
  unscaledDecimal,
} from './values';

const tradeFields = (TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields;

/** day(timestamp) + identity(exchange), sorted by (symbol, timestamp), over trade_v2's field ids (a layout like K2's, @k2/lake). */
const spec: PartitionSpec = {
  'spec-id': 0,
  fields: [
    { 'source-id': 6, 'field-id': 1000, name: 'timestamp_day', transform: 'day' },
    { 'source-id': 4, 'field-id': 1001, name: 'exchange', transform: 'identity' },
  ],
};
const sortOrder: SortOrder = {
  'order-id': 1,
  fields: [
    { transform: 'identity', 'source-id': 3, direction: 'asc', 'null-order': 'nulls-first' },
    { transform: 'identity', 'source-id': 6, direction: 'asc', 'null-order': 'nulls-first' },
  ],
};

describe('Avro → Iceberg schema of trade_v2', () => {
  const { schema, sources } = avroToIcebergSchema(tradeFields);

  it('keeps the 15 fields in order with ids 1..15 and the list element after them (Java assignFreshIds order)', () => {
    expect(schema.fields.map((f) => [f.id, f.name])).toEqual(tradeFields.map((f, i) => [i + 1, f.name]));
    const conds = schema.fields.find((f) => f.name === 'trade_conditions')!;
    expect(conds.type).toEqual({ type: 'list', 'element-id': 16, element: 'string', 'element-required': true });
  });

  it('maps decimals, µs timestamps, enums, optional longs and the vendor_data map (as JSON text)', () => {
    const t = Object.fromEntries(schema.fields.map((f) => [f.name, [f.type, f.required]]));
    expect(t['price']).toEqual(['decimal(18, 8)', true]);
    expect(t['timestamp']).toEqual(['timestamptz', true]);
    expect(t['side']).toEqual(['string', true]);
    expect(t['source_sequence']).toEqual(['long', false]);
    expect(t['vendor_data']).toEqual(['string', false]);
    expect(sources.get(15)).toEqual({ kind: 'json-map' });
  });

  it('evolves: an added optional field gets the next id, existing ids stay, the new column is optional', () => {
    const evolved = avroToIcebergSchema([...tradeFields, { name: 'venue', type: ['null', 'string'] }], schema, 16);
    expect(evolved.changed).toBe(true);
    expect(evolved.schema.fields.slice(0, 15)).toEqual(schema.fields);
    expect(evolved.schema.fields[15]).toEqual({ id: 17, name: 'venue', required: false, type: 'string' });
    expect(avroToIcebergSchema(tradeFields, schema, 16).changed).toBe(false);
  });

});

describe('single-value serialization (spec Appendix D)', () => {
  it('decimals are minimal big-endian two’s complement of the unscaled value', () => {
    expect(bigIntToMinimalBytes(0n)).toEqual(Buffer.from([0x00]));
    expect(bigIntToMinimalBytes(127n)).toEqual(Buffer.from([0x7f]));
    expect(bigIntToMinimalBytes(128n)).toEqual(Buffer.from([0x00, 0x80]));
    expect(bigIntToMinimalBytes(-1n)).toEqual(Buffer.from([0xff]));
    expect(bigIntToMinimalBytes(-129n)).toEqual(Buffer.from([0xff, 0x7f]));
    const max = unscaledDecimal('9999999999.99999999', 8);
    expect(bytesToBigInt(bigIntToMinimalBytes(max))).toBe(max);
    expect(decimalText(unscaledDecimal('-0.00000001', 8), 8)).toBe('-0.00000001');
    expect(() => unscaledDecimal('1.000000001', 8)).toThrow(/more than 8 fractional digits/);
  });

  it('longs and timestamps are 8-byte little-endian, ints and dates 4-byte', () => {
    expect(serializeValue('timestamptz', 1700000000123456n).toString('hex')).toBe('40222018240a0600');
    expect(deserializeValue('timestamptz', serializeValue('timestamptz', -5n))).toBe(-5n);
    expect(serializeValue('date', 19675)).toEqual(Buffer.from([0xdb, 0x4c, 0, 0]));
    expect(deserializeValue('decimal(18, 8)', serializeValue('decimal(18, 8)', 12345000000n))).toBe(12345000000n);
  });

  it('truncates string bounds to 16 code points, incrementing the upper bound', () => {
    const id = 'a3c4e9d2-5b1f-5c7e-9a2b-0f1e2d3c4b5a';
    expect(truncateLower(id)).toBe('a3c4e9d2-5b1f-5c');
    expect(truncateUpper(id)).toBe('a3c4e9d2-5b1f-5d');
    expect(truncateUpper('short')).toBe('short');
    expect(truncateUpper(String.fromCodePoint(0x10ffff).repeat(17))).toBeUndefined();
  });

  it('day transform floors, also before the epoch', () => {
    expect(dayOfMicros(0n)).toBe(0);
    expect(dayOfMicros(86_400_000_000n - 1n)).toBe(0);
    expect(dayOfMicros(-1n)).toBe(-1);
    expect(dayOfMicros(BigInt(Date.UTC(2014, 0, 2, 23)) * 1000n)).toBe(16072);
  });
});

describe('Avro container files, manifests and manifest lists', () => {
  const { schema } = avroToIcebergSchema(tradeFields);
  const file: DataFile = {
    content: 0,
    'file-path': 'file:///wh/market_data/trades_v2/data/timestamp_day=2024-01-15/exchange=binance/x.parquet',
    'file-format': 'PARQUET',
    partition: { timestamp_day: 19737, exchange: 'binance' },
    'record-count': 3,
    'file-size-in-bytes': 4567,
    'value-counts': new Map([[1, 3]]),
    'null-value-counts': new Map([[1, 0]]),
    'lower-bounds': new Map([[7, serializeValue('decimal(18, 8)', 1n)]]),
    'upper-bounds': new Map([[7, serializeValue('decimal(18, 8)', 9n)]]),
    'sort-order-id': 1,
  };

  it('round-trips records and header metadata, deflate and null codecs', () => {
    const s = { type: 'record', name: 'r', fields: [{ name: 'a', type: 'long', 'field-id': 1 }] };
    for (const codec of ['null', 'deflate'] as const) {
      const buf = writeAvroFile(s, [{ a: 1 }, { a: 2n ** 62n }], { codec, metadata: { k: 'v' } });
      const f = readAvroFile<{ a: number | bigint }>(buf);
      expect(f.records.map((r) => r.a)).toEqual([1, 2n ** 62n]);
      expect(f.metadata['k']).toBe('v');
      expect(f.schema).toEqual(s);
    }
  });

  it('writes a manifest whose header schema carries the spec field ids and that reads back with inheritance', () => {
    const buf = writeManifest({ schema, spec }, [{ status: 1, 'snapshot-id': null, 'sequence-number': null, 'file-sequence-number': null, 'data-file': file }]);
    const raw = readAvroFile(buf);
    expect(raw.metadata['format-version']).toBe('2');
    expect(JSON.parse(raw.metadata['partition-spec'])).toEqual(spec.fields);
    const dataFile = (raw.schema['fields'] as Array<{ name: string; 'field-id': number; type: { fields: Array<{ name: string; 'field-id': number }> } }>).find((f) => f.name === 'data_file')!;
    expect(dataFile['field-id']).toBe(2);
    expect(dataFile.type.fields.find((f) => f.name === 'lower_bounds')!['field-id']).toBe(125);
    const [e] = readManifest(buf, { 'manifest-path': 'm', 'sequence-number': 7, 'added-snapshot-id': 2n ** 60n });
    expect(e['sequence-number']).toBe(7);
    expect(e['snapshot-id']).toBe(2n ** 60n);
    expect(e['data-file'].partition).toEqual(file.partition);
    expect(e['data-file']['lower-bounds']!.get(7)).toEqual(Buffer.from([1]));
  });

  it('writes manifest lists with v2 counts', () => {
    const m: ManifestFile = {
      'manifest-path': 'file:///wh/m.avro',
      'manifest-length': 10,
      'partition-spec-id': 0,
      content: 0,
      'sequence-number': 3,
      'min-sequence-number': 1,
      'added-snapshot-id': 42,
      'added-files-count': 1,
      'existing-files-count': 2,
      'deleted-files-count': 0,
      'added-rows-count': 3,
      'existing-rows-count': 4,
      'deleted-rows-count': 0,
      partitions: [{ 'contains-null': false, 'contains-nan': false, 'lower-bound': Buffer.from([1]), 'upper-bound': Buffer.from([2]) }],
    };
    const buf = writeManifestList({ snapshotId: 42, parentSnapshotId: null, sequenceNumber: 3 }, [m]);
    expect(readManifestList(buf)).toEqual([m]);
    expect(readAvroFile(buf).metadata['parent-snapshot-id']).toBe('null');
  });
});

describe('table metadata', () => {
  const { schema } = avroToIcebergSchema(tradeFields);
  const base = newTableMetadata({ location: 'file:///wh/t/', schema, spec, sortOrder });
  const snap = (id: number | bigint, seq: number, parent?: number | bigint) => ({
    'snapshot-id': id,
    ...(parent !== undefined ? { 'parent-snapshot-id': parent } : {}),
    'sequence-number': seq,
    'timestamp-ms': 1,
    'manifest-list': 'unused-by-this-test',
    summary: { operation: 'append' as const },
  });

  it('applies add-snapshot + set-snapshot-ref and walks ancestors', () => {
    const big = 2n ** 62n + 1n;
    let m = applyUpdates(base, [{ action: 'add-snapshot', snapshot: snap(big, 1) }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': big }]);
    m = applyUpdates(m, [{ action: 'add-snapshot', snapshot: snap(5, 2, big) }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 5 }]);
    expect(currentSnapshot(m)?.['snapshot-id']).toBe(5);
    expect([...ancestors(m)].map((s) => s['snapshot-id'])).toEqual([5, big]);
    expect(m['last-sequence-number']).toBe(2);
    expect(() => checkRequirements(m, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': big }])).toThrow(/ref main is at 5/);
    // Lossless JSON keeps the 63-bit id exact.
    const again = parseIcebergJson<typeof m>(stringifyIcebergJson(m));
    expect(again.snapshots![0]['snapshot-id']).toBe(big);
  });

  it('refuses a snapshot whose sequence number does not advance', () => {
    const m = applyUpdates(base, [{ action: 'add-snapshot', snapshot: snap(1, 1) }]);
    expect(() => applyUpdates(m, [{ action: 'add-snapshot', snapshot: snap(2, 1) }])).toThrow(/sequence number/);
  });
});

describe('pruning', () => {
  it('keeps a file only when its bounds allow a match', () => {
    expect(rangeMayMatch('eq', 'BTCUSDT', 'BTCUSDT', 'ETHUSDT')).toBe(true);
    expect(rangeMayMatch('eq', 'AAA', 'BTCUSDT', 'ETHUSDT')).toBe(false);
    expect(rangeMayMatch('gte', 10n, 1n, 9n)).toBe(false);
    expect(rangeMayMatch('lt', 1n, 1n, 9n)).toBe(false);
    expect(rangeMayMatch('lte', 1n, 1n, 9n)).toBe(true);
    expect(rangeMayMatch('gt', 5n, undefined, undefined)).toBe(true);
  });
});
