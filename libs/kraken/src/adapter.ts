import { topicName } from '@k2/kafka';
import type { ExchangeAdapter } from '@k2/feed';
import { KrakenBackfill } from './backfill';
import { decodeKrakenFrame } from './mapper';
import { canonicalKrakenSymbol } from './symbols';
import { KrakenTransport } from './transport';

export interface KrakenAdapterOptions {
  /** WebSocket v2 symbols, e.g. BTC/USD. */
  symbols: readonly string[];
  /** Subscribe to `ticker` with event_trigger bbo as well. */
  quotes: boolean;
  /** REST base for backfill, e.g. https://api.kraken.com. */
  restUrl: string;
  /** Spacing of backfill requests; Kraken's public endpoints allow about one per second. Default 1000 ms. */
  restMinIntervalMs?: number;
}

export function krakenAdapter(o: KrakenAdapterOptions): ExchangeAdapter {
  return {
    exchange: 'kraken',
    transport: new KrakenTransport(o),
    decode: decodeKrakenFrame,
    backfill: new KrakenBackfill(o),
    topics: {
      trades: topicName({ assetClass: 'crypto', dataType: 'trades', exchange: 'kraken' }),
      quotes: topicName({ assetClass: 'crypto', dataType: 'quotes', exchange: 'kraken' }),
    },
    symbols: o.symbols.map(canonicalKrakenSymbol),
  };
}
