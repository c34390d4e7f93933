/**
 * npm run bench:writer — the Iceberg writer end to end on the real local Kafka, registry, SQLite catalog and file
 * warehouse, exactly as iceberg-writer runs it (one process, default commit limits).
 *
 * 1. Throughput: a topic pre-filled with BENCH_TRADES (default 2,000,000) V2 trades; the writer starts and the clock
 *    runs until every trade is in a committed snapshot. Prints trades/s, bytes per trade on disk (Parquet, zstd),
 *    commit duration p50/p99 and peak RSS.
 * 2. Freshness: a steady live load (BENCH_LIVE_RATE trades/s, default 20,000, for BENCH_LIVE_SECONDS, default 60)
 *    with event time = produce time, default 10 s commit interval. For every commit: commit time − oldest event in
 *    it (the worst freshness of that commit). Prints p50/p99 of that.
 * Goals (issue 5): ≥ 100k trades/s per process, ≤ 25 bytes/trade, freshness p99 ≤ 15 s.
 * BENCH_COMMIT_INTERVAL_MS (default 10,000) sets the commit interval of both runs.
 * Each run uses its own scratch topics (market.crypto.*.k2bench…, which no platform subscription names) and a temp
 * catalog + warehouse; both are deleted when the run ends, also when it fails.
 */
import { nowMicros, type TradeV2 } from '@k2/schema';
import { infraUp } from '@k2/testing';
import { makeTrades, produce, sinkTestEnv, startSink, type SinkTestEnv } from '@k2/lake-testing';
import type { FlushResult } from '@k2/lake-sink';
import { benchCli } from './cli';

benchCli('writer');

const TRADES = Number(process.env['BENCH_TRADES'] ?? 2_000_000);
const LIVE_RATE = Number(process.env['BENCH_LIVE_RATE'] ?? 20_000);
const LIVE_SECONDS = Number(process.env['BENCH_LIVE_SECONDS'] ?? 60);
const COMMIT = { intervalMs: Number(process.env['BENCH_COMMIT_INTERVAL_MS'] ?? 10_000), maxRows: 500_000, maxBytes: 128 * 1024 * 1024 };

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);

async function prefill(env: SinkTestEnv, n: number): Promise<number> {
  const t0 = Date.now();
  const CHUNK = 50_000;
  for (let i = 0; i < n; i += CHUNK) await produce(env, 'trades', makeTrades(env.exchange, i + 1, Math.min(CHUNK, n - i)));
  return (Date.now() - t0) / 1000;
}

async function benchEnv(): Promise<SinkTestEnv> {
  const env = await sinkTestEnv({ kind: 'bench' });
  console.log(`bench scratch topics: ${env.topicList}`);
  return env;
}

async function throughput(): Promise<void> {
  const env = await benchEnv();
  try {
    process.stdout.write(`prefilling ${env.topics.trades} with ${TRADES.toLocaleString()} trades… `);
    const fillSeconds = await prefill(env, TRADES);
    console.log(`${fillSeconds.toFixed(1)} s`);
    const commits: FlushResult[] = [];
    let written = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    const t0 = process.hrtime.bigint();
    const run = await startSink(env, {
      commit: COMMIT,
      onCommit: (_t, r) => {
        commits.push(r);
        written += r.written;
        if (written >= TRADES) done();
      },
    });
    await finished;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await run.stop();
    const bytes = commits.reduce((s, c) => s + c.bytes, 0);
    const durations = commits.map((c) => c.seconds);
    console.log('\n== iceberg-writer throughput (topic → committed snapshot) ==');
    console.log(`trades              ${written.toLocaleString()} in ${seconds.toFixed(1)} s (writer start included)`);
    console.log(`throughput          ${Math.round(written / seconds).toLocaleString()} trades/s   (goal ≥ 100,000)`);
    console.log(`bytes per trade     ${(bytes / written).toFixed(1)} B on disk, ${commits.reduce((s, c) => s + c.files, 0)} Parquet files, ${(bytes / 1e6).toFixed(1)} MB   (goal ≤ 25)`);
    console.log(`commits             ${commits.length}, duration p50 ${pct(durations, 50).toFixed(2)} s, p99 ${pct(durations, 99).toFixed(2)} s`);
    console.log(`peak RSS            ${(peakRss / 1e6).toFixed(0)} MB`);
  } finally {
    await env.close();
  }
}

async function freshness(): Promise<void> {
  const env = await benchEnv();
  try {
    const stalenessS: number[] = [];
    const run = await startSink(env, {
      commit: COMMIT,
      onCommit: (_t, r) => {
        if (r.minEventUs !== undefined) stalenessS.push(Number(nowMicros() - r.minEventUs) / 1e6);
      },
    });
    console.log(`\nlive load: ${LIVE_RATE.toLocaleString()} trades/s for ${LIVE_SECONDS} s, commit interval ${COMMIT.intervalMs / 1000} s…`);
    const t0 = Date.now();
    let next = 1;
    const TICK_MS = 100;
    const perTick = Math.max(1, Math.round((LIVE_RATE * TICK_MS) / 1000));
    while (Date.now() - t0 < LIVE_SECONDS * 1000) {
      const tickStart = Date.now();
      const now = nowMicros();
      const batch: TradeV2[] = makeTrades(env.exchange, next, perTick).map((t, i) => ({ ...t, timestamp: now + BigInt(i), ingestion_timestamp: now + BigInt(i) }));
      next += perTick;
      await produce(env, 'trades', batch);
      const wait = TICK_MS - (Date.now() - tickStart);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const sent = next - 1;
    const elapsed = (Date.now() - t0) / 1000;
    // Let the last interval commit so its freshness is counted too.
    await new Promise((r) => setTimeout(r, COMMIT.intervalMs + 5000));
    await run.stop();
    console.log('== iceberg-writer freshness (commit time − oldest event in the commit) ==');
    console.log(`offered             ${Math.round(sent / elapsed).toLocaleString()} trades/s, ${sent.toLocaleString()} trades`);
    console.log(`commits             ${stalenessS.length}`);
    console.log(`freshness p50       ${pct(stalenessS, 50).toFixed(2)} s`);
    console.log(`freshness p99       ${pct(stalenessS, 99).toFixed(2)} s   (goal ≤ 15)`);
    console.log(`peak RSS            ${(peakRss / 1e6).toFixed(0)} MB`);
  } finally {
    await env.close();
  }
}

async function main(): Promise<void> {
  infraUp();
  await throughput();
  if (LIVE_SECONDS > 0) await freshness();
  clearInterval(rssTimer);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
