import { ValidationError } from '@k2/core';
import { messageId, type QuoteV2, type VendorData } from '@k2/schema';
import {
  bookSide,
  bool,
  epochMicros,
  idText,
  intText,
  invalid,
  isObject,
  losslessEvent,
  optBool,
  parseFrame,
  show,
  str,
  withPrefix,
  type Json,
} from './fields';
import { aggTradeRecord, binanceTrade } from './agg-trade';
import { BINANCE_ASSET_CLASS, BINANCE_EXCHANGE, binanceQuoteAsset, canonicalBinanceSymbol } from './symbols';
import type { DecodeContext, FeedEvent, FeedQuote, FeedTrade } from '@k2/feed';
import { asDecodeError } from '@k2/feed';
import type { BinanceMessage } from './types';

/**
 * Binance spot WebSocket market streams → V2 records (binance-spot-api-docs, web-socket-streams.md).
 *
 * - `<symbol>@trade` → TradeV2: trade_id/source_sequence = `t`; message_id = messageId(BINANCE, symbol, t).
 * - `<symbol>@aggTrade` → TradeV2: trade_id/source_sequence = the aggregate id `a`; message_id uses kind
 *   "aggTrade" so aggregate ids never collide with raw trade ids of the same symbol.
 * - `<symbol>@bookTicker` → QuoteV2: the payload has no time, so timestamp = receive time
 *   (vendor_data.timestamp_source = "receive_time"); source_sequence = `u`; message_id = messageId(…, u, "quote").
 * - `m` ("is the buyer the market maker?") true ⇒ the taker sold ⇒ side SELL, else BUY.
 * - Times: µs when the connection asked for `timeUnit=MICROSECOND`; a 13-digit `T` is ms (a server that ignored
 *   the option) and is converted; vendor_data.time_unit says which one the frame carried ("ms" | "us").
 * - Prices and quantities are JSON strings, so JSON.parse loses nothing; ids are checked to be exact (see idText).
 */
export function mapBinanceMessage(raw: string, ctx: DecodeContext): BinanceMessage {
  return mapFrame(raw, ctx, AS_MESSAGE);
}

/** The streamer's view of the same frame: trades, quotes, or what a control message means to the connection. */
export function decodeBinanceFrame(raw: string, ctx: DecodeContext): FeedEvent {
  return mapFrame(raw, ctx, AS_FEED_EVENT);
}

/** What one frame becomes; each view builds its own result from the mapped parts, so nothing is translated twice. */
interface FrameView<T> {
  trade(trade: FeedTrade, stream: string | undefined): T;
  quote(quote: FeedQuote, stream: string | undefined): T;
  result(id: number | string | null, result: unknown): T;
  error(id: number | string | null, code: number, msg: string): T;
  serverShutdown(eventTimeMicros: bigint): T;
}

const AS_MESSAGE: FrameView<BinanceMessage> = {
  trade: (trade, stream) => (stream === undefined ? { kind: 'trade', trade } : { kind: 'trade', trade, stream }),
  quote: (quote, stream) => (stream === undefined ? { kind: 'quote', quote } : { kind: 'quote', quote, stream }),
  result: (id, result) => ({ kind: 'result', id, result }),
  error: (id, code, msg) => ({ kind: 'error', id, code, msg }),
  serverShutdown: (eventTimeMicros) => ({ kind: 'server-shutdown', eventTimeMicros }),
};

const AS_FEED_EVENT: FrameView<FeedEvent> = {
  trade: (trade) => ({ type: 'trades', trades: [trade] }),
  quote: (quote) => ({ type: 'quotes', quotes: [quote] }),
  result: (id) => ({ type: 'control', detail: `result of request ${String(id)}` }),
  error: (id, code, msg) => ({ type: 'exchange-error', detail: `request ${String(id)}: code ${code} ${msg}` }),
  serverShutdown: () => ({ type: 'rotate', detail: 'serverShutdown' }),
};

function mapFrame<T>(raw: string, ctx: DecodeContext, view: FrameView<T>): T {
  const msg = parseFrame(raw, 'binance');
  if (!isObject(msg)) throw new ValidationError(`binance: frame must be a JSON object, got ${show(msg)}`);

  let ev: Json = msg;
  let stream: string | undefined;
  if (msg['stream'] !== undefined && msg['data'] !== undefined) {
    // Combined stream wrapper {"stream":"<name>","data":<payload>}.
    stream = str(msg, 'stream', 'stream');
    const data = msg['data'];
    if (!isObject(data)) return asDecodeError(streamKind(stream), invalid('data', data, 'must be a JSON object'));
    ev = data;
  }

  const e = ev['e'];
  if (e === 'trade') return view.trade(mapTradeEvent(ev, ctx, stream, losslessEvent(raw, stream !== undefined)), stream);
  if (e === 'aggTrade') return view.trade(mapAggTradeEvent(ev, ctx, stream, losslessEvent(raw, stream !== undefined)), stream);
  if (e === 'serverShutdown') return view.serverShutdown(epochMicros(ev['E'], 'E (event time)').micros);
  if (e === undefined) {
    if (ev['u'] !== undefined && ev['s'] !== undefined && ev['b'] !== undefined && ev['a'] !== undefined) {
      let quote: FeedQuote;
      try {
        quote = mapBookTicker(ev, ctx, stream, losslessEvent(raw, stream !== undefined));
      } catch (err) {
        return asDecodeError('quotes', err);
      }
      return view.quote(quote, stream);
    }
    if (stream === undefined && 'result' in ev && 'id' in ev) return view.result(replyId(ev), ev['result']);
    if (stream === undefined && ev['code'] !== undefined && ev['msg'] !== undefined) {
      const code = ev['code'];
      if (typeof code !== 'number' || !Number.isInteger(code)) throw invalid('code', code, 'must be an integer');
      return view.error('id' in ev ? replyId(ev) : null, code, str(ev, 'msg', 'msg'));
    }
  }
  const keys = Object.keys(ev).slice(0, 12).join(',');
  return asDecodeError(
    streamKind(stream),
    new ValidationError(`binance: unknown message shape (e=${show(e)}${stream === undefined ? '' : `, stream=${JSON.stringify(stream)}`}, keys=${keys})`, {
      context: { e: show(e), keys },
    }),
  );
}

