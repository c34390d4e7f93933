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
 *      bars     /v1/bars, a random symbol, 1m bars over a random whole day (1,440 bars)
 *      summary  /v1/summary, a random symbol and day
 *    Prints requests, errors (non-200), req/s, latency p50/p95/p99/max and mean rows per response per scenario.
 *    Every BENCH_PARSE_EVERY-th (10th) 200 response is parsed and its rows counted, the rest only checked to be a
 *    JSON object: the load generator shares the 2 cores with the API, and parsing every ~150 KB bars body would
 *    cost it over half a core at 500 req/s.
 * Goals (issue 6): trades p99 ≤ 50 ms, bars over a day p99 ≤ 200 ms, ≥ 500 req/s (checked for every scenario).
 * The load generator runs on the same 2 cores as the API, so the figures are a floor for a dedicated pod.
 *
 * BENCH_API_URL=http://host:port benchmarks an API that is already running instead of starting one (its RSS is
 * sampled only when BENCH_API_PID is given too); BENCH_SCENARIOS=trades,bars picks scenarios. BENCH_DATA_DIR moves the
 * dataset (default .data/bench/query; it is the bench's own catalog and warehouse, never the platform's lake, and it
 * is kept between runs because building it takes minutes).
 */
import path from 'node:path';
import { repoRoot } from '@k2/testing';
import { DAY_US, ensureDataset, type DatasetInfo } from './query/dataset';
import { rssSampler, startQueryApi, waitReady, type ApiProcess } from './query/api-process';
import { runLoad, type LoadResult, type Scenario } from './query/loadgen';
import { benchCli } from './cli';

benchCli('query');

function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return n;
}

const SYMBOLS = envNumber('BENCH_SYMBOLS', 20);
const DAYS = envNumber('BENCH_DAYS', 30);
const PER_DAY = envNumber('BENCH_TRADES_PER_SYMBOL_DAY', 16_700);
const SECONDS = envNumber('BENCH_SECONDS', 20);
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 3);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 16);
const PARSE_EVERY = Math.max(1, envNumber('BENCH_PARSE_EVERY', 10));
const REBUILD = process.env['BENCH_REBUILD'] === '1';
const SCENARIOS = (process.env['BENCH_SCENARIOS'] ?? 'trades,bars,summary').split(',').map((s) => s.trim()).filter(Boolean);

const GOALS = { tradesP99Ms: 50, barsP99Ms: 200, rps: 500 };
const DAY_MS = DAY_US / 1000;
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

function scenarios(ds: DatasetInfo): Scenario[] {
  const symbols = ds.symbols.map((s) => s.symbol);
  const randomDay = (): number => ds.startMs + Math.floor(Math.random() * ds.days) * DAY_MS;
  const all: Scenario[] = [
    {
      name: 'trades',
      nextPath: () => {
        // Minute-aligned windows anywhere in the month, crossing midnight (two partitions) now and then.
        const minutes = Math.floor(Math.random() * ((ds.days * DAY_MS - WINDOW_MS) / 60_000 + 1));
        const start = ds.startMs + minutes * 60_000;
        return `/v1/trades?${q({ symbol: pick(symbols), start: iso(start), end: iso(start + WINDOW_MS) })}`;
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
  const unknown = SCENARIOS.filter((s) => !all.some((x) => x.name === s));
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

function goalRows(results: LoadResult[]): Array<[string, string, boolean]> {
  const by = new Map(results.map((r) => [r.name, r]));
  const rows: Array<[string, string, boolean]> = [];
  // A goal only counts as met by a run without errors: fast 404s or 500s are not answers.
  const clean = (r: LoadResult): boolean => r.errors === 0 && r.requests > 0;
  const trades = by.get('trades');
  if (trades) rows.push([`trades p99 ≤ ${GOALS.tradesP99Ms} ms`, ms(trades.latencyMs.p99), clean(trades) && trades.latencyMs.p99 <= GOALS.tradesP99Ms]);
  const bars = by.get('bars');
  if (bars) rows.push([`bars (1m over a day) p99 ≤ ${GOALS.barsP99Ms} ms`, ms(bars.latencyMs.p99), clean(bars) && bars.latencyMs.p99 <= GOALS.barsP99Ms]);
  for (const r of results) rows.push([`${r.name} ≥ ${GOALS.rps} req/s`, `${Math.round(r.rps).toLocaleString()} req/s`, clean(r) && r.rps >= GOALS.rps]);
  return rows;
}

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
  };
  try {
    let baseUrl: string;
    if (external) {
      baseUrl = external.replace(/\/$/, '');
      await waitReady(baseUrl, 30_000, () => undefined);
      const pid = Number(process.env['BENCH_API_PID']);
      if (pid > 0) rss = rssSampler(pid);
      console.log(`query-api    ${baseUrl} (already running${rss ? `, pid ${pid}` : ''})`);
    } else {
      const started = Date.now();
      api = await startQueryApi(root, apiEnv);
      baseUrl = api.baseUrl;
      console.log(`query-api    ${baseUrl}, pid ${api.pid}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(`             env ${Object.entries(apiEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    console.log(`load         ${CONCURRENCY} keep-alive clients, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per scenario, every ${PARSE_EVERY === 1 ? '' : `${PARSE_EVERY}th `}response parsed`);

    const results: LoadResult[] = [];
    for (const s of scenarios(ds)) {
      const example = s.nextPath();
      const r = await runLoad(s, { baseUrl, concurrency: CONCURRENCY, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS, parseEvery: PARSE_EVERY });
      printResult(r, example);
      results.push(r);
    }
    const peak = api ? api.peakRss() : rss?.peak();

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
    console.log(`\n${'goal'.padEnd(36)}${'measured'.padEnd(14)}status`);
    for (const [goal, measured, met] of goalRows(results)) console.log(`${goal.padEnd(36)}${measured.padEnd(14)}${met ? 'met' : 'NOT MET'}`);
    console.log(`\ntotal bench time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
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
