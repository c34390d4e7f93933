/**
 * npm run bench:streamer — one binance streamer (in this process) fed by the exchange simulator (its own
 * process) at full rate: trades/s from WebSocket receipt to Kafka acknowledgement, p50/p99 produce latency and
 * peak RSS, against the real local Kafka + schema registry (started if not running).
 * In the same run, its limits (issue 20): Kafka's own kafka-producer-perf-test at the streamer's record size (acks=all,
 * idempotent, zstd) and the simulator → bare `ws` client receive rate (the socket limit).
 * Goals (issue 20): WS → ack >= 0.5x the producer-perf limit, peak RSS <= 300 MB at 100k trades/s offered,
 * produce latency p99 <= 250 ms. Ends with one `BENCH {json}` line.
 * Env: BENCH_RATE (simulator trades/s, default 100000), BENCH_SECONDS (measured window, default 20),
 * BENCH_SYMBOLS (default BTCUSDT,ETHUSDT,BNBUSDT), BENCH_WARMUP_MS (default 5000), BENCH_LIMIT_SECONDS (socket
 * limit window, default 5), BENCH_PERF_RECORDS (producer-perf records, default 1000000), BENCH_SUSTAINED_SECONDS
 * and BENCH_SUSTAINED_RATE (the latency phase before the full offer: default 8 s at 10,000/s), BENCH_MAX_IN_FLIGHT (the streamer's
 * maxInFlight; unset = its default).
 * The streamer writes to scratch topics (market.crypto.*.k2benchstreamer…) that no platform subscription names;
 * they are deleted at the end, also when the bench fails.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Registry, type Histogram } from 'prom-client';
import { binanceAdapter, BinanceTransport, decodeBinanceFrame } from '@k2/binance';
import { createLogger } from '@k2/core';
import { Streamer, type FeedConfig, type FeedTrade } from '@k2/feed';
import { topicName } from '@k2/kafka';
import { AvroSerde } from '@k2/serde';
import { infraEndpoints, infraUp, removeScratchTopics, scratchExchange, startSimulatorProcess, type SimulatorHandle } from '@k2/testing';
import { benchCli } from './cli';
import { atLeast, atMost, benchLine, producerPerfLimit, wsReceiveLimit, type PerfLimit, type WsLimit } from './limits';

benchCli('streamer');

const RATE = Number(process.env['BENCH_RATE'] ?? 100_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const SYMBOLS = (process.env['BENCH_SYMBOLS'] ?? 'BTCUSDT,ETHUSDT,BNBUSDT').split(',');
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 5000);
const LIMIT_SECONDS = Number(process.env['BENCH_LIMIT_SECONDS'] ?? 5);
const PERF_RECORDS = Number(process.env['BENCH_PERF_RECORDS'] ?? 1_000_000);
const SUSTAINED_SECONDS = Number(process.env['BENCH_SUSTAINED_SECONDS'] ?? 8);
const SUSTAINED_RATE = Number(process.env['BENCH_SUSTAINED_RATE'] ?? 10_000);
const MAX_IN_FLIGHT = process.env['BENCH_MAX_IN_FLIGHT'] === undefined ? undefined : Number(process.env['BENCH_MAX_IN_FLIGHT']);

interface BenchTopics {
  trades: string;
  quotes: string;
  perf: string;
}

async function main(): Promise<void> {
  infraUp();
  const { kafkaBrokers, registryUrl } = infraEndpoints();
  const exchange = scratchExchange('bench', 'streamer');
  const topics: BenchTopics = {
    trades: topicName({ assetClass: 'crypto', dataType: 'trades', exchange }),
    quotes: topicName({ assetClass: 'crypto', dataType: 'quotes', exchange }),
    perf: topicName({ assetClass: 'crypto', dataType: 'trades', exchange: `${exchange}perf` }),
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
    const socket = await socketLimit(sim);
    await sim.setRate(SUSTAINED_RATE, 'binance');
    const recordSize = await tradeRecordSize(registryUrl, topics.trades);
    const perf = await producerPerfLimit({ brokers: kafkaBrokers, topic: topics.perf, records: PERF_RECORDS, recordSize });
    const result = await measure(sim, topics, journalDir);
    report(result, socket, perf);
  } finally {
    await sim.stop().catch(() => undefined);
    fs.rmSync(journalDir, { recursive: true, force: true });
    const removed = await removeScratchTopics(kafkaBrokers, registryUrl, Object.values(topics));
    console.log(`bench scratch topics removed: ${removed.join(',')}`);
  }
  process.exit(0);
}

/** The simulator → bare `ws` client rate on the same subscription the streamer makes, at the offered rate. */
async function socketLimit(sim: SimulatorHandle): Promise<WsLimit> {
  const transport = new BinanceTransport({ symbols: SYMBOLS, stream: 'trade', quotes: false, restUrl: sim.binance.rest });
  return wsReceiveLimit(transport.connectUrl(sim.binance.ws), transport.subscribeMessages(), LIMIT_SECONDS);
}

