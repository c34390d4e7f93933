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
  for (const [k, v] of Object.entries(rec)) {
    if (typeof v === 'bigint') out[k] = TIME_FIELDS.has(k) ? isoFromMicros(v) : v.toString();
    else out[k] = v ?? null;
  }
  return out;
}

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
  rec['source_sequence'] = big(row['source_sequence']);
  rec['platform_sequence'] = big(row['platform_sequence']);
  const vd = row['vendor_data'];
  rec['vendor_data'] = typeof vd === 'string' ? (JSON.parse(vd) as Record<string, string>) : null;
  return rec;
}
