import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '@k2/core';
import { ParquetWriter } from '@k2/iceberg';
import { removeScratchTopics, repoRoot, startServiceProcess, waitFor, type ServiceProcess } from '@k2/testing';
import { runMaintenance } from '@k2/lake-sink';
import { isoFromMicros } from '@k2/schema';
import { committedRows, makeTrades, produce, sinkTestEnv, startSink, type RunningSink, type SinkTestEnv } from '@k2/lake-testing';
import { lakeApiEnv, startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Time travel and reference data (issue 16 parts 3 and 6) against the real Kafka, registry, SQLite catalog and file
 * warehouse, with the real writer committing and the real maintenance compacting and expiring: an `as_of` answer is
 * taken, then trades arrive in the same window (first held in the tail only, then committed), the table is
 * compacted, and the same `as_of` queries must return byte-identical bodies; expiry turns them into 410s. Reference
 * rows are the ASX sample's, loaded by the real ASX loader and committed by the writer.
 */
const DAY = 86_400_000_000n;
const D1 = ((BigInt(Date.now()) * 1000n) / DAY) * DAY - 3n * DAY;
const SYMBOL = 'BTCUSDT';
const COMMIT = { intervalMs: 500, maxRows: 150, maxBytes: 64 * 1024 * 1024 };

let env: SinkTestEnv;
let writer: RunningSink | undefined;
let api: QueryApiProcess;
let exchange: string;
let refTopic: string;
let loader: ServiceProcess | undefined;

async function raw(p: string): Promise<{ status: number; headers: Headers; text: string; body: Record<string, unknown> }> {
  const res = await api.get(p);
  const text = await res.text();
  // Exports (CSV, NDJSON) are not one JSON document: their text is what the tests compare.
  const ct = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, text, body: (ct.startsWith('application/json') ? JSON.parse(text) : {}) as Record<string, unknown> };
}

const snapshots = async (table = 'trades') => (await raw(`/v1/snapshots?table=${table}&limit=1000`)).body;

/** Waits until the writer has committed `n` rows of `table` and the API's view has the catalog's current snapshot. */
async function committed(table: 'trades_v2' | 'reference_data_v2', n: number): Promise<string> {
  await waitFor(`${n} rows in ${table}`, async () => ((await committedRows(writer!, env.namespace, table)) === n ? true : undefined), 120_000, 250);
  const id = String((await writer!.catalog.loadTable({ namespace: env.namespace, name: table })).metadata['current-snapshot-id']);
  const kind = table === 'trades_v2' ? 'trades' : 'reference';
  await waitFor('api sees the snapshot', async () => ((await snapshots(kind))['current_snapshot_id'] === id ? true : undefined), 30_000, 200);
  return id;
}

const window = `symbol=${SYMBOL}&exchange=%EX%&start=${isoFromMicros(D1)}&end=${isoFromMicros(D1 + 2n * DAY)}`;

beforeAll(async () => {
  env = await sinkTestEnv();
  exchange = env.exchange.toUpperCase();
  refTopic = `market.equities.reference.${env.exchange}`;
  // The real asx-batch-loader process writes the sample's reference data (4 companies, 2 dividends) to this run's
  // own topic; it stays up (ASX_STAY_ALIVE) so its start can be awaited like any service's, and is stopped at the end.
  loader = await startServiceProcess('asx-batch-loader', {
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    ASX_INPUT: path.join(repoRoot(), 'data/asx-sample/reference-data'),
    ASX_TOPIC_EXCHANGE: env.exchange,
    ASX_CHECKPOINT_DIR: fs.mkdtempSync(path.join(env.dir, 'asx-')),
    ASX_STAY_ALIVE: 'true',
    LOG_LEVEL: 'warn',
  });
  api = await startQueryApi(
    lakeApiEnv(env, {
      QUERY_TAIL_TOPICS: env.topicList,
      QUERY_REFRESH_MS: '200',
    }),
  );
  writer = await startSink(env, { commit: COMMIT, topics: [env.topics.trades, env.topics.quotes, refTopic] });
});

afterAll(async () => {
  await writer?.stop();
  await api?.kill();
  await loader?.kill();
  await removeScratchTopics(env.brokers, env.registryUrl, [refTopic]).catch(() => undefined);
  await env?.close();
});

