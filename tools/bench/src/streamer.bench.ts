/**
 * npm run bench:streamer — one binance streamer (in this process) fed by the exchange simulator (its own
 * process) at full rate: trades/s from WebSocket receipt to Kafka acknowledgement, p50/p99 produce latency and
 * peak RSS, against the real local Kafka + schema registry (started if not running).
 * Goal (streamer issue): >= 100k trades/s per process, RSS <= 300 MB.
 * Env: BENCH_RATE (simulator trades/s, default 100000), BENCH_SECONDS (measured window, default 20),
 * BENCH_SYMBOLS (default BTCUSDT,ETHUSDT,BNBUSDT), BENCH_WARMUP_MS (default 5000).
 * The streamer writes to scratch topics (market.crypto.*.k2benchstreamer…) that no platform subscription names;
 * they are deleted at the end, also when the bench fails.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry, type Histogram } from 'prom-client';
import { binanceAdapter } from '@k2/binance';
import { createLogger } from '@k2/core';
import { Streamer, type FeedConfig } from '@k2/feed';
import { topicName } from '@k2/kafka';
import { infraEndpoints, infraUp, removeScratchTopics, scratchExchange, startSimulatorProcess, type SimulatorHandle } from '@k2/testing';
import { benchCli } from './cli';

benchCli('streamer');

const RATE = Number(process.env['BENCH_RATE'] ?? 100_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const SYMBOLS = (process.env['BENCH_SYMBOLS'] ?? 'BTCUSDT,ETHUSDT,BNBUSDT').split(',');
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 5000);

interface BenchTopics {
  trades: string;
  quotes: string;
}

async function main(): Promise<void> {
  infraUp();
  const { kafkaBrokers, registryUrl } = infraEndpoints();
  const exchange = scratchExchange('bench', 'streamer');
  const topics: BenchTopics = {
    trades: topicName({ assetClass: 'crypto', dataType: 'trades', exchange }),
    quotes: topicName({ assetClass: 'crypto', dataType: 'quotes', exchange }),
  };
  console.log(`bench scratch topics: ${Object.values(topics).join(',')}`);
  const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-bench-journal-'));
  const sim = await startSimulatorProcess([
    '--exchanges', 'binance',
    '--binance-symbols', SYMBOLS.join(','),
    '--binance-start-id', String((Date.now() % 1_000_000_000) * 1000),
    '--rate', String(RATE),
    '--quotes-per-trade', '0',
  ]);
  try {
    const result = await measure(sim, topics, journalDir);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await sim.stop().catch(() => undefined);
    fs.rmSync(journalDir, { recursive: true, force: true });
    const removed = await removeScratchTopics(kafkaBrokers, registryUrl, Object.values(topics));
    console.log(`bench scratch topics removed: ${removed.join(',')}`);
  }
  process.exit(0);
}

function streamerFor(sim: SimulatorHandle, topics: BenchTopics, journalDir: string, registry: Registry): Streamer {
  const { kafkaBrokers, registryUrl } = infraEndpoints();
  const feed: FeedConfig = {
    backoffInitialMs: 1000,
    backoffMaxMs: 5000,
    stableAfterMs: 1000,
    staleTimeoutMs: 10_000,
    maxConnectionAgeMs: undefined,
    journalDir,
    journalMaxBytes: 1 << 30,
    quotes: false,
    deliveryTimeoutMs: 30_000,
    lingerMs: 20,
    breakerResetMs: 5000,
    resumeFromKafka: false,
  };
  // The binance adapter as the app runs it, pointed at the bench's scratch topics instead of the platform's.
  const adapter = { ...binanceAdapter({ symbols: SYMBOLS, stream: 'trade', quotes: false, restUrl: sim.binance.rest }), topics };
  return new Streamer({
    service: 'bench-binance-streamer',
    adapter,
    urls: [sim.binance.ws],
    kafkaBrokers: kafkaBrokers.split(','),
    schemaRegistryUrl: registryUrl,
    feed,
    logger: createLogger({ service: 'bench', level: 'warn' }),
    registry,
  });
}

async function measure(sim: SimulatorHandle, topics: BenchTopics, journalDir: string): Promise<Record<string, unknown>> {
  const registry = new Registry();
  const streamer = streamerFor(sim, topics, journalDir, registry);
  await streamer.start();
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const counter = async (name: string) => {
    const m = await registry.getSingleMetric(name)?.get();
    return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
  };
  try {
    await new Promise((r) => setTimeout(r, WARMUP_MS)); // warm-up: connection, JIT, producer batches
    const hist = registry.getSingleMetric('k2_produce_latency_seconds') as Histogram;
    hist.reset();
    const t0 = process.hrtime.bigint();
    const acked0 = await counter('k2_feed_records_published_total');
    const recv0 = await counter('k2_binance_messages_received_total');
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const acked = (await counter('k2_feed_records_published_total')) - acked0;
    const received = (await counter('k2_binance_messages_received_total')) - recv0;
    const buckets = (await hist.get()).values.filter((v) => v.metricName === 'k2_produce_latency_seconds_bucket');
    const total = Math.max(...buckets.map((b) => b.value));
    const pct = (p: number) => buckets.find((b) => b.value >= total * p)?.labels['le'];
    const gaps = await counter('k2_feed_gaps_detected_total');
    await sim.pause();
    return {
      bench: 'streamer (binance @trade, WS receipt → Kafka ack)',
      simulator_rate: RATE,
      seconds: Number(secs.toFixed(1)),
      received_per_s: Math.round(received / secs),
      acked_per_s: Math.round(acked / secs),
      produce_latency_p50_le_s: pct(0.5),
      produce_latency_p99_le_s: pct(0.99),
      peak_rss_mb: Math.round(peakRss / 1048576),
      gaps_detected: gaps,
      goal: '>= 100000 trades/s, RSS <= 300 MB',
    };
  } finally {
    clearInterval(rssTimer);
    await streamer.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
