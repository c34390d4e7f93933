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

  /**
   * Issue 17: the 1-minute partials of one symbol from bars_1m_v2 (ADR 0024), in SQL.bars' columns, so they regroup
   * and merge exactly as the partials computed from trades do (open/close: the stored first/last trade).
   */
  barsTable: `
    SELECT epoch_us(bucket_start) AS bucket,
           CAST(open AS VARCHAR) AS open, epoch_us(first_trade_time) AS open_ts, first_message_id AS open_id,
           CAST(close AS VARCHAR) AS close, epoch_us(last_trade_time) AS close_ts, last_message_id AS close_id,
           CAST(high AS VARCHAR) AS high, CAST(low AS VARCHAR) AS low,
           CAST(volume AS VARCHAR) AS volume, CAST(vwap_numerator AS VARCHAR) AS notional, trade_count AS trades
    FROM read_parquet($files)
    WHERE symbol = $symbol
      AND ($exchange IS NULL OR exchange = $exchange)
      AND bucket_start >= $start AND bucket_start < $end
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
   * export (issue 16, ADR 0019): every row of a window, oldest first by (timestamp, message_id), the table part at
   * the snapshot plus the tail rows ($tail, JSON text of the captured records) whose message_id the table does not
   * hold. One statement per format so a table row and a tail row go through the same formatting. CSV: RFC 4180,
   * every text field quoted (NULL = empty field), decimals exact text, timestamps µs and RFC 3339 UTC; NDJSON: the
   * JSON route's encoding (records.ts recordJson).
   */
  exportTradesCsv: `
    WITH tail AS (
      SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","trade_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","price":"DECIMAL(18,8)","quantity":"DECIMAL(18,8)","currency":"VARCHAR","side":"VARCHAR","trade_conditions":["VARCHAR"],"source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)
    ), merged AS (
      SELECT message_id, trade_id, symbol, exchange, asset_class, "timestamp", price, quantity, currency, side, trade_conditions, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
      UNION ALL
      SELECT message_id, trade_id, symbol, exchange, asset_class, "timestamp", price, quantity, currency, side, trade_conditions, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM tail
      WHERE message_id NOT IN (
        SELECT message_id FROM read_parquet($files)
        WHERE "timestamp" >= $tail_min AND "timestamp" <= $tail_max AND message_id IN (SELECT message_id FROM tail))
    )
    SELECT concat(
             '"' || replace(message_id, '"', '""') || '"', ',',
             '"' || replace(trade_id, '"', '""') || '"', ',',
             '"' || replace(symbol, '"', '""') || '"', ',',
             '"' || replace(exchange, '"', '""') || '"', ',',
             '"' || replace(asset_class, '"', '""') || '"', ',',
             epoch_us("timestamp"), ',',
             strftime(make_timestamp(epoch_us("timestamp")), '%Y-%m-%dT%H:%M:%S.%fZ'), ',',
             CAST(price AS VARCHAR), ',',
             CAST(quantity AS VARCHAR), ',',
             '"' || replace(currency, '"', '""') || '"', ',',
             '"' || replace(side, '"', '""') || '"', ',',
             '"' || replace(CAST(to_json(trade_conditions) AS VARCHAR), '"', '""') || '"', ',',
             CAST(source_sequence AS VARCHAR), ',',
             epoch_us(ingestion_timestamp), ',',
             strftime(make_timestamp(epoch_us(ingestion_timestamp)), '%Y-%m-%dT%H:%M:%S.%fZ'), ',',
             CAST(platform_sequence AS VARCHAR), ',',
             '"' || replace(vendor_data, '"', '""') || '"') AS line
    FROM merged
    ORDER BY "timestamp", message_id`,

  exportTradesNdjson: `
    WITH tail AS (
      SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","trade_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","price":"DECIMAL(18,8)","quantity":"DECIMAL(18,8)","currency":"VARCHAR","side":"VARCHAR","trade_conditions":["VARCHAR"],"source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)
    ), merged AS (
      SELECT message_id, trade_id, symbol, exchange, asset_class, "timestamp", price, quantity, currency, side, trade_conditions, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
      UNION ALL
      SELECT message_id, trade_id, symbol, exchange, asset_class, "timestamp", price, quantity, currency, side, trade_conditions, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM tail
      WHERE message_id NOT IN (
        SELECT message_id FROM read_parquet($files)
        WHERE "timestamp" >= $tail_min AND "timestamp" <= $tail_max AND message_id IN (SELECT message_id FROM tail))
    )
    SELECT CAST(json_object(
             'message_id', message_id,
             'trade_id', trade_id,
             'symbol', symbol,
             'exchange', exchange,
             'asset_class', asset_class,
             'timestamp', strftime(make_timestamp(epoch_us("timestamp")), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'price', CAST(price AS VARCHAR),
             'quantity', CAST(quantity AS VARCHAR),
             'currency', currency,
             'side', side,
             'trade_conditions', trade_conditions,
             'source_sequence', CAST(source_sequence AS VARCHAR),
             'ingestion_timestamp', strftime(make_timestamp(epoch_us(ingestion_timestamp)), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'platform_sequence', CAST(platform_sequence AS VARCHAR),
             'vendor_data', json(vendor_data)) AS VARCHAR) AS line
    FROM merged
    ORDER BY "timestamp", message_id`,

  exportQuotesCsv: `
    WITH tail AS (
      SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","bid_price":"DECIMAL(18,8)","bid_quantity":"DECIMAL(18,8)","ask_price":"DECIMAL(18,8)","ask_quantity":"DECIMAL(18,8)","currency":"VARCHAR","source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)
    ), merged AS (
      SELECT message_id, symbol, exchange, asset_class, "timestamp", bid_price, bid_quantity, ask_price, ask_quantity, currency, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
      UNION ALL
      SELECT message_id, symbol, exchange, asset_class, "timestamp", bid_price, bid_quantity, ask_price, ask_quantity, currency, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM tail
      WHERE message_id NOT IN (
        SELECT message_id FROM read_parquet($files)
        WHERE "timestamp" >= $tail_min AND "timestamp" <= $tail_max AND message_id IN (SELECT message_id FROM tail))
    )
    SELECT concat(
             '"' || replace(message_id, '"', '""') || '"', ',',
             '"' || replace(symbol, '"', '""') || '"', ',',
             '"' || replace(exchange, '"', '""') || '"', ',',
             '"' || replace(asset_class, '"', '""') || '"', ',',
             epoch_us("timestamp"), ',',
             strftime(make_timestamp(epoch_us("timestamp")), '%Y-%m-%dT%H:%M:%S.%fZ'), ',',
             CAST(bid_price AS VARCHAR), ',',
             CAST(bid_quantity AS VARCHAR), ',',
             CAST(ask_price AS VARCHAR), ',',
             CAST(ask_quantity AS VARCHAR), ',',
             '"' || replace(currency, '"', '""') || '"', ',',
             CAST(source_sequence AS VARCHAR), ',',
             epoch_us(ingestion_timestamp), ',',
             strftime(make_timestamp(epoch_us(ingestion_timestamp)), '%Y-%m-%dT%H:%M:%S.%fZ'), ',',
             CAST(platform_sequence AS VARCHAR), ',',
             '"' || replace(vendor_data, '"', '""') || '"') AS line
    FROM merged
    ORDER BY "timestamp", message_id`,

  exportQuotesNdjson: `
    WITH tail AS (
      SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","bid_price":"DECIMAL(18,8)","bid_quantity":"DECIMAL(18,8)","ask_price":"DECIMAL(18,8)","ask_quantity":"DECIMAL(18,8)","currency":"VARCHAR","source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)
    ), merged AS (
      SELECT message_id, symbol, exchange, asset_class, "timestamp", bid_price, bid_quantity, ask_price, ask_quantity, currency, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
      UNION ALL
      SELECT message_id, symbol, exchange, asset_class, "timestamp", bid_price, bid_quantity, ask_price, ask_quantity, currency, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM tail
      WHERE message_id NOT IN (
        SELECT message_id FROM read_parquet($files)
        WHERE "timestamp" >= $tail_min AND "timestamp" <= $tail_max AND message_id IN (SELECT message_id FROM tail))
    )
    SELECT CAST(json_object(
             'message_id', message_id,
             'symbol', symbol,
             'exchange', exchange,
             'asset_class', asset_class,
             'timestamp', strftime(make_timestamp(epoch_us("timestamp")), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'bid_price', CAST(bid_price AS VARCHAR),
             'bid_quantity', CAST(bid_quantity AS VARCHAR),
             'ask_price', CAST(ask_price AS VARCHAR),
             'ask_quantity', CAST(ask_quantity AS VARCHAR),
             'currency', currency,
             'source_sequence', CAST(source_sequence AS VARCHAR),
             'ingestion_timestamp', strftime(make_timestamp(epoch_us(ingestion_timestamp)), '%Y-%m-%dT%H:%M:%S.%fZ'),
             'platform_sequence', CAST(platform_sequence AS VARCHAR),
             'vendor_data', json(vendor_data)) AS VARCHAR) AS line
    FROM merged
    ORDER BY "timestamp", message_id`,

  /** The same rows as Parquet in the spool directory: the table's own column types (decimal(18,8), timestamp µs UTC). */
  exportTradesParquet: `
    COPY (
    WITH tail AS (
      SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","trade_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","price":"DECIMAL(18,8)","quantity":"DECIMAL(18,8)","currency":"VARCHAR","side":"VARCHAR","trade_conditions":["VARCHAR"],"source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)
    ), merged AS (
      SELECT message_id, trade_id, symbol, exchange, asset_class, "timestamp", price, quantity, currency, side, trade_conditions, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
      UNION ALL
      SELECT message_id, trade_id, symbol, exchange, asset_class, "timestamp", price, quantity, currency, side, trade_conditions, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM tail
      WHERE message_id NOT IN (
        SELECT message_id FROM read_parquet($files)
        WHERE "timestamp" >= $tail_min AND "timestamp" <= $tail_max AND message_id IN (SELECT message_id FROM tail))
    )
    SELECT * FROM merged
    ORDER BY "timestamp", message_id
    ) TO $path (FORMAT parquet, COMPRESSION zstd)`,

  exportQuotesParquet: `
    COPY (
    WITH tail AS (
      SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","bid_price":"DECIMAL(18,8)","bid_quantity":"DECIMAL(18,8)","ask_price":"DECIMAL(18,8)","ask_quantity":"DECIMAL(18,8)","currency":"VARCHAR","source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)
    ), merged AS (
      SELECT message_id, symbol, exchange, asset_class, "timestamp", bid_price, bid_quantity, ask_price, ask_quantity, currency, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM read_parquet($files)
      WHERE ($symbols IS NULL OR list_contains($symbols, symbol))
        AND ($exchange IS NULL OR exchange = $exchange)
        AND ($asset_class IS NULL OR asset_class = $asset_class)
        AND "timestamp" >= $start AND "timestamp" < $end
      UNION ALL
      SELECT message_id, symbol, exchange, asset_class, "timestamp", bid_price, bid_quantity, ask_price, ask_quantity, currency, source_sequence, ingestion_timestamp, platform_sequence, vendor_data
      FROM tail
      WHERE message_id NOT IN (
        SELECT message_id FROM read_parquet($files)
        WHERE "timestamp" >= $tail_min AND "timestamp" <= $tail_max AND message_id IN (SELECT message_id FROM tail))
    )
    SELECT * FROM merged
    ORDER BY "timestamp", message_id
    ) TO $path (FORMAT parquet, COMPRESSION zstd)`,

  /** Bars as Parquet: the route's answer ($rows, JSON text) with decimal columns and µs timestamps. */
  exportBarsParquet: `
    COPY (
      SELECT unnest(from_json($rows, '[{"time":"TIMESTAMPTZ","open":"DECIMAL(18,8)","high":"DECIMAL(18,8)","low":"DECIMAL(18,8)","close":"DECIMAL(18,8)","volume":"DECIMAL(38,8)","vwap":"DECIMAL(18,8)","trades":"BIGINT","first_trade_time":"TIMESTAMPTZ","last_trade_time":"TIMESTAMPTZ"}]'), recursive := true)
    ) TO $path (FORMAT parquet, COMPRESSION zstd)`,

  /**
   * An empty Parquet file with the table's columns, read instead of the table when a window plans no data file
   * (read_parquet needs at least one file): the tail rows still go through the one statement.
   */
  exportEmptyTrades: `
    COPY (SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","trade_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","price":"DECIMAL(18,8)","quantity":"DECIMAL(18,8)","currency":"VARCHAR","side":"VARCHAR","trade_conditions":["VARCHAR"],"source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)) TO $path (FORMAT parquet)`,

  exportEmptyQuotes: `
    COPY (SELECT unnest(from_json($tail, '[{"message_id":"VARCHAR","symbol":"VARCHAR","exchange":"VARCHAR","asset_class":"VARCHAR","timestamp":"TIMESTAMPTZ","bid_price":"DECIMAL(18,8)","bid_quantity":"DECIMAL(18,8)","ask_price":"DECIMAL(18,8)","ask_quantity":"DECIMAL(18,8)","currency":"VARCHAR","source_sequence":"BIGINT","ingestion_timestamp":"TIMESTAMPTZ","platform_sequence":"BIGINT","vendor_data":"VARCHAR"}]'), recursive := true)) TO $path (FORMAT parquet)`,

  /**
   * Trading days and time zones (issue 16): SQL.bars with buckets given as lists of [start, end) in epoch µs
   * (zone-aligned, see trading-day.ts) instead of epoch multiples; used when the minute partials cannot be
   * regrouped into them (a window or a zone offset that is not whole minutes). Same columns, same arithmetic.
   */
  barsBounded: `
    SELECT b.s AS bucket,
           CAST(arg_min(t.price, {'t': t."timestamp", 'm': t.message_id}) AS VARCHAR) AS open,
           epoch_us(min(t."timestamp")) AS open_ts,
           arg_min(t.message_id, {'t': t."timestamp", 'm': t.message_id}) AS open_id,
           CAST(arg_max(t.price, {'t': t."timestamp", 'm': t.message_id}) AS VARCHAR) AS close,
           epoch_us(max(t."timestamp")) AS close_ts,
           arg_max(t.message_id, {'t': t."timestamp", 'm': t.message_id}) AS close_id,
           CAST(max(t.price) AS VARCHAR) AS high,
           CAST(min(t.price) AS VARCHAR) AS low,
           CAST(sum(t.quantity) AS VARCHAR) AS volume,
           CAST(sum(CAST(t.price AS DECIMAL(38, 8)) * CAST(t.quantity AS DECIMAL(38, 8))) AS VARCHAR) AS notional,
           count(*) AS trades
    FROM read_parquet($files) AS t
    JOIN (SELECT unnest($bucket_starts) AS s, unnest($bucket_ends) AS e) AS b
      ON epoch_us(t."timestamp") >= b.s AND epoch_us(t."timestamp") < b.e
    WHERE t.symbol = $symbol
      AND ($exchange IS NULL OR t.exchange = $exchange)
      AND t."timestamp" >= $start AND t."timestamp" < $end
    GROUP BY 1
    ORDER BY 1`,

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
