import Big from 'big.js';
import { isoFromMicros } from '@k2/schema';
import { barJson, fromUnits, mergeBars, partialFromRow, toUnits, vwap } from './bars';
import { encodeCursor, InvalidParameterError, parseBarsRequest, parseCursor, parseRowsRequest, parseSummaryRequest } from './params';
import { recordJson } from './records';
import { TailStore, type TailRow, type V2Record } from './tail-store';
import golden from './fixtures/kraken-rest-trades.golden.json';

/** Real Kraken trades as the mapper produced them (golden output of libs/kraken's REST fixture), decoded as avsc gives them. */
const trades: V2Record[] = golden.output.trades.map(({ record }) => ({
  ...record,
  timestamp: BigInt(record.timestamp),
  ingestion_timestamp: BigInt(record.ingestion_timestamp),
  source_sequence: record.source_sequence === null ? null : BigInt(record.source_sequence),
}));
const row = (rec: V2Record, tp: string, offset: number): TailRow => ({ tp, offset, rec, ts: rec['timestamp'] as bigint, id: String(rec['message_id']), symbol: String(rec['symbol']), exchange: String(rec['exchange']) });
const ALL = [0n, 2n ** 62n] as const;

describe('TailStore', () => {
  it('keeps a replayed message once and hands out only rows a snapshot does not hold', () => {
    const s = new TailStore({ maxRecords: 100 });
    trades.forEach((t, i) => s.add('trades', row(t, 'market.crypto.trades.kraken/0', i)));
    expect(s.add('trades', row(trades[0], 'market.crypto.trades.kraken/0', 99))).toBe(false);
    expect(s.counters.duplicates).toBe(1);
    expect(s.select('trades', { symbols: ['BTCUSD'], exchange: undefined, assetClass: undefined }, ...ALL, new Map())).toHaveLength(trades.length);
    // A snapshot holding offsets < 2 of that partition: the first two rows are the table's, not the tail's.
    const held = new Map([['market.crypto.trades.kraken/0', 2]]);
    expect(s.select('trades', { symbols: ['BTCUSD'], exchange: undefined, assetClass: undefined }, ...ALL, held).map((r) => r.offset)).toEqual(trades.slice(2).map((_, i) => i + 2));
    expect(s.select('trades', { symbols: ['BTCUSD'], exchange: 'BINANCE', assetClass: undefined }, ...ALL, new Map())).toEqual([]);
    expect(s.select('trades', { symbols: undefined, exchange: 'KRAKEN', assetClass: 'crypto' }, ...ALL, held)).toHaveLength(trades.length - 2);
    expect(s.select('trades', { symbols: ['ETHUSD', 'BTCUSD'], exchange: undefined, assetClass: 'equities' }, ...ALL, held)).toEqual([]);
    expect(s.evictCommitted('trades', held)).toBe(2);
    expect(s.sizeOf('trades')).toBe(trades.length - 2);
    // Evicted ids may come back (a replay after the commit); the table dedups them at read time.
    expect(s.add('trades', row(trades[0], 'market.crypto.trades.kraken/0', 100))).toBe(true);
  });

  it('sheds the oldest rows at its bound and reports the hole to snapshots that needed them', () => {
    const s = new TailStore({ maxRecords: 2 });
    trades.forEach((t, i) => s.add('trades', row(t, 'tp/0', i)));
    expect(s.size).toBeLessThanOrEqual(2);
    expect(s.truncatedFor('trades', new Map())).toBe(true);
    expect(s.truncatedFor('trades', new Map([['tp/0', trades.length]]))).toBe(false);
  });

  it('latest: the newest rows by event time from the symbol ring, held rows only, exchange filtered', () => {
    const s = new TailStore({ maxRecords: 10_000, recentPerSymbol: 8 });
    // 20 trades of one symbol from two exchanges, arriving slightly out of event-time order.
    const base = trades[0]['timestamp'] as bigint;
    const made = Array.from({ length: 20 }, (_, i) => {
      const ts = base + BigInt(i % 2 === 0 ? i + 1 : i - 1);
      return { ...trades[0], message_id: `id-${i}`, timestamp: ts, exchange: i % 4 === 3 ? 'BINANCE' : 'KRAKEN' };
    });
    made.forEach((t, i) => s.add('trades', row(t, 'tp/0', i)));
    const latest = s.latest('trades', 'BTCUSD', undefined, 5);
    // Only the ring's 8 newest arrivals (ids 12..19) are candidates; the 5 newest of them by event time.
    const expected = made.slice(12).sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1)).slice(-5).map((t) => t.message_id);
    expect(latest.map((r) => r.id)).toEqual(expected);
    expect(s.latest('trades', 'BTCUSD', 'BINANCE', 100).map((r) => r.id)).toEqual(['id-15', 'id-19']);
    expect(s.latest('trades', 'ETHUSD', undefined, 5)).toEqual([]);
    // Rows the table now holds leave the stream's backfill too, as they leave the tail.
    s.evictCommitted('trades', new Map([['tp/0', 16]]));
    expect(s.latest('trades', 'BTCUSD', undefined, 100).map((r) => r.id).sort()).toEqual(['id-16', 'id-17', 'id-18', 'id-19']);
    s.evictCommitted('trades', new Map([['tp/0', 20]]));
    expect(s.latest('trades', 'BTCUSD', undefined, 100)).toEqual([]);
  });
});

