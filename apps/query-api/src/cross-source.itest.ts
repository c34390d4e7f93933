import { isoFromMicros, messageId, type TradeV2 } from '@k2/schema';
import { makeTrades, produce, sinkTestEnv, startSink, type RunningSink, type SinkTestEnv } from '@k2/lake-testing';
import { waitFor } from '@k2/testing';
import { lakeApiEnv, startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Cross-source reads (issue 16): one GET over several symbols, exchanges and asset classes — the seeds' "last 1000
 * trades from both ASX and Binance" — against the real writer and Kafka tail. Crypto trades of three symbols and
 * equity trades of two (a second exchange code in the same scratch topic) are produced; part of them is committed
 * to the table, the rest stays in the tail, and replays of committed trades arrive. Every answer must equal the
 * expectation computed from the produced records: newest first by (timestamp, message_id), nothing twice, nothing
 * missing, filters exact, pages joined by cursors equal to one big page.
 */
const DAY = 86_400_000_000n;
const D = ((BigInt(Date.now()) * 1000n) / DAY) * DAY - 2n * DAY;

let env: SinkTestEnv;
let writer: RunningSink | undefined;
let api: QueryApiProcess;
let crypto: string;
let equities: string;
let all: TradeV2[] = [];

/** Equity trades on another exchange code: the crypto generator's shape, re-keyed as BHP/RIO on an ASX-like venue. */
function equityTrades(from: number, n: number, dayUs: bigint): TradeV2[] {
  return makeTrades(env.exchange, from, n, dayUs).map((t, i) => {
    const symbol = i % 2 ? 'BHP' : 'RIO';
    // 7 µs apart from the crypto trades' 1 ms grid, and some on exactly the same µs: the tiebreak must decide.
    const timestamp = t.timestamp + (i % 4 === 0 ? 0n : 7n);
    return { ...t, symbol, exchange: equities, asset_class: 'equities', currency: 'AUD', timestamp, message_id: messageId(equities, symbol, t.trade_id) };
  });
}

const newestFirst = (a: TradeV2, b: TradeV2): number =>
  a.timestamp > b.timestamp ? -1 : a.timestamp < b.timestamp ? 1 : a.message_id > b.message_id ? -1 : a.message_id < b.message_id ? 1 : 0;

async function ids(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const out: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await api.get(`/v1/trades?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    const body = (await res.json()) as { data: Array<{ message_id: string; exchange: string }>; next_cursor: string | null };
    expect(res.status).toBe(200);
    expect(res.headers.get('x-k2-degraded')).toBeNull();
    out.push(...body.data.map((d) => d.message_id));
    cursor = body.next_cursor;
    pages++;
  } while (cursor);
  return { ids: out, pages };
}

beforeAll(async () => {
  env = await sinkTestEnv();
  crypto = env.exchange.toUpperCase();
  equities = `${crypto}ASX`;
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

describe('query-api cross-source reads', () => {
  const window = `start=${isoFromMicros(D)}&end=${isoFromMicros(D + 2n * DAY)}`;
  const expectIds = (f: (t: TradeV2) => boolean) => all.filter(f).sort(newestFirst).map((t) => t.message_id);

  it('answers across symbols, exchanges and asset classes from table and tail, exactly and in one order', async () => {
    // Phase 1 is committed by the writer; phase 2 arrives after it stopped and stays in the tail; replays of phase 1
    // arrive too and must not show twice.
    const phase1 = [...makeTrades(env.exchange, 1, 1500, D), ...equityTrades(10_001, 900, D)];
    await produce(env, 'trades', phase1);
    writer = await startSink(env, { commit: { intervalMs: 500, maxRows: 400, maxBytes: 64 * 1024 * 1024 } });
    await waitFor('phase 1 committed', async () => {
      const r = await api.get(`/v1/trades?${window}&limit=10000`);
      return r.headers.get('x-k2-rows') === `iceberg=${phase1.length};tail=0` ? true : undefined;
    }, 90_000, 300);
    await writer.stop();
    writer = undefined;
    const phase2 = [...makeTrades(env.exchange, 1501, 600, D), ...equityTrades(10_901, 300, D)];
    await produce(env, 'trades', [...phase2, ...phase1.slice(0, 200)]);
    all = [...phase1, ...phase2];
    await waitFor('tail caught up', async () => {
      const r = await api.get(`/v1/trades?${window}&limit=10000`);
      return r.headers.get('x-k2-rows') === `iceberg=${phase1.length};tail=${phase2.length}` ? true : undefined;
    }, 60_000, 200);

    // Everything, newest first, in one page and in pages of 333: the same ids in the same order.
    const everything = expectIds(() => true);
    const one = await ids(window, 10_000);
    expect(one.ids).toEqual(everything);
    const paged = await ids(window, 333);
    expect(paged.ids).toEqual(everything);
    expect(paged.pages).toBe(Math.ceil(everything.length / 333));

    // The seeds' query: the last 1000 trades of BHP on the equity venue and BTCUSDT on the crypto one.
    const seeds = await ids(`${window}&symbol=bhp,BTCUSDT`, 1000);
    expect(seeds.ids.slice(0, 1000)).toEqual(expectIds((t) => t.symbol === 'BHP' || t.symbol === 'BTCUSDT').slice(0, 1000));
    expect(seeds.ids).toEqual(expectIds((t) => t.symbol === 'BHP' || t.symbol === 'BTCUSDT'));

    // Filters, alone and together.
    expect((await ids(`${window}&asset_class=equities`, 500)).ids).toEqual(expectIds((t) => t.asset_class === 'equities'));
    expect((await ids(`${window}&exchange=${crypto.toLowerCase()}`, 700)).ids).toEqual(expectIds((t) => t.exchange === crypto));
    expect((await ids(`${window}&exchange=${equities}&symbol=RIO,ETHUSDT`, 10_000)).ids).toEqual(expectIds((t) => t.exchange === equities && t.symbol === 'RIO'));
    expect((await ids(`${window}&asset_class=crypto&exchange=${equities}`, 10)).ids).toEqual([]);
  });

  it('rejects what it cannot answer with the parameter named', async () => {
    const bad = async (q: string) => {
      const r = await api.get(`/v1/trades?${q}`);
      return { status: r.status, body: (await r.json()) as { error: { parameter?: string } } };
    };
    const many = Array.from({ length: 21 }, (_, i) => `S${i}`).join(',');
    expect(await bad(`symbol=${many}`)).toMatchObject({ status: 400, body: { error: { parameter: 'symbol' } } });
    expect(await bad('asset_class=bonds')).toMatchObject({ status: 400, body: { error: { parameter: 'asset_class' } } });
    expect(await bad("symbol=BTC'--")).toMatchObject({ status: 400, body: { error: { parameter: 'symbol' } } });
  });
});
