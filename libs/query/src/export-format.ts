import { isoFromMicros } from '@k2/schema';
import type { Bar } from './bars';
import { checkKnown, InvalidParameterError, one, parseSelection, parseWindow, type Selection, type TimeWindow } from './params';
import type { TailKind, V2Record } from './tail-store';

/**
 * Export formats (issue 16, ADR 0019): the pure parts — which format, which rows, the file's name and headers, CSV
 * quoting (RFC 4180) for the header line and bars, and the tail records as the JSON text the export statements
 * read. The rows of trades and quotes are formatted by the statements in sql.ts, table and tail rows alike.
 */
export type ExportFormat = 'csv' | 'ndjson' | 'parquet';
export type ExportRoute = TailKind | 'bars';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
};

/** `format` of a trades/quotes/bars request: undefined for json (the paged answer, the default). */
export function exportFormatOf(q: Record<string, unknown>): ExportFormat | undefined {
  const v = one(q, 'format');
  if (v === undefined || v === '' || v === 'json') return undefined;
  if (v === 'csv' || v === 'ndjson' || v === 'parquet') return v;
  throw new InvalidParameterError('format', 'must be one of json, csv, ndjson, parquet');
}

/** The rows of an export: a window and a selection (params.ts Selection: every symbol when none is given). */
export interface ExportRequest extends TimeWindow, Selection {}

/**
 * trades/quotes with an export format: the selection of the JSON route (symbol optional or a list, exchange,
 * asset_class), `limit` and `cursor` are refused (an export is every row of the window, 31 days at most).
 */
export function parseExportRequest(route: TailKind, q: Record<string, unknown>, nowUs: bigint): ExportRequest {
  checkKnown(q, route);
  for (const p of ['limit', 'cursor']) if (q[p] !== undefined) throw new InvalidParameterError(p, 'an export (format=csv|ndjson|parquet) has every row of the window; page with format=json instead');
  return { ...parseSelection(q), ...parseWindow(q, nowUs, 15) };
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF (quotes doubled); null is the empty field. */
export function csvField(v: string | number | bigint | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (values: ReadonlyArray<string | number | bigint | null | undefined>): string => values.map(csvField).join(',');

/** Columns of the CSV exports, in the order the statements write them (docs/query-api.md "Export"). */
export const EXPORT_CSV_COLUMNS: Record<ExportRoute, readonly string[]> = {
  trades: ['message_id', 'trade_id', 'symbol', 'exchange', 'asset_class', 'timestamp_us', 'timestamp', 'price', 'quantity', 'currency', 'side', 'trade_conditions', 'source_sequence', 'ingestion_timestamp_us', 'ingestion_timestamp', 'platform_sequence', 'vendor_data'],
  quotes: ['message_id', 'symbol', 'exchange', 'asset_class', 'timestamp_us', 'timestamp', 'bid_price', 'bid_quantity', 'ask_price', 'ask_quantity', 'currency', 'source_sequence', 'ingestion_timestamp_us', 'ingestion_timestamp', 'platform_sequence', 'vendor_data'],
  bars: ['time_us', 'time', 'open', 'high', 'low', 'close', 'volume', 'vwap', 'trades', 'first_trade_time_us', 'first_trade_time', 'last_trade_time_us', 'last_trade_time'],
};

const us = (iso: string | null): string | null => (iso === null ? null : String(BigInt(Date.parse(iso.slice(0, 23) + 'Z')) * 1000n + BigInt(iso.slice(23, 26))));

/** One bar as a CSV line (columns EXPORT_CSV_COLUMNS.bars): times µs and RFC 3339, decimals as the JSON route's text. */
export function barCsvLine(b: Bar): string {
  return csvLine([us(b.time), b.time, b.open, b.high, b.low, b.close, b.volume, b.vwap, b.trades, us(b.first_trade_time), b.first_trade_time, us(b.last_trade_time), b.last_trade_time]);
}

/** `trades_BTCUSDT_2026-10-01T00-00-00Z_2026-10-02T00-00-00Z.csv`: safe in a quoted filename (no quotes, slashes or colons). */
export function exportFilename(route: ExportRoute, symbols: readonly string[] | undefined, startUs: bigint, endUs: bigint, format: ExportFormat): string {
  const who = symbols === undefined ? 'all' : symbols.length > 3 ? `${symbols.length}-symbols` : symbols.join('+');
  const t = (x: bigint) => isoFromMicros(x).replace(/\.0{6}Z$/, 'Z').replace(/:/g, '-').replace('.', '_');
  return `${route}_${who.replace(/[^A-Za-z0-9._+-]/g, '-')}_${t(startUs)}_${t(endUs)}.${format}`;
}

const TIME_FIELDS = new Set(['timestamp', 'ingestion_timestamp']);

/** vendor_data as the table holds it (lake rows.ts mapToJson): JSON text with sorted keys. */
function vendorJson(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const o = v as Record<string, string>;
  return JSON.stringify(Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]])));
}

/**
 * Tail records as the JSON text the export statements unnest ($tail): timestamps RFC 3339 with µs (read as
 * TIMESTAMPTZ), longs and decimals as text (read as BIGINT / DECIMAL(18,8), never through a double), vendor_data
 * as the table's JSON text.
 */
export function tailJson(recs: readonly V2Record[]): string {
  const parts: string[] = [];
  for (const rec of recs) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) {
      if (k === 'vendor_data') o[k] = vendorJson(v);
      else if (typeof v === 'bigint') o[k] = TIME_FIELDS.has(k) ? isoFromMicros(v) : v.toString();
      else o[k] = v ?? null;
    }
    parts.push(JSON.stringify(o));
  }
  return `[${parts.join(',')}]`;
}

/** RFC 4180 text → rows of fields (quoted fields may hold commas, quotes and line breaks); for tests and clients. */
export function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}
