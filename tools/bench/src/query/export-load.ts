/**
 * Export throughput (issue 16): one export downloaded and counted as it arrives (never held), for bench:query's
 * "1-day all-symbol CSV export ≥ 500k rows/s" goal. Rows are the body's line breaks minus the CSV header line.
 */
export interface ExportResult {
  path: string;
  status: number;
  rows: number;
  bytes: number;
  /** Request to the first body byte (DuckDB's first day sorted), and request to the last byte. */
  firstByteMs: number;
  seconds: number;
  rowsPerSecond: number;
}

export async function measureExport(baseUrl: string, pathAndQuery: string, headers: Record<string, string> = {}): Promise<ExportResult> {
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}${pathAndQuery}`, { headers });
  let firstByteMs = -1;
  let lines = 0;
  let bytes = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const r = await reader?.read();
    if (!r || r.done) break;
    if (firstByteMs < 0) firstByteMs = performance.now() - t0;
    bytes += r.value.length;
    for (let i = r.value.indexOf(10); i >= 0; i = r.value.indexOf(10, i + 1)) lines++;
  }
  const seconds = (performance.now() - t0) / 1000;
  // Parquet is binary: its rows are in its footer, not counted here (-1).
  const rows = /format=parquet/.test(pathAndQuery) ? -1 : /format=csv/.test(pathAndQuery) ? Math.max(0, lines - 1) : lines;
  return { path: pathAndQuery, status: res.status, rows, bytes, firstByteMs: Math.round(firstByteMs), seconds, rowsPerSecond: rows < 0 ? -1 : Math.round(rows / seconds) };
}
