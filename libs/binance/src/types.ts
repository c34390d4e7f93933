import type { DecodeContext, FeedQuote, FeedTrade } from '@k2/feed';

/**
 * The mappers return the feed's own types (one definition, in @k2/feed); these names stay as aliases for the
 * exchange-side callers and tests that use them.
 */
export type MapContext = DecodeContext;
export type MappedTrade = FeedTrade;
export type MappedQuote = FeedQuote;

export type BinanceMessage =
  | { kind: 'trade'; trade: MappedTrade; stream?: string }
  | { kind: 'quote'; quote: MappedQuote; stream?: string }
  /** Reply to SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY. */
  | { kind: 'result'; id: number | string | null; result: unknown }
  /** `{"code","msg"}` error reply to a control message. */
  | { kind: 'error'; id: number | string | null; code: number; msg: string }
  /** The server will close this connection soon: open a replacement now. */
  | { kind: 'server-shutdown'; eventTimeMicros: bigint };

/** Time unit a REST request asked for (`X-MBX-TIME-UNIT`): milliseconds (default) or microseconds. */
export type BinanceTimeUnit = 'ms' | 'us';
