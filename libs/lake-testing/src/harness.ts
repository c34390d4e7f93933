import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger, type Logger } from '@k2/core';
import { createCatalog, createFileIO, ParquetWriter, planScan, type Catalog, type CatalogConfig, type FileIO } from '@k2/iceberg';
import { ensureTopics, K2Producer } from '@k2/kafka';
import { AvroSerde } from '@k2/serde';
import { parseDecimal } from '@k2/decimal';
import { messageId, type QuoteV2, type TradeV2 } from '@k2/schema';
import { infraEndpoints, removeScratchTopics, runPython, scratchExchange, uniqueSuffix, waitFor, type ScratchKind } from '@k2/testing';
import { Registry } from 'prom-client';
import { defaultMemoryBudget, formatMiB, IcebergSink, type IcebergSinkOptions } from '@k2/lake-sink';

/**
 * Integration-test harness for the Iceberg sink: a unique scratch exchange name (`k2test…`, `k2bench…` for the
 * benchmarks: topics no platform subscription names, deleted again by close()), a temp SQLite catalog + file
 * warehouse (or the caller's), the real Kafka and registry.
 */
export interface SinkTestEnv {
  suffix: string;
  exchange: string;
  namespace: string[];
  dir: string;
  catalogUri: string;
  warehouse: string;
  topics: { trades: string; quotes: string };
  /** Both topics comma-separated, as WRITER_TOPICS / QUERY_TAIL_TOPICS take them. */
  topicList: string;
  brokers: string;
  registryUrl: string;
  serde: AvroSerde;
  producer: K2Producer;
  ids: { trades: number; quotes: number };
  logger: Logger;
  close(): Promise<void>;
}

