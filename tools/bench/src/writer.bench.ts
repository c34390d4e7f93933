/**
 * npm run bench:writer — the Iceberg writer end to end on the real local Kafka, registry, SQLite catalog and file
 * warehouse, exactly as iceberg-writer runs it (the IcebergSink of @k2/lake-sink with the harness's defaults), in a
 * child process of its own (writer/sink-process.ts): its VmRSS is the writer's alone, the bench's producer and
 * peers run in this process and are not counted.
 *
 * 1. Throughput: a topic pre-filled with BENCH_TRADES (default 2,000,000) V2 trades; the writer starts and the clock
 *    runs until every trade is in a committed snapshot (writer start included). trades/s, bytes per trade on disk,
 *    commit duration p50/p99, the writer's peak RSS, and the per-column bytes of the committed files.
 * 2. Yardsticks on the same committed rows (writer/peers.ts): DuckDB alone writing them to Parquet with the writer's
 *    own COPY options (the limit) and PyIceberg + PyArrow appending them to a table (a peer); the writer's
 *    throughput as ratios to both. BENCH_PEERS=0 skips them.
 * 3. File layout of the real ASX sample (data/asx-sample trades, mapped by the ASX loader's TradeMapper, written by
 *    the writer through Kafka like the bench data).
 * 4. Freshness: a steady live load (BENCH_LIVE_RATE trades/s, default 20,000, for BENCH_LIVE_SECONDS, default 60)
 *    with event time = produce time, once with the default 10 s commit interval and once with 2 s
 *    (BENCH_FAST_INTERVAL_MS). The writer runs with the V8 heap cap deployments give it (576 MiB; BENCH_WRITER_HEAP_MIB).
 *    Per commit: commit time − oldest event in it; p50/p99 of that. A freshness goal only
 *    counts as met when the offered rate reached 95% of BENCH_LIVE_RATE.
 * Goals (issue 17): ≥ 100,000 trades/s with writer peak RSS ≤ 600 MB; ≤ 22 B/trade; freshness p99 ≤ 10 s (10 s
 * interval) and ≤ 3 s (2 s interval). The last line is `BENCH {json}` with every figure, its goal and met/not met.
 * Each run uses its own scratch topics (market.crypto.*.k2bench…, which no platform subscription names) and a temp
 * catalog + warehouse; both are deleted when the run ends, also when it fails.
 */
import path from 'node:path';
import { createCatalog, createFileIO, currentSchema } from '@k2/iceberg';
import { nowMicros, type TradeV2 } from '@k2/schema';
import { infraUp, repoRoot } from '@k2/testing';
import { infraS3, makeTrades, produce, sinkTestEnv, type SinkTestEnv } from '@k2/lake-testing';
import { benchCli, envNumber } from './cli';
import { rssOf } from './query/api-process';
import { asxSampleTrades, layoutOf, parquetFiles, printLayout, type Layout } from './writer/layout';
import { duckdbAlone, pyicebergAppend, type PeerResult } from './writer/peers';
import { startWriterProcess, type WriterProcess } from './writer/writer-process';

benchCli('writer');

const TRADES = envNumber('BENCH_TRADES', 2_000_000);
const LIVE_RATE = envNumber('BENCH_LIVE_RATE', 20_000);
const LIVE_SECONDS = envNumber('BENCH_LIVE_SECONDS', 60);
const INTERVAL_MS = envNumber('BENCH_COMMIT_INTERVAL_MS', 10_000);
const FAST_INTERVAL_MS = envNumber('BENCH_FAST_INTERVAL_MS', 2_000);
const PEERS = process.env['BENCH_PEERS'] !== '0';
const commitLimits = (intervalMs: number) => ({ intervalMs, maxRows: 500_000, maxBytes: 128 * 1024 * 1024 });

const GOALS = { tradesPerS: 100_000, writerRssBytes: 600e6, bytesPerTrade: 22, freshnessP99S: 10, fastFreshnessP99S: 3 } as const;

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const round = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);
const mb = (b: number): string => `${(b / 1e6).toFixed(0)} MB`;

let benchPeakRss = 0;
const rssTimer = setInterval(() => (benchPeakRss = Math.max(benchPeakRss, rssOf(process.pid) ?? 0)), 200);