/** Bytes of one framed V2 trade as the streamer produces it (a simulator-shaped @trade frame, mapped and encoded). */
async function tradeRecordSize(registryUrl: string, topic: string): Promise<number> {
  const serde = new AvroSerde({ registryUrl });
  const id = await serde.registerV2(topic, 'trades');
  const now = Date.now() * 1000;
  const frame = JSON.stringify({ stream: 'btcusdt@trade', data: { e: 'trade', E: now, s: 'BTCUSDT', t: 4_000_000_123, p: '97012.34000000', q: '0.01234000', T: now, m: true, M: true } });
  const ev = decodeBinanceFrame(frame, { receivedAtMicros: BigInt(now) });
  if (ev.type !== 'trades') throw new Error('sample frame did not map to a trade');
  const t = ev.trades[0] as FeedTrade;
  return serde.encode(id, { ...t.record, platform_sequence: BigInt(now) }).length;
}

interface Measured {
  seconds: number;
  received_per_s: number;
  acked_per_s: number;
  produce_latency_p50_le_s: string | number | undefined;
  produce_latency_p99_le_s: string | number | undefined;
  sustained_rate: number;
  sustained_acked_per_s: number;
  sustained_latency_p50_le_s: string | number | undefined;
  sustained_latency_p99_le_s: string | number | undefined;
  cpu_us_per_trade: number;
  peak_rss_mb: number;
  peak_heap_total_mb: number;
  peak_external_mb: number;
  gaps_detected: number;
  in_flight_at_end: number;
  journal_entries_at_end: number;
  reconnects: number;
  backfilled: number;
}

function report(m: Measured, socket: WsLimit, perf: PerfLimit): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const ackVsPerf = m.acked_per_s / perf.recordsPerS;
  const recvVsSocket = m.received_per_s / socket.framesPerS;
  const p99 = m.sustained_latency_p99_le_s === undefined || m.sustained_latency_p99_le_s === '+Inf' ? Infinity : Number(m.sustained_latency_p99_le_s) * 1000;
  console.log(`streamer bench: binance @trade, ${fmt(RATE)} trades/s offered, ${m.seconds} s measured, node ${process.version}`);
  console.log(`  received           : ${fmt(m.received_per_s)}/s (socket limit ${fmt(socket.framesPerS)}/s: ${recvVsSocket.toFixed(2)}x)`);
  console.log(`  WS -> Kafka ack    : ${fmt(m.acked_per_s)}/s (producer-perf limit ${fmt(perf.recordsPerS)}/s at ${perf.recordSize} B: ${ackVsPerf.toFixed(2)}x, goal >= 0.5x)`);
  console.log(`  produce latency    : at full offer p50 <= ${m.produce_latency_p50_le_s} s, p99 <= ${m.produce_latency_p99_le_s} s (producer-perf p99 ${perf.p99LatencyMs} ms)`);
  console.log(`  sustained          : ${fmt(m.sustained_rate)}/s offered, ${fmt(m.sustained_acked_per_s)}/s acked, p50 <= ${m.sustained_latency_p50_le_s} s, p99 <= ${m.sustained_latency_p99_le_s} s (goal p99 <= 0.25 s)`);
  console.log(`  CPU per trade      : ${m.cpu_us_per_trade} µs (this process, all threads)`);
  console.log(`  peak RSS           : ${m.peak_rss_mb} MB (goal <= 300 MB; V8 heap ${m.peak_heap_total_mb} MB, buffers ${m.peak_external_mb} MB); gaps detected ${m.gaps_detected}`);
  console.log(`  at the end         : ${fmt(m.in_flight_at_end)} sends in flight, ${fmt(m.journal_entries_at_end)} journal entries; ${m.reconnects} reconnects, ${fmt(m.backfilled)} trades backfilled`);
  const goals = [atLeast('ack_vs_producer_perf', ackVsPerf, 0.5), atMost('peak_rss_mb', m.peak_rss_mb, 300, '≤ MB'), atMost('sustained_latency_p99_ms', p99, 250, '≤ ms')];
  console.log(
    benchLine(
      'streamer',
      { offered_per_s: RATE, ...m },
      { producer_perf: perf, socket_receive: socket },
      { ack_vs_producer_perf: ackVsPerf, received_vs_socket: recvVsSocket, acked_vs_offered: m.acked_per_s / RATE },
      goals,
    ),
  );
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
  const adapter = { ...binanceAdapter({ symbols: SYMBOLS, stream: 'trade', quotes: false, restUrl: sim.binance.rest }), topics: { trades: topics.trades, quotes: topics.quotes } };
  return new Streamer({
    service: 'bench-binance-streamer',
    adapter,
    urls: [sim.binance.ws],
    kafkaBrokers: kafkaBrokers.split(','),
    schemaRegistryUrl: registryUrl,
    feed,
    logger: createLogger({ service: 'bench', level: 'warn' }),
    registry,
    ...(MAX_IN_FLIGHT === undefined ? {} : { maxInFlight: MAX_IN_FLIGHT }),
  });
}

