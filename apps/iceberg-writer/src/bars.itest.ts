import path from 'node:path';
import { createCatalog, createFileIO, ParquetWriter, type FileIO } from '@k2/iceberg';
import { BARS_TABLE, TABLE_BY_KIND } from '@k2/lake';
import { BarsMaintainer, compactTable } from '@k2/lake-sink';
import { committedRows, infraS3, makeTrades, produce, pySqlCatalog, sinkTestEnv, startSink, waitUntil, type SinkTestEnv } from '@k2/lake-testing';
import type { TradeV2 } from '@k2/schema';
import { runPython, startServiceProcess, uniqueSuffix, type ServiceProcess } from '@k2/testing';
import { Registry } from 'prom-client';

/**
 * Issue 17 item 4 (ADR 0024): bars_1m_v2 maintained at commit equals, for every minute, the OHLCV / Σ price×quantity
 * / count PyIceberg computes from trades_v2 — across several commits, symbols, minutes and two days, with replayed
 * duplicates, a stretch where the bars step did not run at all (a writer without it, then trades compaction in
 * between), a bars step that fails once, and two maintainers racing for the same commit.
 */

const PY_BARS = String.raw`
import json, sys, decimal
from decimal import Decimal
decimal.getcontext().prec = 120
import pyarrow as pa
from pyiceberg.catalog import load_catalog
inp = json.load(sys.stdin)
cat = load_catalog(inp['name'], **inp['props'])
ns = inp['ns']
def us(col):
    return col.cast(pa.int64()).to_pylist()
def fmt(d, scale):
    return format(d.quantize(Decimal(1).scaleb(-scale)), 'f')
t = cat.load_table(ns + '.trades_v2').scan().to_arrow()
rows = zip(t.column('exchange').to_pylist(), t.column('symbol').to_pylist(), us(t.column('timestamp')),
           [str(x) for x in t.column('message_id').to_pylist()], t.column('price').to_pylist(), t.column('quantity').to_pylist())
groups = {}
for ex, sym, ts, mid, p, q in rows:
    groups.setdefault((ex, sym, ts // 60000000 * 60000000), []).append((ts, mid, p, q))
expected = {}
for (ex, sym, b), g in groups.items():
    g.sort(key=lambda r: (r[0], r[1]))
    expected['%s|%s|%d' % (ex, sym, b)] = {
        'open': fmt(g[0][2], 8), 'high': fmt(max(r[2] for r in g), 8), 'low': fmt(min(r[2] for r in g), 8),
        'close': fmt(g[-1][2], 8), 'volume': fmt(sum(r[3] for r in g), 8),
        'vwap_numerator': fmt(sum(r[2] * r[3] for r in g), 16), 'trade_count': str(len(g)),
        'first': '%d/%s' % (g[0][0], g[0][1]), 'last': '%d/%s' % (g[-1][0], g[-1][1]),
    }
b = cat.load_table(ns + '.bars_1m_v2').scan().to_arrow()
bars = {}
cols = {c: b.column(c).to_pylist() for c in ('exchange', 'symbol', 'open', 'high', 'low', 'close', 'volume', 'vwap_numerator', 'trade_count', 'first_message_id', 'last_message_id')}
starts, firsts, lasts = us(b.column('bucket_start')), us(b.column('first_trade_time')), us(b.column('last_trade_time'))
for i in range(b.num_rows):
    bars['%s|%s|%d' % (cols['exchange'][i], cols['symbol'][i], starts[i])] = {
        'open': fmt(cols['open'][i], 8), 'high': fmt(cols['high'][i], 8), 'low': fmt(cols['low'][i], 8),
        'close': fmt(cols['close'][i], 8), 'volume': fmt(cols['volume'][i], 8),
        'vwap_numerator': fmt(cols['vwap_numerator'][i], 16), 'trade_count': str(cols['trade_count'][i]),
        'first': '%d/%s' % (firsts[i], cols['first_message_id'][i]), 'last': '%d/%s' % (lasts[i], cols['last_message_id'][i]),
    }
print(json.dumps({'trades': t.num_rows, 'bar_rows': b.num_rows, 'expected': expected, 'bars': bars}))
`;

interface PyBars {
  trades: number;
  bar_rows: number;
  expected: Record<string, Record<string, string>>;
  bars: Record<string, Record<string, string>>;
}

const bucket = process.env['S3_BUCKET'] ?? process.env['K2_S3_BUCKET'] ?? 'k2-warehouse';

/** Trades over ~7 minutes of each of two days; every 12 consecutive trades share a timestamp (ties per symbol-day). */
function trades(env: SinkTestEnv, from: number, n: number): TradeV2[] {
  return makeTrades(env.exchange, from, n).map((t, k) => {
    const i = from + k;
    return { ...t, timestamp: 1_763_856_000_000_000n + BigInt(i % 2) * 86_400_000_000n + BigInt(Math.floor(i / 12)) * 850_000n + 59_000_000n };
  });
}