describe('bars', () => {
  it('folds tail trades into table partials with the same (timestamp, message_id) order and exact sums', () => {
    const [a, b, ...rest] = trades;
    // The table half as SQL.bars returns it for one 1h bucket holding a and b.
    const bucket = ((a['timestamp'] as bigint) / 3_600_000_000n) * 3_600_000_000n;
    const lo = new Big(String(a['price'])).lt(String(b['price'])) ? a : b;
    const hi = lo === a ? b : a;
    const table = partialFromRow({
      bucket,
      open: a['price'], open_ts: a['timestamp'], open_id: a['message_id'],
      close: b['price'], close_ts: b['timestamp'], close_id: b['message_id'],
      high: hi['price'], low: lo['price'],
      volume: new Big(String(a['quantity'])).plus(String(b['quantity'])).toFixed(8),
      notional: new Big(String(a['price'])).times(String(a['quantity'])).plus(new Big(String(b['price'])).times(String(b['quantity']))).toFixed(16),
      trades: 2n,
    });
    const merged = mergeBars([table], rest, 3_600_000_000n);
    const all = [...trades].sort((x, y) => ((x['timestamp'] as bigint) < (y['timestamp'] as bigint) ? -1 : 1));
    const vol = all.reduce((v, t) => v.plus(String(t['quantity'])), new Big(0));
    const notional = all.reduce((v, t) => v.plus(new Big(String(t['price'])).times(String(t['quantity']))), new Big(0));
    const byHour = new Set(all.map((t) => ((t['timestamp'] as bigint) / 3_600_000_000n) * 3_600_000_000n));
    expect(merged).toHaveLength(byHour.size);
    const total = merged.reduce((n, p) => n + p.trades, 0);
    expect(total).toBe(trades.length);
    expect(fromUnits(merged.reduce((v, p) => v + p.volume, 0n))).toBe(vol.toFixed(8));
    expect(fromUnits(merged.reduce((v, p) => v + p.notional, 0n), 16)).toBe(notional.toFixed(16));
    const first = barJson(merged[0]);
    expect(first.open).toBe(all[0]['price']);
    expect(first.time).toBe(isoFromMicros(merged[0].bucket));
  });

  it('rounds the VWAP half-even to 8 decimals and gives null for zero volume', () => {
    // notional in 1e-16 units, volume in 1e-8 units (volume 1.00000000).
    expect(vwap({ notional: 10_000_000_050_000_000n, volume: 100_000_000n })).toBe('1.00000000');
    expect(vwap({ notional: 10_000_000_150_000_000n, volume: 100_000_000n })).toBe('1.00000002');
    expect(vwap({ notional: -10_000_000_150_000_000n, volume: 100_000_000n })).toBe('-1.00000002');
    expect(vwap({ notional: 0n, volume: 0n })).toBeNull();
  });

  it('converts Decimal(18,8) text to fixed-point units and back without loss', () => {
    for (const t of ['30243.40000000', '-0.50000000', '0.00000001', '9999999999.99999999', '0.00000000']) expect(fromUnits(toUnits(t))).toBe(t);
    expect(toUnits('36.667')).toBe(3_666_700_000n);
    expect(() => toUnits('1.000000001')).toThrow(RangeError);
  });
});

describe('records as JSON', () => {
  it('keeps decimals as text, µs times as ISO and 64-bit sequences as strings', () => {
    const j = recordJson({ ...trades[0], platform_sequence: 2n ** 60n + 1n });
    expect(j).toMatchObject({ price: '30243.40000000', timestamp: '2023-07-06T18:53:17.827737Z', source_sequence: '61044952', platform_sequence: '1152921504606846977' });
  });
});

