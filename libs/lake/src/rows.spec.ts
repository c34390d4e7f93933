import { avroToIcebergSchema, type AvroField } from '@k2/iceberg';
import { TRADE_V2_SCHEMA } from '@k2/schema';
import { sampleTrades } from '@k2/testing';
import { mapToJson, partitionKey, partitionOf, toRow } from './rows';

describe('V2 record → Iceberg row', () => {
  const { schema, sources } = avroToIcebergSchema((TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields);
  const [binance] = sampleTrades();

  it('keeps decimals, µs and ids exact and stores vendor_data as sorted JSON text', () => {
    const row = toRow(binance as unknown as Record<string, unknown>, schema, sources);
    const byName = Object.fromEntries(schema.fields.map((f, i) => [f.name, row[i]]));
    expect(byName['price']).toBe(binance.price);
    expect(byName['timestamp']).toBe(binance.timestamp);
    expect(byName['source_sequence']).toBe(binance.source_sequence);
    expect(byName['trade_conditions']).toEqual([]);
    expect(byName['vendor_data']).toBe(mapToJson(binance.vendor_data));
    expect(JSON.parse(byName['vendor_data'] as string)).toEqual(binance.vendor_data);
    expect(Object.keys(JSON.parse(byName['vendor_data'] as string))).toEqual(Object.keys(binance.vendor_data!).sort());
  });

  it('fills columns the record does not have (older writer schema) with null', () => {
    const evolved = avroToIcebergSchema([...(TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields, { name: 'venue', type: ['null', 'string'] }], schema, 16);
    const row = toRow(binance as unknown as Record<string, unknown>, evolved.schema, evolved.sources);
    expect(row[15]).toBeNull();
  });

  it('partitions by UTC day of the event time and exchange', () => {
    const p = partitionOf(binance as unknown as Record<string, unknown>);
    expect(p).toEqual({ day: Math.floor(Number(binance.timestamp / 1000n) / 86_400_000), exchange: 'BINANCE' });
    expect(partitionKey(p)).toBe(`${p.day}|BINANCE`);
    expect(partitionKey({ day: null, exchange: 'ASX' })).toBe('|ASX');
  });
});
