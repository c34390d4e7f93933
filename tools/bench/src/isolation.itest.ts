import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@k2/core';
import { createCatalog, createFileIO } from '@k2/iceberg';
import { PLATFORM_DATA_TOPICS } from '@k2/kafka';
import { committedRows, infraS3, makeTrades, produce, pyRead, pySqlCatalog, sinkTestEnv, startSink, type SinkTestEnv } from '@k2/lake-testing';
import { infraEndpoints, isScratchTopic, listTopics, repoRoot, startServiceProcess, uniqueSuffix, waitFor } from '@k2/testing';

/**
 * Issue 14.6: benchmarks never touch the platform's data. Every bench runs in its smallest configuration, as
 * `npm run bench:*` runs it; its topics must be scratch topics (k2bench…) outside the platform's subscription lists,
 * and gone from the broker when it ends. Then the iceberg-writer, with its default subscription, must land no row
 * of a scratch topic that still exists (what a bench killed before its cleanup would leave).
 */
const root = repoRoot();
const { kafkaBrokers, registryUrl } = infraEndpoints();
const TABLE = 'market_data.trades_v2';

interface BenchRun {
  name: string;
  code: number | null;
  output: string;
  topics: string[];
}

/** `npm run bench:<name>` without npm: the bench's own file under tsx, with `env` on top. */
function runBench(name: string, env: Record<string, string>, timeoutMs = 240_000): Promise<BenchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `tools/bench/src/${name}.bench.ts`], {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const topics = output
        .split('\n')
        .filter((l) => l.startsWith('bench scratch topics: '))
        .flatMap((l) => l.slice('bench scratch topics: '.length).trim().split(','))
        .filter(Boolean);
      resolve({ name, code, output, topics });
    });
  });
}

