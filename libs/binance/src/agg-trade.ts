import { messageId, type TradeV2, type VendorData } from '@k2/schema';
import { bool, epochMicros, idText, optBool, positiveDecimal, type Json } from './fields';
import { BINANCE_ASSET_CLASS, BINANCE_EXCHANGE, binanceQuoteAsset } from './symbols';
import type { DecodeContext, FeedTrade } from '@k2/feed';

/**
 * The part of an aggregate trade shared by the stream event and the REST /api/v3/aggTrades row
 * (same letters: a, p, q, f, l, T, m, M). `vendor` holds what precedes the common fields.
 */
export function aggTradeRecord(ev: Json, symbol: string, id: string, ctx: DecodeContext, vendor: VendorData, exact: () => Json): FeedTrade {
  const time = epochMicros(ev['T'], 'T (trade time)');
  const isBuyerMaker = bool(ev, 'm', 'm (is buyer maker)');
  const bestMatch = optBool(ev, 'M', 'M (best match)');
  vendor['is_buyer_maker'] = isBuyerMaker ? 'true' : 'false';
  if (bestMatch !== undefined) vendor['is_best_match'] = bestMatch ? 'true' : 'false';
  vendor['first_trade_id'] = idText(ev, 'f', 'f (first trade id)', exact);
  vendor['last_trade_id'] = idText(ev, 'l', 'l (last trade id)', exact);
  vendor['time_unit'] = time.unit;
  return binanceTrade(ev, { symbol, id, kind: 'aggTrade', micros: time.micros, isBuyerMaker, ctx, vendor, price: ['p', 'p (price)'], quantity: ['q', 'q (quantity)'] });
}

export interface BinanceTradeParts {
  symbol: string;
  id: string;
  /** Aggregate ids are numbered apart from trade ids, hence their own message-id kind. */
  kind: 'trade' | 'aggTrade';
  micros: bigint;
  isBuyerMaker: boolean;
  ctx: DecodeContext;
  vendor: VendorData;
  /** [key in the object, field name for errors] */
  price: [string, string];
  quantity: [string, string];
}

/** The TradeV2 every Binance source (@trade, @aggTrade, historicalTrades, aggTrades) maps to. */
export function binanceTrade(ev: Json, p: BinanceTradeParts): FeedTrade {
  const record: TradeV2 = {
    message_id: p.kind === 'trade' ? messageId(BINANCE_EXCHANGE, p.symbol, p.id) : messageId(BINANCE_EXCHANGE, p.symbol, p.id, p.kind),
    trade_id: p.id,
    symbol: p.symbol,
    exchange: BINANCE_EXCHANGE,
    asset_class: BINANCE_ASSET_CLASS,
    timestamp: p.micros,
    price: positiveDecimal(ev, p.price[0], p.price[1], 'price'),
    quantity: positiveDecimal(ev, p.quantity[0], p.quantity[1], 'quantity'),
    currency: binanceQuoteAsset(p.symbol),
    // m=true: the buyer was the maker, so the aggressor sold.
    side: p.isBuyerMaker ? 'SELL' : 'BUY',
    trade_conditions: [],
    source_sequence: BigInt(p.id),
    ingestion_timestamp: p.ctx.receivedAtMicros,
    platform_sequence: null,
    vendor_data: p.vendor,
  };
  return { symbol: p.symbol, tradeId: record.source_sequence as bigint, record };
}
