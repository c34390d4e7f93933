import { isoFromMicros, type TradeV2 } from '@k2/schema';
import { committedRows, makeTrades, produce, sinkTestEnv, startSink, type SinkTestEnv } from '@k2/lake-testing';
import { lakeApiEnv, startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Production overload, with the real writer, catalog, Kafka and a query-api process: 8 clients keep asking for
 * 31-day windows (raw trades with limit=10000, and hourly bars over the whole month) without honouring
 * Retry-After, while a well-behaved client asks for 1-hour windows. The raw month is refused by the scan cap
 * (422), the bars are admitted one at a time as heavy (the rest get 503 + Retry-After before any work), and the
 * well-behaved client keeps its p99 under 500 ms and never sees `degraded`; the storage breaker is never involved.
 */
const DAY = 86_400_000_000n;
const HOUR = 3_600_000_000n;
const BASE = ((BigInt(Date.now()) * 1000n) / DAY) * DAY - 40n * DAY;
const BATCHES = 16;
const PER_BATCH = 2500;
const SYMBOL = 'BTCUSDT';
const RUN_MS = 15_000;

let env: SinkTestEnv;
let api: QueryApiProcess;
let exchange: string;
const trades: TradeV2[] = [];

const countIn = (start: bigint, end: bigint) => trades.filter((t) => t.symbol === SYMBOL && t.timestamp >= start && t.timestamp < end).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  status: number;
  ms: number;
  degraded: string | null;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

async function call(path: string): Promise<Outcome> {
  const t0 = Date.now();
  const res = await api.get(path);
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, ms: Date.now() - t0, degraded: res.headers.get('x-k2-degraded'), retryAfter: res.headers.get('retry-after'), body };
}

beforeAll(async () => {
  env = await sinkTestEnv();
  exchange = env.exchange.toUpperCase();
  // 16 batches of 2500 trades, each over two consecutive days: 32 days, one partition (and file) or more per day.
  for (let k = 0; k < BATCHES; k++) trades.push(...makeTrades(env.exchange, 1 + k * PER_BATCH, PER_BATCH, BASE + 2n * BigInt(k) * DAY));
  await produce(env, 'trades', trades);
  const writer = await startSink(env);
  try {
    const deadline = Date.now() + 90_000;
    while ((await committedRows(writer, env.namespace, 'trades_v2')) < trades.length) {
      if (Date.now() > deadline) throw new Error('the writer did not commit the month of trades in 90 s');
      await sleep(300);
    }
  } finally {
    await writer.stop();
  }
  api = await startQueryApi(
    lakeApiEnv(env, {
      // Everything is committed: the table path is what is under test (the tail has its own itests).
      QUERY_TAIL_ENABLED: 'false',
      // Small enough that this month of trades is "big": the raw month is above the cap, the bars month is heavy.
      QUERY_DUCKDB_CONNECTIONS: '2',
      QUERY_HEAVY_SLOTS: '1',
      QUERY_HEAVY_QUEUE: '1',
      QUERY_ENGINE_QUEUE: '8',
      QUERY_MAX_SCAN_ROWS: '30000',
      QUERY_HEAVY_SCAN_ROWS: '5000',
    }),
  );
}, 180_000);

afterAll(async () => {
  await api?.kill();
  await env?.close();
});

async function abusive(path: string, until: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  while (Date.now() < until) {
    out.push(await call(path));
    await sleep(50); // ignores Retry-After (seconds), as a misbehaving client does
  }
  return out;
}

async function wellBehaved(until: number): Promise<Array<Outcome & { expected: number }>> {
  const out: Array<Outcome & { expected: number }> = [];
  for (let i = 0; Date.now() < until; i++) {
    const start = BASE + BigInt(i % 32) * DAY;
    const o = await call(`/v1/trades?symbol=${SYMBOL}&exchange=${exchange}&start=${isoFromMicros(start)}&end=${isoFromMicros(start + HOUR)}&limit=1000`);
    out.push({ ...o, expected: countIn(start, start + HOUR) });
    await sleep(50);
  }
  return out;
}

