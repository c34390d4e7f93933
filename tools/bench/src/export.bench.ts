/**
 * Export benchmark (issue 16): query-api over bench:query's dataset (BENCH_DATA_DIR, default .data/bench/query; it is
 * built if missing), the tail off, the default memory budget. Sequentially: a 1-day all-symbol CSV export (goal
 * ≥ 500k rows/s with the API's RSS ≤ 1 GiB), a 30-day one-symbol CSV, NDJSON and Parquet, and 4 days of every symbol
 * as CSV (1.3M rows: the RSS must stay flat). Peak RSS sampled from /proc every 200 ms.
 *   npx tsx --tsconfig tsconfig.base.json tools/bench/src/export.bench.ts
 */
import path from 'node:path';
import { repoRoot } from '@k2/testing';
import { ensureDataset } from './query/dataset';
import { rssOf, rssSampler, startQueryApi } from './query/api-process';
import { measureExport } from './query/export-load';

const iso = (ms: number) => new Date(ms).toISOString();
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const root = repoRoot();
  const dir = path.resolve(process.env['BENCH_DATA_DIR'] || path.join(root, '.data', 'bench', 'query'));
  const ds = await ensureDataset({ root: dir, symbols: 20, days: 30, tradesPerSymbolDay: 16_700, rebuild: false, log: (l) => console.log(l) });
  const api = await startQueryApi(root, { ICEBERG_CATALOG: 'sql', ICEBERG_CATALOG_URI: ds.catalogUri, ICEBERG_CATALOG_NAME: ds.catalogName, ICEBERG_WAREHOUSE: ds.warehouse, QUERY_TAIL_ENABLED: 'false', LOG_LEVEL: 'warn' });
  const results: Array<Record<string, unknown>> = [];
  try {
    const day = ds.startMs + 14 * 86_400_000;
    const sym = ds.symbols[0];
    const month = `start=${iso(ds.startMs)}&end=${iso(ds.startMs + ds.days * 86_400_000)}`;
    const runs = [
      { name: '1-day all-symbol CSV', path: `/v1/trades?start=${iso(day)}&end=${iso(day + 86_400_000)}&format=csv` },
      { name: '30-day one-symbol CSV', path: `/v1/trades?symbol=${encodeURIComponent(sym.symbol)}&exchange=${sym.exchange}&${month}&format=csv` },
      { name: '30-day one-symbol NDJSON', path: `/v1/trades?symbol=${encodeURIComponent(sym.symbol)}&exchange=${sym.exchange}&${month}&format=ndjson` },
      { name: '30-day one-symbol Parquet', path: `/v1/trades?symbol=${encodeURIComponent(sym.symbol)}&exchange=${sym.exchange}&${month}&format=parquet` },
      { name: '4-day all-symbol CSV', path: `/v1/trades?start=${iso(day)}&end=${iso(day + 4 * 86_400_000)}&format=csv` },
    ];
    for (const r of runs) {
      const before = rssOf(api.pid) ?? 0;
      const rss = rssSampler(api.pid, 100);
      const m = await measureExport(api.baseUrl, r.path);
      rss.stop();
      const line = { name: r.name, status: m.status, rows: m.rows, bytes: m.bytes, seconds: Number(m.seconds.toFixed(2)), rows_per_s: m.rowsPerSecond, first_byte_ms: m.firstByteMs, rss_before: before, rss_peak: rss.peak() };
      results.push(line);
      console.log(`${r.name.padEnd(42)} ${m.status} ${m.rows.toLocaleString().padStart(11)} rows ${mb(m.bytes).padStart(9)} ${m.seconds.toFixed(2).padStart(6)} s ${m.rowsPerSecond.toLocaleString().padStart(9)} rows/s  first byte ${m.firstByteMs} ms  RSS ${mb(before)} → peak ${mb(rss.peak())}`);
    }
  } finally {
    await api.stop();
  }
  console.log(`BENCH ${JSON.stringify({ export: results, peak_rss: Math.max(...results.map((r) => Number(r['rss_peak']))) })}`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
