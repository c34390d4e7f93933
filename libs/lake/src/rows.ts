import { avroToIcebergSchema, csvEncoder, dayOfMicros, type AvroField, type ColumnSource, type RowValue, type Schema } from '@k2/iceberg';

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

/**
 * A decoded record of one writer schema → one CSV line for ParquetWriter.writeCsv, columns in the writer schema's
 * order (`columns`). The values are exactly those toRow hands the row writer (decimal text, µs integers, vendor
 * maps as sorted JSON), encoded as csvEncoder does: the line is the compact form in which the writer buffers a
 * record until its commit, instead of the decoded object.
 */
export class CsvLineEncoder {
  readonly columns: readonly string[];
  private readonly encoders: Array<(v: unknown) => string>;

  constructor(avroFields: readonly AvroField[]) {
    const { schema, sources } = avroToIcebergSchema(avroFields);
    this.columns = schema.fields.map((f) => f.name);
    this.encoders = schema.fields.map((f) => {
      const enc = csvEncoder(f.type);
      return sources.get(f.id)?.kind === 'json-map' ? (v: unknown) => enc(mapToJson(v)) : (v: unknown) => enc(v === undefined ? null : (v as RowValue));
    });
  }

  /** One flat string: join() copies into a sequential string, where `+=` would keep a rope of ~30 cons cells. */
  encode(rec: DecodedRecord): string {
    const cols = this.columns;
    const parts = new Array<string>(cols.length);
    for (let i = 0; i < cols.length; i++) parts[i] = this.encoders[i](rec[cols[i]]);
    return parts.join(',');
  }
}