describe('time travel', () => {
  const q = (p: string) => p.replace('%EX%', exchange);
  let first: string;
  let firstTime: string;
  let last: string;
  let atTime: string;
  const taken = new Map<string, string>();
  let queries: string[] = [];

  it('lists the snapshots, newest first, with the committed Kafka offsets', async () => {
    // Nine commits of 100 trades (more than maintain's 10 retained snapshots once more commits and a compaction follow).
    for (let from = 1; from <= 900; from += 100) {
      await produce(env, 'trades', makeTrades(env.exchange, from, 100, D1));
      last = await committed('trades_v2', from + 99);
    }
    const s = await snapshots();
    const data = s['data'] as Array<{ snapshot_id: string; parent_id: string | null; operation: string; time: string; current: boolean; summary: Record<string, string> }>;
    expect(data.length).toBe(9);
    expect(data[0]).toMatchObject({ snapshot_id: last, current: true, operation: 'append' });
    for (let i = 1; i < data.length; i++) {
      expect(data[i - 1].parent_id).toBe(data[i].snapshot_id);
      expect(data[i - 1].time >= data[i].time).toBe(true);
    }
    expect(data[data.length - 1].parent_id).toBeNull();
    const offsets = JSON.parse(data[0].summary[`k2.kafka.offsets.itest-${env.suffix}`]) as Record<string, number>;
    expect(Object.values(offsets).reduce((a, b) => a + b, 0)).toBe(900);
    expect(s).toMatchObject({ table: 'trades', history_complete: true, retention: { max_age_days: 5, min_snapshots: 10 } });
    first = data[data.length - 1].snapshot_id;
    firstTime = data[data.length - 1].time;
    atTime = isoFromMicros(BigInt(Date.now()) * 1000n);
  });

  it('answers as_of from that snapshot only; the same queries before and after later commits', async () => {
    const live = await raw(q(`/v1/trades?${window}&limit=10000`));
    queries = [
      `/v1/trades?${window}&limit=10000&as_of=${last}`,
      `/v1/trades?${window}&limit=10000&as_of=${encodeURIComponent(atTime)}`,
      `/v1/trades?${window}&limit=100&as_of=${first}`,
      `/v1/bars?symbol=${SYMBOL}&exchange=%EX%&interval=1h&start=${isoFromMicros(D1)}&end=${isoFromMicros(D1 + DAY)}&as_of=${last}`,
      `/v1/summary?symbol=${SYMBOL}&exchange=%EX%&date=${isoFromMicros(D1).slice(0, 10)}&as_of=${last}`,
      `/v1/symbols?exchange=%EX%&as_of=${last}`,
    ].map(q);
    for (const p of queries) {
      const r = await raw(p);
      expect({ p, status: r.status }).toEqual({ p, status: 200 });
      expect(r.headers.get('x-k2-sources')).toBe('iceberg');
      expect(r.headers.get('x-k2-rows')).toMatch(/;tail=0$/);
      expect(r.headers.get('x-k2-as-of')).toBe(decodeURIComponent(p.slice(p.indexOf('as_of=') + 6)));
      taken.set(p, r.text);
    }
    // The last snapshot holds every produced trade: the same rows as the live answer, read at that snapshot.
    const byId = JSON.parse(taken.get(queries[0])!) as { data: unknown[]; meta: Record<string, unknown> };
    expect(byId.data).toEqual(live.body['data']);
    expect(byId.meta).toEqual({ snapshot_id: last, rows: { iceberg: byId.data.length, tail: 0 }, degraded: [], as_of: { requested: last, snapshot_time: expect.any(String) } });
    // Exports take as_of too: the snapshot's rows alone, oldest first, and byte-identical later like the JSON answers.
    const exports = [`/v1/trades?${window}&format=ndjson&as_of=${last}`, `/v1/trades?${window}&format=csv&as_of=${first}`].map(q);
    for (const p of exports) {
      const r = await raw(p);
      expect({ p, status: r.status, snapshot: r.headers.get('x-k2-snapshot-id') }).toEqual({ p, status: 200, snapshot: p.endsWith(last) ? last : first });
      taken.set(p, r.text);
    }
    const ndjson = taken.get(exports[0])!.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(ndjson).toEqual([...byId.data].reverse());
    expect(taken.get(exports[1])!.trim().split('\r\n').length - 1).toBe((JSON.parse(taken.get(queries[2])!) as { meta: { rows: { iceberg: number } } }).meta.rows.iceberg);
    queries.push(...exports);
    // By time: the snapshot current then, i.e. the same one.
    expect((JSON.parse(taken.get(queries[1])!) as { meta: { snapshot_id: string } }).meta.snapshot_id).toBe(last);
    // The first snapshot holds fewer rows than the last.
    expect((JSON.parse(taken.get(queries[2])!) as { meta: { rows: { iceberg: number } } }).meta.rows.iceberg).toBeLessThan(byId.data.length);

    // More trades in the same window, first only in the Kafka tail (writer stopped), then committed.
    await writer!.stop();
    writer = undefined;
    await produce(env, 'trades', makeTrades(env.exchange, 901, 600, D1));
    await waitFor('live answer has the tail', async () => ((await raw(q(`/v1/trades?${window}&limit=10000`))).headers.get('x-k2-rows')?.endsWith(';tail=200') ? true : undefined), 60_000, 200);
    for (const p of queries) expect({ p, text: (await raw(p)).text }).toEqual({ p, text: taken.get(p) });
    writer = await startSink(env, { commit: COMMIT, topics: [env.topics.trades, env.topics.quotes, refTopic] });
    await committed('trades_v2', 1500);
    const after = await raw(q(`/v1/trades?${window}&limit=10000`));
    expect((after.body['data'] as unknown[]).length).toBe(500);
    for (const p of queries) expect({ p, text: (await raw(p)).text }).toEqual({ p, text: taken.get(p) });
  });

  it('gives byte-identical as_of answers after compaction (iceberg-writer maintain)', async () => {
    const parquet = await ParquetWriter.create({ threads: 1, tmpDir: path.join(env.dir, 'compact') });
    try {
      const [report] = await runMaintenance({ catalog: writer!.catalog, io: writer!.io, parquet, namespace: env.namespace, warehouse: env.warehouse, logger: env.logger, tables: ['trades_v2'] });
      expect(report).toMatchObject({ rowsBefore: 1500, rowsAfter: 1500, snapshotsExpired: 0 });
      expect(report!.filesAfter).toBeLessThan(report!.filesBefore);
    } finally {
      await parquet.close();
    }
    const compacted = await waitFor('api sees the compaction', async () => {
      const top = (await snapshots())['data'] as Array<{ snapshot_id: string; operation: string; summary: Record<string, string> }>;
      return top[0].operation === 'replace' ? top[0] : undefined;
    }, 30_000, 200);
    expect(compacted.summary['k2.maintenance']).toBe('compaction');
    for (const p of queries) expect({ p, text: (await raw(p)).text }).toEqual({ p, text: taken.get(p) });
    // The compacted snapshot answers the same rows as the live read.
    const now = await raw(q(`/v1/trades?${window}&limit=10000&as_of=${compacted.snapshot_id}`));
    expect(now.body['data']).toEqual((await raw(q(`/v1/trades?${window}&limit=10000`))).body['data']);
  });

  it('answers 404 for an unknown id and 410 once expiry removed the snapshot, naming the retention', async () => {
    const unknown = await raw(q(`/v1/trades?${window}&as_of=12345`));
    expect(unknown.status).toBe(404);
    expect(unknown.body['error']).toMatchObject({ code: ErrorCode.QUERY_SNAPSHOT_NOT_FOUND, parameter: 'as_of' });
    const early = await raw(q(`/v1/trades?${window}&as_of=2000-01-01T00:00:00Z`));
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ data: [], meta: { snapshot_id: null, as_of: { snapshot_time: null } } });
    expect((await raw(q(`/v1/trades?${window}&as_of=2999-01-01T00:00:00Z`))).status).toBe(400);

    // Maintenance a month from now with the default retention of 5 days: only the newest 10 snapshots stay.
    const parquet = await ParquetWriter.create({ threads: 1, tmpDir: path.join(env.dir, 'expire') });
    try {
      const [report] = await runMaintenance({ catalog: writer!.catalog, io: writer!.io, parquet, namespace: env.namespace, warehouse: env.warehouse, logger: env.logger, tables: ['trades_v2'], now: () => Date.now() + 30 * 86_400_000 });
      expect(report!.snapshotsExpired).toBeGreaterThan(0);
    } finally {
      await parquet.close();
    }
    const s = await waitFor('api sees the expiry', async () => {
      const x = await snapshots();
      return x['history_complete'] === false ? x : undefined;
    }, 30_000, 200);
    expect(s['retained']).toBe(10);
    const oldest = (s['oldest_retained'] as { snapshot_id: string }).snapshot_id;
    for (const p of [`/v1/trades?${window}&as_of=${first}`, `/v1/trades?${window}&format=csv&as_of=${first}`, `/v1/trades?${window}&as_of=${encodeURIComponent(firstTime)}`, `/v1/summary?symbol=${SYMBOL}&date=${isoFromMicros(D1).slice(0, 10)}&as_of=${first}`]) {
      const r = await raw(q(p));
      expect({ p, status: r.status }).toEqual({ p, status: 410 });
      expect(r.body['error']).toMatchObject({ code: ErrorCode.QUERY_SNAPSHOT_EXPIRED, parameter: 'as_of' });
      expect((r.body['error'] as { message: string }).message).toContain(`keeps 5 days and at least the newest 10 snapshots of the trades table; the oldest retained is snapshot ${oldest}`);
    }
    expect((await raw(q(`/v1/trades?${window}&limit=10000&as_of=${oldest}`))).status).toBe(200);
  });
});

