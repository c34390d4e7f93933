import Big from 'big.js';
import { isoFromMicros, type TradeV2 } from '@k2/schema';
import { makeQuotes, makeTrades, produce, sinkTestEnv, startSink, type RunningSink, type SinkTestEnv } from '@k2/lake-testing';
import { waitFor } from '@k2/testing';
import { lakeApiEnv, startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * query-api against the real Kafka, registry, SQLite catalog and file warehouse, with the real writer (lake-sink)
 * committing small snapshots while the API answers: the hybrid answer must be exact at every instant.
 */
const DAY = 86_400_000_000n;
const todayUs = (BigInt(Date.now()) * 1000n / DAY) * DAY;
// Phase 1 trades: days D and D+1 (makeTrades alternates), D = 3 days ago. Phase 2: one day later, outside the window.
const D1 = todayUs - 3n * DAY;
const D2 = todayUs - DAY;
const N1 = 6000;
const SYMBOL = 'BTCUSDT';

let env: SinkTestEnv;
let writer: RunningSink | undefined;
let api: QueryApiProcess;
let phase1: TradeV2[];
let quoteTimes: bigint[] = [];
let exchange: string;

async function get(path: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown>; ms: number }> {
  const t0 = Date.now();
  const res = await api.get(path);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body, ms: Date.now() - t0 };
}

const windowQuery = (extra = '') => `/v1/trades?symbol=${SYMBOL}&exchange=${exchange}&start=${isoFromMicros(D1)}&end=${isoFromMicros(D1 + 2n * DAY)}${extra}`;

beforeAll(async () => {
  env = await sinkTestEnv();
  exchange = env.exchange.toUpperCase();
  phase1 = makeTrades(env.exchange, 1, N1, D1);
  await produce(env, 'trades', phase1);
  api = await startQueryApi(
    lakeApiEnv(env, {
      QUERY_TAIL_TOPICS: env.topicList,
      QUERY_REFRESH_MS: '200',
    }),
  );
});

afterAll(async () => {
  await writer?.stop();
  await api?.kill();
  await env?.close();
});