async function prefill(env: SinkTestEnv, trades: (from: number, n: number) => TradeV2[], n: number): Promise<number> {
  const t0 = Date.now();
  const CHUNK = 50_000;
  for (let i = 0; i < n; i += CHUNK) await produce(env, 'trades', trades(i + 1, Math.min(CHUNK, n - i)));
  return (Date.now() - t0) / 1000;
}

async function benchEnv(): Promise<SinkTestEnv> {
  const env = await sinkTestEnv({ kind: 'bench' });
  console.log(`bench scratch topics: ${env.topicList}`);
  return env;
}

interface Throughput {
  trades: number;
  seconds: number;
  tradesPerS: number;
  bytes: number;
  files: number;
  commits: number;
  commitP50S: number;
  commitP99S: number;
  writerPeakRss: number;
  layout: Layout;
  duckdb?: PeerResult;
  pyiceberg?: PeerResult;
}

async function tableFields(env: SinkTestEnv) {
  const catalog = createCatalog({ type: 'sql', uri: env.catalogUri, warehouse: env.warehouse }, createFileIO(infraS3()), { logger: env.logger });
  try {
    return currentSchema((await catalog.loadTable({ namespace: env.namespace, name: 'trades_v2' })).metadata).fields;
  } finally {
    await catalog.close();
  }
}

/** Pre-fills, runs the writer until every trade is committed; returns its figures and the committed files. */
async function writeBacklog(env: SinkTestEnv, trades: (from: number, n: number) => TradeV2[], n: number): Promise<{ writer: WriterProcess; seconds: number; files: string[] }> {
  process.stdout.write(`prefilling ${env.topics.trades} with ${n.toLocaleString()} trades… `);
  console.log(`${(await prefill(env, trades, n)).toFixed(1)} s`);
  const writer = await startWriterProcess(env, commitLimits(INTERVAL_MS));
  try {
    await writer.rowsCommitted(n);
  } finally {
    await writer.stop();
  }
  const seconds = Math.max(...writer.commits.map((c) => c.atSeconds));
  return { writer, seconds, files: parquetFiles(env.warehouse) };
}

async function throughput(): Promise<Throughput> {
  const env = await benchEnv();
  try {
    const { writer, seconds, files } = await writeBacklog(env, (from, n) => makeTrades(env.exchange, from, n), TRADES);
    const commits = writer.commits;
    const written = commits.reduce((s, c) => s + c.written, 0);
    const bytes = commits.reduce((s, c) => s + c.bytes, 0);
    const durations = commits.map((c) => c.seconds);
    const r: Throughput = {
      trades: written,
      seconds,
      tradesPerS: written / seconds,
      bytes,
      files: commits.reduce((s, c) => s + c.files, 0),
      commits: commits.length,
      commitP50S: pct(durations, 50),
      commitP99S: pct(durations, 99),
      writerPeakRss: writer.peakRss(),
      layout: await layoutOf(files),
    };
    console.log('\n== iceberg-writer throughput (topic → committed snapshot) ==');
    console.log(`trades              ${written.toLocaleString()} in ${seconds.toFixed(1)} s (writer start included)`);
    console.log(`throughput          ${Math.round(r.tradesPerS).toLocaleString()} trades/s   (goal ≥ ${GOALS.tradesPerS.toLocaleString()})`);
    console.log(`bytes per trade     ${(bytes / written).toFixed(2)} B on disk, ${r.files} Parquet files, ${(bytes / 1e6).toFixed(1)} MB   (goal ≤ ${GOALS.bytesPerTrade})`);
    console.log(`commits             ${commits.length}, duration p50 ${r.commitP50S.toFixed(2)} s, p99 ${r.commitP99S.toFixed(2)} s`);
    console.log(`writer peak RSS     ${mb(r.writerPeakRss)} (the writer's own process)   (goal ≤ ${mb(GOALS.writerRssBytes)})`);
    printLayout('bench trades (committed files of the throughput run)', r.layout);
    if (PEERS) {
      const fields = await tableFields(env);
      r.duckdb = await duckdbAlone(files, fields);
      console.log(`\n== yardsticks on the same ${r.duckdb.rows.toLocaleString()} rows ==`);
      console.log(`DuckDB alone → Parquet (writer's COPY options, sorted per partition)   ${Math.round(r.duckdb.rowsPerSecond).toLocaleString()} rows/s (${r.duckdb.seconds.toFixed(1)} s, ${(r.duckdb.bytes / r.duckdb.rows).toFixed(2)} B/row)`);
      r.pyiceberg = pyicebergAppend(files, commitLimits(INTERVAL_MS).maxRows);
      console.log(`PyIceberg + PyArrow append (${commitLimits(INTERVAL_MS).maxRows.toLocaleString()}-row appends)        ${Math.round(r.pyiceberg.rowsPerSecond).toLocaleString()} rows/s (${r.pyiceberg.seconds.toFixed(1)} s, ${(r.pyiceberg.bytes / r.pyiceberg.rows).toFixed(2)} B/row)`);
      console.log(`writer / DuckDB alone ${(r.tradesPerS / r.duckdb.rowsPerSecond).toFixed(3)}×, writer / PyIceberg ${(r.tradesPerS / r.pyiceberg.rowsPerSecond).toFixed(2)}×`);
    }
    return r;
  } finally {
    await env.close();
  }
}

