import { Registry } from 'prom-client';
import { createLogger } from '@k2/core';
import { feedConfigSpec } from './config';
import { Streamer } from './streamer';
import type { ExchangeAdapter } from './types';

// The kraken-streamer defaults (KRAKEN_SYMBOLS=BTC/USD,ETH/USD), as canonical symbols.
const adapter = { exchange: 'kraken', symbols: ['BTCUSD', 'ETHUSD'], topics: { trades: 'market.crypto.trades.kraken', quotes: 'market.crypto.quotes.kraken' } } as unknown as ExchangeAdapter;
const feed = Object.fromEntries(Object.entries(feedConfigSpec('kraken')).map(([k, f]) => [k, (f as { default?: unknown }).default])) as never;

describe('streamer metrics', () => {
  it('exports every per-symbol counter at 0 for the configured symbols before anything happened', async () => {
    const registry = new Registry();
    new Streamer({ service: 'kraken-streamer', adapter, urls: ['ws://127.0.0.1:1'], kafkaBrokers: ['127.0.0.1:1'], schemaRegistryUrl: 'http://127.0.0.1:1', feed, logger: createLogger({ service: 'test', level: 'error' }), registry });
    const metrics = await registry.getMetricsAsJSON();
    const series = (name: string) => metrics.find((m) => m.name === name)?.values.map((v) => [v.labels['symbol'], v.value]);
    for (const name of ['k2_feed_gaps_detected_total', 'k2_feed_gap_trades_missing_total', 'k2_feed_trades_backfilled_total', 'k2_feed_trades_unfilled_total', 'k2_feed_duplicates_dropped_total']) {
      expect(series(name)).toEqual([
        ['BTCUSD', 0],
        ['ETHUSD', 0],
      ]);
    }
    expect(await registry.getSingleMetricAsString('k2_feed_journal_corrupt_lines_total')).toContain('k2_feed_journal_corrupt_lines_total{exchange="kraken"} 0');
  });
});
