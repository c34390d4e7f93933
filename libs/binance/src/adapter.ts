import { topicName } from '@k2/kafka';
import type { ExchangeAdapter } from '@k2/feed';
import { BinanceBackfill } from './backfill';
import { decodeBinanceFrame } from './mapper';
import { canonicalBinanceSymbol } from './symbols';
import { BinanceTransport } from './transport';

export interface BinanceAdapterOptions {
  /** Spot symbols, e.g. BTCUSDT. */
  symbols: readonly string[];
  stream: 'trade' | 'aggTrade';
  /** Subscribe to `<symbol>@bookTicker` as well. */
  quotes: boolean;
  /** REST base for backfill, e.g. https://api.binance.com. */
  restUrl: string;
  /** Spacing of backfill requests. historicalTrades weighs 25 of 6000 per minute. Default 250 ms. */
  restMinIntervalMs?: number;
}

export function binanceAdapter(o: BinanceAdapterOptions): ExchangeAdapter {
  return {
    exchange: 'binance',
    transport: new BinanceTransport(o),
    decode: decodeBinanceFrame,
    backfill: new BinanceBackfill(o),
    topics: {
      trades: topicName({ assetClass: 'crypto', dataType: 'trades', exchange: 'binance' }),
      quotes: topicName({ assetClass: 'crypto', dataType: 'quotes', exchange: 'binance' }),
    },
    symbols: o.symbols.map(canonicalBinanceSymbol),
  };
}