/** p50 and p99 of the produce-latency histogram as bucket upper bounds (seconds). */
async function latency(hist: Histogram): Promise<{ p50: string | number | undefined; p99: string | number | undefined }> {
  const buckets = (await hist.get()).values.filter((v) => v.metricName === 'k2_produce_latency_seconds_bucket');
  const total = Math.max(...buckets.map((b) => b.value));
  const pct = (p: number) => buckets.find((b) => b.value >= total * p)?.labels['le'];
  return { p50: pct(0.5), p99: pct(0.99) };
}

async function measure(sim: SimulatorHandle, topics: BenchTopics, journalDir: string): Promise<Measured> {
  const registry = new Registry();
  const streamer = streamerFor(sim, topics, journalDir, registry);
  await streamer.start();
  let peakRss = 0;
  let peakHeap = 0;
  let peakExternal = 0;
  const rssTimer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapTotal);
    peakExternal = Math.max(peakExternal, m.external);
  }, 100);
  const counter = async (name: string) => {
    const m = await registry.getSingleMetric(name)?.get();
    return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
  };
  try {
    await new Promise((r) => setTimeout(r, WARMUP_MS)); // warm-up: connection, JIT, producer batches
    const hist = registry.getSingleMetric('k2_produce_latency_seconds') as Histogram;
    // First the latency goal, at a rate the streamer sustains (it runs before the full offer leaves a backlog).
    hist.reset();
    const acked1 = await counter('k2_feed_records_published_total');
    const t1 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, SUSTAINED_SECONDS * 1000));
    const secs1 = Number(process.hrtime.bigint() - t1) / 1e9;
    const sustainedAcked = ((await counter('k2_feed_records_published_total')) - acked1) / secs1;
    const sustained = await latency(hist);
    // Then the full offer.
    await sim.setRate(RATE, 'binance');
    await new Promise((r) => setTimeout(r, 3000));
    hist.reset();
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const acked0 = await counter('k2_feed_records_published_total');
    const recv0 = await counter('k2_binance_messages_received_total');
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const acked = (await counter('k2_feed_records_published_total')) - acked0;
    const received = (await counter('k2_binance_messages_received_total')) - recv0;
    const full = await latency(hist);
    const { publisher } = streamer.state;
    const inFlightAtEnd = publisher.pending;
    const journalAtEnd = await counter('k2_feed_journal_entries');
    const reconnects = await counter('k2_binance_reconnects_total');
    const backfilled = await counter('k2_feed_trades_backfilled_total');
    if (process.env['BENCH_HEAP_SPACES']) {
      for (const sp of v8.getHeapSpaceStatistics()) console.log(`  heap space ${sp.space_name}: used ${Math.round(sp.space_used_size / 1048576)} MB of ${Math.round(sp.space_size / 1048576)} MB`);
    }
    const gaps = await counter('k2_feed_gaps_detected_total');
    await sim.pause();
    return {
      seconds: Number(secs.toFixed(1)),
      received_per_s: Math.round(received / secs),
      acked_per_s: Math.round(acked / secs),
      produce_latency_p50_le_s: full.p50,
      produce_latency_p99_le_s: full.p99,
      sustained_rate: SUSTAINED_RATE,
      sustained_acked_per_s: Math.round(sustainedAcked),
      sustained_latency_p50_le_s: sustained.p50,
      sustained_latency_p99_le_s: sustained.p99,
      // CPU of this process (JS thread and librdkafka's threads) per acknowledged trade: what a change to the hot path
      // costs or saves, robust to the neighbours' load that moves every rate on this machine.
      cpu_us_per_trade: Math.round(((cpu.user + cpu.system) / Math.max(acked, 1)) * 10) / 10,
      peak_rss_mb: Math.round(peakRss / 1048576),
      peak_heap_total_mb: Math.round(peakHeap / 1048576),
      peak_external_mb: Math.round(peakExternal / 1048576),
      gaps_detected: gaps,
      in_flight_at_end: inFlightAtEnd,
      journal_entries_at_end: journalAtEnd,
      reconnects,
      backfilled,
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
