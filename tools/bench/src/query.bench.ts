/**
 * npm run bench:query — query-api over a month of trades in the real Iceberg format, on this machine.
 *
 * 1. Dataset: `market_data.trades_v2` in a SQLite catalog + file warehouse under .data/bench/query/, built once
 *    through the writer's own library path (see query/dataset.ts) and reused while it matches the parameters:
 *    BENCH_SYMBOLS (20: 10 Binance, 10 Kraken) × BENCH_DAYS (30 from 2026-10-01) × BENCH_TRADES_PER_SYMBOL_DAY
 *    (16,700) = 10,020,000 trades, 60 zstd Parquet files, one per (day, exchange). BENCH_REBUILD=1 rebuilds it.
 * 2. query-api as a child process on that catalog (no Kafka: QUERY_TAIL_ENABLED=false), ready when /readyz is 200;
 *    its RSS is sampled every 200 ms.
 * 3. A closed-loop load of BENCH_CONCURRENCY (16) keep-alive clients per scenario, BENCH_WARMUP_SECONDS (3)
 *    unmeasured, then BENCH_SECONDS (20) measured:
 *      trades   /v1/trades, a random symbol, a random 15-minute window of the month (~175 rows)
 *      recent   the same within the last 24 h of the dataset (its last day stands for "today")
 *      across   /v1/trades with no symbol: the last 1000 trades of every source in a 60-minute window of the last 24 h
 *      bars     /v1/bars, a random symbol, 1m bars over a random whole day (1,440 bars)
 *      summary  /v1/summary, a random symbol and day
 *    Prints requests, errors (non-200), req/s, latency p50/p95/p99/max and mean rows per response per scenario.
 *    Every BENCH_PARSE_EVERY-th (10th) 200 response is parsed and its rows counted, the rest only checked to be a
 *    JSON object: the load generator shares the 2 cores with the API, and parsing every ~150 KB bars body would
 *    cost it over half a core at 500 req/s.
 * 4. DuckDB alone (BENCH_PEER=0 skips it): the API's SQL.trades over the trades scenario's windows, on the partition
 *    files of each window, with BENCH_CONCURRENCY connections in this process while the API idles; the API's trades
 *    throughput is printed as a ratio to it (both measured in the same run, on the same shared cores).
 * Goals (issue 15): trades p99 ≤ 50 ms, ≥ 500 req/s and ≥ 3× DuckDB alone; recent p99 ≤ 10 ms, ≥ 2,000 req/s;
 * cross-source p99 ≤ 50 ms, a 1-day all-symbol CSV export ≥ 500k rows/s and a max-speed replay of one day ≥ 500k
 * events/s (issue 16, measured one at a time after the load scenarios: `export`, `replay`); 1m bars over a day p99 ≤ 50 ms; summary p99 ≤ 20 ms; API peak RSS ≤ 1 GiB. The last line is `BENCH {json}` with
 * every figure, each goal and met/not met. The load generator runs on the same 2 cores as the API, so the figures
 * are a floor for a dedicated pod.
 *
 * BENCH_API_URL=http://host:port benchmarks an API that is already running instead of starting one, with the key in
 * BENCH_API_KEY (sent as X-API-Key) and, to wait for it to be ready, its ops port in BENCH_API_OPS_URL (/readyz lives
 * there, not on the public port); its RSS is sampled only when BENCH_API_PID is given too; BENCH_SCENARIOS=trades,bars picks scenarios. BENCH_DATA_DIR moves the
 * dataset (default .data/bench/query; it is the bench's own catalog and warehouse, never the platform's lake, and it
 * is kept between runs because building it takes minutes).
 */
import path from 'node:path';
import { repoRoot } from '@k2/testing';
import { DAY_US, ensureDataset, type DatasetInfo } from './query/dataset';
import { rssSampler, startQueryApi, waitHotWarm, waitReady, type ApiProcess } from './query/api-process';
import { runLoad, type LoadResult, type Scenario } from './query/loadgen';
import { partitionFiles, runDuckdbPeer, type PeerQuery } from './query/duckdb-peer';
import { measureExport, type ExportResult } from './query/export-load';
import { measureReplay, REPLAY_GOAL_EVENTS_PER_SECOND, type ReplayMeasurement } from './query/replay';
import { fileURLToPath } from 'node:url';
import { benchCli, envNumber } from './cli';

benchCli('query');

