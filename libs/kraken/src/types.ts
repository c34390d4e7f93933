import type { QuoteV2, TradeV2 } from '@k2/schema';

/** What the caller knows about a frame that the frame does not say. */
export interface MapContext {
  /** When the frame was received (µs since epoch); also the records' ingestion_timestamp. */
  readonly receivedAtMicros: bigint;
}

export interface MappedTrade {
  /** Canonical symbol without the slash, legacy names resolved: BTCUSD for "BTC/USD" and "XBT/USD". */
  readonly symbol: string;
  /** Kraken's trade_id: a sequence number per book, for gap tracking. */
  readonly tradeId: bigint;
  readonly record: TradeV2;
}

export interface MappedQuote {
  readonly symbol: string;
  readonly record: QuoteV2;
}

export type KrakenMessage =
  | { kind: 'trades'; snapshot: boolean; trades: MappedTrade[] }
  | { kind: 'quotes'; quotes: MappedQuote[] }
  /** Reply to subscribe / unsubscribe (one per symbol). */
  | { kind: 'ack'; method: string; success: boolean; reqId?: number; channel?: string; symbol?: string; error?: string }
  | { kind: 'heartbeat' }
  /** Sent on connect and on engine state changes; connectionId keeps every digit (it exceeds 2^53). */
  | { kind: 'status'; system: string; connectionId: string; apiVersion?: string; version?: string }
  | { kind: 'pong'; reqId?: number };
