import type { DecodeContext, FeedQuote, FeedTrade } from '@k2/feed';

/**
 * The mappers return the feed's own types (one definition, in @k2/feed); these names stay as aliases for the
 * exchange-side callers and tests that use them.
 */
export type MapContext = DecodeContext;
export type MappedTrade = FeedTrade;
export type MappedQuote = FeedQuote;

export type KrakenMessage =
  | { kind: 'trades'; snapshot: boolean; trades: MappedTrade[] }
  | { kind: 'quotes'; quotes: MappedQuote[] }
  /** Reply to subscribe / unsubscribe (one per symbol). */
  | { kind: 'ack'; method: string; success: boolean; reqId?: number; channel?: string; symbol?: string; error?: string }
  | { kind: 'heartbeat' }
  /** Sent on connect and on engine state changes; connectionId keeps every digit (it exceeds 2^53). */
  | { kind: 'status'; system: string; connectionId: string; apiVersion?: string; version?: string }
  | { kind: 'pong'; reqId?: number };