/** A FileIO whose first `failures` uploads fail (the object store refusing the bars step's files). */
function failingUploads(io: FileIO, failures: number): FileIO {
  let left = failures;
  return new Proxy(io, {
    get(target, prop, receiver) {
      if (prop === 'writeFromLocal') {
        return async (uri: string, local: string) => {
          if (left-- > 0) throw new Error('injected upload failure (bars itest)');
          return target.writeFromLocal(uri, local);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('minute bars at commit (real Kafka, registry, SQLite catalog, S3 warehouse, PyIceberg)', () => {
  let env: SinkTestEnv;
  const parquets: ParquetWriter[] = [];
  beforeAll(async () => {
    env = await sinkTestEnv({ warehouse: `s3://${bucket}/itest/bars/${uniqueSuffix()}` });
  });
  afterAll(async () => {
    for (const p of parquets) await p.close();
    await env?.close();
  });

  const catalogConfig = () => ({ type: 'sql' as const, uri: env.catalogUri, warehouse: env.warehouse });

  async function maintainer(io?: FileIO, registry = new Registry()) {
    const baseIo = createFileIO(infraS3(), { cacheDir: path.join(env.dir, `cache-${uniqueSuffix()}`) });
    const catalog = createCatalog(catalogConfig(), baseIo, { logger: env.logger });
    const parquet = await ParquetWriter.create({ threads: 1, tmpDir: path.join(env.dir, `bars-${uniqueSuffix()}`) });
    parquets.push(parquet);
    const bars = new BarsMaintainer({ catalog, io: io ? io : baseIo, parquet, namespace: env.namespace, writerId: 'bars-itest', logger: env.logger, registry, retryInitialMs: 200, pollMs: 1000 });
    return { bars, catalog, io: baseIo, registry };
  }

  const tradesIn = (run: Parameters<typeof committedRows>[0]) => committedRows(run, env.namespace, TABLE_BY_KIND.trades);
  const pyBars = (): PyBars => runPython<PyBars>(PY_BARS, { ...pySqlCatalog(env.catalogUri, env.warehouse), ns: env.namespace.join('.') }, 300_000);

  it('equals the per-minute aggregates of trades_v2 after commits, replays, a skipped bars step, compaction, a failure and a race', async () => {
    // 1. The writer with the bars step: two rounds of commits, the second with 500 replayed duplicates.
    const m1 = await maintainer();
    const run = await startSink(env, { onCommit: (table) => table === TABLE_BY_KIND.trades && m1.bars.notify(), commit: { intervalMs: 700, maxRows: 700, maxBytes: 64 << 20 } });
    m1.bars.start();
    await produce(env, 'trades', trades(env, 0, 2000));
    await waitUntil('2000 trades committed', async () => ((await tradesIn(run)) === 2000 ? true : undefined));
    await produce(env, 'trades', [...trades(env, 0, 500), ...trades(env, 2000, 2000)]);
    await waitUntil('4000 trades committed', async () => ((await tradesIn(run)) === 4000 ? true : undefined));
    await waitUntil('bars caught up', async () => ((await m1.bars.lag()) === 0 ? true : undefined));
    await run.stop();
    await m1.bars.stop();
    const first = pyBars();
    expect(first.trades).toBe(4000);
    expect(Object.keys(first.expected).length).toBeGreaterThan(30); // 3 symbols × ≥ 5 minutes × 2 days
    expect(first.bar_rows).toBe(Object.keys(first.bars).length); // one row per (exchange, symbol, minute)
    expect(first.bars).toEqual(first.expected);
    expect(await m1.registry.getSingleMetricAsString('k2_writer_bars_commits_total')).toMatch(/mode="fold"\} [1-9]/);

    // 2. The bars step does not run (a writer killed between the trades commit and the bars commit, here a writer
    //    without bars), more trades and replays land, then trades compaction rewrites their files (a `replace`).
    const run2 = await startSink(env);
    await produce(env, 'trades', [...trades(env, 3500, 1000), ...trades(env, 4000, 2000)]);
    await waitUntil('6000 trades committed', async () => ((await tradesIn(run2)) === 6000 ? true : undefined));
    await run2.stop();
    const m2 = await maintainer(failingUploads(createFileIO(infraS3(), { cacheDir: path.join(env.dir, 'cache-failing') }), 1));
    expect(await m2.bars.lag()).toBeGreaterThan(0);
    const compactParquet = await ParquetWriter.create({ threads: 1, tmpDir: path.join(env.dir, 'compact') });
    parquets.push(compactParquet);
    const compacted = await compactTable(
      { catalog: m2.catalog, io: m2.io, parquet: compactParquet, namespace: env.namespace, warehouse: env.warehouse, logger: env.logger, smallFileBytes: 64 << 20 },
      { namespace: env.namespace, name: TABLE_BY_KIND.trades },
    );
    expect(compacted).toBeGreaterThan(0);

    // 3. Catch-up: the first attempt fails (upload refused), the retry folds every missed append, skipping the
    //    compaction; a second maintainer races it for the same commit.
    m2.bars.start();
    const m3 = await maintainer();
    await Promise.all([waitUntil('bars caught up after the failure', async () => ((await m2.bars.lag()) === 0 ? true : undefined)), m3.bars.catchUp()]);
    await m2.bars.stop();
    expect(await m2.registry.getSingleMetricAsString('k2_writer_bars_failures_total')).toMatch(/\} 1/);
    const bars = await m2.catalog.loadTable({ namespace: env.namespace, name: BARS_TABLE });
    const ops = (bars.metadata.snapshots ?? []).map((s) => s.summary.operation);
    expect(ops).toContain('overwrite'); // merge on write: touched partitions' bar files replaced
    // Only the very first commit (nothing folded yet) aggregated every trades file; the rest were folds.
    expect((bars.metadata.snapshots ?? []).filter((s) => s.summary['k2.bars.mode'] === 'rebuild')).toHaveLength(1);

    const last = pyBars();
    expect(last.trades).toBe(6000);
    expect(last.bar_rows).toBe(Object.keys(last.bars).length);
    expect(last.bars).toEqual(last.expected);
  });
});

describe('minute bars with the writer process SIGKILLed (real process, Kafka, registry, SQLite catalog, PyIceberg)', () => {
  let env: SinkTestEnv;
  let parquet: ParquetWriter | undefined;
  beforeAll(async () => {
    env = await sinkTestEnv();
  });
  afterAll(async () => {
    await parquet?.close();
    await env?.close();
  });

  const writerEnv = (): Record<string, string> => ({
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    ICEBERG_CATALOG: 'sql',
    ICEBERG_CATALOG_URI: env.catalogUri,
    ICEBERG_WAREHOUSE: env.warehouse,
    ICEBERG_NAMESPACE: env.namespace.join('.'),
    WRITER_GROUP_ID: `bars-kill-${env.suffix}`,
    WRITER_ID: `bars-kill-${env.suffix}`,
    WRITER_TOPICS: env.topicList,
    WRITER_COMMIT_INTERVAL_MS: '700',
    WRITER_DUCKDB_THREADS: '1',
    LOG_LEVEL: 'warn',
  });

  it('bars equal PyIceberg\'s per-minute aggregates after kills between trades and bars commits', async () => {
    let produced = 0;
    let producing = true;
    const loader = (async () => {
      while (producing) {
        // Each round also replays the previous round's first 100 trades (duplicates in Kafka).
        await produce(env, 'trades', [...(produced ? trades(env, produced - 300, 100) : []), ...trades(env, produced, 300)]);
        produced += 300;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let writer: ServiceProcess | undefined;
    try {
      for (let kill = 0; kill < 6; kill++) {
        writer = await startServiceProcess('iceberg-writer', writerEnv());
        await new Promise((r) => setTimeout(r, 1500 + Math.random() * 3000));
        await writer.kill('SIGKILL');
      }
    } finally {
      producing = false;
      await loader;
    }
    writer = await startServiceProcess('iceberg-writer', writerEnv());
    const io = createFileIO(infraS3(), { cacheDir: path.join(env.dir, 'cache') });
    const catalog = createCatalog({ type: 'sql', uri: env.catalogUri, warehouse: env.warehouse }, io, { logger: env.logger });
    parquet = await ParquetWriter.create({ threads: 1, tmpDir: path.join(env.dir, 'probe') });
    // Read-only here: lag() only compares the two tables' snapshots.
    const probe = new BarsMaintainer({ catalog, io, parquet, namespace: env.namespace, writerId: 'probe', logger: env.logger, registry: new Registry() });
    try {
      await waitUntil(`${produced} trades committed`, async () => ((await committedRows({ catalog, io }, env.namespace, TABLE_BY_KIND.trades)) === produced ? true : undefined), 180_000, 1000);
      await waitUntil('bars caught up', async () => ((await probe.lag()) === 0 ? true : undefined), 120_000, 500);
    } finally {
      await writer.kill('SIGTERM');
      await catalog.close();
    }
    const py = runPython<PyBars>(PY_BARS, { ...pySqlCatalog(env.catalogUri, env.warehouse), ns: env.namespace.join('.') }, 300_000);
    expect(py.trades).toBe(produced);
    expect(py.bar_rows).toBe(Object.keys(py.bars).length);
    expect(py.bars).toEqual(py.expected);
  }, 600_000);
});
