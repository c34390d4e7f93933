import type { QuoteV2, TradeV2 } from '@k2/schema';

/** One trade as an exchange mapper produced it: canonical symbol, the exchange's sequential trade id, the record. */
export interface FeedTrade {
  readonly symbol: string;
  readonly tradeId: bigint;
  readonly record: TradeV2;
}

export interface FeedQuote {
  readonly symbol: string;
  readonly record: QuoteV2;
}

/** What a frame means to the streamer, once the exchange mapper has decoded it. */
export type FeedEvent =
  | { readonly type: 'trades'; readonly trades: readonly FeedTrade[] }
  | { readonly type: 'quotes'; readonly quotes: readonly FeedQuote[] }
  /** Subscription confirmations, heartbeats, pongs, status: liveness only. */
  | { readonly type: 'control'; readonly detail?: string; /** Worth a log line (e.g. Kraken's status message). */ readonly notable?: boolean }
  /** The exchange refused something (e.g. an unknown symbol): logged and counted, the connection lives on. */
  | { readonly type: 'exchange-error'; readonly detail: string }
  /** The exchange announced it will close this connection soon (Binance `serverShutdown`): rotate to a new one. */
  | { readonly type: 'rotate'; readonly detail: string };

export interface DecodeContext {
  readonly receivedAtMicros: bigint;
}

/**
 * The exchange-specific part of a WebSocket feed: where to connect, what to send, how often. Everything else
 * (reconnect, backoff, failover, stale detection, rotation, rate limits) lives in `WebSocketFeed`.
 */
export interface FeedTransport {
  /** Lower-case exchange name, as in topic names and metric prefixes (`k2_<exchange>_…`). */
  readonly exchange: string;
  /** The URL to open for one of the configured base endpoints. */
  connectUrl(baseUrl: string): string;
  /** Control messages to send once open, in order; they go through the rate limiter. */
  subscribeMessages(): string[];
  /** Outgoing control messages allowed per second (Binance: 5). */
  readonly maxMessagesPerSecond: number;
  /** Application-level ping (Kraken `{"method":"ping"}`); protocol pings are answered by `ws` itself. */
  readonly appPing?: { readonly intervalMs: number; message(): string };
  /** Silence (no frame, heartbeat or ping) longer than this means the connection is dead. */
  readonly staleTimeoutMs: number;
  /** The exchange closes connections at this age (Binance: 24 h); rotate a little before it. */
  readonly maxConnectionAgeMs?: number;
}

/** REST history used to close trade-id gaps. Returns trades after `after`, ascending; may include ids ≤ after. */
export interface BackfillSource {
  fetchAfter(symbol: string, after: { tradeId: bigint; timestampMicros: bigint }, ctx: DecodeContext): Promise<readonly FeedTrade[]>;
}

/** All an exchange library provides to the generic streamer. */
export interface ExchangeAdapter {
  readonly exchange: string;
  readonly transport: FeedTransport;
  /** Pure decode of one frame; throws a ValidationError for malformed or out-of-range input (goes to the DLQ). */
  decode(raw: string, ctx: DecodeContext): FeedEvent;
  readonly backfill: BackfillSource;
  readonly topics: { readonly trades: string; readonly quotes: string };
  /** The canonical symbols this adapter subscribes to (trades are gap-tracked per symbol). */
  readonly symbols: readonly string[];
}
