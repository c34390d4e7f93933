import fs from 'node:fs';
import { parseDecimal } from '@k2/decimal';
import { TRADE_V2_SCHEMA } from '@k2/schema';
import { sampleTrades } from '@k2/testing';
import { avroToIcebergSchema, type AvroField } from './avro-schema';
import { ParquetWriter, type RowValue } from './parquet-writer';
import { deserializeValue } from './values';

const { schema } = avroToIcebergSchema((TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields);

function rowOf(t: ReturnType<typeof sampleTrades>[number]): RowValue[] {
  return schema.fields.map((f) => {
    const v = (t as unknown as Record<string, unknown>)[f.name];
    if (f.name === 'vendor_data') return v ? JSON.stringify(v) : null;
    return v as RowValue;
  });
}

describe('ParquetWriter (DuckDB)', () => {
  let w: ParquetWriter;
  beforeAll(async () => {
    w = await ParquetWriter.create({ threads: 1 });
  });
  afterAll(() => w.close());

  it('writes zstd Parquet with Iceberg field ids, exact decimals and µs timestamps, sorted, with column metrics', async () => {
    const trades = sampleTrades();
    // An id above 2^53 and a quote character must survive the CSV hop untouched.
    const rows = [...trades.map(rowOf), rowOf({ ...trades[0], symbol: 'A"B', source_sequence: 2n ** 62n + 7n, price: parseDecimal('price', '9999999999.99999999', 'price') })];
    const f = await w.write(schema, rows, ['symbol', 'timestamp']);
    try {
      expect(f.recordCount).toBe(rows.length);
      expect(f.fileSizeInBytes).toBe(fs.statSync(f.localPath).size);
      const c = w.connection;
      const meta = (await c.runAndReadAll(`SELECT name, field_id FROM parquet_schema('${f.localPath}') WHERE field_id IS NOT NULL`)).getRowObjects();
      const ids = Object.fromEntries(meta.map((r) => [r['name'], Number(r['field_id'])]));
      expect(ids['message_id']).toBe(1);
      expect(ids['price']).toBe(7);
      expect(ids['trade_conditions']).toBe(11);
      expect(ids['element']).toBe(16);
      const codecs = (await c.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${f.localPath}')`)).getRows().flat();
      expect(codecs).toEqual(['ZSTD']);
      const back = (await c.runAndReadAll(`SELECT symbol, price::VARCHAR AS price, epoch_us("timestamp")::VARCHAR AS ts, source_sequence::VARCHAR AS seq FROM '${f.localPath}'`)).getRowObjects();
      const symbols = back.map((r) => r['symbol']);
      expect(symbols).toEqual([...symbols].sort());
      const odd = back.find((r) => r['symbol'] === 'A"B')!;
      expect(odd['price']).toBe('9999999999.99999999');
      expect(odd['seq']).toBe(String(2n ** 62n + 7n));
      expect(back.find((r) => r['symbol'] === trades[0].symbol)!['ts']).toBe(String(trades[0].timestamp));
      // Metrics: bounds of price (decimal, unscaled) and timestamp (µs), no nulls in required columns.
      const minPrice = trades.map((t) => Number(t.price)).reduce((a, b) => Math.min(a, b));
      expect(Number(deserializeValue('decimal(18, 8)', f.lowerBounds.get(7)!)) / 1e8).toBeCloseTo(minPrice, 8);
      expect(deserializeValue('decimal(18, 8)', f.upperBounds.get(7)!)).toBe(999999999999999999n);
      expect(f.nullValueCounts.get(1)).toBe(0);
      expect(f.valueCounts.get(1)).toBe(rows.length);
      const minTs = trades.map((t) => t.timestamp).reduce((a, b) => (a < b ? a : b));
      expect(deserializeValue('timestamptz', f.lowerBounds.get(6)!)).toBe(minTs);
      // Column sizes: one entry per leaf field id (the list's element, not the list), adding up the chunks' bytes.
      const chunkBytes = (await c.runAndReadAll(`SELECT sum(total_compressed_size)::BIGINT FROM parquet_metadata('${f.localPath}')`)).getRows()[0]![0];
      expect([...f.columnSizes.values()].reduce((a, b) => a + b, 0)).toBe(Number(chunkBytes));
      expect(f.columnSizes.has(16)).toBe(true);
      expect(f.columnSizes.has(11)).toBe(false);
      expect(f.columnSizes.get(1)).toBeGreaterThan(0);
    } finally {
      fs.rmSync(f.localPath, { force: true });
    }
  });
});
