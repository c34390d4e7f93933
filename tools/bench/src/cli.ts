import { handleCli, HELP_FLAG, type CliHelp, type CliIo, type EnvVarDoc } from '@k2/core';

/**
 * `--help` of every benchmark: what it measures, its BENCH_* knobs and exit codes, printed before anything connects.
 * bench-cli.spec.ts checks that every BENCH_* variable a bench file reads is listed here.
 */
export interface BenchDoc {
  readonly file: string;
  readonly npm?: string;
  readonly measures: string;
  readonly env: readonly EnvVarDoc[];
  /** Uses the local infrastructure (started when down). */
  readonly infra: boolean;
}

const env = (name: string, dflt: string | undefined, doc: string): EnvVarDoc => ({ name, default: dflt, doc });
const ROUNDS = env('BENCH_ROUNDS', '5', 'measured rounds; the median and the best are printed');

export const BENCHES = {
  json: {
    file: 'json.bench.ts',
    measures: 'Lossless JSON parser throughput on one core next to JSON.parse, on Binance and Kraken trade frames.',
    env: [env('BENCH_MESSAGES', '500000', 'frames per round'), ROUNDS],
    infra: false,
  },
  mappers: {
    file: 'mappers.bench.ts',
    measures: 'Exchange mapper throughput on one core: raw frame text to V2 record (parse, validate, decimals, message_id).',
    env: [env('BENCH_MESSAGES', '300000', 'frames per round'), ROUNDS],
    infra: false,
  },
  serde: {
    file: 'serde.bench.ts',
    npm: 'bench:serde',
    measures:
      'V2 trade Avro encode/decode records/s with Confluent framing, through a schema id of the real local registry, ' +
      'next to plain avsc toBuffer/fromBuffer of the same record in the same rounds; prints the ratios, ends with BENCH {json}.',
    env: [env('BENCH_RECORDS', '1000000', 'records per round'), ROUNDS],
    infra: true,
  },
  streamer: {
    file: 'streamer.bench.ts',
    npm: 'bench:streamer',
    measures:
      'One binance streamer fed by the exchange simulator at full rate: trades/s from WebSocket receipt to Kafka ' +
      'acknowledgement, produce latency p50/p99 and peak RSS (scratch topics, deleted at the end), next to its limits ' +
      'in the same run (kafka-producer-perf-test at the same record size, bare ws receive rate); ends with BENCH {json}.',
    env: [
      env('BENCH_RATE', '100000', 'simulator trades/s'),
      env('BENCH_SECONDS', '20', 'measured window in seconds'),
      env('BENCH_WARMUP_MS', '5000', 'unmeasured warm-up'),
      env('BENCH_SYMBOLS', 'BTCUSDT,ETHUSDT,BNBUSDT', 'symbols streamed'),
      env('BENCH_LIMIT_SECONDS', '5', 'window of the socket limit (bare ws client)'),
      env('BENCH_PERF_RECORDS', '1000000', 'records of the kafka-producer-perf-test limit'),
      env('BENCH_SUSTAINED_SECONDS', '8', 'latency phase (before the full offer)'),
      env('BENCH_SUSTAINED_RATE', '10000', 'offered trades/s of the latency phase'),
      env('BENCH_MAX_IN_FLIGHT', undefined, "the streamer's maxInFlight (unset = its default)"),
      env('BENCH_HEAP_SPACES', undefined, 'set: print V8 heap spaces at the end of the full offer'),
    ],
    infra: true,
  },
  asx: {
    file: 'asx.bench.ts',
    npm: 'bench:asx',
    measures:
      'ASX batch load end to end into Kafka (read, parse, map, encode, produce, every message acknowledged) on the ' +
      'bundled sample and a synthetic big file; also a dry run and the producer alone. Prints rows/s and peak RSS, and ' +
      'the ratio to kafka-producer-perf-test at the same record size in the same run; ends with BENCH {json}.',
    env: [
      env('BENCH_ASX_COPIES', '10', 'copies of the BHP sample in the synthetic file'),
      env('BENCH_PRODUCER_ROWS', '300000', 'rows of the producer-only run'),
      env('BENCH_PERF_RECORDS', '1000000', 'records of the kafka-producer-perf-test limit'),
    ],
    infra: true,
  },
  writer: {
    file: 'writer.bench.ts',
    npm: 'bench:writer',
    measures:
      'The Iceberg writer (its own child process) on a pre-filled topic: trades/s to a committed snapshot, bytes/trade, ' +
      'commit p50/p99, the writer process\'s peak RSS and per-column bytes; DuckDB alone (the limit) and PyIceberg + ' +
      'PyArrow (a peer) writing the same rows, as ratios; the file layout of the ASX sample; then freshness p50/p99 ' +
      '(commit time minus oldest event) under a steady live load with the 10 s and a 2 s interval; ends with BENCH {json}.',
    env: [
      env('BENCH_TRADES', '2000000', 'trades pre-filled for the throughput run'),
      env('BENCH_LIVE_RATE', '20000', 'trades/s of the live load'),
      env('BENCH_LIVE_SECONDS', '60', 'duration of each live load; 0 skips the freshness runs'),
      env('BENCH_COMMIT_INTERVAL_MS', '10000', 'writer commit interval of the throughput and first freshness run'),
      env('BENCH_FAST_INTERVAL_MS', '2000', 'commit interval of the second freshness run'),
      env('BENCH_PEERS', '1', '0 skips the DuckDB-alone and PyIceberg runs'),
      env('BENCH_WRITER_HEAP_MIB', '576', "the writer process's V8 heap cap (--max-old-space-size), as the deployments set it"),
    ],
    infra: true,
  },
  query: {
    file: 'query.bench.ts',
    npm: 'bench:query',
    measures:
      'query-api over a month of trades in Iceberg (built once under .data/bench/query, no Kafka): trades 15-minute ' +
      'window (month / last 24 h), cross-source last 1000 trades, 1m bars over a day and daily summary under a ' +
      'closed-loop load; req/s, latency p50/p95/p99/max; then a 1-day all-symbol CSV export (rows/s) and a one-day ' +
      'max-speed replay (events/s); RSS throughout, and DuckDB alone on the same files as the yardstick; ends with BENCH {json}.',
    env: [
      env('BENCH_SYMBOLS', '20', 'symbols in the dataset (half Binance, half Kraken)'),
      env('BENCH_DAYS', '30', 'days in the dataset'),
      env('BENCH_TRADES_PER_SYMBOL_DAY', '16700', 'trades per symbol and day'),
      env('BENCH_REBUILD', undefined, '1 rebuilds the dataset'),
      env('BENCH_DATA_DIR', '.data/bench/query', 'where the dataset lives'),
      env('BENCH_CONCURRENCY', '16', 'keep-alive clients per scenario'),
      env('BENCH_WARMUP_SECONDS', '3', 'unmeasured warm-up per scenario'),
      env('BENCH_SECONDS', '20', 'measured seconds per scenario'),
      env('BENCH_PARSE_EVERY', '10', 'parse and count the rows of every n-th response'),
      env('BENCH_SCENARIOS', 'trades,recent,across,bars,summary,export,replay', 'scenarios to run'),
      env('BENCH_PEER', '1', '0 skips the DuckDB-alone peer run (the trades throughput ratio)'),
      env('BENCH_API_URL', undefined, 'benchmark an already running API instead of starting one'),
      env('BENCH_API_PID', undefined, 'its pid, to sample its RSS'),
      env('BENCH_API_KEY', undefined, 'its API key, sent as X-API-Key (never printed)'),
      env('BENCH_API_OPS_URL', undefined, 'its ops port URL, to wait for /readyz'),
    ],
    infra: false,
  },
} satisfies Record<string, BenchDoc>;

