import { defaultMemoryBudget } from '@k2/lake-sink';
import { committedRows, makeTrades, produce, pyRead, pySqlCatalog, sinkTestEnv, startSink, waitUntil, type SinkTestEnv } from '@k2/lake-testing';

/**
 * Replay dedup stays exact when the dedup share of the memory budget is far too small for the ids as JS strings:
 * 256 KiB for 20,000 distinct ids (as a Set of strings they need > 1.5 MB). The filters evict or give up on a
 * partition and the exact check against the partition's files decides; not one replayed trade may land twice.
 */
describe('iceberg sink dedup within a tiny memory budget (real Kafka, registry, SQLite catalog, PyIceberg)', () => {
  let env: SinkTestEnv;
  beforeAll(async () => {
    env = await sinkTestEnv();
  });
  afterAll(() => env?.close());

  it('drops every replayed id and keeps every new one with 256 KiB of dedup state', async () => {
    const memory = { ...defaultMemoryBudget(), dedup: 256 * 1024 };
    const ns = env.namespace;
    const trades = makeTrades(env.exchange, 1, 20_000);
    await produce(env, 'trades', trades);
    let run = await startSink(env, { memory });
    await waitUntil('20000 trades committed', async () => ((await committedRows(run, ns, 'trades_v2')) === 20_000 ? true : undefined), 120_000);
    await run.stop();

    // A streamer restart re-publishing everything, plus 1000 new trades.
    await produce(env, 'trades', [...trades, ...makeTrades(env.exchange, 20_001, 1000)]);
    run = await startSink(env, { memory });
    await waitUntil('21000 trades committed', async () => ((await committedRows(run, ns, 'trades_v2')) === 21_000 ? true : undefined), 120_000);
    // Give a wrong duplicate a chance to land: every offset of the replay must be committed first.
    await run.sink.flushAll(true);
    const dropped = await run.registry.getSingleMetricAsString('k2_writer_dedup_dropped_total');
    const dedupBytes = await run.registry.getSingleMetricAsString('k2_writer_dedup_bytes');
    await run.stop();
    expect(dropped).toMatch(/k2_writer_dedup_dropped_total\{table="trades_v2"\} 20000/);
    const bytes = Number(/k2_writer_dedup_bytes\{table="trades_v2"\} (\d+)/.exec(dedupBytes)?.[1]);
    expect(bytes).toBeLessThanOrEqual(128 * 1024);
    const read = pyRead(pySqlCatalog(env.catalogUri, env.warehouse), `${ns.join('.')}.trades_v2`);
    expect(read.count).toBe(21_000);
    expect(new Set(read.ids).size).toBe(21_000);
  });
});