async function asxLayout(): Promise<Layout> {
  const trades = asxSampleTrades(path.join(repoRoot(), 'data', 'asx-sample'));
  const env = await benchEnv();
  try {
    const { files } = await writeBacklog(env, (from, n) => trades.slice(from - 1, from - 1 + n), trades.length);
    const layout = await layoutOf(files);
    printLayout('ASX sample trades (data/asx-sample, through the writer)', layout);
    return layout;
  } finally {
    await env.close();
  }
}

interface Freshness {
  intervalMs: number;
  offeredPerS: number;
  sent: number;
  commits: number;
  p50S: number;
  p99S: number;
  writerPeakRss: number;
}

async function freshness(intervalMs: number, goal: number): Promise<Freshness> {
  const env = await benchEnv();
  try {
    const writer = await startWriterProcess(env, commitLimits(intervalMs));
    console.log(`\nlive load: ${LIVE_RATE.toLocaleString()} trades/s for ${LIVE_SECONDS} s, commit interval ${intervalMs / 1000} s…`);
    const t0 = Date.now();
    let next = 1;
    const TICK_MS = 100;
    const perTick = Math.max(1, Math.round((LIVE_RATE * TICK_MS) / 1000));
    try {
      while (Date.now() - t0 < LIVE_SECONDS * 1000) {
        const tickStart = Date.now();
        const now = nowMicros();
        const batch: TradeV2[] = makeTrades(env.exchange, next, perTick).map((t, i) => ({ ...t, timestamp: now + BigInt(i), ingestion_timestamp: now + BigInt(i) }));
        next += perTick;
        await produce(env, 'trades', batch);
        const wait = TICK_MS - (Date.now() - tickStart);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      // Every produced trade committed, so the last interval's freshness is counted too.
      await Promise.race([writer.rowsCommitted(next - 1), new Promise((r) => setTimeout(r, intervalMs * 3 + 60_000))]);
    } finally {
      await writer.stop();
    }
    const sent = next - 1;
    const elapsed = (Date.now() - t0) / 1000;
    const staleness = writer.commits.flatMap((c) => (c.stalenessSeconds === undefined ? [] : [c.stalenessSeconds]));
    const committed = writer.commits.reduce((s, c) => s + c.written, 0);
    const f: Freshness = { intervalMs, offeredPerS: sent / LIVE_SECONDS, sent, commits: staleness.length, p50S: pct(staleness, 50), p99S: pct(staleness, 99), writerPeakRss: writer.peakRss() };
    console.log(`== iceberg-writer freshness, ${intervalMs / 1000} s interval (commit time − oldest event in the commit) ==`);
    console.log(`offered             ${Math.round(f.offeredPerS).toLocaleString()} trades/s, ${sent.toLocaleString()} trades (${elapsed.toFixed(0)} s incl. the last commit), ${committed.toLocaleString()} committed`);
    console.log(`commits             ${f.commits}`);
    console.log(`freshness p50       ${f.p50S.toFixed(2)} s`);
    console.log(`freshness p99       ${f.p99S.toFixed(2)} s   (goal ≤ ${goal})`);
    console.log(`writer peak RSS     ${mb(f.writerPeakRss)}`);
    return f;
  } finally {
    await env.close();
  }
}

interface Goal {
  name: string;
  goal: number;
  measured: number;
  unit: string;
  met: boolean;
}

function goals(t: Throughput, fresh: Freshness[]): Goal[] {
  const out: Goal[] = [
    { name: 'throughput_trades_per_s', goal: GOALS.tradesPerS, measured: t.tradesPerS, unit: '≥ trades/s', met: t.tradesPerS >= GOALS.tradesPerS },
    { name: 'writer_peak_rss_bytes', goal: GOALS.writerRssBytes, measured: t.writerPeakRss, unit: '≤ bytes', met: t.writerPeakRss <= GOALS.writerRssBytes },
    { name: 'bytes_per_trade', goal: GOALS.bytesPerTrade, measured: t.bytes / t.trades, unit: '≤ B', met: t.bytes / t.trades <= GOALS.bytesPerTrade },
  ];
  for (const f of fresh) {
    const goal = f.intervalMs === INTERVAL_MS ? GOALS.freshnessP99S : GOALS.fastFreshnessP99S;
    const loaded = f.offeredPerS >= 0.95 * LIVE_RATE;
    out.push({ name: `freshness_p99_s_interval_${f.intervalMs / 1000}s`, goal, measured: f.p99S, unit: '≤ s', met: loaded && f.p99S <= goal });
  }
  return out;
}

function benchLine(t: Throughput, asx: Layout | undefined, fresh: Freshness[], gs: Goal[]): string {
  const layout = (l: Layout) => ({ rows: l.rows, files: l.files, bytes: l.fileBytes, bytes_per_row: round(l.bytesPerRow), columns: Object.fromEntries(l.columns.map((c) => [c.column, round(c.bytesPerRow)])) });
  const peer = (p: PeerResult) => ({ rows: p.rows, seconds: round(p.seconds), rows_per_s: Math.round(p.rowsPerSecond), bytes_per_row: round(p.bytes / p.rows) });
  return `BENCH ${JSON.stringify({
    name: 'writer',
    figures: {
      throughput: {
        trades: t.trades,
        seconds: round(t.seconds),
        trades_per_s: Math.round(t.tradesPerS),
        bytes: t.bytes,
        bytes_per_trade: round(t.bytes / t.trades),
        files: t.files,
        commits: t.commits,
        commit_p50_s: round(t.commitP50S),
        commit_p99_s: round(t.commitP99S),
        writer_peak_rss_bytes: t.writerPeakRss,
        rss_measured: 'writer child process VmRSS',
      },
      layout_bench: layout(t.layout),
      ...(asx ? { layout_asx_sample: layout(asx) } : {}),
      ...(t.duckdb ? { duckdb_alone: peer(t.duckdb), writer_vs_duckdb_alone: round(t.tradesPerS / t.duckdb.rowsPerSecond) } : {}),
      ...(t.pyiceberg ? { pyiceberg_append: peer(t.pyiceberg), writer_vs_pyiceberg: round(t.tradesPerS / t.pyiceberg.rowsPerSecond) } : {}),
      freshness: fresh.map((f) => ({ interval_s: f.intervalMs / 1000, target_per_s: LIVE_RATE, offered_per_s: Math.round(f.offeredPerS), trades: f.sent, commits: f.commits, p50_s: round(f.p50S), p99_s: round(f.p99S), writer_peak_rss_bytes: f.writerPeakRss })),
      bench_process_peak_rss_bytes: benchPeakRss,
    },
    goals: gs.map((g) => ({ name: g.name, goal: g.goal, measured: round(g.measured), unit: g.unit, met: g.met })),
    met: gs.every((g) => g.met),
  })}`;
}

async function main(): Promise<void> {
  infraUp();
  const t = await throughput();
  const asx = await asxLayout();
  const fresh: Freshness[] = [];
  if (LIVE_SECONDS > 0) {
    fresh.push(await freshness(INTERVAL_MS, GOALS.freshnessP99S));
    fresh.push(await freshness(FAST_INTERVAL_MS, GOALS.fastFreshnessP99S));
  }
  clearInterval(rssTimer);
  const gs = goals(t, fresh);
  console.log('\n== goals ==');
  for (const g of gs) console.log(`${g.name.padEnd(32)} ${String(round(g.measured)).padStart(12)}  goal ${g.unit} ${g.goal}  ${g.met ? 'met' : 'NOT met'}`);
  console.log(benchLine(t, asx, fresh, gs));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
