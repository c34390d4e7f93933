import path from 'node:path';
import { createCatalog, createFileIO, ParquetWriter } from '@k2/iceberg';
import { BarsMaintainer } from '@k2/lake-sink';
import { committedRows, infraS3, makeTrades, produce, sinkTestEnv, startSink, waitUntil, type SinkTestEnv } from '@k2/lake-testing';
import { isoFromMicros, type TradeV2 } from '@k2/schema';
import { Registry } from 'prom-client';
import { lakeApiEnv, startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Issue 17: query-api serves whole-minute bars from bars_1m_v2 when the table holds exactly the trades snapshot it
 * reads, and scans trades otherwise. Both paths must give the same answers, byte for byte: the same requests are
 * answered before the bars table exists (trades), after the writer folded it (bars_1m_v2), after more trades landed
 * without bars (trades again: the bars lag) and once the bars caught up (bars_1m_v2).
 */
const DAY0 = 1_763_856_000_000_000n; // 2025-11-23T00:00Z
const DAY = 86_400_000_000n;

function trades(env: SinkTestEnv, from: number, n: number): TradeV2[] {
  // ~7 minutes of each of two days; 12 consecutive trades share a timestamp (open/close decided by message_id).
  return makeTrades(env.exchange, from, n).map((t, k) => ({ ...t, timestamp: DAY0 + BigInt((from + k) % 2) * DAY + BigInt(Math.floor((from + k) / 12)) * 850_000n + 59_000_000n }));
}

describe('query-api bars from bars_1m_v2 equal bars from trades (real Kafka, writer, catalog, query-api process)', () => {
  let env: SinkTestEnv;
  let api: QueryApiProcess | undefined;
  let parquet: ParquetWriter | undefined;
  beforeAll(async () => {
    env = await sinkTestEnv();
  });
  afterAll(async () => {
    await api?.kill('SIGTERM');
    await parquet?.close();
    await env?.close();
  });

  it('answers identically from either source, and uses bars_1m_v2 only while it covers the trades snapshot', async () => {
    const exchange = env.exchange.toUpperCase();
    const requests: string[] = [];
    for (const symbol of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) {
      for (const interval of ['1m', '5m', '15m', '1h', '1d']) {
        requests.push(`/v1/bars?symbol=${symbol}&exchange=${exchange}&interval=${interval}&start=${isoFromMicros(DAY0)}&end=${isoFromMicros(DAY0 + 2n * DAY)}`);
      }
      requests.push(`/v1/bars?symbol=${symbol}&interval=5m&start=${isoFromMicros(DAY0 + DAY + 120_000_000n)}&end=${isoFromMicros(DAY0 + DAY + 360_000_000n)}`);
      // Not whole minutes: always computed from trades.
      requests.push(`/v1/bars?symbol=${symbol}&exchange=${exchange}&interval=1m&start=${isoFromMicros(DAY0 + 90_000_000n)}&end=${isoFromMicros(DAY0 + DAY + 330_500_000n)}`);
      requests.push(`/v1/bars?symbol=${symbol}&exchange=${exchange}&interval=1h&tz=Asia/Kolkata&start=${isoFromMicros(DAY0 - DAY)}&end=${isoFromMicros(DAY0 + 2n * DAY)}`);
      requests.push(`/v1/summary?symbol=${symbol}&exchange=${exchange}&date=2025-11-24`);
    }
    const answers = async (): Promise<unknown[]> => {
      const out: unknown[] = [];
      for (const r of requests) {
        const res = await api!.get(r);
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, unknown>;
        delete body['meta']; // provenance (snapshot ids, row counts) may differ; the answer may not
        out.push(body);
      }
      return out;
    };
    const sources = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${api!.baseUrl}/metrics`)).text();
      const get = (s: string) => Number(new RegExp(`k2_query_bars_source_total\\{source="${s}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { bars_table: get('bars_table'), trades: get('trades') };
    };

    // The writer without bars: trades only.
    let run = await startSink(env);
    await produce(env, 'trades', trades(env, 0, 3000));
    await waitUntil('3000 trades committed', async () => ((await committedRows(run, env.namespace, 'trades_v2')) === 3000 ? true : undefined));
    await run.stop();
    api = await startQueryApi(lakeApiEnv(env, { QUERY_TAIL_ENABLED: 'false', QUERY_REFRESH_MS: '300' }));
    const fromTrades = await answers();
    expect((fromTrades[0] as { data: unknown[] }).data.length).toBeGreaterThan(5);
    expect((await sources()).bars_table).toBe(0);

    const io = createFileIO(infraS3(), { cacheDir: path.join(env.dir, 'bars-cache') });
    const catalog = createCatalog({ type: 'sql', uri: env.catalogUri, warehouse: env.warehouse }, io, { logger: env.logger });
    parquet = await ParquetWriter.create({ threads: 1, tmpDir: path.join(env.dir, 'bars') });
    const bars = new BarsMaintainer({ catalog, io, parquet, namespace: env.namespace, writerId: 'query-itest', logger: env.logger, registry: new Registry() });
    try {
      expect(await bars.catchUp()).toMatchObject({ mode: 'rebuild', tradeRows: 3000 });
      await new Promise((r) => setTimeout(r, 1500)); // a few refreshes of the view
      const before = await sources();
      expect(await answers()).toEqual(fromTrades);
      const after = await sources();
      // Every whole-minute request came from bars_1m_v2 (summaries, UTC and Kolkata-hour bars), the others from trades.
      expect(after.bars_table - before.bars_table).toBe(requests.length - 3);
      expect(after.trades - before.trades).toBe(3);

      // More trades (with replays) committed while the bars step does not run: the bars lag, trades answer.
      run = await startSink(env);
      await produce(env, 'trades', [...trades(env, 2500, 500), ...trades(env, 3000, 1500)]);
      await waitUntil('4500 trades committed', async () => ((await committedRows(run, env.namespace, 'trades_v2')) === 4500 ? true : undefined));
      await run.stop();
      await new Promise((r) => setTimeout(r, 1500));
      const lagging = await sources();
      const fromTrades2 = await answers();
      expect((await sources()).bars_table).toBe(lagging.bars_table);
      expect((await sources()).trades - lagging.trades).toBe(requests.length);
      expect(fromTrades2).not.toEqual(fromTrades);

      expect(await bars.catchUp()).toMatchObject({ mode: 'fold', tradeRows: 1500 });
      await new Promise((r) => setTimeout(r, 1500));
      const caught = await sources();
      expect(await answers()).toEqual(fromTrades2);
      expect((await sources()).bars_table - caught.bars_table).toBe(requests.length - 3);
    } finally {
      await catalog.close();
    }
  }, 300_000);
});