describe('query-api hybrid reads', () => {
  it('answers from the Kafka tail alone before any snapshot exists', async () => {
    const expected = phase1.filter((t) => t.symbol === SYMBOL).length;
    const r = await waitFor('tail caught up', async () => {
      const x = await get(windowQuery('&limit=10000'));
      return (x.body['data'] as unknown[]).length === expected ? x : undefined;
    }, 30_000, 200);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-k2-snapshot-id')).toBe('none');
    expect(r.headers.get('x-k2-rows')).toBe(`iceberg=0;tail=${expected}`);
    expect(r.headers.get('x-k2-degraded')).toBeNull();
    const first = (r.body['data'] as Array<Record<string, unknown>>)[0];
    const src = phase1.filter((t) => t.symbol === SYMBOL).sort((a, b) => (a.timestamp > b.timestamp ? -1 : 1))[0];
    // Exact values: decimals as canonical text, µs timestamps, 64-bit sequence above 2^53 as a string.
    expect(first).toEqual({
      message_id: src.message_id,
      trade_id: src.trade_id,
      symbol: SYMBOL,
      exchange,
      asset_class: 'crypto',
      timestamp: isoFromMicros(src.timestamp),
      price: src.price,
      quantity: src.quantity,
      currency: 'USDT',
      side: src.side,
      trade_conditions: src.trade_conditions,
      source_sequence: String(src.source_sequence),
      ingestion_timestamp: isoFromMicros(src.ingestion_timestamp),
      platform_sequence: String(src.platform_sequence),
      vendor_data: src.vendor_data,
    });
  });

  it('returns exactly the produced trades of a window while snapshots land and replays arrive', async () => {
    const expected = new Set(phase1.filter((t) => t.symbol === SYMBOL).map((t) => t.message_id));
    // Small commits: the tail/table boundary moves about 20 times during the checks below.
    writer = await startSink(env, { commit: { intervalMs: 700, maxRows: 300, maxBytes: 64 * 1024 * 1024 } });
    let streaming = true;
    let n = N1 + 1;
    const streamer = (async () => {
      let round = 0;
      while (streaming) {
        // New trades outside the window, and every third round a replay of window trades (same message ids).
        await produce(env, 'trades', makeTrades(env.exchange, n, 200, D2));
        n += 200;
        if (round++ % 3 === 0) await produce(env, 'trades', phase1.slice((round * 150) % N1, ((round * 150) % N1) + 150));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const snapshots = new Set<string>();
    let mixed = 0;
    let checks = 0;
    const until = Date.now() + 25_000;
    try {
      while (Date.now() < until) {
        const paged = checks % 4 === 3;
        const got: string[] = [];
        let cursor: string | null = null;
        do {
          const r = await get(windowQuery(paged ? `&limit=700${cursor ? `&cursor=${cursor}` : ''}` : '&limit=10000'));
          expect(r.status).toBe(200);
          expect(r.headers.get('x-k2-degraded')).toBeNull();
          snapshots.add(r.headers.get('x-k2-snapshot-id')!);
          const m = /^iceberg=(\d+);tail=(\d+)$/.exec(r.headers.get('x-k2-rows')!)!;
          if (Number(m[1]) > 0 && Number(m[2]) > 0) mixed++;
          const data = r.body['data'] as Array<{ message_id: string; timestamp: string }>;
          got.push(...data.map((d) => d.message_id));
          // Newest first, strictly (no two rows with the same key).
          for (let i = 1; i < data.length; i++) expect(data[i - 1].timestamp >= data[i].timestamp).toBe(true);
          cursor = paged ? (r.body['next_cursor'] as string | null) : null;
        } while (cursor);
        expect(got.length).toBe(expected.size); // none twice…
        expect(new Set(got)).toEqual(expected); // …none missing, nothing else
        checks++;
      }
    } finally {
      streaming = false;
      await streamer;
    }
    expect(checks).toBeGreaterThan(20);
    expect(snapshots.size).toBeGreaterThan(5);
    expect(mixed).toBeGreaterThan(0);
  });

  it('bars and the daily summary equal the aggregates computed from the produced trades', async () => {
    const day = D1 + DAY; // odd ids land on D+1
    const trades = phase1.filter((t) => t.symbol === SYMBOL && t.timestamp >= day && t.timestamp < day + DAY);
    const byHour = new Map<bigint, TradeV2[]>();
    for (const t of trades) {
      const h = (t.timestamp / 3_600_000_000n) * 3_600_000_000n;
      byHour.set(h, [...(byHour.get(h) ?? []), t]);
    }
    const expectBar = (ts: TradeV2[]) => {
      const s = [...ts].sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.message_id < b.message_id ? -1 : 1));
      const vol = s.reduce((v, t) => v.plus(t.quantity), new Big(0));
      const notional = s.reduce((v, t) => v.plus(new Big(t.price).times(t.quantity)), new Big(0));
      const prices = s.map((t) => new Big(t.price));
      return {
        open: s[0].price,
        high: prices.reduce((a, b) => (b.gt(a) ? b : a)).toFixed(8),
        low: prices.reduce((a, b) => (b.lt(a) ? b : a)).toFixed(8),
        close: s[s.length - 1].price,
        volume: vol.toFixed(8),
        vwap: notional.div(vol).round(8, Big.roundHalfEven).toFixed(8),
        trades: s.length,
      };
    };
    const bars = await get(`/v1/bars?symbol=${SYMBOL}&exchange=${exchange}&interval=1h&start=${isoFromMicros(day)}&end=${isoFromMicros(day + DAY)}`);
    expect(bars.status).toBe(200);
    const data = bars.body['data'] as Array<Record<string, unknown>>;
    expect(data.map((b) => b['time'])).toEqual([...byHour.keys()].sort().map((h) => isoFromMicros(h)));
    for (const b of data) expect(b).toMatchObject(expectBar(byHour.get(BigInt(Date.parse(String(b['time'])) * 1000))!));

    // A window not on whole minutes takes the SQL path instead of the per-file minute bars: same answer.
    const from = day + 2_500_500n; // the phase-1 trades of a day span its first 6 s
    const later = trades.filter((t) => t.timestamp >= from);
    const firstHour = (from / 3_600_000_000n) * 3_600_000_000n;
    const odd = await get(`/v1/bars?symbol=${SYMBOL}&exchange=${exchange}&interval=1h&start=${isoFromMicros(from)}&end=${isoFromMicros(day + DAY)}`);
    expect((odd.body['data'] as Array<Record<string, unknown>>)[0]).toMatchObject({ time: isoFromMicros(firstHour), ...expectBar(later.filter((t) => t.timestamp < firstHour + 3_600_000_000n)) });

    const date = isoFromMicros(day).slice(0, 10);
    const sum = await get(`/v1/summary?symbol=${SYMBOL}&exchange=${exchange}&date=${date}`);
    expect(sum.status).toBe(200);
    expect(sum.body).toMatchObject({ symbol: SYMBOL, date, ...expectBar(trades) });
    expect(sum.body['first_trade_time']).toBe(isoFromMicros(trades[0].timestamp));
  });

  it('answers quotes from table and tail alike, exact to the µs and the 8th decimal', async () => {
    const quotes = makeQuotes(env.exchange, 1, 300, D1);
    await produce(env, 'quotes', quotes);
    const mine = quotes.filter((q) => q.symbol === SYMBOL).sort((a, b) => (a.timestamp > b.timestamp ? -1 : 1));
    quoteTimes = mine.map((m) => m.timestamp);
    const q = `/v1/quotes?symbol=${SYMBOL}&exchange=${exchange}&start=${isoFromMicros(D1)}&end=${isoFromMicros(D1 + DAY)}&limit=10000`;
    const r = await waitFor('quotes visible', async () => {
      const x = await get(q);
      return (x.body['data'] as unknown[]).length === mine.length ? x : undefined;
    }, 30_000, 200);
    expect((r.body['data'] as Array<Record<string, unknown>>).map((d) => d['message_id'])).toEqual(mine.map((m) => m.message_id));
    expect((r.body['data'] as Array<Record<string, unknown>>)[0]).toMatchObject({
      bid_price: mine[0].bid_price,
      ask_price: mine[0].ask_price,
      bid_quantity: mine[0].bid_quantity,
      timestamp: isoFromMicros(mine[0].timestamp),
      vendor_data: null,
      platform_sequence: null,
    });
  });

  it('lists the symbols of an exchange with first and last time', async () => {
    const r = await get(`/v1/symbols?exchange=${exchange}`);
    expect(r.status).toBe(200);
    const data = r.body['data'] as Array<Record<string, unknown>>;
    expect(data.map((d) => d['symbol'])).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    // Trades and quotes both count as "seen".
    const btc = [...phase1.filter((t) => t.symbol === SYMBOL).map((t) => t.timestamp), ...quoteTimes];
    const min = btc.reduce((a, b) => (b < a ? b : a));
    expect(data[0]).toMatchObject({ exchange, asset_class: 'crypto', first_seen: isoFromMicros(min) });
    expect((await get('/v1/symbols?asset_class=equities&exchange=' + exchange)).body['data']).toEqual([]);
  });

  it('rejects injection and junk in every parameter with a 400 (or answers empty), never a 500, never executed', async () => {
    const before = await get(windowQuery('&limit=10000'));
    const junk = [
      "BTCUSDT' OR '1'='1",
      "'; DROP TABLE trades_v2; --",
      "x') UNION SELECT * FROM read_csv('/etc/passwd') --",
      "read_parquet('/etc/passwd')",
      '$symbol',
      '?',
      '%00',
      '\u0000',
      'BTC\nUSDT',
      'ビットコイン',
      '🚀',
      'A'.repeat(5000),
      '-1',
      '1e309',
      'NaN',
      '9'.repeat(40),
      '2026-02-30',
      '2026-11-23T25:00:00Z',
      '0000-01-01T00:00:00Z',
      '{"t":"1","i":"x"}',
      Buffer.from('{"t":"-1","i":"x\' OR 1=1"}').toString('base64url'),
      Buffer.from('{"t":"99999999999999999999","i":"x"}').toString('base64url'),
    ];
    const routes: Record<string, string[]> = {
      '/v1/trades': ['symbol', 'exchange', 'window_minutes', 'start', 'end', 'limit', 'cursor'],
      '/v1/quotes': ['symbol', 'exchange', 'window_minutes', 'start', 'end', 'limit', 'cursor'],
      '/v1/bars': ['symbol', 'exchange', 'interval', 'start', 'end'],
      '/v1/summary': ['symbol', 'exchange', 'date'],
      '/v1/symbols': ['exchange', 'asset_class'],
      // Time travel and reference data (issue 16): as_of on every read route, and the two new routes.
      '/v1/snapshots': ['table', 'limit', 'cursor'],
      '/v1/reference': ['symbol', 'type', 'as_of_date', 'as_of', 'limit'],
    };
    for (const r of ['/v1/trades', '/v1/quotes', '/v1/bars', '/v1/summary', '/v1/symbols']) routes[r].push('as_of');
    const valid: Record<string, Record<string, string>> = {
      '/v1/trades': { symbol: SYMBOL },
      '/v1/quotes': { symbol: SYMBOL },
      '/v1/bars': { symbol: SYMBOL, interval: '1h', start: isoFromMicros(D1), end: isoFromMicros(D1 + DAY) },
      '/v1/summary': { symbol: SYMBOL, date: isoFromMicros(D1).slice(0, 10) },
      '/v1/symbols': {},
      '/v1/snapshots': {},
      '/v1/reference': {},
    };
    let n400 = 0;
    for (const [route, params] of Object.entries(routes)) {
      for (const p of params) {
        for (const j of junk) {
          const q = new URLSearchParams({ ...valid[route], [p]: j });
          const r = await get(`${route}?${q}`);
          expect([200, 400]).toContain(r.status);
          if (r.status === 400) {
            n400++;
            expect(r.body['error']).toMatchObject({ code: 'K2_QUERY_INVALID_PARAMETER' });
          } else {
            expect(r.body['data'] ?? r.body).toBeDefined();
          }
        }
      }
      // Repeated, unknown and malformed parameters.
      for (const raw of [`${route}?symbol=A&symbol=B`, `${route}?nope=1`, `${route}?symbol[$ne]=x`, `${route}?%E0%A4%A=1`, `${route}?symbol=%ZZ`]) {
        const r = await get(raw);
        expect([200, 400]).toContain(r.status);
      }
    }
    expect(n400).toBeGreaterThan(300);
    expect((await get('/v1/nope')).status).toBe(404);
    // Still the same data: nothing was executed.
    const after = await get(windowQuery('&limit=10000'));
    expect((after.body['data'] as unknown[]).length).toBe((before.body['data'] as unknown[]).length);
  });

  it('serves its OpenAPI document and the live page', async () => {
    const doc = await get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body['paths'] as object)).toEqual(['/v1/trades', '/v1/quotes', '/v1/bars', '/v1/summary', '/v1/symbols', '/v1/stream/trades', '/v1/snapshots', '/v1/reference', '/v1/replay']);
    const page = await fetch(`${api.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});
