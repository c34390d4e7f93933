import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { barJson, partialFromRow, rebucket } from './bars';
import { boundedParams, bucketOf, epochBuckets } from './bucketing';
import { QueryEngine } from './engine';
import { MinuteBarCache } from './minute-bars';
import { localDay, zoneBoundaries } from './trading-day';

const DAY = 86_400_000_000n;
const D0 = 20_361n * DAY; // 2025-10-01 00:00 UTC

/** A daily summary's one bucket is the same whether regrouped from minute partials or aggregated by DuckDB alone. */
describe('MinuteBarCache single-bucket windows', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-minutes-'));
  const file = path.join(root, 'a.parquet');
  let engine: QueryEngine;

  beforeAll(async () => {
    const free = await DuckDBInstance.create(':memory:');
    const c = await free.connect();
    // Two days of one symbol, equal timestamps now and then (ties broken by message_id), exact decimals.
    await c.run(`COPY (
      SELECT lower(CAST(md5(CAST(i AS VARCHAR))::UUID AS VARCHAR)) AS message_id, 'BTCUSDT' AS symbol, 'BINANCE' AS exchange,
             make_timestamptz(${D0}::BIGINT + (i // 2) * 17000000) AS "timestamp",
             CAST(60000 + ((i * 7919) % 100000) / 1e8 AS DECIMAL(18,8)) AS price,
             CAST((i % 13) / 1000 + 0.00000001 AS DECIMAL(18,8)) AS quantity
      FROM range(20000) t(i)) TO '${file}' (FORMAT parquet)`);
    c.closeSync();
    free.closeSync();
    engine = await QueryEngine.create({ connections: 1, threads: 1, allowedDirectories: [root] });
  });

  afterAll(async () => {
    await engine?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('DuckDB alone and regrouped minutes give the same summary, and the window is kept', async () => {
    const signal = new AbortController().signal;
    for (const start of [D0, D0 + DAY, D0 + 2n * DAY]) {
      const cold = new MinuteBarCache(engine);
      const alone = await cold.partials(file, file, 'BTCUSDT', epochBuckets(DAY), start, start + DAY, signal);
      expect(cold.hasWindow(file, 'BTCUSDT', epochBuckets(DAY), start, start + DAY)).toBe(true);
      expect(cold.has(file, 'BTCUSDT')).toBe(false); // no minute partials were cached for it
      const warm = new MinuteBarCache(engine);
      const minutes = rebucket(await warm.get(file, file, 'BTCUSDT', signal), DAY, start, start + DAY);
      expect((await warm.partials(file, file, 'BTCUSDT', epochBuckets(DAY), start, start + DAY, signal)).map(barJson)).toEqual(minutes.map(barJson));
      expect(alone.map(barJson)).toEqual(minutes.map(barJson));
    }
  }, 60_000);

  // Trading days and time zones (issue 16): zone-aligned buckets from the minutes equal SQL.barsBounded's.
  it('a local day and zone-aligned hours are the same from minute partials and from SQL.barsBounded', async () => {
    const signal = new AbortController().signal;
    const cache = new MinuteBarCache(engine);
    const minutes = await cache.get(file, file, 'BTCUSDT', signal);
    const day = localDay('Australia/Sydney', '2025-10-01'); // D0 is 2025-09-30 00:00Z; the day is 14:00Z to 14:00Z (AEST)
    expect(day).toEqual({ startUs: D0 + 14n * 3_600_000_000n, endUs: D0 + DAY + 14n * 3_600_000_000n });
    const single = { bucketUs: day.endUs - day.startUs, starts: [day.startUs] };
    const cold = new MinuteBarCache(engine);
    const alone = await cold.partials(file, file, 'BTCUSDT', single, day.startUs, day.endUs, signal);
    expect(cold.hasWindow(file, 'BTCUSDT', single, day.startUs, day.endUs)).toBe(true);
    expect(alone.map(barJson)).toEqual(rebucket(minutes, bucketOf(single), day.startUs, day.endUs).map(barJson));
    expect(alone).toHaveLength(1);
    expect(alone[0].bucket).toBe(day.startUs);

    const start = D0 + 7n * 60_000_000n;
    const end = D0 + 2n * DAY;
    const hours = { bucketUs: 3_600_000_000n, starts: zoneBoundaries('Asia/Kolkata', 3_600_000, false, start, end).map((b) => b.us) };
    expect(hours.starts[0]).toBe(D0 - 1_800_000_000n); // 05:00 IST = 23:30Z the day before: a :30 boundary
    const sql = (await engine.query('barsBounded', { files: [file], symbol: 'BTCUSDT', exchange: null, start, end, ...boundedParams(hours.starts, end) }, signal)).map(partialFromRow);
    expect(sql.length).toBeGreaterThan(40);
    expect(sql.map(barJson)).toEqual(rebucket(minutes, bucketOf(hours), start, end).map(barJson));
  }, 60_000);
});
