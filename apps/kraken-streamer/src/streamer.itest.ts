import { dlqRecords, expectExactlyOnce, settle, startStreamerRun, stopStreamerRun, type StreamerRun, type StreamerUnderTest } from '@k2/feed-testing';

// Black-box: the kraken-streamer process against the exchange simulator (Kraken WebSocket v2 + REST Trades on
// loopback) and the real local Kafka + schema registry.
const kraken = (legacy: boolean): StreamerUnderTest => {
  const symbols = legacy ? ['XBT/USD', 'XDG/USD'] : ['BTC/USD', 'ETH/USD'];
  return {
    exchange: 'kraken',
    app: 'kraken-streamer',
    symbols,
    recordSymbols: legacy ? ['BTCUSD', 'DOGEUSD'] : ['BTCUSD', 'ETHUSD'],
    simArgs: () => ['--exchanges', 'kraken', '--kraken-symbols', 'BTC/USD,' + (legacy ? 'DOGE/USD' : 'ETH/USD'), '--rate', '200', ...(legacy ? ['--kraken-legacy-symbols'] : [])],
    env: (sim) => ({ KRAKEN_WS_URLS: sim.kraken.ws, KRAKEN_REST_URL: sim.kraken.rest, KRAKEN_SYMBOLS: symbols.join(',') }),
  };
};

describe('kraken-streamer against the exchange simulator, real Kafka and registry', () => {
  let run: StreamerRun | undefined;
  afterEach(async () => {
    await stopStreamerRun(run);
    run = undefined;
  });

  it('survives drop, id gap, stall, rotation and malformed frames with every trade exactly once', async () => {
    run = await startStreamerRun(kraken(false));
    const r = run;
    await settle(1500);
    await r.sim.fault({ exchange: 'kraken', type: 'drop' });
    await settle(2000);
    await r.sim.fault({ exchange: 'kraken', type: 'gap', count: 30 });
    await settle(2000);
    await r.sim.fault({ exchange: 'kraken', type: 'stall', durationMs: 5000 });
    await settle(7000);
    await r.sim.fault({ exchange: 'kraken', type: 'rotate' });
    await settle(2500);
    await r.sim.fault({ exchange: 'kraken', type: 'malformed', count: 2 });
    await r.sim.fault({ exchange: 'kraken', type: 'wrong-type', count: 2 });
    await settle(2000);
    const { total } = await expectExactlyOnce(r);
    expect(total).toBeGreaterThan(1000);
    const s = r.streamer;
    expect(await s.metric('k2_feed_gaps_detected_total', { exchange: 'kraken' })).toBeGreaterThanOrEqual(1);
    expect(await s.metric('k2_feed_trades_backfilled_total', { exchange: 'kraken' })).toBeGreaterThanOrEqual(30);
    expect(await s.metric('k2_kraken_reconnects_total', { reason: 'stale' })).toBeGreaterThanOrEqual(1);
    expect(await s.metric('k2_feed_trades_unfilled_total')).toBe(0);
    const dlq = await dlqRecords(r);
    expect(dlq.length).toBeGreaterThanOrEqual(4);
    for (const d of dlq) expect(d).toMatchObject({ exchange: 'kraken', reason: expect.any(String), code: expect.stringMatching(/^K2_/), raw: expect.any(String) });
    // The status message's connection_id (> 2^53) is logged with every digit.
    expect(s.output.join('\n')).toMatch(/connection \d{17,}/);
  });

  it('maps legacy XBT/USD and XDG/USD pairs to BTCUSD and DOGEUSD, exactly once', async () => {
    run = await startStreamerRun(kraken(true));
    await settle(3000);
    await run.sim.fault({ exchange: 'kraken', type: 'drop' });
    await settle(2000);
    const { perSymbol } = await expectExactlyOnce(run);
    expect(perSymbol['BTCUSD']).toBeGreaterThan(0);
    expect(perSymbol['DOGEUSD']).toBeGreaterThan(0);
  });
});