describe('query-api under 31-day window abuse', () => {
  it('refuses or queues the month-long requests before doing work; a well-behaved client keeps p99 < 500 ms, never degraded', async () => {
    const monthStart = BASE + 1_000_000n; // not on a minute: the bars go to DuckDB every time, never to the minute cache
    const monthEnd = BASE + 31n * DAY;
    const raw = `/v1/trades?symbol=${SYMBOL}&exchange=${exchange}&start=${isoFromMicros(BASE)}&end=${isoFromMicros(monthEnd)}&limit=10000`;
    const bars = `/v1/bars?symbol=${SYMBOL}&exchange=${exchange}&interval=1h&start=${isoFromMicros(monthStart)}&end=${isoFromMicros(monthEnd)}`;
    const until = Date.now() + RUN_MS;
    const [good, ...bad] = await Promise.all([wellBehaved(until), ...[0, 1, 2, 3].map(() => abusive(raw, until)), ...[0, 1, 2, 3].map(() => abusive(bars, until))]);
    const rawOutcomes = bad.slice(0, 4).flat();
    const barOutcomes = bad.slice(4).flat();

    const ms = good.map((o) => o.ms).sort((a, b) => a - b);
    const p99 = ms[Math.ceil(ms.length * 0.99) - 1];
    const served = barOutcomes.filter((o) => o.status === 200);
    const refused = barOutcomes.filter((o) => o.status === 503);
    const degraded = good.filter((o) => o.degraded !== null).map((o) => o.degraded);
    console.log(`well-behaved: ${good.length} requests, p50 ${ms[Math.floor(ms.length / 2)]} ms, p99 ${p99} ms, degraded ${JSON.stringify(degraded)}; raw month: ${rawOutcomes.length} answers; bars month: ${served.length} served, ${refused.length} refused`);

    // The well-behaved client: every answer complete and exact, never degraded, p99 under 500 ms.
    expect(good.length).toBeGreaterThan(20);
    for (const o of good) {
      expect(o.status).toBe(200);
      expect(o.degraded).toBeNull();
      expect((o.body['data'] as unknown[]).length).toBe(o.expected);
    }
    expect(p99).toBeLessThan(500);
    expect(good.some((o) => o.expected > 0)).toBe(true);

    // The raw month: above the raw-row cap, 422 with what to narrow.
    expect(rawOutcomes.length).toBeGreaterThan(10);
    for (const o of rawOutcomes) {
      expect(o.status).toBe(422);
      expect(o.body['error']).toMatchObject({ code: 'K2_QUERY_TOO_EXPENSIVE', parameter: 'start' });
      expect(String((o.body['error'] as Record<string, unknown>)['message'])).toMatch(/narrow the window to about \d+ minutes/);
    }

    // The bars month: allowed but heavy, so one at a time; the rest refused at once with 503 + Retry-After.
    expect(served.length + refused.length).toBe(barOutcomes.length);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    const expectedTrades = countIn(monthStart, monthEnd);
    for (const o of served) {
      expect(o.degraded).toBeNull();
      expect((o.body['data'] as Array<{ trades: number }>).reduce((n, b) => n + b.trades, 0)).toBe(expectedTrades);
    }
    for (const o of refused) {
      expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(o.body['error']).toMatchObject({ code: 'K2_QUERY_OVERLOADED' });
    }

    // Storage was never blamed: no breaker failure, no degradation.
    expect(await api.metric('k2_query_storage_failures_total')).toBe(0);
    expect(await api.metric('k2_degradation_level', { component: 'storage' })).toBe(0);
    expect(await api.metric('k2_query_requests_total', { route: 'bars', status: '503' })).toBe(refused.length);
  }, 60_000);
});
