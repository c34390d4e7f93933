import { ValidationError } from '@k2/core';
import { mapBinanceMessage } from './mapper';
import { mapBinanceRestAggTrades, mapBinanceRestTrades } from './rest-mapper';
import type { MappedTrade } from './types';

const ctx = { receivedAtMicros: 1700000000000000n };

// Variations of rest-api.md "Old trade lookup" and "Compressed/Aggregate trades list" responses.
const HIST = { id: 28457, price: '4.00000100', qty: '12.00000000', quoteQty: '48.000012', time: 1499865549590, isBuyerMaker: true, isBestMatch: true };
const AGG = { a: 26129, p: '0.01633102', q: '4.70443515', f: 27781, l: 27781, T: 1498793709153, m: true, M: true };

function rejectionOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a rejection');
}

describe('mapBinanceRestTrades (/api/v3/historicalTrades)', () => {
  it('maps every row in order, with the same ids as the @trade stream', () => {
    const rows = [HIST, { ...HIST, id: 28458, isBuyerMaker: false }, { ...HIST, id: 28459 }];
    const out = mapBinanceRestTrades(JSON.stringify(rows), 'ltcbtc', ctx, 'ms');
    expect(out.map((t) => t.tradeId)).toEqual([28457n, 28458n, 28459n]);
    expect(out.map((t) => t.record.side)).toEqual(['SELL', 'BUY', 'SELL']);
    expect(out[0]!.symbol).toBe('LTCBTC');

    const ws = mapBinanceMessage(
      JSON.stringify({ e: 'trade', E: 1499865549591, s: 'LTCBTC', t: 28457, p: '4.00000100', q: '12.00000000', T: 1499865549590, m: true, M: true }),
      ctx,
    );
    const live = (ws as { trade: MappedTrade }).trade.record;
    const rest = out[0]!.record;
    for (const k of ['message_id', 'trade_id', 'symbol', 'timestamp', 'price', 'quantity', 'currency', 'side', 'source_sequence'] as const) {
      expect(rest[k]).toEqual(live[k]);
    }
    expect(rest.vendor_data).toMatchObject({ origin: 'rest', quote_qty: '48.000012', time_unit: 'ms' });
  });

  it('takes µs times as they come, and converts ms even when µs was requested', () => {
    expect(mapBinanceRestTrades(JSON.stringify([{ ...HIST, time: 1499865549590123 }]), 'LTCBTC', ctx, 'us')[0]!.record.timestamp).toBe(
      1499865549590123n,
    );
    const ignored = mapBinanceRestTrades(JSON.stringify([HIST]), 'LTCBTC', ctx, 'us')[0]!.record;
    expect(ignored.timestamp).toBe(1499865549590000n);
    expect(ignored.vendor_data).toMatchObject({ time_unit: 'ms' });
  });

  it('returns [] for an empty page', () => {
    expect(mapBinanceRestTrades('[]', 'LTCBTC', ctx, 'ms')).toEqual([]);
  });

  it('rejects error bodies, non-arrays and bad rows, naming row, field and value', () => {
    expect(rejectionOf(() => mapBinanceRestTrades('{"code":-1121,"msg":"Invalid symbol."}', 'LTCBTC', ctx, 'ms')).message).toBe(
      'binance historicalTrades: error -1121: "Invalid symbol."',
    );
    expect(rejectionOf(() => mapBinanceRestTrades('{"x":1}', 'LTCBTC', ctx, 'ms')).message).toContain('response must be a JSON array');
    expect(rejectionOf(() => mapBinanceRestTrades('[{"id":1', 'LTCBTC', ctx, 'ms')).message).toContain('malformed JSON');
    expect(rejectionOf(() => mapBinanceRestTrades(JSON.stringify([HIST, { ...HIST, id: 2, qty: '-3' }]), 'LTCBTC', ctx, 'ms')).message).toBe(
      'binance historicalTrades LTCBTC [1] id=2: qty (quantity): "-3" must not be negative',
    );
    expect(rejectionOf(() => mapBinanceRestTrades(JSON.stringify([5]), 'LTCBTC', ctx, 'ms')).message).toContain('[0]: 5 must be a JSON object');
    expect(rejectionOf(() => mapBinanceRestTrades('[]', 'LTC/BTC', ctx, 'ms')).message).toContain('binance symbol: "LTC/BTC" contains "/"');
    expect(rejectionOf(() => mapBinanceRestTrades('[]', 'LTCBTC', ctx, 's' as 'ms')).message).toContain('timeUnit "s" must be "ms" or "us"');
  });

  it('keeps ids above 2^53 exact', () => {
    const raw = JSON.stringify([HIST]).replace('"id":28457', '"id":9007199254740993');
    expect(mapBinanceRestTrades(raw, 'LTCBTC', ctx, 'ms')[0]!.record.trade_id).toBe('9007199254740993');
  });

  it('refuses an id of 2^63 or more (source_sequence is an Avro long)', () => {
    const raw = JSON.stringify([HIST]).replace('"id":28457', '"id":9223372036854775808');
    expect(rejectionOf(() => mapBinanceRestTrades(raw, 'LTCBTC', ctx, 'ms')).message).toBe(
      'binance historicalTrades LTCBTC [0] id=?: id (trade id): 9223372036854775808 is above 9223372036854775807, the largest signed 64-bit id',
    );
  });
});

describe('mapBinanceRestAggTrades (/api/v3/aggTrades)', () => {
  it('gives the same record as the @aggTrade stream for the same aggregate', () => {
    const rest = mapBinanceRestAggTrades(JSON.stringify([AGG]), 'ETHBTC', ctx, 'ms')[0]!;
    const ws = mapBinanceMessage(JSON.stringify({ e: 'aggTrade', E: 1498793709155, s: 'ETHBTC', ...AGG }), ctx) as { trade: MappedTrade };
    expect(rest.tradeId).toBe(26129n);
    const { vendor_data: rv, ...restCore } = rest.record;
    const { vendor_data: wv, ...liveCore } = ws.trade.record;
    expect(restCore).toEqual(liveCore);
    expect(rv).toEqual({ ...wv, event_time: undefined, origin: 'rest' } as unknown as typeof rv);
  });

  it('rejects rows with missing aggregate fields', () => {
    const { l: _l, ...noLast } = AGG;
    expect(rejectionOf(() => mapBinanceRestAggTrades(JSON.stringify([noLast]), 'ETHBTC', ctx, 'ms')).message).toBe(
      'binance aggTrades ETHBTC [0] a=26129: l (last trade id): missing is required',
    );
  });
});
