import { parseLosslessJson, ValidationError, type LosslessJson } from '@k2/core';
import type { VendorData } from '@k2/schema';
import { bool, epochMicros, idText, invalid, isObject, optBool, parseFrame, show, str, withPrefix, type Json } from './fields';
import { aggTradeRecord, binanceTrade } from './agg-trade';
import { binanceQuoteAsset, canonicalBinanceSymbol } from './symbols';
import type { DecodeContext, FeedTrade } from '@k2/feed';
import type { BinanceTimeUnit } from './types';

/**
 * Binance spot REST backfill payloads → V2 trades (binance-spot-api-docs, rest-api.md, "Market Data endpoints").
 * The records equal what the stream mappers give for the same trade where it matters for dedup: same trade_id,
 * source_sequence and message_id (historicalTrades ↔ @trade, aggTrades ↔ @aggTrade). vendor_data.origin = "rest".
 *
 * `timeUnit` is the unit the request asked for (`X-MBX-TIME-UNIT: MICROSECOND` or not). As on the streams, each
 * value's magnitude decides (13 digits ms, 16 µs) so an ignored header cannot shift times by 1000×;
 * vendor_data.time_unit records what the response carried.
 */

/** GET /api/v3/historicalTrades (and /api/v3/trades): [{id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch}]. */
export function mapBinanceRestTrades(raw: string, symbol: string, ctx: DecodeContext, timeUnit: BinanceTimeUnit): FeedTrade[] {
  const sym = canonicalBinanceSymbol(symbol);
  binanceQuoteAsset(sym); // an unknown quote asset is refused before any row
  const rows = restRows(raw, 'historicalTrades', timeUnit);
  const exactRows = losslessRows(raw);
  const out: FeedTrade[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    let id = '?';
    try {
      if (!isObject(row)) throw invalid(`[${i}]`, row, 'must be a JSON object');
      id = idText(row, 'id', 'id (trade id)', () => exactRows()[i] as Json);
      const time = epochMicros(row['time'], 'time');
      const isBuyerMaker = bool(row, 'isBuyerMaker', 'isBuyerMaker');
      const bestMatch = optBool(row, 'isBestMatch', 'isBestMatch');
      const vendor: VendorData = { event_type: 'trade', is_buyer_maker: isBuyerMaker ? 'true' : 'false' };
      if (bestMatch !== undefined) vendor['is_best_match'] = bestMatch ? 'true' : 'false';
      if (row['quoteQty'] !== undefined) vendor['quote_qty'] = str(row, 'quoteQty', 'quoteQty');
      vendor['time_unit'] = time.unit;
      vendor['origin'] = 'rest';
      out[i] = binanceTrade(row, { symbol: sym, id, kind: 'trade', micros: time.micros, isBuyerMaker, ctx, vendor, price: ['price', 'price'], quantity: ['qty', 'qty (quantity)'] });
    } catch (e) {
      withPrefix(`binance historicalTrades ${sym} [${i}] id=${id}`, e);
    }
  }
  return out;
}

/** GET /api/v3/aggTrades: [{a, p, q, f, l, T, m, M}] — the @aggTrade letters without e, E, s. */
export function mapBinanceRestAggTrades(raw: string, symbol: string, ctx: DecodeContext, timeUnit: BinanceTimeUnit): FeedTrade[] {
  const sym = canonicalBinanceSymbol(symbol);
  binanceQuoteAsset(sym);
  const rows = restRows(raw, 'aggTrades', timeUnit);
  const exactRows = losslessRows(raw);
  const out: FeedTrade[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    let id = '?';
    try {
      if (!isObject(row)) throw invalid(`[${i}]`, row, 'must be a JSON object');
      const exact = () => exactRows()[i] as Json;
      id = idText(row, 'a', 'a (aggregate trade id)', exact);
      const vendor: VendorData = { event_type: 'aggTrade' };
      out[i] = aggTradeRecord(row, sym, id, ctx, vendor, exact);
      vendor['origin'] = 'rest'; // the record's vendor_data is this object
    } catch (e) {
      withPrefix(`binance aggTrades ${sym} [${i}] a=${id}`, e);
    }
  }
  return out;
}

function restRows(raw: string, endpoint: string, timeUnit: BinanceTimeUnit): unknown[] {
  if (timeUnit !== 'ms' && timeUnit !== 'us') throw new ValidationError(`binance ${endpoint}: timeUnit ${show(timeUnit)} must be "ms" or "us"`);
  const body = parseFrame(raw, `binance ${endpoint}`);
  if (Array.isArray(body)) return body;
  if (isObject(body) && body['code'] !== undefined && body['msg'] !== undefined) {
    // Error body, e.g. {"code":-1121,"msg":"Invalid symbol."} (errors.md).
    throw new ValidationError(`binance ${endpoint}: error ${show(body['code'])}: ${show(body['msg'])}`, {
      context: { code: body['code'], msg: body['msg'] },
    });
  }
  throw new ValidationError(`binance ${endpoint}: response must be a JSON array, got ${show(body)}`);
}

function losslessRows(raw: string): () => LosslessJson[] {
  let rows: LosslessJson[] | undefined;
  return () => (rows ??= parseLosslessJson(raw) as LosslessJson[]);
}