/** A combined-stream name says what the payload was meant to be (`<symbol>@bookTicker` → quotes). */
function streamKind(stream: string | undefined): 'trades' | 'quotes' {
  return stream !== undefined && stream.endsWith('@bookTicker') ? 'quotes' : 'trades';
}

function replyId(ev: Json): number | string | null {
  const id = ev['id'];
  if (id === null || typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id))) return id;
  throw invalid('id', id, 'must be an integer, a string or null');
}

function mapTradeEvent(ev: Json, ctx: DecodeContext, stream: string | undefined, exact: () => Json): FeedTrade {
  const symbol = canonicalBinanceSymbol(str(ev, 's', 's (symbol)'));
  let id = '?';
  try {
    id = idText(ev, 't', 't (trade id)', exact);
    const time = epochMicros(ev['T'], 'T (trade time)');
    const isBuyerMaker = bool(ev, 'm', 'm (is buyer maker)');
    const bestMatch = optBool(ev, 'M', 'M (best match)');
    const vendor: VendorData = {
      event_type: 'trade',
      event_time: intText(ev, 'E', 'E (event time)'),
      is_buyer_maker: isBuyerMaker ? 'true' : 'false',
    };
    if (bestMatch !== undefined) vendor['is_best_match'] = bestMatch ? 'true' : 'false';
    // Buyer/seller order ids: in frames until 2024-06 (removed from @trade since, per the changelog).
    if (ev['b'] !== undefined) vendor['buyer_order_id'] = intText(ev, 'b', 'b (buyer order id)');
    if (ev['a'] !== undefined) vendor['seller_order_id'] = intText(ev, 'a', 'a (seller order id)');
    vendor['time_unit'] = time.unit;
    if (stream !== undefined) vendor['stream'] = stream;
    return binanceTrade(ev, { symbol, id, kind: 'trade', micros: time.micros, isBuyerMaker, ctx, vendor, price: ['p', 'p (price)'], quantity: ['q', 'q (quantity)'] });
  } catch (e) {
    return withPrefix(`binance trade ${symbol} t=${id}`, e);
  }
}

function mapAggTradeEvent(ev: Json, ctx: DecodeContext, stream: string | undefined, exact: () => Json): FeedTrade {
  const symbol = canonicalBinanceSymbol(str(ev, 's', 's (symbol)'));
  let id = '?';
  try {
    id = idText(ev, 'a', 'a (aggregate trade id)', exact);
    const vendor: VendorData = {
      event_type: 'aggTrade',
      event_time: intText(ev, 'E', 'E (event time)'),
    };
    const trade = aggTradeRecord(ev, symbol, id, ctx, vendor, exact);
    if (stream !== undefined) vendor['stream'] = stream; // the record's vendor_data is this object
    return trade;
  } catch (e) {
    return withPrefix(`binance aggTrade ${symbol} a=${id}`, e);
  }
}

function mapBookTicker(ev: Json, ctx: DecodeContext, stream: string | undefined, exact: () => Json): FeedQuote {
  const symbol = canonicalBinanceSymbol(str(ev, 's', 's (symbol)'));
  let u = '?';
  try {
    u = idText(ev, 'u', 'u (order book update id)', exact);
    const [bidPrice, bidQty] = bookSide(ev, 'b', 'B', 'b (bid price)', 'B (bid quantity)');
    const [askPrice, askQty] = bookSide(ev, 'a', 'A', 'a (ask price)', 'A (ask quantity)');
    // bookTicker carries no exchange time (web-socket-streams.md, "Individual Symbol Book Ticker Streams").
    const vendor: VendorData = { timestamp_source: 'receive_time' };
    if (stream !== undefined) vendor['stream'] = stream;
    const record: QuoteV2 = {
      message_id: messageId(BINANCE_EXCHANGE, symbol, u, 'quote'),
      symbol,
      exchange: BINANCE_EXCHANGE,
      asset_class: BINANCE_ASSET_CLASS,
      timestamp: ctx.receivedAtMicros,
      bid_price: bidPrice,
      bid_quantity: bidQty,
      ask_price: askPrice,
      ask_quantity: askQty,
      currency: binanceQuoteAsset(symbol),
      source_sequence: BigInt(u),
      ingestion_timestamp: ctx.receivedAtMicros,
      platform_sequence: null,
      vendor_data: vendor,
    };
    return { symbol, record };
  } catch (e) {
    return withPrefix(`binance bookTicker ${symbol} u=${u}`, e, 'quotes');
  }
}
