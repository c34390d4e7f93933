import { ancestors, type CreateTableRequest, type Schema, type TableMetadata } from '@k2/iceberg';

/**
 * `bars_1m_v2`: one row per (exchange, symbol, UTC minute) of trades_v2, maintained by the iceberg-writer at commit
 * (ADR 0024). Prices are the trades' Decimal(18,8); the sums are exact:
 * - volume = Σ quantity: quantity < 10^10 and Decimal(38,8) leaves 30 integer digits, so overflowing it takes more
 *   than 10^20 trades in one minute.
 * - vwap_numerator = Σ price × quantity: an exact product of two scale-8 decimals has scale 16, and Iceberg caps
 *   decimals at 38 digits (spec: "Primitive Types"), so Decimal(38,16) leaves 22 integer digits: 10^22 units of the
 *   quote currency per symbol-minute, far beyond any market. DuckDB raises on decimal overflow, so an impossible sum
 *   fails the bars step (reported, retried) rather than being stored wrong.
 * open/close are the prices of the first/last trade in the platform's total order (timestamp, then message_id), the
 * order the query API's bars use; the first/last trade's time and id are stored so partial bars combine exactly.
 */
export const BARS_TABLE = 'bars_1m_v2';

/** Snapshot summary key of bars_1m_v2: the trades_v2 snapshot id the table has folded up to. */
export const BARS_FOLDED_KEY = 'k2.bars.trades-snapshot-id';

export const BAR_MINUTE_US = 60_000_000n;

/**
 * The trades snapshot id bars_1m_v2 has folded up to: the newest ancestor recording one (a compaction's `replace`
 * may not). The bars are complete for a reader of trades_v2 at snapshot S exactly when this is S.
 */
export function foldedUpTo(bars: TableMetadata): string | undefined {
  for (const s of ancestors(bars)) {
    const v = s.summary[BARS_FOLDED_KEY];
    if (v !== undefined) return v;
  }
  return undefined;
}

const PRICE = 'decimal(18,8)';

export const BARS_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'exchange', required: true, type: 'string' },
    { id: 2, name: 'symbol', required: true, type: 'string' },
    { id: 3, name: 'asset_class', required: false, type: 'string', doc: 'asset_class of the minute’s last trade' },
    { id: 4, name: 'currency', required: true, type: 'string', doc: 'currency of the minute’s last trade' },
    { id: 5, name: 'bucket_start', required: true, type: 'timestamptz', doc: 'start of the UTC minute' },
    { id: 6, name: 'open', required: true, type: PRICE },
    { id: 7, name: 'high', required: true, type: PRICE },
    { id: 8, name: 'low', required: true, type: PRICE },
    { id: 9, name: 'close', required: true, type: PRICE },
    { id: 10, name: 'volume', required: true, type: 'decimal(38,8)', doc: 'Σ quantity' },
    { id: 11, name: 'vwap_numerator', required: true, type: 'decimal(38,16)', doc: 'Σ price × quantity, exact' },
    { id: 12, name: 'trade_count', required: true, type: 'long' },
    { id: 13, name: 'first_trade_time', required: true, type: 'timestamptz' },
    { id: 14, name: 'first_message_id', required: true, type: 'string' },
    { id: 15, name: 'last_trade_time', required: true, type: 'timestamptz' },
    { id: 16, name: 'last_message_id', required: true, type: 'string' },
  ],
};

/**
 * hour(bucket_start) and exchange: a commit rewrites the bars of the partitions its trades touch (merge on write),
 * so partitions are kept to an hour — 60 rows per symbol — instead of the trades tables' day. Sorted by symbol and
 * minute like the trades files.
 */
export function barsTableLayout(): Pick<CreateTableRequest, 'spec' | 'sortOrder'> {
  return {
    spec: {
      'spec-id': 0,
      fields: [
        { 'source-id': 5, 'field-id': 1000, name: 'bucket_start_hour', transform: 'hour' },
        { 'source-id': 1, 'field-id': 1001, name: 'exchange', transform: 'identity' },
      ],
    },
    sortOrder: {
      'order-id': 1,
      fields: [
        { transform: 'identity', 'source-id': 2, direction: 'asc', 'null-order': 'nulls-first' },
        { transform: 'identity', 'source-id': 5, direction: 'asc', 'null-order': 'nulls-first' },
      ],
    },
  };
}

/** Columns written sorted (the sort order above). */
export const BARS_SORT = ['symbol', 'bucket_start'] as const;
