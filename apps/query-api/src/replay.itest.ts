import { isoFromMicros, nowMicros, type TradeV2 } from '@k2/schema';
import { TABLE_BY_KIND } from '@k2/lake';
import { committedRows, makeQuotes, makeTrades, produce, sinkTestEnv, startSink, waitUntil, type RunningSink, type SinkTestEnv } from '@k2/lake-testing';
import { mintApiKey, parseSse } from '@k2/query';
import { waitFor } from '@k2/testing';
import { startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Replay-then-follow (issue 16) against the real Kafka, registry, catalog and writer: trades are produced without
 * pause while a replay reads the committed table, crosses to the tail and follows it live; every produced id must
 * arrive exactly once — history in ascending (timestamp, message_id), live in offset order per partition (the
 * producer keys by symbol, so per symbol in production order) — with one hand-over event between the two, also
 * across a disconnect in either phase.
 */
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const T0 = nowMicros() - 3_600_000_000n;
const HISTORY = 3000;

let env: SinkTestEnv;
let writer: RunningSink;
let api: QueryApiProcess;
let exchange: string;
let nextI = 1;
const produced: TradeV2[] = [];
const limitedKey = mintApiKey({ name: 'one-stream', rate_per_s: 1000, burst: 1000, max_concurrency: 4, max_streams: 1 });

/** Trade i, stamped T0 + i ms: event time rises with i, so the expected history order is the production order. */
function trades(n: number): TradeV2[] {
  const out = makeTrades(env.exchange, nextI, n).map((t, k) => ({ ...t, timestamp: T0 + BigInt(nextI + k) * 1000n, ingestion_timestamp: T0 + BigInt(nextI + k) * 1000n + 1n }));
  nextI += n;
  produced.push(...out);
  return out;
}

/** Produces batches until stopped, like a feed that never pauses. */
function keepProducing(): { stop: () => Promise<void> } {
  let on = true;
  const loop = (async () => {
    while (on) {
      await produce(env, 'trades', trades(40));
      await new Promise((r) => setTimeout(r, 80));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
    },
  };
}

interface Ev {
  type: string;
  id?: string;
  data?: Record<string, unknown>;
  raw: Record<string, unknown>;
}

/** A replay read incrementally (NDJSON or SSE); `close` disconnects like a client going away. */
function openReplay(query: string, headers: Record<string, string> = {}, key = api.key) {
  const ctrl = new AbortController();
  const events: Ev[] = [];
  const sse = /format=sse/.test(query) || headers['Accept'] === 'text/event-stream';
  let status = 0;
  const done = (async () => {
    const res = await fetch(`${api.url}/v1/replay?${query}`, { headers: { 'X-API-Key': key, ...headers }, signal: ctrl.signal });
    status = res.status;
    if (!res.ok || !res.body) return;
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      if (sse) {
        const p = parseSse(buf);
        buf = p.rest;
        for (const e of p.events) {
          const raw = JSON.parse(e.data) as Record<string, unknown>;
          events.push({ type: e.event, id: e.id, data: e.event === 'trade' || e.event === 'quote' ? raw : undefined, raw });
        }
      } else {
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          const o = JSON.parse(l) as Record<string, unknown>;
          const type = o['type'] === 'control' ? String(o['event']) : String(o['type']);
          events.push({ type, id: o['id'] as string | undefined, data: o['data'] as Record<string, unknown> | undefined, raw: o });
        }
      }
    }
  })().catch((e: unknown) => {
    if (!ctrl.signal.aborted) throw e;
  });
  return { events, done, status: () => status, close: () => ctrl.abort() };
}

const idsOf = (evs: readonly Ev[]) => evs.filter((e) => e.type === 'trade').map((e) => String(e.data!['message_id']));
const indexOf = new Map<string, number>();
const idx = (id: string) => indexOf.get(id) ?? -1;

/** History ascending by production index (= event time), live in production order per symbol, handover once. */
function checkOrder(evs: readonly Ev[], expectHandover: boolean): void {
  const h = evs.findIndex((e) => e.type === 'handover');
  expect(evs.filter((e) => e.type === 'handover').length).toBe(expectHandover ? 1 : 0);
  const history = h < 0 ? [] : idsOf(evs.slice(0, h));
  const live = h < 0 ? idsOf(evs) : idsOf(evs.slice(h + 1));
  for (let k = 1; k < history.length; k++) expect(idx(history[k])).toBeGreaterThan(idx(history[k - 1]));
  const lastPerSymbol = new Map<string, number>();
  for (const e of evs.slice(h + 1).filter((x) => x.type === 'trade')) {
    const s = String(e.data!['symbol']);
    const i = idx(String(e.data!['message_id']));
    expect(i).toBeGreaterThan(lastPerSymbol.get(s) ?? -1);
    lastPerSymbol.set(s, i);
  }
  expect(live.length + history.length).toBe(idsOf(evs).length);
}

