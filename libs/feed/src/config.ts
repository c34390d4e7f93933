import { cfg, optional } from '@k2/core';

/**
 * Tuning shared by both streamers (FEED_*), on top of each exchange's endpoints and symbols. Defaults follow the
 * issue: backoff from 5 s doubling to 60 s, and the journal sized for a long Kafka outage at live rates.
 */
export function feedConfigSpec(exchange: string) {
  return {
    backoffInitialMs: cfg.int({ env: 'FEED_BACKOFF_INITIAL_MS', default: 5000, min: 0, doc: 'First reconnect delay; doubles per failed attempt' }),
    backoffMaxMs: cfg.int({ env: 'FEED_BACKOFF_MAX_MS', default: 60_000, min: 0, doc: 'Longest reconnect delay' }),
    /** A connection alive this long is healthy: when it drops, reconnect at once. */
    stableAfterMs: cfg.int({ env: 'FEED_STABLE_AFTER_MS', default: 30_000, min: 0, doc: 'A connection alive this long is healthy: when it drops, reconnect at once' }),
    /** Silence that marks a connection dead; default per exchange (Binance pings every 20 s, Kraken heartbeats every 1 s). */
    staleTimeoutMs: optional(cfg.int({ env: 'FEED_STALE_TIMEOUT_MS', min: 100, doc: 'Silence that marks a connection dead; unset = per exchange (Binance 50 s, Kraken 10 s)' })),
    /** Rotate connections at this age; default per exchange (Binance: just under 24 h). */
    maxConnectionAgeMs: optional(cfg.int({ env: 'FEED_MAX_CONNECTION_AGE_MS', min: 1000, doc: 'Rotate connections at this age; unset = per exchange (Binance just under 24 h)' })),
    journalDir: cfg.string({ env: 'FEED_JOURNAL_DIR', default: `.data/journal/${exchange}`, doc: 'Disk journal of trades Kafka has not acknowledged, replayed when it is back' }),
    journalMaxBytes: cfg.int({ env: 'FEED_JOURNAL_MAX_BYTES', default: 512 * 1024 * 1024, min: 1024, doc: 'Journal size limit in bytes' }),
    /** Quotes are optional data: FEED_QUOTES=false streams trades only. */
    quotes: cfg.bool({ env: 'FEED_QUOTES', default: true, doc: 'Stream quotes too; false = trades only' }),
    /** librdkafka message.timeout.ms: after this a delivery counts as failed and the trade goes to the journal. */
    deliveryTimeoutMs: cfg.int({ env: 'KAFKA_DELIVERY_TIMEOUT_MS', default: 15_000, min: 1000, doc: 'librdkafka message.timeout.ms: after this a delivery failed and the trade goes to the journal' }),
    lingerMs: cfg.int({ env: 'KAFKA_LINGER_MS', default: 5, min: 0, doc: 'librdkafka linger.ms (batching delay)' }),
    breakerResetMs: cfg.int({ env: 'FEED_BREAKER_RESET_MS', default: 5000, min: 100, doc: 'Time the Kafka circuit breaker stays open before a trial send' }),
    /** Read the tail of the trades topic at start so a restart backfills from the last trade it published. */
    resumeFromKafka: cfg.bool({ env: 'FEED_RESUME_FROM_KAFKA', default: true, doc: 'Read the trades topic tail at start so a restart backfills from the last trade published' }),
    /**
     * ws's default maxPayload is 100 MiB: one hostile or broken frame could make the process buffer that much.
     * The largest frames the exchanges really send are subscription snapshots and list replies, well under 1 MiB
     * (Kraken's trade snapshot is 50 trades; Binance's LIST_SUBSCRIPTIONS result for 1024 streams is ~30 KiB),
     * so 4 MiB leaves a wide margin. A larger frame closes the connection (1009) and it reconnects (issue 18).
     */
    wsMaxPayloadBytes: cfg.int({ env: 'FEED_WS_MAX_PAYLOAD_BYTES', default: 4 * 1024 * 1024, min: 64 * 1024, doc: 'Largest WebSocket frame accepted; a larger one closes the connection, which reconnects' }),
    /** A dead-letter record keeps at most this many bytes of the raw frame, plus its full length and SHA-256. */
    dlqRawMaxBytes: cfg.int({ env: 'FEED_DLQ_RAW_MAX_BYTES', default: 64 * 1024, min: 256, doc: 'Raw text kept in a dead-letter record (bytes); the rest is cut, the full length and SHA-256 are recorded' }),
    /** Tests and benchmarks only: publish to market.crypto.<kind>.<this> instead of the exchange's platform topics. */
    topicExchange: optional(cfg.string({ env: 'FEED_TOPIC_EXCHANGE', pattern: /^[a-z][a-z0-9_-]{0,31}$/, doc: 'Exchange segment of the topic names instead of the exchange (tests, benchmarks); unset = the platform topics' })),
  };
}

export interface FeedConfig {
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly stableAfterMs: number;
  readonly staleTimeoutMs: number | undefined;
  readonly maxConnectionAgeMs: number | undefined;
  readonly journalDir: string;
  readonly journalMaxBytes: number;
  readonly quotes: boolean;
  readonly deliveryTimeoutMs: number;
  readonly lingerMs: number;
  readonly breakerResetMs: number;
  readonly resumeFromKafka: boolean;
  /** Unset: 4 MiB. */
  readonly wsMaxPayloadBytes?: number;
  /** Unset: 64 KiB. */
  readonly dlqRawMaxBytes?: number;
  /** Unset: the adapter's (platform) topics. */
  readonly topicExchange?: string | undefined;
}

export function feedConfigProblems(c: FeedConfig): string[] {
  return c.backoffMaxMs < c.backoffInitialMs ? [`FEED_BACKOFF_MAX_MS (${c.backoffMaxMs}) must be >= FEED_BACKOFF_INITIAL_MS (${c.backoffInitialMs})`] : [];
}