describe('parameters', () => {
  const now = 1_795_000_000_000_000n;
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof InvalidParameterError ? `${e.code}:${e.parameter}` : String(e);
    }
    return 'accepted';
  };

  it('defaults to the last 15 minutes, newest first, 1000 rows', () => {
    expect(parseRowsRequest('trades', { symbol: 'btcusdt' }, now)).toEqual({ symbols: ['BTCUSDT'], exchange: undefined, assetClass: undefined, limit: 1000, cursor: undefined, startUs: now + 1n - 900_000_000n, endUs: now + 1n });
    expect(parseRowsRequest('trades', { symbol: 'BTC/USD', exchange: 'kraken', window_minutes: '60', end: '2026-11-23T00:00:00Z' }, now)).toMatchObject({ symbols: ['BTC/USD'], exchange: 'KRAKEN', startUs: 1_795_392_000_000_000n - 3_600_000_000n });
  });

  it('reads across sources: symbol optional, several symbols, exchange and asset class filters', () => {
    expect(parseRowsRequest('quotes', {}, now)).toMatchObject({ symbols: undefined, exchange: undefined, assetClass: undefined });
    expect(parseRowsRequest('trades', { symbol: 'bhp, BTCUSDT,BHP', asset_class: 'equities', exchange: 'asx' }, now)).toMatchObject({ symbols: ['BHP', 'BTCUSDT'], exchange: 'ASX', assetClass: 'equities' });
    expect(code(() => parseRowsRequest('trades', { symbol: Array.from({ length: 21 }, (_, i) => `S${i}`).join(',') }, now))).toBe('K2_QUERY_INVALID_PARAMETER:symbol');
    expect(code(() => parseRowsRequest('trades', { symbol: 'BTCUSDT,' }, now))).toBe('K2_QUERY_INVALID_PARAMETER:symbol');
    expect(code(() => parseRowsRequest('trades', { asset_class: 'bonds' }, now))).toBe('K2_QUERY_INVALID_PARAMETER:asset_class');
  });

  it.each([
    [{ symbol: "BTC' OR 1=1" }, 'symbol'],
    [{ symbol: 'BTC', limit: '0' }, 'limit'],
    [{ symbol: 'BTC', limit: '10001' }, 'limit'],
    [{ symbol: 'BTC', limit: '1.5' }, 'limit'],
    [{ symbol: 'BTC', window_minutes: '44641' }, 'window_minutes'],
    [{ symbol: 'BTC', start: '2026-11-23', end: '2026-11-24T00:00:00Z' }, 'start'],
    [{ symbol: 'BTC', start: '2026-11-23T00:00:00Z', window_minutes: '5' }, 'window_minutes'],
    [{ symbol: 'BTC', start: '2026-11-24T00:00:00Z', end: '2026-11-23T00:00:00Z' }, 'start'],
    [{ symbol: 'BTC', cursor: 'not-a-cursor' }, 'cursor'],
    [{ symbol: ['A', 'B'] }, 'symbol'],
    [{ symbol: 'BTC', windows_minutes: '5' }, 'windows_minutes'],
  ])('rejects %j (parameter %s)', (q, p) => {
    expect(code(() => parseRowsRequest('trades', q, now))).toBe(`K2_QUERY_INVALID_PARAMETER:${p}`);
  });

  it('round-trips cursors and rejects tampered ones', () => {
    const c = { ts: 1_795_000_000_000_001n, id: '34da2f0e-473b-5cd0-b38d-b7cc3186f9c4' };
    expect(parseCursor({ cursor: encodeCursor(c) })).toEqual(c);
    expect(code(() => parseCursor({ cursor: Buffer.from('{"t":"1","i":"x\' OR 1=1"}').toString('base64url') }))).toBe('K2_QUERY_INVALID_PARAMETER:cursor');
  });

  it('validates bars intervals and calendar dates', () => {
    expect(parseBarsRequest({ symbol: 'BHP', interval: '1m', start: '2026-11-23T00:00:00Z', end: '2026-11-24T00:00:00Z' }, now)).toMatchObject({ intervalUs: 60_000_000n });
    expect(code(() => parseBarsRequest({ symbol: 'BHP', interval: '2m', start: '2026-11-23T00:00:00Z' }, now))).toBe('K2_QUERY_INVALID_PARAMETER:interval');
    expect(code(() => parseBarsRequest({ symbol: 'BHP', interval: '1m', start: '2026-11-01T00:00:00Z', end: '2026-11-23T00:00:00Z' }, now))).toBe('K2_QUERY_INVALID_PARAMETER:interval');
    expect(parseSummaryRequest({ symbol: 'BHP', date: '2024-02-29' })).toMatchObject({ startUs: 1_709_164_800_000_000n });
    expect(code(() => parseSummaryRequest({ symbol: 'BHP', date: '2026-02-30' }))).toBe('K2_QUERY_INVALID_PARAMETER:date');
  });
});