function expectExactlyOnce(received: readonly string[], expected: readonly TradeV2[]): void {
  const counts = new Map<string, number>();
  for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1);
  expect([...counts.values()].filter((c) => c > 1)).toEqual([]);
  expect(expected.filter((t) => !counts.has(t.message_id)).map((t) => t.trade_id)).toEqual([]);
  expect(counts.size).toBe(expected.length);
}

/**
 * After a resumed replay `b` of a disconnected `a`: waits until the two together hold as many trades as were
 * produced, then closes `b` (the callers then check exactly-once and order over both).
 */
async function finishResumed(a: ReturnType<typeof openReplay>, b: ReturnType<typeof openReplay>): Promise<void> {
  for (const [i, t] of produced.entries()) indexOf.set(t.message_id, i);
  await waitFor('every produced trade', () => (idsOf(a.events).length + idsOf(b.events).length >= produced.length ? true : undefined), 30_000, 100);
  b.close();
  await b.done;
}

const query = (extra = '') => `symbols=${SYMBOLS.join(',')}&exchange=${exchange}&types=trades&start=${isoFromMicros(T0)}${extra}`;

beforeAll(async () => {
  env = await sinkTestEnv();
  exchange = env.exchange.toUpperCase();
  writer = await startSink(env, { commit: { intervalMs: 700, maxRows: 500, maxBytes: 64 * 1024 * 1024 } });
  api = await startQueryApi(
    {
      ICEBERG_CATALOG: 'sql',
      ICEBERG_CATALOG_URI: env.catalogUri,
      ICEBERG_WAREHOUSE: env.warehouse,
      ICEBERG_NAMESPACE: env.namespace.join('.'),
      QUERY_WRITER_GROUP_ID: `itest-${env.suffix}`,
      QUERY_TAIL_TOPICS: env.topicList,
      QUERY_REFRESH_MS: '200',
      LOG_LEVEL: 'warn',
    },
    [limitedKey.entry],
  );
  await produce(env, 'trades', trades(HISTORY));
  await waitUntil('history committed', async () => ((await committedRows(writer, env.namespace, TABLE_BY_KIND.trades)) >= HISTORY ? true : undefined));
}, 180_000);

afterAll(async () => {
  await writer?.stop();
  await api?.kill();
  await env?.close();
});

beforeEach(() => {
  for (const [i, t] of produced.entries()) indexOf.set(t.message_id, i);
});

