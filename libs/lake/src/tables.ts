import type { CreateTableRequest, PartitionField, Schema, SortOrder } from '@k2/iceberg';

/**
 * The K2 lake: one Iceberg table per V2 record kind in namespace `market_data`. Trades and quotes are partitioned
 * by day(timestamp) and exchange — the queries are "one symbol, a time window" and "one exchange, one day" — and
 * sorted by (symbol, timestamp) inside each file so column bounds prune by symbol and time.
 */
export const MARKET_NAMESPACE = ['market_data'];

export const TABLE_BY_KIND = {
  trades: 'trades_v2',
  quotes: 'quotes_v2',
  reference: 'reference_data_v2',
} as const;
export type TableKind = keyof typeof TABLE_BY_KIND;

export const TABLE_PROPERTIES: Record<string, string> = {
  'write.format.default': 'parquet',
  'write.parquet.compression-codec': 'zstd',
  // ADR 0022: data files use Parquet v2 pages, and unique strings (message_id, trade_id) get DELTA_LENGTH_BYTE_ARRAY,
  // which Iceberg 1.10.1's vectorized Spark reader refuses ("Cannot support vectorized reads … with encoding
  // DELTA_LENGTH_BYTE_ARRAY"); its row reader reads them. Delta integers and v2 pages themselves vectorize fine.
  // Drop this once Spark runs an Iceberg with vectorized delta strings (apache/iceberg#15362).
  'read.parquet.vectorization.enabled': 'false',
  'write.metadata.previous-versions-max': '100',
  'k2.vendor_data.encoding': 'json',
};

function fieldId(schema: Schema, name: string): number | undefined {
  return schema.fields.find((f) => f.name === name)?.id;
}

export function marketTableLayout(schema: Schema): Pick<CreateTableRequest, 'spec' | 'sortOrder'> {
  const ts = fieldId(schema, 'timestamp');
  const exchange = fieldId(schema, 'exchange');
  const symbol = fieldId(schema, 'symbol');
  const fields: PartitionField[] = [];
  let next = 1000;
  if (ts !== undefined) fields.push({ 'source-id': ts, 'field-id': next++, name: 'timestamp_day', transform: 'day' });
  if (exchange !== undefined) fields.push({ 'source-id': exchange, 'field-id': next++, name: 'exchange', transform: 'identity' });
  const sortFields: SortOrder['fields'] = [];
  if (symbol !== undefined) sortFields.push({ transform: 'identity', 'source-id': symbol, direction: 'asc', 'null-order': 'nulls-first' });
  if (ts !== undefined) sortFields.push({ transform: 'identity', 'source-id': ts, direction: 'asc', 'null-order': 'nulls-first' });
  return {
    spec: { 'spec-id': 0, fields },
    sortOrder: sortFields.length ? { 'order-id': 1, fields: sortFields } : { 'order-id': 0, fields: [] },
  };
}
