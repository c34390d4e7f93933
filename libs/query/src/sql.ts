/**
 * Every SQL statement query-api runs, as constant text with named parameters ($name). Nothing else is ever sent
 * to DuckDB: the engine only prepares values of this object (checked at runtime by `isKnownSql`), and
 * sql.spec.ts fails the build if any statement here contains an interpolation or any other file of the
 * query-api code calls DuckDB with something that is not one of these constants. User input reaches DuckDB only
 * as bound parameter values. The file list is a parameter too (read_parquet takes a VARCHAR[]).
 *
 * Decimals are selected as VARCHAR: DuckDB's JS conversion would turn DECIMAL into a double. Timestamps as
 * epoch µs BIGINT; longs that may exceed 2^53 as VARCHAR.
 */
export const SQL = Object.freeze({
  trades: `
    SELECT message_id, trade_id, symbol, exchange, asset_class,
           epoch_us("timestamp") AS "timestamp",
           CAST(price AS VARCHAR) AS price, CAST(quantity AS VARCHAR) AS quantity,
           currency, side, trade_conditions,
           CAST(source_sequence AS VARCHAR) AS source_sequence,
           epoch_us(ingestion_timestamp) AS ingestion_timestamp,
           CAST(platform_sequence AS VARCHAR) AS platform_sequence,
           vendor_data
    FROM read_parquet($files)
    WHERE symbol = $symbol
      AND ($exchange IS NULL OR exchange = $exchange)
      AND "timestamp" >= $start AND "timestamp" < $end
      AND ($cursor_ts IS NULL OR "timestamp" < $cursor_ts OR ("timestamp" = $cursor_ts AND message_id < $cursor_id))
    ORDER BY "timestamp" DESC, message_id DESC
    LIMIT $limit`,

  quotes: `
    SELECT message_id, symbol, exchange, asset_class,
           epoch_us("timestamp") AS "timestamp",
           CAST(bid_price AS VARCHAR) AS bid_price, CAST(bid_quantity AS VARCHAR) AS bid_quantity,
           CAST(ask_price AS VARCHAR) AS ask_price, CAST(ask_quantity AS VARCHAR) AS ask_quantity,
           currency,
           CAST(source_sequence AS VARCHAR) AS source_sequence,
           epoch_us(ingestion_timestamp) AS ingestion_timestamp,
           CAST(platform_sequence AS VARCHAR) AS platform_sequence,
           vendor_data
    FROM read_parquet($files)
    WHERE symbol = $symbol
      AND ($exchange IS NULL OR exchange = $exchange)
      AND "timestamp" >= $start AND "timestamp" < $end
      AND ($cursor_ts IS NULL OR "timestamp" < $cursor_ts OR ("timestamp" = $cursor_ts AND message_id < $cursor_id))
    ORDER BY "timestamp" DESC, message_id DESC
    LIMIT $limit`,

  /**
   * Cross-source reads (several symbols or all, optionally one exchange and one asset class): the same rows, order
   * and page as `trades`/`quotes`. Kept apart from the single-symbol statements because `symbol = $symbol` lets
   * DuckDB skip the row groups of other symbols by their statistics, which a list filter does not.
   */
  tradesAcross: `
    SELECT message_id, trade_id, symbol, exchange, asset_class,
           epoch_us("timestamp") AS "timestamp",
           CAST(price AS VARCHAR) AS price, CAST(quantity AS VARCHAR) AS quantity,
           currency, side, trade_conditions,
           CAST(source_sequence AS VARCHAR) AS source_sequence,
           epoch_us(ingestion_timestamp) AS ingestion_timestamp,
           CAST(platform_sequence AS VARCHAR) AS platform_sequence,
           vendor_data
    FROM read_parquet($files)
    WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
      AND ($exchange IS NULL OR exchange = $exchange)
      AND ($asset_class IS NULL OR asset_class = $asset_class)
      AND "timestamp" >= $start AND "timestamp" < $end
      AND ($cursor_ts IS NULL OR "timestamp" < $cursor_ts OR ("timestamp" = $cursor_ts AND message_id < $cursor_id))
    ORDER BY "timestamp" DESC, message_id DESC
    LIMIT $limit`,

  quotesAcross: `
    SELECT message_id, symbol, exchange, asset_class,
           epoch_us("timestamp") AS "timestamp",
           CAST(bid_price AS VARCHAR) AS bid_price, CAST(bid_quantity AS VARCHAR) AS bid_quantity,
           CAST(ask_price AS VARCHAR) AS ask_price, CAST(ask_quantity AS VARCHAR) AS ask_quantity,
           currency,
           CAST(source_sequence AS VARCHAR) AS source_sequence,
           epoch_us(ingestion_timestamp) AS ingestion_timestamp,
           CAST(platform_sequence AS VARCHAR) AS platform_sequence,
           vendor_data
    FROM read_parquet($files)
    WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
      AND ($exchange IS NULL OR exchange = $exchange)
      AND ($asset_class IS NULL OR asset_class = $asset_class)
      AND "timestamp" >= $start AND "timestamp" < $end
      AND ($cursor_ts IS NULL OR "timestamp" < $cursor_ts OR ("timestamp" = $cursor_ts AND message_id < $cursor_id))
    ORDER BY "timestamp" DESC, message_id DESC
    LIMIT $limit`,

  /**
   * Per-bucket partial aggregates, mergeable with tail rows: open/close carry their (timestamp, message_id) so a
   * tail trade can take over either end; notional (Σ price×quantity, exact DECIMAL(38,16)) gives the VWAP.
   * Buckets are aligned to the epoch, i.e. to UTC midnight for 1d.
   */
  bars: `
    SELECT (epoch_us("timestamp") // $bucket_us) * $bucket_us AS bucket,
           CAST(arg_min(price, {'t': "timestamp", 'm': message_id}) AS VARCHAR) AS open,
           epoch_us(min("timestamp")) AS open_ts,
           arg_min(message_id, {'t': "timestamp", 'm': message_id}) AS open_id,
           CAST(arg_max(price, {'t': "timestamp", 'm': message_id}) AS VARCHAR) AS close,
           epoch_us(max("timestamp")) AS close_ts,
           arg_max(message_id, {'t': "timestamp", 'm': message_id}) AS close_id,
           CAST(max(price) AS VARCHAR) AS high,
           CAST(min(price) AS VARCHAR) AS low,
           CAST(sum(quantity) AS VARCHAR) AS volume,
           CAST(sum(CAST(price AS DECIMAL(38, 8)) * CAST(quantity AS DECIMAL(38, 8))) AS VARCHAR) AS notional,
           count(*) AS trades
    FROM read_parquet($files)
    WHERE symbol = $symbol
      AND ($exchange IS NULL OR exchange = $exchange)
      AND "timestamp" >= $start AND "timestamp" < $end
    GROUP BY 1
    ORDER BY 1`,

  /** Which of the tail's message ids are already in the table (the hybrid merge's dedup for aggregates). */
  presentIds: `
    SELECT message_id
    FROM read_parquet($files)
    WHERE symbol = $symbol
      AND "timestamp" >= $start AND "timestamp" < $end
      AND list_contains($ids, message_id)`,

  /** Instruments of one data file (cached per file: files are immutable). */
  fileSymbols: `
    SELECT symbol, exchange, asset_class,
           epoch_us(min("timestamp")) AS first_seen, epoch_us(max("timestamp")) AS last_seen, count(*) AS rows
    FROM read_parquet($files)
    GROUP BY symbol, exchange, asset_class`,

  /**
   * Reference data (issue 16 part 6): reference_data_v2 rows of a symbol and record type (either may be NULL:
   * all), one row per message_id (a reloaded file's rows carry the same ids). The as-of-date filter needs the
   * exchange's calendar, so it is applied to effective_date by reference.ts.
   */
  reference: `
    SELECT message_id, instrument_id, symbol, exchange, asset_class, record_type, name, isin, currency,
           epoch_us(effective_date) AS effective_date, is_active,
           epoch_us(ingestion_timestamp) AS ingestion_timestamp, vendor_data
    FROM read_parquet($files)
    WHERE ($symbol IS NULL OR symbol = $symbol)
      AND ($record_type IS NULL OR record_type = $record_type)
    QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY ingestion_timestamp DESC) = 1
    ORDER BY symbol, record_type, effective_date DESC NULLS LAST, message_id`,

  /**
   * Replay-then-follow (issue 16): one page of a selection's history in ascending (timestamp, message_id) after a
   * position (keyset pagination: each page is bounded and no connection is held between pages). Each row comes back
   * as its order key and its API JSON, built by DuckDB with the same fields, order and text as recordJson (times
   * ISO-8601 UTC with µs, decimals and longs as text, vendor_data as an object): converting two values per row
   * instead of fifteen is what lets a replay stream hundreds of thousands of rows a second. The JSON is computed
   * for the page's rows only (outer query).
   */
  replayTrades: `
    SELECT epoch_us("timestamp") AS ts, message_id AS id,
           CAST(json_object(
             'message_id', message_id, 'trade_id', trade_id, 'symbol', symbol, 'exchange', exchange, 'asset_class', asset_class,
             'timestamp', strftime(make_timestamp(epoch_us("timestamp")), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'price', CAST(price AS VARCHAR), 'quantity', CAST(quantity AS VARCHAR),
             'currency', currency, 'side', side, 'trade_conditions', trade_conditions,
             'source_sequence', CAST(source_sequence AS VARCHAR),
             'ingestion_timestamp', strftime(make_timestamp(epoch_us(ingestion_timestamp)), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'platform_sequence', CAST(platform_sequence AS VARCHAR),
             'vendor_data', json(vendor_data)) AS VARCHAR) AS json
    FROM (
      SELECT *
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
        AND ($after_ts IS NULL OR "timestamp" > $after_ts OR ("timestamp" = $after_ts AND message_id > $after_id))
      ORDER BY "timestamp", message_id
      LIMIT $limit
    )
    ORDER BY "timestamp", message_id`,

  replayQuotes: `
    SELECT epoch_us("timestamp") AS ts, message_id AS id,
           CAST(json_object(
             'message_id', message_id, 'symbol', symbol, 'exchange', exchange, 'asset_class', asset_class,
             'timestamp', strftime(make_timestamp(epoch_us("timestamp")), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'bid_price', CAST(bid_price AS VARCHAR), 'bid_quantity', CAST(bid_quantity AS VARCHAR),
             'ask_price', CAST(ask_price AS VARCHAR), 'ask_quantity', CAST(ask_quantity AS VARCHAR),
             'currency', currency,
             'source_sequence', CAST(source_sequence AS VARCHAR),
             'ingestion_timestamp', strftime(make_timestamp(epoch_us(ingestion_timestamp)), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'platform_sequence', CAST(platform_sequence AS VARCHAR),
             'vendor_data', json(vendor_data)) AS VARCHAR) AS json
    FROM (
      SELECT *
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
        AND ($after_ts IS NULL OR "timestamp" > $after_ts OR ("timestamp" = $after_ts AND message_id > $after_id))
      ORDER BY "timestamp", message_id
      LIMIT $limit
    )
    ORDER BY "timestamp", message_id`,
});

export type SqlName = keyof typeof SQL;

/**
 * The engine's sandbox, run once on the first connection before any read (DuckDB "Securing DuckDB"): the only
 * readable directories, then no file or network access beyond them, then the configuration locked so no statement
 * can undo either. These options cannot be set through the C API's configuration object (list-valued), hence
 * statements; they are constants like the reads, and `$dirs` is bound.
 */
export const SANDBOX_SQL = Object.freeze({
  allowDirectories: `SET allowed_directories = $dirs`,
  disableExternalAccess: `SET enable_external_access = false`,
  lockConfiguration: `SET lock_configuration = true`,
});

export type SandboxSqlName = keyof typeof SANDBOX_SQL;

const KNOWN = new Set<string>([...Object.values(SQL), ...Object.values(SANDBOX_SQL)]);

export function isKnownSql(text: string): boolean {
  return KNOWN.has(text);
}