describe('replay-then-follow', () => {
  it('crosses from table to tail to live while trades keep coming: every id exactly once, in order, one hand-over', async () => {
    const feed = keepProducing();
    const r = openReplay(query());
    try {
      await waitFor('hand-over', () => (r.events.some((e) => e.type === 'handover') ? true : undefined), 60_000, 100);
      await new Promise((res) => setTimeout(res, 4000)); // several commits while following live
    } finally {
      await feed.stop();
    }
    for (const [i, t] of produced.entries()) indexOf.set(t.message_id, i);
    await waitFor('every produced trade', () => (idsOf(r.events).length >= produced.length ? true : undefined), 30_000, 100);
    await new Promise((res) => setTimeout(res, 500)); // nothing extra may follow
    r.close();
    await r.done;
    expectExactlyOnce(idsOf(r.events), produced);
    checkOrder(r.events, true);
    const h = r.events.find((e) => e.type === 'handover')!;
    expect(Object.keys(h.raw['offsets'] as object).length).toBeGreaterThan(0);
    expect(h.id).toMatch(/^l_/);
    expect(h.raw['degraded']).toEqual([]);
    expect(idsOf(r.events.slice(r.events.indexOf(h) + 1)).length).toBeGreaterThan(0); // some really arrived live
    const first = r.events.find((e) => e.type === 'trade')!;
    expect(first.data!['price']).toBe(produced[0].price); // decimals as exact text
    // A table row as DuckDB formats it for the replay is the same JSON /v1/trades gives for it.
    const t = produced[0];
    const listed = (await (await api.get(`/v1/trades?symbol=${t.symbol}&exchange=${exchange}&start=${isoFromMicros(t.timestamp)}&end=${isoFromMicros(t.timestamp + 1n)}`)).json()) as { data: unknown[]; meta: { rows: { iceberg: number } } };
    expect(listed.meta.rows.iceberg).toBe(1);
    expect(first.data).toEqual(listed.data[0]);
    expect(JSON.stringify(first.data)).toBe(JSON.stringify(listed.data[0]));
    expect(first.id).toBe(`h_${produced[0].timestamp}_${produced[0].message_id}`);
  }, 120_000);

  it('resumes after a disconnect mid-history (NDJSON cursor) without loss or duplicates', async () => {
    const feed = keepProducing();
    let a: ReturnType<typeof openReplay> | undefined;
    let b: ReturnType<typeof openReplay> | undefined;
    try {
      a = openReplay(query('&speed=1')); // paced at event time (1 ms apart): still in history when we leave
      await waitFor('some history', () => (idsOf(a!.events).length >= 1000 ? true : undefined), 60_000, 20);
      a.close();
      await a.done;
      expect(a.events.some((e) => e.type === 'handover')).toBe(false);
      const last = a.events[a.events.length - 1].id!;
      expect(last).toMatch(/^h_/);
      b = openReplay(query(`&cursor=${encodeURIComponent(last)}`));
      await waitFor('resumed hand-over', () => (b!.events.some((e) => e.type === 'handover') ? true : undefined), 60_000, 100);
      await new Promise((res) => setTimeout(res, 2000));
    } finally {
      await feed.stop();
    }
    await finishResumed(a!, b!);
    expectExactlyOnce([...idsOf(a.events), ...idsOf(b.events)], produced);
    checkOrder([...a.events, ...b.events], true);
  }, 120_000);

  it('resumes after a disconnect mid-live (SSE Last-Event-ID) once the table has committed past the cursor', async () => {
    const feed = keepProducing();
    const accept = { Accept: 'text/event-stream' };
    let a: ReturnType<typeof openReplay> | undefined;
    let b: ReturnType<typeof openReplay> | undefined;
    try {
      a = openReplay(query(), accept);
      await waitFor('live events', () => {
        const h = a!.events.findIndex((e) => e.type === 'handover');
        return h >= 0 && idsOf(a!.events.slice(h + 1)).length >= 50 ? true : undefined;
      }, 60_000, 20);
      a.close();
      await a.done;
      // Meanwhile the writer commits (every 700 ms) what this client missed: the resume reads it back from Kafka.
      await new Promise((res) => setTimeout(res, 3000));
      const last = a.events[a.events.length - 1].id!;
      expect(last).toMatch(/^l_/);
      b = openReplay(query(), { ...accept, 'Last-Event-ID': last });
      await new Promise((res) => setTimeout(res, 2000));
    } finally {
      await feed.stop();
    }
    await finishResumed(a!, b!);
    expect(b.events.some((e) => e.type === 'handover')).toBe(false);
    // The missed records the writer had committed meanwhile came back from Kafka by offset.
    expect(await api.metric('k2_query_replay_events_total', { phase: 'kafka' })).toBeGreaterThan(0);
    expectExactlyOnce([...idsOf(a.events), ...idsOf(b.events)], produced);
    checkOrder([...a.events, ...b.events], true);
  }, 120_000);

  it('ends a window with end (SSE), merges trades with quotes, counts against the key stream limit, and rejects a foreign cursor', async () => {
    const end = T0 + 1001n * 1000n; // trades 1..1000
    const w = openReplay(query(`&end=${isoFromMicros(end)}&format=sse&speed=max`));
    await w.done;
    expect(w.status()).toBe(200);
    expect(idsOf(w.events)).toEqual(produced.slice(0, 1000).map((t) => t.message_id));
    expect(w.events[w.events.length - 1].type).toBe('end');

    const one = openReplay(query(), {}, limitedKey.key);
    await waitFor('first stream open', () => (one.events.length > 0 ? true : undefined), 30_000, 50);
    const second = await fetch(`${api.url}/v1/replay?${query()}`, { headers: { 'X-API-Key': limitedKey.key } });
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('K2_STREAM_LIMITED');
    one.close();
    await one.done;

    // Trades and quotes merged into one event-time order (quotes stamped between trades 1..200).
    const quotes = makeQuotes(env.exchange, 1, 200).map((q, k) => ({ ...q, timestamp: T0 + BigInt(k + 1) * 1000n + 500n }));
    await produce(env, 'quotes', quotes);
    const mixedEnd = isoFromMicros(T0 + 201n * 1000n);
    const both = `symbols=${SYMBOLS.join(',')}&exchange=${exchange}&start=${isoFromMicros(T0)}&end=${mixedEnd}`;
    const m = await waitFor('quotes in the replay', async () => {
      const r = openReplay(both);
      await r.done;
      return r.events.filter((e) => e.type === 'quote').length === 200 ? r : undefined;
    }, 30_000, 300);
    const mixed = m.events.filter((e) => e.type === 'trade' || e.type === 'quote');
    expect(mixed.map((e) => e.data!['message_id'])).toEqual(
      [...produced.slice(0, 200).map((t) => ({ ts: t.timestamp, id: t.message_id })), ...quotes.map((q) => ({ ts: q.timestamp, id: q.message_id }))]
        .sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : x.id < y.id ? -1 : 1))
        .map((x) => x.id),
    );
    expect(m.events.filter((e) => e.type === 'quote').every((e) => typeof e.data!['bid_price'] === 'string')).toBe(true);

    const bad = await api.get(`/v1/replay?${query('&cursor=h_1_x_y')}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { parameter: string } }).error.parameter).toBe('cursor');
  }, 60_000);
});
