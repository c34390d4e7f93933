import type { AvroField } from '@k2/iceberg';
import { avroTypeForSchema, QUOTE_V2_SCHEMA, REFERENCE_DATA_V2_SCHEMA, TRADE_V2_SCHEMA } from '@k2/schema';
import { sampleQuotes, sampleTrades } from '@k2/testing';
import { AvroCsvTranscoder } from './avro-csv';
import { CsvLineEncoder, partitionOf } from './rows';

const HEADER = Buffer.from([0, 0, 0, 0, 7]);

function both(schema: object, records: Array<Record<string, unknown>>): void {
  const type = avroTypeForSchema(schema as never);
  const fields = (type.schema({ exportAttrs: true }) as { fields: AvroField[] }).fields;
  const tc = AvroCsvTranscoder.forFields(fields)!;
  expect(tc).toBeDefined();
  const enc = new CsvLineEncoder(fields);
  for (const rec of records) {
    const buf = Buffer.concat([HEADER, type.toBuffer(rec)]);
    const decoded = type.decode(buf, 5).value as Record<string, unknown>;
    const out = tc.transcode(buf, 5);
    // Exactly the text the decode-then-encode path builds, and the same id / event time / exchange.
    expect(out.line).toBe(enc.encode(decoded));
    expect(out.messageId).toBe(decoded['message_id']);
    expect(out.exchange).toBe(partitionOf(decoded).exchange);
    const ts = decoded['timestamp'];
    expect(out.timestampUs).toBe(typeof ts === 'bigint' ? Number(ts) : null);
  }
}

describe('AvroCsvTranscoder (Avro bytes → CSV line without decoding to objects)', () => {
  it('gives the decode-then-encode line for trades, including edge values', () => {
    const trades = sampleTrades() as unknown as Array<Record<string, unknown>>;
    const edge = trades.map((t, i) => ({
      ...t,
      price: i % 2 ? '-0.00000001' : '9999999999.99999999',
      symbol: 'A"B,C',
      trade_conditions: ['x', 'quote"d', ''],
      source_sequence: i % 2 ? null : 9_223_372_036_854_775_807n,
      platform_sequence: i % 2 ? -9_223_372_036_854_775_808n : 2n ** 60n + 1n,
      vendor_data: i % 2 ? null : { zeta: '1', alpha: 'ü"', mid: '' },
    }));
    both(TRADE_V2_SCHEMA, [...trades, ...edge]);
  });

  it('gives the decode-then-encode line for quotes and reference data', () => {
    both(QUOTE_V2_SCHEMA, sampleQuotes() as unknown as Array<Record<string, unknown>>);
    const ref = {
      message_id: 'ref-1',
      instrument_id: 'BHP',
      symbol: 'BHP',
      exchange: 'asx',
      asset_class: 'equities',
      record_type: 'DIVIDEND',
      name: 'BHP "Group"',
      isin: null,
      currency: 'AUD',
      effective_date: 1_700_000_000_000_000n,
      is_active: true,
      ingestion_timestamp: 1_700_000_000_000_001n,
      vendor_data: { b: '2', a: '1' },
    };
    both(REFERENCE_DATA_V2_SCHEMA, [ref, { ...ref, is_active: false, effective_date: null, vendor_data: null, isin: 'AU000000BHP4' }]);
  });

  it('throws on truncated or trailing bytes, so the sink falls back to avsc for that message', () => {
    const type = avroTypeForSchema(TRADE_V2_SCHEMA as never);
    const tc = AvroCsvTranscoder.forFields((type.schema({ exportAttrs: true }) as { fields: AvroField[] }).fields)!;
    const buf = Buffer.concat([HEADER, type.toBuffer(sampleTrades()[0])]);
    expect(() => tc.transcode(buf.subarray(0, buf.length - 3), 5)).toThrow();
    expect(() => tc.transcode(Buffer.concat([buf, Buffer.from([1])]), 5)).toThrow(/trailing/);
  });

  it('declines schemas with types it does not handle', () => {
    expect(AvroCsvTranscoder.forFields([{ name: 'message_id', type: 'string' }, { name: 'exchange', type: 'string' }, { name: 'n', type: { type: 'fixed', size: 4 } }] as never)).toBeUndefined();
  });
});
