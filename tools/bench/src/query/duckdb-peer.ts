import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, DuckDBListValue, DuckDBTimestampTZValue, INTEGER, LIST, TIMESTAMPTZ, VARCHAR, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { SQL } from '@k2/query';
import type { LoadResult } from './loadgen';

/** One query the peer runs: the trades statement's parameters (files already chosen). */
export interface PeerQuery {
  files: string[];
  symbol: string;
  startUs: bigint;
  endUs: bigint;
}

/**
 * DuckDB alone over the same Parquet files, in this process, as the yardstick the API's throughput is compared
 * with: one instance with the API's thread count, `concurrency` connections in a closed loop, each running the API's
 * own SQL.trades statement (prepared once per connection) on the partition files of the window and materializing
 * the rows as JS objects (what the API's DuckDB path does too, before any JSON). No HTTP, no planning, no JSON.
 */
export async function runDuckdbPeer(next: () => PeerQuery, o: { concurrency: number; threads: number; warmupSeconds: number; seconds: number }): Promise<LoadResult> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(o.threads), enable_object_cache: 'true' });
  const stmts: DuckDBPreparedStatement[] = [];
  for (let i = 0; i < o.concurrency; i++) stmts.push(await (await instance.connect()).prepare(SQL.trades));
  const lat: number[] = [];
  let measuring = false;
  let errors = 0;
  const run = async (stmt: DuckDBPreparedStatement, until: number): Promise<void> => {
    while (Date.now() < until) {
      const q = next();
      const t = performance.now();
      try {
        stmt.bind(
          { files: new DuckDBListValue(q.files), symbol: q.symbol, exchange: null, start: new DuckDBTimestampTZValue(q.startUs), end: new DuckDBTimestampTZValue(q.endUs), cursor_ts: null, cursor_id: null, limit: 1000 },
          { files: LIST(VARCHAR), symbol: VARCHAR, exchange: VARCHAR, start: TIMESTAMPTZ, end: TIMESTAMPTZ, cursor_ts: TIMESTAMPTZ, cursor_id: VARCHAR, limit: INTEGER },
        );
        (await stmt.runAndReadAll()).getRowObjectsJS();
        if (measuring) lat.push(performance.now() - t);
      } catch {
        if (measuring) errors++;
      }
    }
  };
  await Promise.all(stmts.map((s) => run(s, Date.now() + o.warmupSeconds * 1000)));
  measuring = true;
  const t0 = Date.now();
  await Promise.all(stmts.map((s) => run(s, t0 + o.seconds * 1000)));
  const seconds = (Date.now() - t0) / 1000;
  instance.closeSync();
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
  return {
    name: 'duckdb-alone',
    requests: lat.length + errors,
    errors,
    firstError: undefined,
    statuses: { ok: lat.length, error: errors },
    seconds,
    rps: lat.length / seconds,
    latencyMs: { p50: pct(50), p95: pct(95), p99: pct(99), max: lat[lat.length - 1] ?? NaN, mean: lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length) },
    avgItems: 0,
    parsed: 0,
  };
}

/** The data files of one day and exchange under the bench warehouse (identity partitions on day and exchange). */
export function partitionFiles(warehouseDir: string, table: string, day: string, exchange: string): string[] {
  const dir = path.join(warehouseDir, ...table.split('.'), 'data', `timestamp_day=${day}`, `exchange=${exchange}`);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f)) : [];
}