describe('reference data', () => {
  type Ref = Record<string, unknown> & { vendor_data: Record<string, string> };
  const ref = async (p: string) => {
    const r = await raw(`/v1/reference?${p}`);
    expect({ p, status: r.status }).toEqual({ p, status: 200 });
    return r.body['data'] as Ref[];
  };

  it('serves reference_data_v2 as the ASX loader wrote it, effective on or before a date in the exchange calendar', async () => {
    await committed('reference_data_v2', 6);
    const all = await ref('as_of_date=2020-01-01');
    expect(all.map((r) => `${String(r['symbol'])}:${String(r['record_type'])}`)).toEqual(['BHP:DIVIDEND', 'BHP:INSTRUMENT', 'DVN:INSTRUMENT', 'MWR:INSTRUMENT', 'RIO:DIVIDEND', 'RIO:INSTRUMENT']);
    // BHP's dividend goes ex on 2014-03-03, a Sydney midnight (2014-03-02T13:00Z): not effective on the 2nd.
    expect((await ref('symbol=BHP&as_of_date=2014-03-02')).map((r) => r['record_type'])).toEqual(['INSTRUMENT']);
    const [div] = await ref('symbol=bhp&type=dividend&as_of_date=2014-03-03');
    expect(div).toMatchObject({
      symbol: 'BHP',
      exchange: 'ASX',
      instrument_id: '7078',
      record_type: 'DIVIDEND',
      currency: 'USD',
      effective_date: '2014-03-02T13:00:00.000000Z',
      effective_day: '2014-03-03',
      name: 'BHP BILLITON LTD',
      isin: 'AU000000BHP4',
    });
    // Amounts exact, as the loader's Decimal(18,8) text.
    expect(div.vendor_data).toMatchObject({ net_amount: '0.59000000', gross_amount: '0.84285700', ex_date: '03/03/2014' });
    expect((await ref('type=dividend&as_of_date=2014-03-05')).map((r) => r['symbol'])).toEqual(['BHP', 'RIO']);
    expect(await ref('type=split&as_of_date=2020-01-01')).toEqual([]);
    expect((await ref('type=instrument&as_of_date=2008-05-06')).map((r) => r['symbol'])).toEqual(['MWR']);
    // Time travel on the reference table too, and its snapshots listed.
    const id = ((await snapshots('reference'))['current_snapshot_id']) as string;
    const pinned = await raw(`/v1/reference?as_of_date=2020-01-01&as_of=${id}`);
    expect(pinned.body['data']).toEqual(all);
    expect((await raw('/v1/reference?type=bond')).status).toBe(400);
  });
});
