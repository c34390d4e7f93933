import fs from 'node:fs';
import path from 'node:path';
import { tableOffsets } from '@k2/lake';
import { committedRows, infraS3, makeQuotes, makeTrades, produce, pyRead, pySqlCatalog, sinkTestEnv, startSink, type RunningSink, type SinkTestEnv } from '@k2/lake-testing';
import { isoFromMicros, microsFromIso } from '@k2/schema';
import { infraEndpoints, removeScratchTopics, repoRoot, startServiceProcess, uniqueSuffix, waitFor, type ServiceProcess } from '@k2/testing';
import { records, SparkSql } from './spark-sql';
import { apiDaily, apiQuoteCountsPerDay, apiTradeCountsPerDay, sparkCountsPerDay, sparkDaily } from '../test/daily';
import { startQueryApi, type QueryApi } from '../test/query-api';

/**
 * Issue 19: Apache Spark (local[2], Iceberg's SparkCatalog on the JDBC catalog in PostgreSQL, S3FileIO on the local
 * S3 server) on the tables K2's real writer commits, next to the real query-api: Spark reads while the writer
 * commits and agrees with the API to the last decimal; Spark compacts and expires while the writer commits; Spark
 * appends and evolves the schema; `VERSION AS OF` equals `as_of`. One Spark JVM serves the whole suite.
 * Own namespace, topics, consumer group and warehouse prefix per run.
 */
const DAY = 86_400_000_000n;
const D1 = ((BigInt(Date.now()) * 1000n) / DAY) * DAY - 3n * DAY;
const START = isoFromMicros(D1);
const END = isoFromMicros(D1 + 2n * DAY);
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const COMMIT = { intervalMs: 500, maxRows: 400, maxBytes: 64 * 1024 * 1024 };

let env: SinkTestEnv;
let writer: RunningSink | undefined;
let api: QueryApi;
let spark: SparkSql;
let loader: ServiceProcess | undefined;
let refTopic: string;
let EX: string;
let ns: string;
let warehouse: string;
let produced = 0;
let midSnapshot: { id: string; rows: number } | undefined;

const pgUri = infraEndpoints().pgUri;
const T = (name: string) => `${ns}.${name}`;
const catalogCfg = () => ({ type: 'sql' as const, uri: env.catalogUri, warehouse: env.warehouse });

async function count(sql: string): Promise<number> {
  return Number((await spark.sql(sql)).rows[0]![0]);
}

