import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createLogger } from '@k2/core';
import type { PlannedFile } from '@k2/iceberg';
import { QueryEngine } from './engine';
import { encodeColumn, valueAt } from './hot-columns';
import { HotSlice, HotTier } from './hot-tier';
import { hotPage, hotPageRows, type HotQuery } from './hot-page';
import { RawJsonArray, renderBody } from './merge-page';
import { recordJson, tableRowToRecord } from './records';

const logger = createLogger({ service: 'hot-tier-spec', silent: true });
const T0 = 1_790_000_000_000_000n; // 2026-09 in µs
const planned = (p: string, rows: number): PlannedFile => ({ file: { 'file-path': p, 'record-count': rows } as PlannedFile['file'], specId: 0, sequenceNumber: 1 });

/**
 * Trades in the table's column types (DECIMAL(18,8), TIMESTAMPTZ, BIGINT sequences, a list of conditions, vendor
 * JSON text), written to Parquet by a separate DuckDB: two symbols, two exchanges in one file, many equal
 * timestamps (ties broken by message_id), nulls, negative and zero decimals, ids above 2^53.
 */
const WRITE = (file: string, seed: number): string => `
  COPY (
    SELECT uuid_v AS message_id, CAST(1000000 + i AS VARCHAR) AS trade_id,
           CASE WHEN i % 3 = 0 THEN 'ETHUSDT' ELSE 'BTCUSDT' END AS symbol,
           CASE WHEN i % 5 = 0 THEN 'KRAKEN' ELSE 'BINANCE' END AS exchange, 'crypto' AS asset_class,
           make_timestamptz(${T0}::BIGINT + (i // 4) * 1000000 + ${seed}) AS "timestamp",
           CAST(((i * 7919) % 200000 - 1000) / 1e8 + 60000 * (i % 2) AS DECIMAL(18,8)) AS price,
           CAST((i % 17) / 100 AS DECIMAL(18,8)) AS quantity,
           'USDT' AS currency, CASE WHEN i % 2 = 0 THEN 'BUY' ELSE 'SELL' END AS side,
           CASE WHEN i % 7 = 0 THEN ['odd_lot'] ELSE [] END::VARCHAR[] AS trade_conditions,
           CASE WHEN i % 11 = 0 THEN NULL ELSE 9007199254740993 + i END::BIGINT AS source_sequence,
           make_timestamptz(${T0}::BIGINT + i * 250000 + 7) AS ingestion_timestamp,
           (9223372036854770000 + i)::BIGINT AS platform_sequence,
           CASE WHEN i % 13 = 0 THEN '{"venue":"x"}' ELSE NULL END AS vendor_data
    FROM (SELECT i, lower(CAST(md5(CAST(i * ${seed + 1} AS VARCHAR))::UUID AS VARCHAR)) AS uuid_v FROM range(4000) t(i))
  ) TO '${file}' (FORMAT parquet)`;

