import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as avro from 'avsc';
import { parseDecimal } from '@k2/decimal';
import { QUOTE_V2_SCHEMA, REFERENCE_DATA_V2_SCHEMA, TRADE_V2_SCHEMA } from './generated/schemas';
import { AVRO_LONG_MAX, DecimalLogicalType, TimestampMicrosLogicalType, avroTypeForSchema, digitsFitLong } from './logical-types';
import type { QuoteV2, TradeV2 } from './types';
import { v2FieldNames, v2Type } from './v2';

const avsc = (name: string) => JSON.parse(readFileSync(join(__dirname, 'avro', `${name}.avsc`), 'utf8'));

// Binance spot @trade as documented in binance-spot-api-docs web-socket-streams.md ("Trade Streams").
const binanceTrade: TradeV2 = {
  message_id: 'c0c2bdc8-3c26-5e6c-8d7a-6e4d1a3f6b10',
  trade_id: '12345',
  symbol: 'BNBBTC',
  exchange: 'BINANCE',
  asset_class: 'crypto',
  timestamp: 1672515782136000n,
  price: parseDecimal('price', '0.001', 'price'),
  quantity: parseDecimal('quantity', '100', 'quantity'),
  currency: 'BTC',
  side: 'SELL',
  trade_conditions: [],
  source_sequence: 12345n,
  ingestion_timestamp: 1672515782136123n,
  platform_sequence: 9007199254740993n, // 2^53 + 1: must survive exactly
  vendor_data: { event_type: 'trade', event_time: '1672515782136', is_buyer_maker: 'true' },
};