const SYMBOLS = envNumber('BENCH_SYMBOLS', 20);
const DAYS = envNumber('BENCH_DAYS', 30);
const PER_DAY = envNumber('BENCH_TRADES_PER_SYMBOL_DAY', 16_700);
const SECONDS = envNumber('BENCH_SECONDS', 20);
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 3);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 16);
const PARSE_EVERY = Math.max(1, envNumber('BENCH_PARSE_EVERY', 10));
const REBUILD = process.env['BENCH_REBUILD'] === '1';
const PEER = process.env['BENCH_PEER'] !== '0';
const SCENARIOS = (process.env['BENCH_SCENARIOS'] ?? 'trades,recent,across,bars,summary,export,replay').split(',').map((s) => s.trim()).filter(Boolean);

/** Issue 15: the hot tier's goals on this dataset, 16 clients, same machine, same run. */
const GOALS = { exportRowsPerS: 500_000, replayEventsPerS: REPLAY_GOAL_EVENTS_PER_SECOND, tradesP99Ms: 50, tradesRps: 500, tradesVsDuckdb: 3, recentP99Ms: 10, recentRps: 2000, acrossP99Ms: 50, barsP99Ms: 50, summaryP99Ms: 20, peakRssBytes: 1024 ** 3 };
const DAY_MS = DAY_US / 1000;
/** One-shot streamed measurements after the load scenarios (issue 16): a download and a replay, one at a time. */
const STREAMED = ['export', 'replay'];
const WINDOW_MS = 15 * 60_000;

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];
const q = (params: Record<string, string>): string => Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const ms = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : '–');

/** The `data` array of a list response; anything else is a malformed 200 and counts as an error. */
function dataRows(body: unknown): number {
  const data = body !== null && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) throw new Error('response has no "data" array');
  return data.length;
}

/** A random symbol and a minute-aligned 15-minute window in the last `days` of the dataset (crossing midnight now and then). */
function randomWindow(ds: DatasetInfo, days: number): { symbol: (typeof ds.symbols)[number]; start: number } {
  const from = ds.startMs + (ds.days - days) * DAY_MS;
  const minutes = Math.floor(Math.random() * ((days * DAY_MS - WINDOW_MS) / 60_000 + 1));
  return { symbol: pick(ds.symbols), start: from + minutes * 60_000 };
}

/** The same distribution as the trades scenario, as DuckDB-alone queries over the window's partition files. */
function peerQuery(ds: DatasetInfo): PeerQuery {
  const { symbol, start } = randomWindow(ds, ds.days);
  const warehouse = fileURLToPath(ds.warehouse);
  const days = new Set([iso(start).slice(0, 10), iso(start + WINDOW_MS - 1).slice(0, 10)]);
  const files = [...days].flatMap((d) => partitionFiles(warehouse, ds.table, d, symbol.exchange));
  return { files, symbol: symbol.symbol, startUs: BigInt(start) * 1000n, endUs: BigInt(start + WINDOW_MS) * 1000n };
}

