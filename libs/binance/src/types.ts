import type { QuoteV2, TradeV2 } from '@k2/schema';

/** What the caller knows about a frame that the frame does not say. */
export interface MapContext {
  /** When the frame was received (µs since epoch); also the records' ingestion_timestamp. */
  readonly receivedAtMicros: bigint;
}

export interface MappedTrade {
  /** Canonical symbol, e.g. BTCUSDT. */
  readonly symbol: string;
  /** The exchange's sequential id (aggTrade: the aggregate id `a`), for gap tracking. */
  readonly tradeId: bigint;
  readonly record: TradeV2;
}

export interface MappedQuote {
  readonly symbol: string;
  readonly record: QuoteV2;
}

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
