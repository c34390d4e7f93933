import { dayOfMicros, type ColumnSource, type RowValue, type Schema } from '@k2/iceberg';

/** A decoded V2 record (avsc values: decimal text, bigint µs and longs, string arrays, string maps). */
export type DecodedRecord = Record<string, unknown>;

/** Partition key of the market tables: day(timestamp) and exchange (reference data: exchange only). */
export function partitionOf(rec: DecodedRecord): { day: number | null; exchange: string } {
  const ts = rec['timestamp'];
  return { day: typeof ts === 'bigint' ? dayOfMicros(ts) : null, exchange: String(rec['exchange']) };
}

export const partitionKey = (p: { day: number | null; exchange: string }): string => `${p.day ?? ''}|${p.exchange}`;

/** vendor_data as JSON text with sorted keys, so equal maps give equal text. */
export function mapToJson(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const o = v as Record<string, string>;
  const keys = Object.keys(o).sort();
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = o[k];
  return JSON.stringify(out);
}

export function toRow(rec: DecodedRecord, schema: Schema, sources: ReadonlyMap<number, ColumnSource>): RowValue[] {
  const row: RowValue[] = new Array(schema.fields.length);
  for (let i = 0; i < schema.fields.length; i++) {
    const f = schema.fields[i];
    const v = rec[f.name];
    if (sources.get(f.id)?.kind === 'json-map') row[i] = mapToJson(v);
    else row[i] = v === undefined ? null : (v as RowValue);
  }
  return row;
}