async function produceTrades(n: number, batch = n, gapMs = 0): Promise<void> {
  for (let done = 0; done < n; done += batch) {
    const k = Math.min(batch, n - done);
    await produce(env, 'trades', makeTrades(env.exchange, produced, k, D1));
    produced += k;
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
}

async function tableMeta(name: string) {
  return (await writer!.catalog.loadTable({ namespace: env.namespace, name })).metadata;
}

/** The writer has committed `n` trades, and the API answers from that snapshot. */
async function tradesCommitted(n: number): Promise<string> {
  await waitFor(`${n} trades committed`, async () => ((await committedRows(writer!, env.namespace, 'trades_v2')) === n ? true : undefined), 180_000, 250);
  const id = String((await tableMeta('trades_v2'))['current-snapshot-id']);
  await waitFor('api on the current snapshot', async () => ((await api.json(`/v1/snapshots?table=trades&limit=1`)).body['current_snapshot_id'] === id ? true : undefined), 30_000, 200);
  return id;
}

/** Sum of the writer group's stored next-offsets over the trades topic's partitions: the trades it consumed. */
function tradesOffsetSum(meta: Awaited<ReturnType<typeof tableMeta>>): number {
  let s = 0;
  for (const [tp, o] of tableOffsets(meta, `itest-${env.suffix}`)) if (tp.startsWith(`${env.topics.trades}/`)) s += o;
  return s;
}

beforeAll(async () => {
  env = await sinkTestEnv({ catalogUri: pgUri, warehouse: `s3://${process.env['S3_BUCKET'] ?? 'k2-warehouse'}/spark-itest-${uniqueSuffix()}` });
  EX = env.exchange.toUpperCase();
  ns = env.namespace.join('.');
  warehouse = env.warehouse;
  refTopic = `market.equities.reference.${env.exchange}`;
  const started = Date.now();
  [spark, loader] = await Promise.all([
    SparkSql.start({
      root: repoRoot(),
      env: { ICEBERG_CATALOG: 'sql', ICEBERG_CATALOG_URI: pgUri, ICEBERG_WAREHOUSE: warehouse, ICEBERG_NAMESPACE: ns },
    }),
    startServiceProcess('asx-batch-loader', {
      KAFKA_BROKERS: env.brokers,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      ASX_INPUT: path.join(repoRoot(), 'data/asx-sample/reference-data'),
      ASX_TOPIC_EXCHANGE: env.exchange,
      ASX_CHECKPOINT_DIR: fs.mkdtempSync(path.join(env.dir, 'asx-')),
      ASX_STAY_ALIVE: 'true',
      LOG_LEVEL: 'warn',
    }),
  ]);
  console.log(`spark ${spark.version} driver ready in ${Date.now() - started} ms`);
  writer = await startSink(env, { commit: COMMIT, topics: [env.topics.trades, env.topics.quotes, refTopic] }, catalogCfg());
  const s3 = infraS3();
  api = await startQueryApi({
    ICEBERG_CATALOG: 'sql',
    ICEBERG_CATALOG_URI: env.catalogUri,
    ICEBERG_WAREHOUSE: env.warehouse,
    ICEBERG_NAMESPACE: ns,
    QUERY_WRITER_GROUP_ID: `itest-${env.suffix}`,
    QUERY_TAIL_TOPICS: env.topicList,
    QUERY_REFRESH_MS: '200',
    QUERY_CACHE_DIR: fs.mkdtempSync(path.join(env.dir, 'query-cache-')),
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKeyId,
    S3_SECRET_KEY: s3.secretAccessKey,
    S3_REGION: s3.region,
    S3_FORCE_PATH_STYLE: 'true',
    LOG_LEVEL: 'warn',
  }, process.env['K2_SPARK_ITEST_API_LOG']);
  // The first query of a JVM compiles Spark's planner; pay for it before the timed parts.
  await spark.sql('SELECT 1');
});

afterAll(async () => {
  await writer?.stop();
  await api?.kill();
  await loader?.kill();
  if (spark) {
    // Leave nothing behind in the shared catalog and bucket: PURGE deletes the tables' files too.
    for (const t of ['trades_v2', 'quotes_v2', 'reference_data_v2']) await spark.answer(`DROP TABLE IF EXISTS ${T(t)} PURGE`);
    await spark.answer(`DROP NAMESPACE IF EXISTS ${ns}`);
    await spark.stop();
  }
  await removeScratchTopics(env.brokers, env.registryUrl, [refTopic]).catch(() => undefined);
  await env?.close();
});

describe('Spark on the tables K2 writes', () => {
  it('reads trades, quotes and reference data while the writer commits, and agrees with the query-api exactly', async () => {
    const t0 = Date.now();
    await produce(env, 'quotes', [...makeQuotes(env.exchange, 0, 1000, D1), ...makeQuotes(env.exchange, 1000, 1000, D1 + DAY)]);
    // The table exists (first commit) before the loop; then trades arrive in bursts, so the writer commits many
    // snapshots while Spark keeps counting.
    await produceTrades(100);
    await waitFor('first trades commit', async () => ((await committedRows(writer!, env.namespace, 'trades_v2')) > 0 ? true : undefined), 60_000, 200);
    const producing = produceTrades(2900, 100, 500);
    const seen: number[] = [];
    let done = false;
    void producing.then(() => (done = true));
    while (!done || seen[seen.length - 1] !== 3000) {
      seen.push(await count(`SELECT count(*) FROM ${T('trades_v2')}`));
      if (process.env['K2_SPARK_ITEST_DEBUG']) console.log(`${Date.now() - t0} ms: ${seen.at(-1)}`);
      // A snapshot in the middle of the stream, for the time-travel check below.
      const cur = await tableMeta('trades_v2');
      const rows = await committedRows(writer!, env.namespace, 'trades_v2');
      if (!midSnapshot && rows > 0 && rows < 3000) midSnapshot = { id: String(cur['current-snapshot-id']), rows };
      if (Date.now() - t0 > 180_000) throw new Error(`trades never reached 3000 in Spark: ${seen.join(',')}`);
    }
    console.log(`Spark counts while the writer committed: ${seen.join(', ')}`);
    expect(seen.every((n, i) => n <= 3000 && (i === 0 || n >= seen[i - 1]!))).toBe(true);
    await tradesCommitted(3000);

    const apiBars = await apiDaily(api, SYMBOLS, EX, START, END);
    const sparkBars = await sparkDaily(spark, T('trades_v2'), EX);
    expect(sparkBars.size).toBe(6);
    expect(Object.fromEntries(sparkBars)).toEqual(Object.fromEntries(apiBars));
    const sparkTrades = await sparkCountsPerDay(spark, T('trades_v2'), EX);
    expect(sparkTrades).toEqual(apiTradeCountsPerDay(EX, apiBars));
    expect(Object.values(sparkTrades).reduce((a, b) => a + b, 0)).toBe(3000);

    await waitFor('2000 quotes committed', async () => ((await committedRows(writer!, env.namespace, 'quotes_v2')) === 2000 ? true : undefined), 120_000, 250);
    const sparkQuotes = await sparkCountsPerDay(spark, T('quotes_v2'), EX);
    const days = Object.keys(sparkQuotes).map((k) => k.split('|')[1]!);
    expect(days).toHaveLength(2);
    expect(await apiQuoteCountsPerDay(api, EX, days, DAY, isoFromMicros, microsFromIso)).toEqual(sparkQuotes);
    // Quote prices exactly as written (Decimal(18,8) text).
    const q = records(await spark.sql(`SELECT bid_price, ask_price, bid_quantity FROM ${T('quotes_v2')} WHERE source_sequence = 7`))[0]!;
    expect(q).toEqual({ bid_price: '60007.10000000', ask_price: '60008.20000000', bid_quantity: '1.50000000' });

    // Reference data: the ASX sample's dividends, as Spark reads them and as /v1/reference serves them.
    await waitFor('reference rows committed', async () => ((await committedRows(writer!, env.namespace, 'reference_data_v2')) > 0 ? true : undefined), 120_000, 250);
    await waitFor('api sees reference data', async () => ((await api.json(`/v1/snapshots?table=reference&limit=1`)).body['current_snapshot_id'] ? true : undefined), 30_000, 200);
    const sparkDiv = records(
      await spark.sql(
        `SELECT symbol, date_format(effective_date, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'") AS effective_date, get_json_object(vendor_data, '$.net_amount') AS net FROM ${T('reference_data_v2')} WHERE record_type = 'DIVIDEND' ORDER BY symbol, effective_date`,
      ),
    );
    const apiRef = await api.json<{ data: Array<{ symbol: string; effective_date: string; vendor_data: Record<string, string> }> }>(`/v1/reference?type=dividend&limit=1000`);
    expect(apiRef.status).toBe(200);
    const apiDiv = apiRef.body.data.map((r) => ({ symbol: r.symbol, effective_date: r.effective_date, net: r.vendor_data['net_amount'] ?? null }));
    expect(sparkDiv.length).toBeGreaterThan(0);
    expect([...apiDiv].sort((a, b) => (a.symbol + a.effective_date).localeCompare(b.symbol + b.effective_date))).toEqual(sparkDiv);
  });

  it('VERSION AS OF <id> in Spark equals as_of=<id> in the API, for a snapshot taken mid-stream', async () => {
    expect(midSnapshot).toBeDefined();
    const { id, rows } = midSnapshot!;
    expect(await count(`SELECT count(*) FROM ${T('trades_v2')} VERSION AS OF ${id}`)).toBe(rows);
    const apiBars = await apiDaily(api, SYMBOLS, EX, START, END, id);
    const sparkBars = await sparkDaily(spark, T('trades_v2'), EX, id);
    expect(Object.fromEntries(sparkBars)).toEqual(Object.fromEntries(apiBars));
    expect(await sparkCountsPerDay(spark, T('trades_v2'), EX, id)).toEqual(apiTradeCountsPerDay(EX, apiBars));
  });

  it("finds every data file's record count, partition and column bounds in K2's manifests true to the data", async () => {
    const metrics = (c: string) => `readable_metrics.\`${c}\`.lower_bound AS ${c}_lo, readable_metrics.\`${c}\`.upper_bound AS ${c}_hi, readable_metrics.\`${c}\`.null_value_count AS ${c}_nulls`;
    const files = records(
      await spark.sql(
        `SELECT file_path, record_count, partition.timestamp_day AS p_day, partition.exchange AS p_ex, ${['price', 'quantity', 'timestamp', 'source_sequence', 'message_id', 'symbol'].map(metrics).join(', ')} FROM ${T('trades_v2')}.files`,
      ),
    );
    const actual = records(
      await spark.sql(
        `SELECT _file AS file_path, count(*) AS record_count, count(DISTINCT to_date(timestamp)) AS days, CAST(min(to_date(timestamp)) AS STRING) AS day, min(exchange) AS ex_lo, max(exchange) AS ex_hi,
           min(price) AS price_lo, max(price) AS price_hi, count(*) - count(price) AS price_nulls,
           min(quantity) AS quantity_lo, max(quantity) AS quantity_hi, count(*) - count(quantity) AS quantity_nulls,
           min(timestamp) AS timestamp_lo, max(timestamp) AS timestamp_hi, count(*) - count(timestamp) AS timestamp_nulls,
           min(source_sequence) AS source_sequence_lo, max(source_sequence) AS source_sequence_hi, count(*) - count(source_sequence) AS source_sequence_nulls,
           min(message_id) AS message_id_lo, max(message_id) AS message_id_hi, min(symbol) AS symbol_lo, max(symbol) AS symbol_hi
         FROM ${T('trades_v2')} GROUP BY _file`,
      ),
    );
    expect(files.length).toBeGreaterThan(1);
    expect(new Set(files.map((f) => f['file_path']))).toEqual(new Set(actual.map((a) => a['file_path'])));
    const byPath = new Map(actual.map((a) => [a['file_path'], a]));
    for (const f of files) {
      const a = byPath.get(f['file_path'])!;
      expect({ path: f['file_path'], n: f['record_count'] }).toEqual({ path: a['file_path'], n: a['record_count'] });
      // Identity/day partitions: one day and one exchange per file, the partition tuple's.
      expect([a['days'], a['day'], a['ex_lo'], a['ex_hi']]).toEqual(['1', f['p_day'], f['p_ex'], f['p_ex']]);
      // Bounds K2 writes are exact for numbers and times (the spec only requires lower ≤ min, max ≤ upper).
      for (const c of ['price', 'quantity', 'timestamp', 'source_sequence']) {
        expect([c, f[`${c}_lo`], f[`${c}_hi`], f[`${c}_nulls`]]).toEqual([c, a[`${c}_lo`], a[`${c}_hi`], a[`${c}_nulls`]]);
      }
      for (const c of ['message_id', 'symbol']) {
        expect(String(f[`${c}_lo`]) <= String(a[`${c}_lo`]) && String(a[`${c}_hi`]) <= String(f[`${c}_hi`])).toBe(true);
      }
    }
    const parts = records(await spark.sql(`SELECT sum(record_count) AS n, sum(file_count) AS f FROM ${T('trades_v2')}.partitions`))[0]!;
    expect(parts).toEqual({ n: '3000', f: String(files.length) });
  });

  it('compacts and expires trades_v2 while the writer commits: its commits retry, no row lost or duplicated, offsets kept, the API serves it', async () => {
    const casRetries = async () => (await writer!.registry.getSingleMetric('k2_writer_cas_retries_total')?.get())?.values.reduce((s, v) => s + v.value, 0) ?? 0;
    const t0 = Date.now();
    let producing = produceTrades(2000, 25, 300);
    let finished = false;
    const watch = () => void producing.then(() => (finished = true));
    watch();
    let rounds = 0;
    let sparkCommits = 0;
    let retries = 0;
    for (;;) {
      // Partial progress, one file per group: each round commits up to 10 replace snapshots spread over the job, as
      // compaction of a large table does, so some land while a writer commit is in flight and the writer must retry.
      const r = records(
        await spark.sql(
          `CALL system.rewrite_data_files(table => '${T('trades_v2')}', options => map('rewrite-all', 'true', 'partial-progress.enabled', 'true', 'partial-progress.max-commits', '10', 'max-file-group-size-bytes', '1'))`,
        ),
      )[0]!;
      sparkCommits += Math.min(10, Number(r['rewritten_data_files_count']));
      const now = new Date(Date.now() + 1000).toISOString().replace('T', ' ').replace('Z', '');
      await spark.sql(`CALL system.expire_snapshots(table => '${T('trades_v2')}', older_than => TIMESTAMP '${now}', retain_last => 1)`);
      rounds++;
      retries = await casRetries();
      if (!finished) continue;
      if (retries > 0 || Date.now() - t0 > 240_000) break;
      // No race lost yet (it depends on timing): more trades, more rounds.
      finished = false;
      producing = produceTrades(250, 25, 300);
      watch();
    }
    await producing;
    const total = produced;
    await tradesCommitted(total);
    console.log(`compaction rounds while writing: ${rounds} (up to ${sparkCommits} replace commits), ${total - 3000} trades; writer CAS retries: ${retries}`);
    expect(retries).toBeGreaterThan(0);

    expect(await count(`SELECT count(*) FROM ${T('trades_v2')}`)).toBe(total);
    expect(await count(`SELECT count(DISTINCT message_id) FROM ${T('trades_v2')}`)).toBe(total);
    const ops = records(await spark.sql(`SELECT operation, count(*) AS n FROM ${T('trades_v2')}.snapshots GROUP BY operation`));
    console.log(`retained snapshots by operation: ${JSON.stringify(ops)}`);
    expect(tradesOffsetSum(await tableMeta('trades_v2'))).toBe(total);

    const apiBars = await apiDaily(api, SYMBOLS, EX, START, END);
    expect(Object.fromEntries(await sparkDaily(spark, T('trades_v2'), EX))).toEqual(Object.fromEntries(apiBars));
    expect(Object.values(apiTradeCountsPerDay(EX, apiBars)).reduce((a, b) => a + b, 0)).toBe(total);
  });

  it("keeps the writer's resume position when Spark's replace is the only snapshot left", async () => {
    const before = produced;
    await spark.sql(`CALL system.rewrite_data_files(table => '${T('trades_v2')}', options => map('rewrite-all', 'true'))`);
    const now = new Date(Date.now() + 1000).toISOString().replace('T', ' ').replace('Z', '');
    await spark.sql(`CALL system.expire_snapshots(table => '${T('trades_v2')}', older_than => TIMESTAMP '${now}', retain_last => 1)`);
    const meta = await tableMeta('trades_v2');
    expect(meta.snapshots).toHaveLength(1);
    expect(meta.snapshots![0]!.summary.operation).toBe('replace');
    expect(tradesOffsetSum(meta)).toBe(before);
    // The API's hybrid read still knows where the table ends in Kafka: nothing from the tail is counted twice.
    await waitFor('api on the replace snapshot', async () => ((await api.json(`/v1/snapshots?table=trades&limit=1`)).body['current_snapshot_id'] === String(meta['current-snapshot-id']) ? true : undefined), 30_000, 200);
    expect(Object.values(apiTradeCountsPerDay(EX, await apiDaily(api, SYMBOLS, EX, START, END))).reduce((a, b) => a + b, 0)).toBe(before);
    // A writer restarted now resumes where the table ends: 300 new trades, none of the earlier ones again.
    await writer!.stop();
    writer = await startSink(env, { commit: COMMIT, topics: [env.topics.trades, env.topics.quotes, refTopic] }, catalogCfg());
    await produceTrades(300);
    await tradesCommitted(before + 300);
    expect(await count(`SELECT count(DISTINCT message_id) FROM ${T('trades_v2')}`)).toBe(before + 300);
    const last = (await tableMeta('trades_v2')).snapshots!.at(-1)!;
    expect(last.summary['k2.duplicates-dropped']).toBe('0');
  });

  it('Spark appends rows and adds a column; the writer keeps writing; PyIceberg and the API read every row', async () => {
    const cols = (await spark.sql(`SELECT * FROM ${T('trades_v2')} LIMIT 0`)).columns;
    const pick = (extra = '') =>
      cols.map((c) => (c === 'message_id' || c === 'trade_id' ? `concat('spark-', ${c}) AS ${c}` : `\`${c}\``)).join(', ') + extra;
    await spark.sql(`INSERT INTO ${T('trades_v2')} SELECT ${pick()} FROM ${T('trades_v2')} WHERE source_sequence < 50`);
    await spark.sql(`ALTER TABLE ${T('trades_v2')} ADD COLUMN venue_note STRING COMMENT 'added by Spark (issue 19)'`);
    await spark.sql(`INSERT INTO ${T('trades_v2')} SELECT ${pick(", 'spark' AS venue_note")} FROM ${T('trades_v2')} WHERE source_sequence >= 50 AND source_sequence < 75 AND message_id NOT LIKE 'spark-%'`);
    const sparkSnap = String((await tableMeta('trades_v2'))['current-snapshot-id']);
    await produceTrades(300);
    const total = produced + 75;
    await tradesCommitted(total);

    expect(await count(`SELECT count(*) FROM ${T('trades_v2')}`)).toBe(total);
    expect(await count(`SELECT count(DISTINCT message_id) FROM ${T('trades_v2')}`)).toBe(total);
    expect(await count(`SELECT count(*) FROM ${T('trades_v2')} WHERE venue_note = 'spark'`)).toBe(25);
    const py = pyRead(pySqlCatalog(pgUri, warehouse), T('trades_v2'));
    expect(py.count).toBe(total);
    expect(new Set(py.ids).size).toBe(total);
    expect(py.schema).toContain('venue_note');

    const apiBars = await apiDaily(api, SYMBOLS, EX, START, END);
    expect(Object.values(apiTradeCountsPerDay(EX, apiBars)).reduce((a, b) => a + b, 0)).toBe(total);
    expect(Object.fromEntries(await sparkDaily(spark, T('trades_v2'), EX))).toEqual(Object.fromEntries(apiBars));
    // A Spark row through /v1/trades: served, and the API's columns are the V2 schema's (docs/spark.md says which).
    const row = records(await spark.sql(`SELECT symbol, timestamp FROM ${T('trades_v2')} WHERE message_id LIKE 'spark-%' AND venue_note = 'spark' LIMIT 1`))[0]!;
    const us = microsFromIso(row['timestamp'] as string);
    const trades = await api.json<{ data: Array<Record<string, unknown>> }>(
      `/v1/trades?symbol=${row['symbol'] as string}&exchange=${EX}&start=${isoFromMicros(us)}&end=${isoFromMicros(us + 1n)}&limit=100`,
    );
    const spk = trades.body.data.find((t) => String(t['message_id']).startsWith('spark-'));
    expect(spk).toBeDefined();
    expect(spk).not.toHaveProperty('venue_note');

    // Time travel on Spark's own snapshot.
    const apiAt = await apiDaily(api, SYMBOLS, EX, START, END, sparkSnap);
    expect(Object.fromEntries(await sparkDaily(spark, T('trades_v2'), EX, sparkSnap))).toEqual(Object.fromEntries(apiAt));
  });
});
