import { dlqRecords, expectExactlyOnce, settle, startStreamerRun, stopStreamerRun, waitForConnection, type StreamerRun, type StreamerUnderTest } from '@k2/feed-testing';
import { infraDown, infraEndpoints, infraStart, readTopicFrom, startServiceProcess } from '@k2/testing';

// Black-box: the binance-streamer process against the exchange simulator (Binance protocol on loopback) and the
// real local Kafka + schema registry. Every fault must end with each simulator trade id in the topic exactly once.
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const binance: StreamerUnderTest = {
  exchange: 'binance',
  app: 'binance-streamer',
  symbols: SYMBOLS,
  recordSymbols: SYMBOLS,
  simArgs: (startId) => ['--exchanges', 'binance', '--binance-symbols', SYMBOLS.join(','), '--binance-start-id', String(startId), '--rate', '200', '--ping-interval-ms', '1000'],
  env: (sim) => ({ BINANCE_WS_URLS: sim.binance.ws, BINANCE_REST_URL: sim.binance.rest, BINANCE_SYMBOLS: SYMBOLS.join(',') }),
};

describe('binance-streamer against the exchange simulator, real Kafka and registry', () => {
  let run: StreamerRun | undefined;
  afterEach(async () => {
    await stopStreamerRun(run);
    run = undefined;
  });

  it('survives drop, id gap, stall, rotation, malformed and wrong-type frames with every trade exactly once', async () => {
    run = await startStreamerRun(binance);
    const r = run;
    await settle(1500);
    await r.sim.fault({ exchange: 'binance', type: 'drop' });
    await settle(1500);
    await r.sim.fault({ exchange: 'binance', type: 'gap', count: 25 });
    await settle(1500);
    await r.sim.fault({ exchange: 'binance', type: 'stall', durationMs: 5000 });
    await settle(7000);
    await r.sim.fault({ exchange: 'binance', type: 'rotate' });
    await settle(2500);
    await r.sim.fault({ exchange: 'binance', type: 'malformed', count: 3 });
    await r.sim.fault({ exchange: 'binance', type: 'wrong-type', count: 2 });
    await settle(1500);
    const { total } = await expectExactlyOnce(r);
    expect(total).toBeGreaterThan(1000);

    const s = r.streamer;
    expect(await s.metric('k2_feed_gaps_detected_total', { exchange: 'binance' })).toBeGreaterThanOrEqual(1);
    expect(await s.metric('k2_feed_trades_backfilled_total', { exchange: 'binance' })).toBeGreaterThanOrEqual(25);
    expect(await s.metric('k2_binance_reconnects_total', { reason: 'stale' })).toBeGreaterThanOrEqual(1);
    expect(await s.metric('k2_binance_reconnects_total', { reason: 'rotate_server_shutdown' })).toBe(1);
    expect(await s.metric('k2_feed_trades_unfilled_total')).toBe(0);

    // Bad frames: each in the DLQ with raw text and reason, counted; the connection lived on.
    const dlq = await dlqRecords(r);
    expect(dlq.length).toBeGreaterThanOrEqual(5);
    for (const d of dlq) expect(d).toMatchObject({ exchange: 'binance', reason: expect.any(String), code: expect.stringMatching(/^K2_/), raw: expect.any(String) });
    expect(await s.metric('k2_dlq_messages_total')).toBeGreaterThanOrEqual(5);
    expect(await s.metric('k2_binance_messages_received_total', { type: 'invalid' })).toBeGreaterThanOrEqual(5);

    // bookTicker quotes reach their own topic.
    expect((await readTopicFrom(infraEndpoints().kafkaBrokers, r.topics.quotes, r.from.quotes)).length).toBeGreaterThan(0);
  });

  it('loses nothing while Kafka is stopped for 30 s under load, replaying the journal when it returns', async () => {
    run = await startStreamerRun(binance, [], { KAFKA_DELIVERY_TIMEOUT_MS: '5000', FEED_BREAKER_RESET_MS: '1000' });
    const r = run;
    await settle(2000);
    infraDown('kafka');
    try {
      await settle(30000);
    } finally {
      infraStart('kafka');
    }
    await settle(3000);
    const { total } = await expectExactlyOnce(r, 120000);
    expect(total).toBeGreaterThan(5000);
    expect(await r.streamer.metric('k2_feed_journal_replayed_total')).toBeGreaterThan(0);
    expect(await r.streamer.metric('k2_feed_journal_entries')).toBe(0);
  });

  it('resumes after SIGKILL from the last trade it published (read back from Kafka), without a hole', async () => {
    run = await startStreamerRun(binance, [], { FEED_RESUME_FROM_KAFKA: 'true' });
    const r = run;
    await settle(2000);
    await r.streamer.kill('SIGKILL');
    await settle(3000); // trades keep happening while the streamer is dead
    r.streamer = await startServiceProcess(r.sut.app, r.env);
    await waitForConnection(r.sut, r.streamer);
    await settle(2000);
    const { total } = await expectExactlyOnce(r);
    expect(total).toBeGreaterThan(1000);
    expect(await r.streamer.metric('k2_feed_trades_backfilled_total', { exchange: 'binance' })).toBeGreaterThan(0);
  });
});