export async function sinkTestEnv(opts: { catalogUri?: string; warehouse?: string; kind?: ScratchKind } = {}): Promise<SinkTestEnv> {
  const e = infraEndpoints();
  const exchange = scratchExchange(opts.kind ?? 'test');
  const suffix = exchange.replace(/^k2(bench|test)/, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-sink-'));
  const catalogUri = opts.catalogUri ?? `jdbc:sqlite:file:${path.join(dir, 'catalog.db')}`;
  const warehouse = opts.warehouse ?? pathToFileURL(path.join(dir, 'warehouse')).href;
  const topics = { trades: `market.crypto.trades.${exchange}`, quotes: `market.crypto.quotes.${exchange}` };
  await ensureTopics(e.kafkaBrokers, [{ topic: topics.trades, partitions: 3 }, { topic: topics.quotes, partitions: 3 }]);
  const serde = new AvroSerde({ registryUrl: e.registryUrl });
  const ids = { trades: await serde.registerV2(topics.trades, 'trades'), quotes: await serde.registerV2(topics.quotes, 'quotes') };
  const logger = createLogger({ service: 'lake-sink-itest', level: process.env['K2_TEST_LOG_LEVEL'] ?? 'warn' });
  const producer = await K2Producer.connect({ brokers: e.kafkaBrokers, clientId: `itest-${suffix}`, logger });
  return {
    suffix,
    exchange,
    namespace: [`it_${suffix}`],
    dir,
    catalogUri,
    warehouse,
    topics,
    topicList: `${topics.trades},${topics.quotes}`,
    brokers: e.kafkaBrokers,
    registryUrl: e.registryUrl,
    serde,
    producer,
    ids,
    logger,
    close: async () => {
      try {
        await producer.disconnect();
        await removeScratchTopics(e.kafkaBrokers, e.registryUrl, [topics.trades, topics.quotes]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

/** V2 trades with deterministic ids `from`..`from+n-1`, spread over symbols and two UTC days. */
export function makeTrades(exchange: string, from: number, n: number, dayStartUs = 1_763_856_000_000_000n): TradeV2[] {
  const out: TradeV2[] = [];
  for (let i = from; i < from + n; i++) {
    const symbol = SYMBOLS[i % SYMBOLS.length];
    const id = String(i);
    out.push({
      message_id: messageId(exchange.toUpperCase(), symbol, id),
      trade_id: id,
      symbol,
      exchange: exchange.toUpperCase(),
      asset_class: 'crypto',
      // Half the trades on day D, half on D+1, so commits span partitions.
      timestamp: dayStartUs + BigInt(i % 2) * 86_400_000_000n + BigInt(i) * 1000n,
      price: parseDecimal('price', `${60000 + (i % 1000)}.${String(i % 100000000).padStart(8, '0')}`, 'price'),
      quantity: parseDecimal('quantity', `0.${String((i % 9999) + 1).padStart(8, '0')}`, 'quantity'),
      currency: 'USDT',
      side: i % 2 ? 'BUY' : 'SELL',
      trade_conditions: i % 5 === 0 ? ['odd-lot'] : [],
      source_sequence: BigInt(i),
      ingestion_timestamp: dayStartUs + BigInt(i) * 1000n + 500n,
      platform_sequence: 2n ** 60n + BigInt(i),
      vendor_data: { event_type: 'trade', is_buyer_maker: String(i % 2 === 0) },
    });
  }
  return out;
}

export function makeQuotes(exchange: string, from: number, n: number, dayStartUs = 1_763_856_000_000_000n): QuoteV2[] {
  const out: QuoteV2[] = [];
  for (let i = from; i < from + n; i++) {
    const symbol = SYMBOLS[i % SYMBOLS.length];
    out.push({
      message_id: messageId(exchange.toUpperCase(), symbol, String(i), 'quote'),
      symbol,
      exchange: exchange.toUpperCase(),
      asset_class: 'crypto',
      timestamp: dayStartUs + BigInt(i) * 1000n,
      bid_price: parseDecimal('bid_price', `${60000 + (i % 1000)}.1`, 'price'),
      bid_quantity: parseDecimal('bid_quantity', '1.5', 'price'),
      ask_price: parseDecimal('ask_price', `${60001 + (i % 1000)}.2`, 'price'),
      ask_quantity: parseDecimal('ask_quantity', '2', 'price'),
      currency: 'USDT',
      source_sequence: BigInt(i),
      ingestion_timestamp: dayStartUs + BigInt(i) * 1000n + 100n,
      platform_sequence: null,
      vendor_data: null,
    });
  }
  return out;
}

export async function produce(env: SinkTestEnv, kind: 'trades' | 'quotes', records: Array<TradeV2 | QuoteV2>): Promise<void> {
  const topic = env.topics[kind];
  const id = env.ids[kind];
  const CHUNK = 5000;
  for (let i = 0; i < records.length; i += CHUNK) {
    await Promise.all(records.slice(i, i + CHUNK).map((r) => env.producer.send({ topic, key: r.symbol, value: env.serde.encode(id, r) })));
  }
}

export interface RunningSink {
  sink: IcebergSink;
  catalog: Catalog;
  io: FileIO;
  registry: Registry;
  stop(): Promise<void>;
}

export async function startSink(
  env: SinkTestEnv,
  overrides: Partial<IcebergSinkOptions> = {},
  catalogConfig: CatalogConfig = { type: 'sql', uri: env.catalogUri, warehouse: env.warehouse },
): Promise<RunningSink> {
  const io = createFileIO(infraS3());
  const catalog = createCatalog(catalogConfig, io, { logger: env.logger });
  // DuckDB gets the memory budget's share, as in iceberg-writer's main.
  const memory = overrides.memory ?? defaultMemoryBudget();
  const parquet = await ParquetWriter.create({ threads: 1, tmpDir: path.join(env.dir, `tmp-${uniqueSuffix()}`), memoryLimit: formatMiB(memory.duckdb) });
  const registry = new Registry();
  const dlqProducer = await K2Producer.connect({ brokers: env.brokers, clientId: `itest-dlq-${env.suffix}`, logger: env.logger });
  const sink = new IcebergSink({
    brokers: env.brokers,
    groupId: `itest-${env.suffix}`,
    clientId: `itest-writer-${env.suffix}`,
    writerId: `itest-${uniqueSuffix()}`,
    serde: new AvroSerde({ registryUrl: env.registryUrl }),
    catalog,
    io,
    parquet,
    dlqProducer,
    commit: { intervalMs: 1000, maxRows: 100_000, maxBytes: 64 * 1024 * 1024 },
    logger: env.logger,
    registry,
    namespace: env.namespace,
    topics: [env.topics.trades, env.topics.quotes],
    ...overrides,
  });
  await sink.start();
  return {
    sink,
    catalog,
    io,
    registry,
    stop: async () => {
      await sink.stop();
      await dlqProducer.disconnect();
      await catalog.close();
      await parquet.close();
    },
  };
}

/** Rows in the table's current snapshot according to our own read planner (0 when the table does not exist). */
export async function committedRows(run: Pick<RunningSink, 'catalog' | 'io'>, namespace: string[], name: string): Promise<number> {
  const t = await run.catalog.loadTable({ namespace, name }).catch(() => undefined);
  if (!t) return 0;
  const plan = await planScan(run.io, t);
  return plan.files.reduce((s, f) => s + f.file['record-count'], 0);
}

export function infraS3() {
  const e = infraEndpoints();
  return { endpoint: e.s3Endpoint, region: process.env['S3_REGION'] ?? 'us-east-1', accessKeyId: e.s3AccessKey, secretAccessKey: e.s3SecretKey, forcePathStyle: true };
}

export interface PyTable {
  count: number;
  ids: string[];
  rows: Array<Record<string, string | null>>;
  schema: string[];
  files: number;
}

const PY_READ = String.raw`
import json, sys, decimal
from pyiceberg.catalog import load_catalog
inp = json.load(sys.stdin)
props = inp['props']
cat = load_catalog(inp['name'], **props)
t = cat.load_table(inp['table'])
arrow = t.scan().to_arrow()
out = {'count': arrow.num_rows, 'schema': [f.name for f in t.schema().fields], 'files': len(list(t.scan().plan_files()))}
out['ids'] = [str(x) for x in arrow.column('message_id').to_pylist()]
rows = []
sample = set(inp.get('sample', []))
if sample:
    cols = arrow.column_names
    py = arrow.to_pylist()
    for r in py:
        if r['message_id'] in sample:
            row = {}
            for c in cols:
                v = r[c]
                if c in ('timestamp', 'ingestion_timestamp') and v is not None:
                    import datetime
                    v = str(int((v - datetime.datetime(1970,1,1,tzinfo=datetime.timezone.utc)) / datetime.timedelta(microseconds=1)))
                elif isinstance(v, decimal.Decimal):
                    v = format(v, 'f')
                elif v is not None and not isinstance(v, str):
                    v = json.dumps(v) if isinstance(v, list) else str(v)
                row[c] = v
            rows.append(row)
out['rows'] = rows
print(json.dumps(out))
`;

/** Reads a table with PyIceberg (SqlCatalog on our SQLite/PostgreSQL database, or a REST catalog). */
export function pyRead(catalog: { name?: string; props: Record<string, string> }, table: string, sample: string[] = []): PyTable {
  return runPython<PyTable>(PY_READ, { name: catalog.name ?? 'rest_backend', props: catalog.props, table, sample }, 300_000);
}

/** PyIceberg SqlCatalog properties for one of our SQL catalog URIs. */
export function pySqlCatalog(catalogUri: string, warehouse: string): { name: string; props: Record<string, string> } {
  const m = /^jdbc:sqlite:file:(.*)$/.exec(catalogUri);
  const uri = m ? `sqlite:///${m[1]}` : catalogUri.replace(/^postgresql:/, 'postgresql+psycopg2:');
  const s3 = infraS3();
  return {
    name: 'rest_backend',
    props: {
      type: 'sql',
      uri,
      warehouse,
      's3.endpoint': s3.endpoint,
      's3.access-key-id': s3.accessKeyId,
      's3.secret-access-key': s3.secretAccessKey,
      's3.region': s3.region,
      's3.path-style-access': 'true',
    },
  };
}

/** waitFor with the longer defaults commits need (a commit interval plus a catalog swap per poll). */
export function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000, everyMs = 500): Promise<T> {
  return waitFor(what, fn, timeoutMs, everyMs);
}
