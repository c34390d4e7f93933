import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isoFromMicros, type TradeV2 } from '@k2/schema';
import { committedRows, makeQuotes, makeTrades, produce, sinkTestEnv, startSink, type SinkTestEnv } from '@k2/lake-testing';
import { EXPORT_CSV_COLUMNS, readCsv } from '@k2/query';
import { waitFor } from '@k2/testing';
import { lakeApiEnv, startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Export (issue 16, ADR 0019) against the real writer, catalog, Kafka tail and a query-api process: trades of three
 * symbols over two days are committed by the writer, then more trades and replays of committed ones arrive while
 * the writer is stopped (the tail part). Every export must hold exactly the rows of paging through the JSON route,
 * oldest first: CSV and NDJSON parsed and compared row for row, Parquet read back with PyArrow (decimal128(18,8),
 * timestamp[us, UTC], exact values).
 */
const DAY = 86_400_000_000n;
const D = ((BigInt(Date.now()) * 1000n) / DAY) * DAY - 5n * DAY;
const N = 6000;
const PYTHON = process.env['K2_PYTHON'] ?? '/work/main/.data/venv/bin/python';

let env: SinkTestEnv;
let api: QueryApiProcess;
let exchange: string;
let tmp: string;
const window = `start=${isoFromMicros(D)}&end=${isoFromMicros(D + 2n * DAY)}`;

type Rec = Record<string, unknown>;

/** Every row of a JSON route's window, paged by cursor and put oldest first (the export's order). */
async function jsonRows(route: string, query: string): Promise<Rec[]> {
  const out: Rec[] = [];
  let cursor: string | null = null;
  do {
    const res = await api.get(`/v1/${route}?${query}&limit=10000${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Rec[]; next_cursor: string | null };
    out.push(...body.data);
    cursor = body.next_cursor;
  } while (cursor);
  return out.reverse();
}

/** A CSV export row back in the JSON route's encoding (docs/query-api.md "Export" lists the columns). */
function csvToJson(cols: readonly string[], row: string[]): Rec {
  const o: Rec = {};
  cols.forEach((c, i) => {
    const v = row[i];
    if (c.endsWith('_us')) {
      const iso = row[cols.indexOf(c.slice(0, -3))];
      expect(v === '' ? '' : isoFromMicros(BigInt(v))).toBe(iso); // the µs column and the RFC 3339 column agree
      return;
    }
    if (c === 'trade_conditions' || c === 'vendor_data') o[c] = v === '' ? null : JSON.parse(v);
    else o[c] = v === '' && /sequence|vwap/.test(c) ? null : v;
  });
  return o;
}

async function download(pathAndQuery: string): Promise<{ res: Response; body: Buffer }> {
  const res = await api.get(pathAndQuery);
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

/** The Parquet file as PyArrow reads it: column types, and rows with decimals as text and timestamps as µs. */
function readParquet(file: string): { types: Record<string, string>; rows: Rec[] } {
  const script = `
import decimal, json, sys
import pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
types = {f.name: str(f.type) for f in t.schema}
cols = {}
for f in t.schema:
    c = t.column(f.name)
    if pa.types.is_timestamp(f.type):
        c = c.cast(pa.int64())
    cols[f.name] = [None if v is None else v if isinstance(v, list) else format(v, 'f') if isinstance(v, decimal.Decimal) else str(v) for v in c.to_pylist()]
rows = [{k: cols[k][i] for k in cols} for i in range(t.num_rows)]
print(json.dumps({"types": types, "rows": rows}, default=str))
`;
  const out = execFileSync(PYTHON, ['-c', script, file], { maxBuffer: 256 * 1024 * 1024 }).toString();
  // Every value is text (ints and decimals exact), lists stay lists.
  return JSON.parse(out) as { types: Record<string, string>; rows: Rec[] };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-export-itest-'));
  env = await sinkTestEnv();
  exchange = env.exchange.toUpperCase();
  const committed = makeTrades(env.exchange, 1, N, D);
  await produce(env, 'trades', committed);
  await produce(env, 'quotes', makeQuotes(env.exchange, 1, 600, D));
  const writer = await startSink(env, { commit: { intervalMs: 700, maxRows: 2000, maxBytes: 64 * 1024 * 1024 } });
  try {
    await waitFor('writer committed', async () => ((await committedRows(writer, env.namespace, 'trades_v2')) >= N ? true : undefined), 90_000, 300);
  } finally {
    await writer.stop();
  }
  api = await startQueryApi(
    lakeApiEnv(env, {
      QUERY_TAIL_TOPICS: env.topicList,
      QUERY_REFRESH_MS: '200',
    }),
  );
  // The tail part: new trades in the same window, and replays of committed ones (same message ids).
  const fresh: TradeV2[] = makeTrades(env.exchange, N + 1, 900, D);
  await produce(env, 'trades', [...fresh, ...committed.slice(100, 400)]);
  await waitFor('tail caught up', async () => {
    const res = await api.get(`/v1/trades?${window}&limit=1`);
    return /tail=1$/.test(res.headers.get('x-k2-rows') ?? '') && (await jsonRows('trades', window)).length === N + 900 ? true : undefined;
  }, 60_000, 500);
}, 240_000);

afterAll(async () => {
  await api?.kill();
  await env?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('query-api export', () => {
  it('CSV of every symbol: the JSON route\'s rows, oldest first, table and tail, with its headers', async () => {
    const expected = await jsonRows('trades', window);
    expect(expected.length).toBe(N + 900);
    const { res, body } = await download(`/v1/trades?${window}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="trades_all_${isoFromMicros(D).replace(/\.0+Z$/, 'Z').replace(/:/g, '-')}_${isoFromMicros(D + 2n * DAY).replace(/\.0+Z$/, 'Z').replace(/:/g, '-')}.csv"`);
    expect(res.headers.get('x-k2-snapshot-id')).toMatch(/^\d+$/);
    expect(res.headers.get('x-k2-sources')).toBe('iceberg,kafka-tail');
    expect(res.headers.get('x-k2-degraded')).toBeNull();
    const [header, ...rows] = readCsv(body.toString('utf8'));
    expect(header).toEqual(EXPORT_CSV_COLUMNS.trades);
    expect(rows.map((r) => csvToJson(header, r))).toEqual(expected);
  });

  it('NDJSON of one symbol equals the JSON route record for record', async () => {
    const q = `symbol=ETHUSDT&exchange=${exchange}&${window}`;
    const expected = await jsonRows('trades', q);
    expect(expected.length).toBeGreaterThan(1000);
    const { res, body } = await download(`/v1/trades?${q}&format=ndjson`);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.headers.get('content-disposition')).toMatch(/filename="trades_ETHUSDT_.*\.ndjson"/);
    const lines = body.toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l) as Rec)).toEqual(expected);
  });

  it('Parquet read with PyArrow: decimal128(18,8), timestamp[us, UTC], the same rows and exact values', async () => {
    const expected = await jsonRows('trades', window);
    const { res, body } = await download(`/v1/trades?${window}&format=parquet`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    const file = path.join(tmp, 'trades.parquet');
    fs.writeFileSync(file, body);
    const { types, rows } = readParquet(file);
    expect(types).toMatchObject({ price: 'decimal128(18, 8)', quantity: 'decimal128(18, 8)', timestamp: 'timestamp[us, tz=UTC]', ingestion_timestamp: 'timestamp[us, tz=UTC]', source_sequence: 'int64', platform_sequence: 'int64' });
    const asJson = rows.map((r) => ({
      ...r,
      timestamp: isoFromMicros(BigInt(String(r['timestamp']))),
      ingestion_timestamp: isoFromMicros(BigInt(String(r['ingestion_timestamp']))),
      vendor_data: r['vendor_data'] === null ? null : JSON.parse(String(r['vendor_data'])),
    }));
    expect(asJson).toEqual(expected);
  });

  it('quotes and bars export too; bad formats and paging parameters are a 400', async () => {
    const q = `symbol=BTCUSDT&exchange=${exchange}&${window}`;
    const quotes = await jsonRows('quotes', q);
    expect(quotes.length).toBeGreaterThan(0);
    const csv = readCsv((await download(`/v1/quotes?${q}&format=csv`)).body.toString('utf8'));
    expect(csv[0]).toEqual(EXPORT_CSV_COLUMNS.quotes);
    expect(csv.slice(1).map((r) => csvToJson(csv[0], r))).toEqual(quotes);

    const bq = `symbol=BTCUSDT&exchange=${exchange}&interval=1h&${window}`;
    const bars = ((await (await api.get(`/v1/bars?${bq}`)).json()) as { data: Rec[] }).data;
    expect(bars.length).toBeGreaterThan(0);
    const nd = (await download(`/v1/bars?${bq}&format=ndjson`)).body.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
    expect(nd).toEqual(bars);
    const bcsv = readCsv((await download(`/v1/bars?${bq}&format=csv`)).body.toString('utf8'));
    expect(bcsv.slice(1).map((r) => ({ ...csvToJson(bcsv[0], r), trades: Number(r[bcsv[0].indexOf('trades')]) }))).toEqual(bars);
    const bfile = path.join(tmp, 'bars.parquet');
    fs.writeFileSync(bfile, (await download(`/v1/bars?${bq}&format=parquet`)).body);
    const bp = readParquet(bfile);
    expect(bp.types).toMatchObject({ open: 'decimal128(18, 8)', time: 'timestamp[us, tz=UTC]' });
    expect(bp.rows.map((r) => r['close'])).toEqual(bars.map((b) => b['close']));

    for (const bad of [`/v1/trades?${q}&format=xml`, `/v1/trades?${q}&format=csv&limit=10`, `/v1/trades?${q}&format=csv&cursor=abc`, `/v1/trades?${q}&format=csv&format=json`]) {
      const r = await api.get(bad);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('K2_QUERY_INVALID_PARAMETER');
    }
  });

  it('a client that disconnects cancels the export; the process stays flat and keeps answering', async () => {
    const round = async () => {
      for (let i = 0; i < 5; i++) {
        const ac = new AbortController();
        const res = await api.get(`/v1/trades?${window}&format=csv`, { signal: ac.signal });
        await res.body!.getReader().read();
        ac.abort();
      }
      for (let i = 0; i < 5; i++) expect((await download(`/v1/trades?${window}&format=ndjson`)).body.toString('utf8').split('\n').length).toBe(N + 900 + 1);
      return api.metric('process_resident_memory_bytes');
    };
    // The first round warms DuckDB's buffer pool (bounded by its share of QUERY_MEMORY_BUDGET); later rounds may add
    // allocator slack and not-yet-collected native results, but stay far below the 1 GiB container (the bench's
    // 10M-row export is the flatness measurement, ADR 0019).
    const rss = [await round(), await round(), await round(), await round()];
    console.log(`export itest: API RSS after rounds of 10 exports: ${rss.map((r) => (r / 2 ** 20).toFixed(0)).join(', ')} MiB`);
    expect(rss[3] - rss[1]).toBeLessThan(128 * 2 ** 20);
    expect(Math.max(...rss)).toBeLessThan(768 * 2 ** 20);
    expect(await api.metric('k2_query_requests_total', { route: 'trades', status: '200' })).toBeGreaterThan(0);
    expect((await api.get(`/v1/trades?symbol=BTCUSDT&${window}&limit=5`)).status).toBe(200);
  });
});