describe('hot tier', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-hot-'));
  const fileA = path.join(root, 'a.parquet');
  const fileB = path.join(root, 'b.parquet');
  let engine: QueryEngine;

  beforeAll(async () => {
    const free = await DuckDBInstance.create(':memory:');
    const c = await free.connect();
    await c.run(WRITE(fileA, 0));
    await c.run(WRITE(fileB, 500_000)); // overlaps A in time: a window spans both files
    c.closeSync();
    free.closeSync();
    engine = await QueryEngine.create({ connections: 2, threads: 1, allowedDirectories: [root] });
  });

  afterAll(async () => {
    await engine?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const viaDuck = async (files: string[], symbol: string, q: HotQuery): Promise<string> => {
    const rows = await engine.query('trades', { files, symbol, exchange: q.exchange, start: q.startUs, end: q.endUs, cursor_ts: q.cursor?.ts ?? null, cursor_id: q.cursor?.id ?? null, limit: q.limit });
    return JSON.stringify(rows.map(tableRowToRecord).map(recordJson));
  };

  it('answers byte for byte what DuckDB answers: windows, exchanges, cursors, limits, one file or two', async () => {
    const tier = new HotTier({ engine, logger, maxBytes: 64 * 1024 * 1024, restFactor: 0 });
    const files = [planned(fileA, 4000), planned(fileB, 4000)];
    for (const symbol of ['BTCUSDT', 'ETHUSDT']) tier.schedule('trades', files, symbol, async (p) => p);
    await tier.settled();
    let checked = 0;
    for (let k = 0; k < 60; k++) {
      const symbol = k % 2 ? 'BTCUSDT' : 'ETHUSDT';
      const exchange = k % 3 === 0 ? 'KRAKEN' : k % 3 === 1 ? null : 'BINANCE';
      const startUs = T0 + BigInt((k * 37) % 900) * 1_000_000n;
      const endUs = startUs + BigInt(1 + ((k * 53) % 400)) * 1_000_000n;
      const limit = 1 + ((k * 29) % 300);
      const two = k % 4 !== 0;
      const slices = tier.lookup('trades', two ? files : files.slice(0, 1), symbol);
      expect(slices).toBeDefined();
      const paths = two ? [fileA, fileB] : [fileA];
      let q: HotQuery = { exchange, startUs, endUs, cursor: null, limit };
      for (let page = 0; page < 3; page++) {
        const hot = hotPage(slices ?? [], q);
        expect(JSON.stringify(hot.map(recordJson))).toBe(await viaDuck(paths, symbol, q));
        checked += hot.length;
        const last = hot[hot.length - 1];
        if (!last || hot.length < limit) break;
        // Cursor at the last row: equal timestamps continue by message_id, as in the SQL.
        q = { ...q, cursor: { ts: last['timestamp'] as bigint, id: String(last['message_id']) } };
      }
    }
    expect(checked).toBeGreaterThan(1000);
  }, 60_000); // 180 DuckDB reads: seconds on 2 shared cores

  it('across symbols: the slices of every (file, symbol) pair answer what tradesAcross answers, page by page', async () => {
    const tier = new HotTier({ engine, logger, maxBytes: 64 * 1024 * 1024, restFactor: 0 });
    const files = [planned(fileA, 4000), planned(fileB, 4000)];
    const pairs = files.flatMap((file) => ['BTCUSDT', 'ETHUSDT'].map((symbol) => ({ file, symbol })));
    expect(tier.lookupPairs('trades', pairs, async (p) => p)).toBeUndefined(); // a miss schedules the loads
    await tier.settled();
    const slices = tier.lookupPairs('trades', pairs, async (p) => p);
    expect(slices).toHaveLength(4);
    let checked = 0;
    for (let k = 0; k < 12; k++) {
      const exchange = k % 3 === 0 ? 'KRAKEN' : k % 3 === 1 ? null : 'BINANCE';
      const startUs = T0 + BigInt((k * 41) % 900) * 1_000_000n;
      let q: HotQuery = { exchange, startUs, endUs: startUs + BigInt(50 + ((k * 53) % 400)) * 1_000_000n, cursor: null, limit: 1 + ((k * 31) % 200) };
      for (let page = 0; page < 3; page++) {
        const hot = hotPage(slices ?? [], q);
        const sql = await engine.query('tradesAcross', { files: [fileA, fileB], symbols: null, asset_class: null, exchange: q.exchange, start: q.startUs, end: q.endUs, cursor_ts: q.cursor?.ts ?? null, cursor_id: q.cursor?.id ?? null, limit: q.limit });
        expect(JSON.stringify(hot.map(recordJson))).toBe(JSON.stringify(sql.map(tableRowToRecord).map(recordJson)));
        checked += hot.length;
        const last = hot[hot.length - 1];
        if (!last || hot.length < q.limit) break;
        q = { ...q, cursor: { ts: last['timestamp'] as bigint, id: String(last['message_id']) } };
      }
    }
    expect(checked).toBeGreaterThan(300);
  }, 60_000);

  it('formats each row straight from the columns into the JSON text the records would give, byte for byte', async () => {
    const tier = new HotTier({ engine, logger, maxBytes: 64 * 1024 * 1024, restFactor: 0 });
    const files = [planned(fileA, 4000), planned(fileB, 4000)];
    tier.schedule('trades', files, 'BTCUSDT', async (p) => p);
    await tier.settled();
    const slices = tier.lookup('trades', files, 'BTCUSDT') ?? [];
    let rows = 0;
    for (const s of slices) {
      for (let i = 0; i < s.rows; i++) expect(s.jsonAt(i)).toBe(JSON.stringify(recordJson(tableRowToRecord(s.rowAt(i)))));
      rows += s.rows;
    }
    expect(rows).toBeGreaterThan(1000);
    const q: HotQuery = { exchange: null, startUs: T0, endUs: T0 + 900_000_000n, cursor: null, limit: 500 };
    expect(hotPageRows(slices, q).map((r) => r.text)).toEqual(hotPage(slices, q).map((r) => JSON.stringify(recordJson(r))));
    const body = { data: new RawJsonArray(hotPageRows(slices, q).map((r) => r.text)), next_cursor: null, meta: { snapshot_id: '1', degraded: [] } };
    expect(renderBody(body)).toBe(JSON.stringify({ ...body, data: hotPage(slices, q).map(recordJson) }));
  });

  it('is pruned against the current plan and stays inside its byte budget (LRU)', async () => {
    const probe = new HotTier({ engine, logger, maxBytes: 1e9, restFactor: 0 });
    probe.schedule('trades', [planned(fileA, 4000)], 'BTCUSDT', async (p) => p);
    await probe.settled();
    const one = probe.stats.bytes;
    expect(one).toBeGreaterThan(0);
    const tier = new HotTier({ engine, logger, maxBytes: Math.floor(one * 1.5), restFactor: 0 });
    tier.schedule('trades', [planned(fileA, 4000)], 'BTCUSDT', async (p) => p);
    await tier.settled();
    // Full: a slice is admitted on its second miss only (a one-off window cannot churn the tier).
    tier.schedule('trades', [planned(fileB, 4000)], 'BTCUSDT', async (p) => p);
    await tier.settled();
    expect(tier.lookup('trades', [planned(fileB, 4000)], 'BTCUSDT')).toBeUndefined();
    tier.schedule('trades', [planned(fileB, 4000)], 'BTCUSDT', async (p) => p);
    await tier.settled();
    expect(tier.stats.bytes).toBeLessThanOrEqual(tier.stats.limit);
    expect(tier.lookup('trades', [planned(fileA, 4000)], 'BTCUSDT')).toBeUndefined(); // least recently used went
    expect(tier.lookup('trades', [planned(fileB, 4000)], 'BTCUSDT')).toBeDefined();
    // A new snapshot no longer plans B (e.g. compacted away): its slice leaves; A is loaded again on demand.
    tier.prune('trades', new Set([fileA]));
    expect(tier.stats.slices).toBe(0);
    expect(tier.lookup('trades', [planned(fileB, 4000)], 'BTCUSDT')).toBeUndefined();
    expect(tier.lookup('trades', [planned(fileA, 4000)], 'BTCUSDT')).toBeUndefined();
    // The quotes table's slices are not touched by the trades table's prune.
    expect(new HotTier({ engine, logger, maxBytes: 0, restFactor: 0 }).lookup('trades', [], 'X')).toBeUndefined();
  }, 30_000);

  it('does not retry a slice whose load failed for good (a file the statement cannot read)', async () => {
    const bad = path.join(root, 'bad.parquet');
    const free = await DuckDBInstance.create(':memory:');
    const c = await free.connect();
    await c.run(`COPY (SELECT 'BTCUSDT' AS symbol) TO '${bad}' (FORMAT parquet)`);
    c.closeSync();
    free.closeSync();
    const tier = new HotTier({ engine, logger, maxBytes: 1e9, restFactor: 0 });
    tier.schedule('trades', [planned(bad, 1)], 'BTCUSDT', async (p) => p);
    await tier.settled();
    tier.schedule('trades', [planned(bad, 1)], 'BTCUSDT', async (p) => p);
    expect(tier.stats.pending).toBe(0);
    expect(tier.lookup('trades', [planned(bad, 1)], 'BTCUSDT')).toBeUndefined();
  }, 30_000);

  it('encodes a column only when every value round-trips, else keeps it as given', () => {
    const cases: unknown[][] = [
      ['1.50000000', '-0.50000000', null, '99999999.99999999'],
      ['-0.00000000', '1.50000000'], // not canonical: kept as text
      ['9223372036854775807', '-9223372036854775808', null, '0'],
      ['9223372036854775808'], // beyond int64: kept as text
      ['007', '8'],
      [10n, null, -(2n ** 63n)],
      ['0f0e0d0c-0b0a-0908-0706-050403020100', null],
      ['0F0E0D0C-0B0A-0908-0706-050403020100'],
      [['a', 'b'], [], null, ['a', 'b']],
      [{ x: 1 }, 'y'],
    ];
    for (const values of cases) {
      const c = encodeColumn(values);
      expect(values.map((_, i) => valueAt(c, i))).toEqual(values);
    }
    expect(encodeColumn(cases[0]).t).toBe('dec');
    expect(encodeColumn(cases[1]).t).not.toBe('dec');
    expect(encodeColumn(cases[6]).t).toBe('uuid');
    expect(HotSlice.fromRows([]).rows).toBe(0);
  });
});