export type BenchName = keyof typeof BENCHES;

export function benchHelp(name: BenchName): CliHelp {
  const b: BenchDoc = BENCHES[name];
  const run = `tsx --tsconfig tsconfig.base.json tools/bench/src/${b.file}`;
  return {
    usage: [b.npm ? `npm run ${b.npm}` : run, `${run} [-h|--help]`],
    summary: b.measures,
    flags: [HELP_FLAG],
    env: b.env,
    exitCodes: [
      { code: 0, when: 'the run finished and printed its figures (a goal not met is reported, not an error), or --help' },
      { code: 1, when: 'the run failed (infrastructure unreachable, a step errored); the error is on stderr' },
      { code: 2, when: 'usage error: any argument other than --help' },
    ],
    notes: b.infra
      ? 'Uses the local Kafka and schema registry (KAFKA_BROKERS, SCHEMA_REGISTRY_URL; started with infra.sh up when down).'
      : undefined,
  };
}

/** First statement of a bench's body: answers `--help`, rejects other arguments, else returns. */
export function benchCli(name: BenchName, argv: readonly string[] = process.argv.slice(2), io?: CliIo): number | undefined {
  return handleCli(`${name}.bench`, argv, { help: () => benchHelp(name), io });
}

/** A numeric BENCH_* setting: `dflt` when unset or empty, `_` separators allowed, anything else negative or not a number fails. */
export function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return n;
}
