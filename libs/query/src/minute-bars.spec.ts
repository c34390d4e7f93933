import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { barJson, rebucket } from './bars';
import { QueryEngine } from './engine';
import { MinuteBarCache } from './minute-bars';

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
      const alone = await cold.partials(file, file, 'BTCUSDT', DAY, start, start + DAY, signal);
      expect(cold.hasWindow(file, 'BTCUSDT', DAY, start, start + DAY)).toBe(true);
      expect(cold.has(file, 'BTCUSDT')).toBe(false); // no minute partials were cached for it
      const warm = new MinuteBarCache(engine);
      const minutes = rebucket(await warm.get(file, file, 'BTCUSDT', signal), DAY, start, start + DAY);
      expect((await warm.partials(file, file, 'BTCUSDT', DAY, start, start + DAY, signal)).map(barJson)).toEqual(minutes.map(barJson));
      expect(alone.map(barJson)).toEqual(minutes.map(barJson));
    }
  }, 60_000);
});
