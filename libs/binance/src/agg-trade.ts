import { messageId, type TradeV2, type VendorData } from '@k2/schema';
import { bool, epochMicros, idText, optBool, positiveDecimal, type Json } from './fields';
import { BINANCE_ASSET_CLASS, BINANCE_EXCHANGE, binanceQuoteAsset } from './symbols';
import type { MapContext, MappedTrade } from './types';

/**
 * The part of an aggregate trade shared by the stream event and the REST /api/v3/aggTrades row
 * (same letters: a, p, q, f, l, T, m, M). `vendor` holds what precedes the common fields.
 */
export function aggTradeRecord(ev: Json, symbol: string, id: string, ctx: MapContext, vendor: VendorData, exact: () => Json): MappedTrade {
  const time = epochMicros(ev['T'], 'T (trade time)');
  const isBuyerMaker = bool(ev, 'm', 'm (is buyer maker)');
  const bestMatch = optBool(ev, 'M', 'M (best match)');
  vendor['is_buyer_maker'] = isBuyerMaker ? 'true' : 'false';
  if (bestMatch !== undefined) vendor['is_best_match'] = bestMatch ? 'true' : 'false';
  vendor['first_trade_id'] = idText(ev, 'f', 'f (first trade id)', exact);
  vendor['last_trade_id'] = idText(ev, 'l', 'l (last trade id)', exact);
  vendor['time_unit'] = time.unit;
  const record: TradeV2 = {
    message_id: messageId(BINANCE_EXCHANGE, symbol, id, 'aggTrade'),
    trade_id: id,
    symbol,
    exchange: BINANCE_EXCHANGE,
    asset_class: BINANCE_ASSET_CLASS,
    timestamp: time.micros,
    price: positiveDecimal(ev, 'p', 'p (price)', 'price'),
    quantity: positiveDecimal(ev, 'q', 'q (quantity)', 'quantity'),
    currency: binanceQuoteAsset(symbol),
    side: isBuyerMaker ? 'SELL' : 'BUY',
    trade_conditions: [],
    source_sequence: BigInt(id),
    ingestion_timestamp: ctx.receivedAtMicros,
    platform_sequence: null,
    vendor_data: vendor,
  };
  return { symbol, tradeId: record.source_sequence as bigint, record };
}
