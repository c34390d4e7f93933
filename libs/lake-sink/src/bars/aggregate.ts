import type { DuckDBConnection } from '@duckdb/node-api';
import type { RowValue } from '@k2/iceberg';
import { BAR_MINUTE_US } from '@k2/lake';

/**
 * The minute-bar arithmetic, in DuckDB over Parquet files: per (exchange, symbol, minute) open/close are the prices
 * of the first/last trade in (timestamp, message_id) order — the order of the query API's bars (libs/query sql.ts
 * `bars`) — and the sums are exact decimals (Decimal(38,8) volume, Decimal(38,16) Σ price × quantity, as the query
 * API computes its notional). Partial bars (from new trades files, and the bars already in the table) combine with
 * the same rules, so folding trades in any grouping gives the same rows as aggregating all of them at once.
 */

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const files = (paths: readonly string[]): string => `[${paths.map(lit).join(', ')}]`;

/** Bars (partial) of trades_v2 data files, one row per (exchange, symbol, minute), in the combine columns. */
function tradesPartials(paths: readonly string[]): string {
  const k = `{'t': "timestamp", 'm': CAST(message_id AS VARCHAR)}`;
  return `
    SELECT exchange, symbol, (epoch_us("timestamp") // ${BAR_MINUTE_US}) * ${BAR_MINUTE_US} AS bucket,
           arg_max(CAST(asset_class AS VARCHAR), ${k}) AS asset_class,
           arg_max(currency, ${k}) AS currency,
           arg_min(price, ${k}) AS open, max(price) AS high, min(price) AS low, arg_max(price, ${k}) AS close,
           sum(CAST(quantity AS DECIMAL(38, 8))) AS volume,
           sum(CAST(price AS DECIMAL(38, 8)) * CAST(quantity AS DECIMAL(38, 8))) AS vwap_numerator,
           count(*) AS trade_count,
           epoch_us(min("timestamp")) AS first_us, arg_min(CAST(message_id AS VARCHAR), ${k}) AS first_id,
           epoch_us(max("timestamp")) AS last_us, arg_max(CAST(message_id AS VARCHAR), ${k}) AS last_id
    FROM read_parquet(${files(paths)}, union_by_name = true)
    GROUP BY 1, 2, 3`;
}

/** Rows of bars_1m_v2 data files in the combine columns. */
function barRows(paths: readonly string[]): string {
  return `
    SELECT exchange, symbol, epoch_us(bucket_start) AS bucket, asset_class, currency, open, high, low, close,
           volume, vwap_numerator, trade_count,
           epoch_us(first_trade_time) AS first_us, first_message_id AS first_id,
           epoch_us(last_trade_time) AS last_us, last_message_id AS last_id
    FROM read_parquet(${files(paths)})`;
}

/** Combines partial bars of the same key; the output columns are BARS_SCHEMA's, in its order. */
function combine(source: string, where: string): string {
  const first = `{'t': first_us, 'm': first_id}`;
  const last = `{'t': last_us, 'm': last_id}`;
  return `
    SELECT exchange, symbol, arg_max(asset_class, ${last}) AS asset_class, arg_max(currency, ${last}) AS currency,
           bucket AS bucket_start,
           CAST(arg_min(open, ${first}) AS VARCHAR) AS open, CAST(max(high) AS VARCHAR) AS high,
           CAST(min(low) AS VARCHAR) AS low, CAST(arg_max(close, ${last}) AS VARCHAR) AS close,
           CAST(sum(volume) AS VARCHAR) AS volume, CAST(sum(vwap_numerator) AS VARCHAR) AS vwap_numerator,
           CAST(sum(trade_count) AS BIGINT) AS trade_count,
           min(first_us) AS first_trade_time, arg_min(first_id, ${first}) AS first_message_id,
           max(last_us) AS last_trade_time, arg_max(last_id, ${last}) AS last_message_id
    FROM (${source}) WHERE ${where}
    GROUP BY exchange, symbol, bucket
    ORDER BY symbol, bucket`;
}

/** A bars partition: one exchange, one UTC hour (bars_1m_v2's hour(bucket_start) × exchange). */
export interface BarsPartition {
  exchange: string;
  hour: number;
}

export const HOUR_US = 3_600_000_000n;

/**
 * Partial bars of a set of trades files, held in a DuckDB temp table while one bars commit is prepared. `rows(p,
 * old)` gives the final rows of one bars partition: the new partials combined with the partition's current bar
 * files `old` (empty for a rebuild or a new partition).
 */
export class BarPartials {
  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly table: string,
  ) {}

  static async of(conn: DuckDBConnection, tradeFiles: readonly string[], name: string): Promise<BarPartials> {
    const table = `bars_new_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    await conn.run(`DROP TABLE IF EXISTS ${table}`);
    if (tradeFiles.length === 0) await conn.run(EMPTY(table));
    else await conn.run(`CREATE TEMP TABLE ${table} AS ${tradesPartials(tradeFiles)}`);
    return new BarPartials(conn, table);
  }

  /** The (exchange, hour) partitions the new trades fall into. */
  async partitions(): Promise<BarsPartition[]> {
    const rows = (await this.conn.runAndReadAll(`SELECT DISTINCT exchange, bucket // ${HOUR_US} FROM ${this.table} ORDER BY 1, 2`)).getRows();
    return rows.map(([exchange, hour]) => ({ exchange: String(exchange), hour: Number(hour) }));
  }

  /** Final rows of partition `p` in BARS_SCHEMA order: decimals as text, timestamps as µs, count as bigint. */
  async rows(p: BarsPartition, oldFiles: readonly string[]): Promise<RowValue[][]> {
    const lo = BigInt(p.hour) * HOUR_US;
    const where = `exchange = ${lit(p.exchange)} AND bucket >= ${lo} AND bucket < ${lo + HOUR_US}`;
    const source = oldFiles.length ? `SELECT * FROM ${this.table} UNION ALL BY NAME ${barRows(oldFiles)}` : `SELECT * FROM ${this.table}`;
    const rows = (await this.conn.runAndReadAll(combine(source, where))).getRows();
    return rows.map((r) => r.map((v) => (v === null ? null : typeof v === 'bigint' ? v : String(v))));
  }

  async close(): Promise<void> {
    await this.conn.run(`DROP TABLE IF EXISTS ${this.table}`).catch(() => undefined);
  }
}

/** The partial-bar columns with their types, for a fold that brings no trades files. */
const EMPTY = (table: string): string =>
  `CREATE TEMP TABLE ${table} (exchange VARCHAR, symbol VARCHAR, bucket BIGINT, asset_class VARCHAR, currency VARCHAR, ` +
  `open DECIMAL(18, 8), high DECIMAL(18, 8), low DECIMAL(18, 8), close DECIMAL(18, 8), volume DECIMAL(38, 8), ` +
  `vwap_numerator DECIMAL(38, 16), trade_count BIGINT, first_us BIGINT, first_id VARCHAR, last_us BIGINT, last_id VARCHAR)`;