describe('benchmarks stay out of the platform', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-bench-isolation-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('every bench uses scratch topics only and deletes them', async () => {
    const benches: Array<[string, Record<string, string>]> = [
      ['writer', { BENCH_TRADES: '3000', BENCH_LIVE_RATE: '500', BENCH_LIVE_SECONDS: '2', BENCH_COMMIT_INTERVAL_MS: '1000' }],
      ['streamer', { BENCH_RATE: '500', BENCH_SECONDS: '1', BENCH_WARMUP_MS: '1000', BENCH_SYMBOLS: 'BTCUSDT' }],
      ['asx', { BENCH_ASX_COPIES: '1', BENCH_PRODUCER_ROWS: '2000' }],
      ['serde', { BENCH_RECORDS: '2000', BENCH_ROUNDS: '1' }],
      [
        'query',
        {
          BENCH_DATA_DIR: path.join(work, 'query'),
          BENCH_SYMBOLS: '2',
          BENCH_DAYS: '1',
          BENCH_TRADES_PER_SYMBOL_DAY: '200',
          BENCH_SECONDS: '1',
          BENCH_WARMUP_SECONDS: '0',
          BENCH_CONCURRENCY: '2',
        },
      ],
    ];
    const runs: BenchRun[] = [];
    for (const [name, env] of benches) runs.push(await runBench(name, env));
    for (const r of runs) {
      if (r.code !== 0) throw new Error(`bench:${r.name} exited with ${r.code}:\n${r.output.slice(-3000)}`);
    }
    // The Kafka benches announce their topics; the serde and query benches create none.
    const byBench = Object.fromEntries(runs.map((r) => [r.name, r.topics]));
    // Four runs (throughput, the ASX sample's file layout, freshness at the 10 s and the 2 s interval), trades + quotes each.
    expect(byBench['writer']).toHaveLength(8);
    expect(byBench['streamer']).toHaveLength(3); // trades + quotes, and the kafka-producer-perf-test limit's topic
    expect(byBench['asx']!.length).toBeGreaterThanOrEqual(10); // three loads × 3 kinds + the producer-only topic
    expect(byBench['serde']).toEqual([]);
    expect(byBench['query']).toEqual([]);
    const created = runs.flatMap((r) => r.topics);
    expect(created.filter((t) => !isScratchTopic(t) || !t.split('.')[3]!.startsWith('k2bench'))).toEqual([]);
    expect(created.filter((t) => PLATFORM_DATA_TOPICS.includes(t))).toEqual([]);
    const left = new Set(await listTopics(kafkaBrokers));
    expect(created.flatMap((t) => [t, `${t}.dlq`]).filter((t) => left.has(t))).toEqual([]);
  });

  it('the iceberg-writer with its default subscription lands no row of a scratch topic', async () => {
    // A bench killed before its cleanup leaves its topic behind: here one with 50 trades, while the writer runs.
    const leftover = await sinkTestEnv({ kind: 'bench' });
    try {
      const trades = makeTrades(leftover.exchange, 1, 50);
      await produce(leftover, 'trades', trades);
      const ids = trades.map((t) => t.message_id);
      const writer = await startServiceProcess('iceberg-writer', {
        KAFKA_BROKERS: kafkaBrokers,
        SCHEMA_REGISTRY_URL: registryUrl,
        ICEBERG_CATALOG: 'sql',
        ICEBERG_CATALOG_URI: leftover.catalogUri,
        ICEBERG_WAREHOUSE: leftover.warehouse,
        // Its own group, so a user's running writer keeps its partitions; the subscription stays the default.
        WRITER_GROUP_ID: `k2test-isolation-${uniqueSuffix()}`,
        WRITER_COMMIT_INTERVAL_MS: '1000',
        WRITER_COMMIT_MAX_ROWS: '50000',
        WRITER_TMP_DIR: leftover.dir,
        LOG_LEVEL: 'info',
      });
      let subscribed: unknown;
      try {
        const line = await waitFor('writer consuming', () => writer.output.find((l) => l.includes('iceberg writer consuming')), 60_000, 200);
        subscribed = (JSON.parse(line) as { topics?: unknown }).topics;
        // A pattern subscription would have been assigned the leftover's partitions at the first rebalance; give
        // it several commit intervals (and a metadata refresh) to land them.
        await new Promise((r) => setTimeout(r, 12_000));
      } finally {
        await writer.kill('SIGTERM');
      }
      expect(subscribed).toEqual(PLATFORM_DATA_TOPICS);
      expect(writer.output.filter((l) => l.includes(leftover.topics.trades))).toEqual([]);
      expect(await landed(leftover, ids)).toEqual([]);

      // The same check sees bench rows when they are there: a writer subscribed to the leftover lands all 50.
      const control = await startSink(leftover, { namespace: ['market_data'], groupId: `k2test-control-${uniqueSuffix()}`, topics: [leftover.topics.trades] });
      try {
        await waitFor('control rows committed', async () => ((await committedRows(control, ['market_data'], 'trades_v2')) > 0 ? true : undefined), 60_000, 500);
      } finally {
        await control.stop();
      }
      expect((await landed(leftover, ids)).sort()).toEqual([...ids].sort());
    } finally {
      await leftover.close();
    }
  });
});

/** Which of `ids` are in the temp catalog's trades table (read by PyIceberg, the independent reader); none if no table. */
async function landed(env: SinkTestEnv, ids: string[]): Promise<string[]> {
  const io = createFileIO(infraS3());
  const catalog = createCatalog({ type: 'sql', uri: env.catalogUri, warehouse: env.warehouse }, io, {
    logger: createLogger({ service: 'bench-isolation-itest', level: 'warn' }),
  });
  try {
    if ((await committedRows({ catalog, io }, ['market_data'], 'trades_v2')) === 0) return [];
  } finally {
    await catalog.close();
  }
  const wanted = new Set(ids);
  return pyRead(pySqlCatalog(env.catalogUri, env.warehouse), TABLE).ids.filter((id) => wanted.has(id));
}
