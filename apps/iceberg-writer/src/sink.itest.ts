import { planScan } from '@k2/iceberg';
import { readTopicFrom } from '@k2/testing';
import { makeQuotes, makeTrades, produce, pyRead, pySqlCatalog, sinkTestEnv, startSink, waitUntil, type SinkTestEnv } from '@k2/lake-testing';

/**
 * Kafka → iceberg sink → Iceberg, read back by PyIceberg (an independent reader) from the same SQLite catalog.
 */
describe('iceberg sink (real Kafka, registry, SQLite catalog, file warehouse, PyIceberg)', () => {
  let env: SinkTestEnv;
  beforeAll(async () => {
    env = await sinkTestEnv();
  });
  afterAll(() => env?.close());

  const table = () => `${env.namespace.join('.')}.trades_v2`;

  it('lands every trade and quote once, exact values; a replay after restart is deduplicated; bad records go to the DLQ', async () => {
    const trades = makeTrades(env.exchange, 1, 3000);
    const quotes = makeQuotes(env.exchange, 1, 500);
    await produce(env, 'trades', trades);
    await produce(env, 'quotes', quotes);
    // Not Avro at all, and a record whose event time is absurd: both must be dead-lettered, not written.
    await env.producer.send({ topic: env.topics.trades, key: 'BTCUSDT', value: Buffer.from('{"not":"avro"}') });
    const [future] = makeTrades(env.exchange, 999_999, 1);
    await produce(env, 'trades', [{ ...future, timestamp: 4_102_444_800_000_000n }]);

    let run = await startSink(env);
    const total = async () => {
      const t = await run.catalog.loadTable({ namespace: env.namespace, name: 'trades_v2' }).catch(() => undefined);
      const plan = t ? await planScan(run.io, t) : undefined;
      return plan?.files.reduce((s, f) => s + f.file['record-count'], 0) ?? 0;
    };
    await waitUntil('3000 trades committed', async () => ((await total()) === 3000 ? true : undefined));
    await waitUntil('500 quotes committed', async () => {
      const t = await run.catalog.loadTable({ namespace: env.namespace, name: 'quotes_v2' }).catch(() => undefined);
      return t && Number(t.metadata.snapshots?.at(-1)?.summary['total-records'] ?? 0) === 500 ? true : undefined;
    });
    await run.stop();

    const py = pySqlCatalog(env.catalogUri, env.warehouse);
    const sample = [trades[0], trades[1], trades[2999]];
    const read = pyRead(py, table(), sample.map((t) => t.message_id));
    expect(read.count).toBe(3000);
    expect(new Set(read.ids)).toEqual(new Set(trades.map((t) => t.message_id)));
    for (const t of sample) {
      const row = read.rows.find((r) => r['message_id'] === t.message_id)!;
      expect(row['price']).toBe(t.price);
      expect(row['quantity']).toBe(t.quantity);
      expect(row['timestamp']).toBe(String(t.timestamp));
      expect(row['platform_sequence']).toBe(String(t.platform_sequence));
      expect(row['trade_conditions']).toBe(JSON.stringify(t.trade_conditions));
      expect(JSON.parse(row['vendor_data']!)).toEqual(t.vendor_data);
    }
    expect(read.files).toBeGreaterThanOrEqual(2); // two days → at least two partitions
    expect(pyRead(py, `${env.namespace.join('.')}.quotes_v2`).count).toBe(500);

    const dlq = await readTopicFrom(env.brokers, `${env.topics.trades}.dlq`);
    const reasons = dlq.map((m) => JSON.parse(m.value!.toString()) as { code: string; reason: string; source_offset: number });
    expect(reasons.map((r) => r.code).sort()).toEqual(['K2_SERDE_FAILED', 'K2_VALIDATION_FAILED']);
    expect(reasons.find((r) => r.code === 'K2_VALIDATION_FAILED')!.reason).toMatch(/outside the accepted window/);
    // The platform's one dead-letter record (@k2/kafka DeadLetterRecord, issue 18).
    for (const r of reasons) {
      expect(r).toMatchObject({ source_topic: env.topics.trades, source_partition: expect.any(Number), raw_encoding: 'base64', raw_truncated: 'false', service: 'iceberg-writer' });
      expect(r.source_offset).toEqual(expect.any(Number));
      expect((r as unknown as { raw_sha256: string }).raw_sha256).toMatch(/^[0-9a-f]{64}$/);
    }

    // Replay (a streamer restart re-publishing) plus new trades: the replayed ids are dropped by message_id.
    await produce(env, 'trades', [...trades.slice(0, 1000), ...makeTrades(env.exchange, 3001, 500)]);
    run = await startSink(env);
    await waitUntil('3500 trades committed', async () => ((await total()) === 3500 ? true : undefined));
    const dropped = await run.registry.getSingleMetricAsString('k2_writer_dedup_dropped_total');
    await run.stop();
    expect(dropped).toMatch(/k2_writer_dedup_dropped_total\{table="trades_v2"\} 1000/);
    const again = pyRead(py, table());
    expect(again.count).toBe(3500);
    expect(new Set(again.ids).size).toBe(3500);
  });
});