function scenarios(ds: DatasetInfo): Scenario[] {
  const symbols = ds.symbols.map((s) => s.symbol);
  const randomDay = (): number => ds.startMs + Math.floor(Math.random() * ds.days) * DAY_MS;
  const window = (days: number): string => {
    const { symbol, start } = randomWindow(ds, days);
    return `/v1/trades?${q({ symbol: symbol.symbol, start: iso(start), end: iso(start + WINDOW_MS) })}`;
  };
  const all: Scenario[] = [
    // Minute-aligned windows anywhere in the month.
    { name: 'trades', nextPath: () => window(ds.days), count: dataRows },
    // The common case: windows within the last 24 h of the data (the dataset's last day stands for "today").
    { name: 'recent', nextPath: () => window(1), count: dataRows },
    // The seeds' cross-source query: the last 1000 trades of every source in an hour (issue 16), within the last 24 h.
    {
      name: 'across',
      nextPath: () => {
        const end = ds.startMs + ds.days * DAY_MS - Math.floor(Math.random() * 23 * 60) * 60_000;
        return `/v1/trades?${q({ start: iso(end - 60 * 60_000), end: iso(end), limit: '1000' })}`;
      },
      count: dataRows,
    },
    {
      name: 'bars',
      nextPath: () => {
        const day = randomDay();
        return `/v1/bars?${q({ symbol: pick(symbols), interval: '1m', start: iso(day), end: iso(day + DAY_MS) })}`;
      },
      count: dataRows,
    },
    {
      name: 'summary',
      nextPath: () => `/v1/summary?${q({ symbol: pick(symbols), date: iso(randomDay()).slice(0, 10) })}`,
      count: (body) => {
        if (body === null || typeof body !== 'object') throw new Error('summary is not a JSON object');
        return 1;
      },
    },
  ];
  const unknown = SCENARIOS.filter((s) => !all.some((x) => x.name === s) && !STREAMED.includes(s));
  if (unknown.length) throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(', ')} (have ${all.map((x) => x.name).join(', ')})`);
  return all.filter((s) => SCENARIOS.includes(s.name));
}

function printResult(r: LoadResult, example: string): void {
  console.log(`\n== ${r.name}: ${example} ==`);
  console.log(`requests     ${r.requests.toLocaleString()} in ${r.seconds.toFixed(1)} s, errors ${r.errors.toLocaleString()}   statuses ${JSON.stringify(r.statuses)}`);
  console.log(`throughput   ${Math.round(r.rps).toLocaleString()} req/s`);
  console.log(`latency      p50 ${ms(r.latencyMs.p50)}, p95 ${ms(r.latencyMs.p95)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)} (mean ${ms(r.latencyMs.mean)})`);
  console.log(`items        ${r.avgItems.toFixed(1)} per 200 response (${r.parsed.toLocaleString()} parsed)`);
  if (r.firstError) console.log(`first error  ${r.firstError.status ?? 'transport'} GET ${r.firstError.path}\n             ${r.firstError.body}`);
}

interface Goal {
  name: string;
  goal: number;
  measured: number;
  unit: string;
  met: boolean;
}

interface Streamed {
  export?: ExportResult;
  replay?: ReplayMeasurement;
}

function goals(results: LoadResult[], peer: LoadResult | undefined, peakRss: number | undefined, streamed: Streamed): Goal[] {
  const by = new Map(results.map((r) => [r.name, r]));
  const out: Goal[] = [];
  // A goal only counts as met by a run without errors: fast 404s or 500s are not answers.
  const clean = (r: LoadResult): boolean => r.errors === 0 && r.requests > 0;
  const p99 = (name: string, goal: number) => {
    const r = by.get(name);
    if (r) out.push({ name: `${name}_p99_ms`, goal, measured: r.latencyMs.p99, unit: '≤ ms', met: clean(r) && r.latencyMs.p99 <= goal });
  };
  const rps = (name: string, goal: number) => {
    const r = by.get(name);
    if (r) out.push({ name: `${name}_rps`, goal, measured: r.rps, unit: '≥ req/s', met: clean(r) && r.rps >= goal });
  };
  p99('trades', GOALS.tradesP99Ms);
  rps('trades', GOALS.tradesRps);
  const trades = by.get('trades');
  if (trades && peer) out.push({ name: 'trades_vs_duckdb_alone', goal: GOALS.tradesVsDuckdb, measured: trades.rps / peer.rps, unit: '≥ ×', met: clean(trades) && trades.rps / peer.rps >= GOALS.tradesVsDuckdb });
  p99('recent', GOALS.recentP99Ms);
  rps('recent', GOALS.recentRps);
  p99('across', GOALS.acrossP99Ms);
  p99('bars', GOALS.barsP99Ms);
  p99('summary', GOALS.summaryP99Ms);
  const ex = streamed.export;
  if (ex) out.push({ name: 'export_csv_rows_per_s', goal: GOALS.exportRowsPerS, measured: ex.rowsPerSecond, unit: '≥ rows/s', met: ex.status === 200 && ex.rowsPerSecond >= GOALS.exportRowsPerS });
  const rp = streamed.replay;
  if (rp) out.push({ name: 'replay_events_per_s', goal: GOALS.replayEventsPerS, measured: rp.eventsPerSecond, unit: '≥ events/s', met: rp.last === 'end' && rp.eventsPerSecond >= GOALS.replayEventsPerS });
  if (peakRss !== undefined) out.push({ name: 'peak_rss_bytes', goal: GOALS.peakRssBytes, measured: peakRss, unit: '≤ bytes', met: peakRss <= GOALS.peakRssBytes });
  return out;
}

/** The last line of the bench: every figure and every goal, machine-readable. */
function benchLine(results: LoadResult[], peer: LoadResult | undefined, peakRss: number | undefined, gs: Goal[], streamed: Streamed): string {
  const fig = (r: LoadResult) => ({ requests: r.requests, errors: r.errors, rps: round(r.rps), p50_ms: round(r.latencyMs.p50), p95_ms: round(r.latencyMs.p95), p99_ms: round(r.latencyMs.p99), max_ms: round(r.latencyMs.max), items: round(r.avgItems) });
  const figures = Object.fromEntries([...results, ...(peer ? [peer] : [])].map((r) => [r.name, fig(r)]));
  return `BENCH ${JSON.stringify({
    name: 'query',
    figures: {
      ...figures,
      ...(streamed.export ? { export_csv: { rows: streamed.export.rows, bytes: streamed.export.bytes, seconds: round(streamed.export.seconds), rows_per_s: streamed.export.rowsPerSecond, first_byte_ms: streamed.export.firstByteMs } } : {}),
      ...(streamed.replay ? { replay: { events: streamed.replay.events, bytes: streamed.replay.bytes, seconds: round(streamed.replay.seconds), events_per_s: round(streamed.replay.eventsPerSecond), first_byte_ms: round(streamed.replay.firstByteMs) } } : {}),
      peak_rss_bytes: peakRss ?? null,
    },
    goals: gs.map((g) => ({ name: g.name, goal: g.goal, measured: round(g.measured), unit: g.unit, met: g.met })),
    met: gs.every((g) => g.met),
  })}`;
}

/** The export and replay measurements: one day of every symbol (~334k trades), downloaded and counted as it arrives. */
async function runStreamed(ds: DatasetInfo, baseUrl: string, apiKey: string | undefined): Promise<Streamed> {
  const headers: Record<string, string> = apiKey ? { 'x-api-key': apiKey } : {};
  const day = ds.startMs + Math.floor(ds.days / 2) * DAY_MS;
  const window = `start=${iso(day)}&end=${iso(day + DAY_MS)}`;
  const out: Streamed = {};
  if (SCENARIOS.includes('export')) {
    const r = (out.export = await measureExport(baseUrl, `/v1/trades?${window}&format=csv`, headers));
    console.log(`\n== export: GET ${r.path} ==`);
    console.log(`status ${r.status}, ${r.rows.toLocaleString()} rows, ${mb(r.bytes)} in ${r.seconds.toFixed(2)} s: ${r.rowsPerSecond.toLocaleString()} rows/s (first byte ${r.firstByteMs} ms)`);
  }
  if (SCENARIOS.includes('replay')) {
    const r = (out.replay = await measureReplay(baseUrl, window, headers));
    console.log(`\n== replay: GET /v1/replay?${window}&speed=max&format=ndjson ==`);
    console.log(`${r.events.toLocaleString()} events, ${mb(r.bytes)} in ${r.seconds.toFixed(2)} s: ${Math.round(r.eventsPerSecond).toLocaleString()} events/s (first byte ${Math.round(r.firstByteMs)} ms, last event ${r.last})`);
  }
  return out;
}

const round = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

async function main(): Promise<void> {
  const root = repoRoot();
  const dir = path.resolve(process.env['BENCH_DATA_DIR'] || path.join(root, '.data', 'bench', 'query'));
  const t0 = Date.now();
  const ds = await ensureDataset({ root: dir, symbols: SYMBOLS, days: DAYS, tradesPerSymbolDay: PER_DAY, rebuild: REBUILD, log: (l) => console.log(l) });
  const size = `${ds.rows.toLocaleString()} trades, ${ds.files} data files, ${mb(ds.dataBytes)} Parquet (${(ds.dataBytes / ds.rows).toFixed(1)} B/trade), ${mb(ds.diskBytes)} on disk with metadata and catalog`;
  console.log(`dataset      ${ds.table} in ${dir}: ${size}`);
  if (ds.buildSeconds !== undefined) console.log(`built in     ${ds.buildSeconds.toFixed(1)} s (${Math.round(ds.rows / ds.buildSeconds).toLocaleString()} trades/s)`);

  const external = process.env['BENCH_API_URL'];
  let api: ApiProcess | undefined;
  let rss: { peak(): number; stop(): void } | undefined;
  const apiEnv = {
    ICEBERG_CATALOG: 'sql',
    ICEBERG_CATALOG_URI: ds.catalogUri,
    ICEBERG_CATALOG_NAME: ds.catalogName,
    ICEBERG_WAREHOUSE: ds.warehouse,
    QUERY_TAIL_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    // As npm start and the manifests run it: the V8 heap limit of the default 768 MiB budget (memory-budget.ts).
    NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --max-old-space-size=461`.trim(),
  };
  try {
    let baseUrl: string;
    if (external) {
      baseUrl = external.replace(/\/$/, '');
      const ops = process.env['BENCH_API_OPS_URL'];
      if (ops) await waitReady(ops.replace(/\/$/, ''), 30_000, () => undefined);
      const pid = Number(process.env['BENCH_API_PID']);
      if (pid > 0) rss = rssSampler(pid);
      console.log(`query-api    ${baseUrl} (already running${rss ? `, pid ${pid}` : ''})`);
    } else {
      const started = Date.now();
      api = await startQueryApi(root, apiEnv);
      baseUrl = api.baseUrl;
      console.log(`query-api    ${baseUrl}, pid ${api.pid}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(`             env ${Object.entries(apiEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      // A replica serves long after its start: the last 24 h it loads at refresh are in memory before we measure.
      const warm = await waitHotWarm(api.opsUrl, 180_000);
      console.log(`hot tier     ${warm === undefined ? 'none' : `recent data loaded ${warm.toFixed(1)} s after ready`}`);
    }
    console.log(`load         ${CONCURRENCY} keep-alive clients, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per scenario, every ${PARSE_EVERY === 1 ? '' : `${PARSE_EVERY}th `}response parsed`);

    const results: LoadResult[] = [];
    for (const s of scenarios(ds)) {
      const example = s.nextPath();
      const r = await runLoad(s, { baseUrl, concurrency: CONCURRENCY, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS, parseEvery: PARSE_EVERY, apiKey: external ? process.env['BENCH_API_KEY'] : undefined });
      printResult(r, example);
      results.push(r);
    }
    const streamed = await runStreamed(ds, baseUrl, external ? process.env['BENCH_API_KEY'] : undefined);
    const peak = api ? api.peakRss() : rss?.peak();
    // DuckDB alone on the same files and the trades scenario's distribution, while the API sits idle.
    let peer: LoadResult | undefined;
    if (PEER && SCENARIOS.includes('trades')) {
      peer = await runDuckdbPeer(() => peerQuery(ds), { concurrency: CONCURRENCY, threads: 2 /* the API's QUERY_DUCKDB_THREADS default */, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS });
      printResult(peer, `SQL.trades over the window's partition files, ${CONCURRENCY} connections, in-process`);
    }
    results.push(...(peer ? [peer] : []));

    console.log('\n== query-api benchmark ==');
    console.log(`dataset      ${size}`);
    console.log(`API RSS      ${peak !== undefined ? `peak ${mb(peak)}` : 'not measured (set BENCH_API_PID)'}`);
    console.log(`\n${'scenario'.padEnd(10)}${'requests'.padStart(10)}${'errors'.padStart(8)}${'req/s'.padStart(8)}${'p50'.padStart(10)}${'p95'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}${'items'.padStart(9)}`);
    for (const r of results) {
      const l = r.latencyMs;
      console.log(
        `${r.name.padEnd(10)}${r.requests.toLocaleString().padStart(10)}${r.errors.toLocaleString().padStart(8)}${Math.round(r.rps).toLocaleString().padStart(8)}` +
          `${ms(l.p50).padStart(10)}${ms(l.p95).padStart(10)}${ms(l.p99).padStart(10)}${ms(l.max).padStart(10)}${r.avgItems.toFixed(1).padStart(9)}`,
      );
    }
    const apiResults = results.filter((r) => r !== peer);
    const gs = goals(apiResults, peer, peak, streamed);
    console.log(`\n${'goal'.padEnd(26)}${'target'.padEnd(24)}${'measured'.padEnd(16)}status`);
    for (const g of gs) console.log(`${g.name.padEnd(26)}${`${g.unit} ${g.goal}`.padEnd(24)}${String(round(g.measured)).padEnd(16)}${g.met ? 'met' : 'NOT MET'}`);
    console.log(`\ntotal bench time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    console.log(benchLine(apiResults, peer, peak, gs, streamed));
  } catch (e) {
    if (api) console.error(`query-api output (last lines):\n${api.output.slice(-30).join('\n')}`);
    throw e;
  } finally {
    rss?.stop();
    await api?.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