describe('V2 schema files', () => {
  it('have 15 trade fields and 14 quote fields, in the documented order', () => {
    expect(v2FieldNames('trades')).toEqual([
      'message_id', 'trade_id', 'symbol', 'exchange', 'asset_class', 'timestamp', 'price', 'quantity', 'currency',
      'side', 'trade_conditions', 'source_sequence', 'ingestion_timestamp', 'platform_sequence', 'vendor_data',
    ]);
    expect(v2FieldNames('quotes')).toEqual([
      'message_id', 'symbol', 'exchange', 'asset_class', 'timestamp', 'bid_price', 'bid_quantity', 'ask_price',
      'ask_quantity', 'currency', 'source_sequence', 'ingestion_timestamp', 'platform_sequence', 'vendor_data',
    ]);
  });

  it('generated TS constants equal the .avsc files (run tools/scripts/gen-schemas.mjs after editing)', () => {
    expect(TRADE_V2_SCHEMA).toEqual(avsc('trade_v2'));
    expect(QUOTE_V2_SCHEMA).toEqual(avsc('quote_v2'));
    expect(REFERENCE_DATA_V2_SCHEMA).toEqual(avsc('reference_data_v2'));
  });

  it.each(['trade_v2', 'quote_v2', 'reference_data_v2'])(
    '%s puts logicalType inside the type object of every decimal and timestamp field',
    (name) => {
      const walk = (node: unknown, path: string, out: string[]) => {
        if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${path}[${i}]`, out));
        else if (node && typeof node === 'object') {
          const o = node as Record<string, unknown>;
          // A field object carrying logicalType beside "name" is the misplacement Avro ignores silently.
          if ('name' in o && 'logicalType' in o && typeof o['type'] !== 'undefined') out.push(path);
          for (const [k, v] of Object.entries(o)) walk(v, `${path}.${k}`, out);
        }
      };
      const misplaced: string[] = [];
      walk(avsc(name), name, misplaced);
      expect(misplaced).toEqual([]);
      const s = avsc(name) as { fields: Array<{ name: string; type: unknown }> };
      for (const f of s.fields) {
        if (/price|quantity/.test(f.name)) {
          expect(f.type).toEqual({ type: 'bytes', logicalType: 'decimal', precision: 18, scale: 8 });
        }
        if (f.name.endsWith('timestamp')) expect(f.type).toEqual({ type: 'long', logicalType: 'timestamp-micros' });
      }
    },
  );
});

describe('avsc applies the logical types', () => {
  it('resolves decimal and timestamp-micros fields to K2 logical type instances', () => {
    const t = v2Type('trades') as avro.types.RecordType;
    expect(t.field('price')!.type).toBeInstanceOf(DecimalLogicalType);
    expect(t.field('quantity')!.type).toBeInstanceOf(DecimalLogicalType);
    expect(t.field('timestamp')!.type).toBeInstanceOf(TimestampMicrosLogicalType);
    expect(t.field('ingestion_timestamp')!.type).toBeInstanceOf(TimestampMicrosLogicalType);
    const q = v2Type('quotes') as avro.types.RecordType;
    for (const f of ['bid_price', 'bid_quantity', 'ask_price', 'ask_quantity']) {
      expect(q.field(f)!.type).toBeInstanceOf(DecimalLogicalType);
    }
  });

  it('writes decimals as unscaled two\'s-complement bytes, readable by a plain Avro reader', () => {
    const buf = v2Type('trades').toBuffer({ ...binanceTrade, platform_sequence: 7n });
    // A reader without logical types sees the underlying bytes/long: proves what is on the wire.
    const plain = avro.Type.forSchema(TRADE_V2_SCHEMA as unknown as avro.Schema, { wrapUnions: false });
    const raw = plain.fromBuffer(buf) as Record<string, unknown>;
    expect(Buffer.isBuffer(raw['price'])).toBe(true);
    expect((raw['price'] as Buffer).toString('hex')).toBe('0186a0'); // 0.001 * 10^8 = 100000
    expect((raw['quantity'] as Buffer).toString('hex')).toBe('02540be400'); // 100 * 10^8
    expect(raw['timestamp']).toBe(1672515782136000);
  });

  it('round-trips a trade exactly, including longs above 2^53', () => {
    const t = v2Type('trades');
    const back = t.fromBuffer(t.toBuffer(binanceTrade)) as TradeV2;
    expect(back).toEqual(binanceTrade);
    expect(back.price).toBe('0.00100000');
    expect(back.platform_sequence).toBe(9007199254740993n);
  });

  it('round-trips a quote with an empty ask side (ASX 0.0 / size 0)', () => {
    const q: QuoteV2 = {
      message_id: 'b1d7a0a4-7a57-5d0b-8f4a-1ad3a8b6c0de',
      symbol: 'BHP',
      exchange: 'ASX',
      asset_class: 'equities',
      timestamp: 1394406000000000n,
      bid_price: parseDecimal('bid_price', '36.460', 'price'),
      bid_quantity: parseDecimal('bid_quantity', '1200', 'size'),
      ask_price: parseDecimal('ask_price', '0.0', 'price'),
      ask_quantity: parseDecimal('ask_quantity', '0', 'size'),
      currency: 'AUD',
      source_sequence: null,
      ingestion_timestamp: 1700000000000001n,
      platform_sequence: null,
      vendor_data: null,
    };
    const t = v2Type('quotes');
    expect(t.fromBuffer(t.toBuffer(q))).toEqual(q);
  });

  it('refuses to encode a JS number or a non-canonical decimal', () => {
    const t = v2Type('trades');
    expect(() => t.toBuffer({ ...binanceTrade, price: 0.001 })).toThrow(/canonical Decimal/);
    expect(() => t.toBuffer({ ...binanceTrade, price: '1.5' })).toThrow(/canonical Decimal/);
    expect(() => t.toBuffer({ ...binanceTrade, timestamp: 1672515782136000 })).toThrow(/bigint/);
    expect(() => t.toBuffer({ ...binanceTrade, timestamp: 2n ** 60n })).toThrow(/outside the exact range/);
  });

  it('encodes source_sequence up to 2^63-1 only, the bound digitsFitLong checks ids against', () => {
    const t = v2Type('trades');
    const at = (id: bigint) => ({ ...binanceTrade, trade_id: id.toString(), source_sequence: id });
    expect((t.fromBuffer(t.toBuffer(at(AVRO_LONG_MAX))) as TradeV2).source_sequence).toBe(9223372036854775807n);
    expect(() => t.toBuffer(at(AVRO_LONG_MAX + 1n))).toThrow();
    expect(['0', '9007199254740993', '999999999999999999', '9223372036854775807'].map(digitsFitLong)).toEqual([true, true, true, true]);
    expect(['9223372036854775808', '18446744073709551615', '10000000000000000000000'].map(digitsFitLong)).toEqual([false, false, false]);
  });

  it('refuses schemas with a decimal other than (18,8)', () => {
    expect(() => avroTypeForSchema({ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } as avro.Schema)).toThrow(
      /only decimal\(18,8\)/,
    );
  });
});
