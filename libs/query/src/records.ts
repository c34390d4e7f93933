import { isoFromMicros } from '@k2/schema';
import type { V2Record } from './tail-store';

/** Fields holding µs since epoch; everything else that is a bigint is a long id/sequence, sent as a string. */
const TIME_FIELDS = new Set(['timestamp', 'ingestion_timestamp', 'effective_date', 'first_seen', 'last_seen']);

/**
 * A V2 record as API JSON: timestamps ISO-8601 UTC with µs, decimals as their canonical text (never a JSON
 * number), longs (sequences, which may exceed 2^53) as strings, vendor_data as an object.
 */
export function recordJson(rec: V2Record): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) out[k] = jsonValue(k, v);
  return out;
}

/** One field of `recordJson`. */
export function jsonValue(field: string, v: unknown): unknown {
  if (typeof v === 'bigint') return TIME_FIELDS.has(field) ? isoFromMicros(v) : v.toString();
  return v ?? null;
}

export const isTimeField = (field: string): boolean => TIME_FIELDS.has(field);

/** The trade fields the live views need (the SSE contract). */
export function tradeStreamJson(rec: V2Record): Record<string, unknown> {
  return {
    message_id: rec['message_id'],
    trade_id: rec['trade_id'],
    symbol: rec['symbol'],
    exchange: rec['exchange'],
    asset_class: rec['asset_class'],
    timestamp: isoFromMicros(rec['timestamp'] as bigint),
    price: rec['price'],
    quantity: rec['quantity'],
    currency: rec['currency'],
    side: rec['side'],
  };
}

const big = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as string | bigint));

/**
 * A row of SQL.trades / SQL.quotes back in the shape the tail holds (the decoded Avro record), so both sources
 * go through one merge and one formatter: sequences bigint, vendor_data parsed from the table's JSON text.
 */
export function tableRowToRecord(row: Record<string, unknown>): V2Record {
  const rec: V2Record = { ...row };
  for (const f of CONVERTED) rec[f] = tableValue(f, row[f]);
  return rec;
}

/** The fields tableRowToRecord converts (and adds, as null, when a row lacks them). */
const CONVERTED = ['source_sequence', 'platform_sequence', 'vendor_data'] as const;

/** One field of `tableRowToRecord`. */
export function tableValue(field: string, v: unknown): unknown {
  if (field === 'source_sequence' || field === 'platform_sequence') return big(v);
  if (field === 'vendor_data') return typeof v === 'string' ? (JSON.parse(v) as Record<string, string>) : null;
  return v;
}

/**
 * The JSON text of one table field as the API sends it, i.e. `JSON.stringify(recordJson(tableRowToRecord(row)))`
 * field by field, for formatters that write a row's text without building the record (the hot tier).
 */
export function tableFieldJson(field: string, v: unknown): string {
  return JSON.stringify(jsonValue(field, tableValue(field, v)));
}

/** Fields tableRowToRecord adds to a row that lacks them (all null, sent last), for text formatters. */
export function missingConvertedFields(fields: readonly string[]): string[] {
  return CONVERTED.filter((f) => !fields.includes(f));
}
