import { isLosslessNumber, ValidationError } from '@k2/core';
import { messageId, type QuoteV2, type TradeV2, type VendorData } from '@k2/schema';
import {
  bookSide,
  bool,
  invalid,
  isObj,
  isoMicros,
  optReqId,
  optStr,
  parseMessage,
  positiveDecimal,
  show,
  str,
  seqIdText,
  uintText,
  withPrefix,
  type Obj,
} from './fields';
import { KRAKEN_ASSET_CLASS, KRAKEN_EXCHANGE, krakenPair } from './symbols';
import { asDecodeError, type DecodeContext, type FeedEvent, type FeedQuote, type FeedTrade } from '@k2/feed';
import type { KrakenMessage } from './types';

/**
 * Kraken spot WebSocket v2 (wss://ws.kraken.com/v2, docs.kraken.com/api/docs/websocket-v2/*) → V2 records.
 *
 * Frames are parsed with the lossless parser: `price`, `qty`, `bid`… are JSON numbers on the wire and Kraken asks
 * for a decimal decoder, and `connection_id` exceeds 2^53, so no value goes through a JS number.
 *
 * - `trade` (snapshot = last 50 trades, then updates) → TradeV2: symbol canonical (BTC/USD and legacy XBT/USD →
 *   BTCUSD, XDG → DOGE), the pair as received in vendor_data.pair; trade_id and source_sequence = `trade_id`
 *   (a sequence per book); message_id = messageId(KRAKEN, symbol, trade_id); side = the taker's side;
 *   ord_type (the taker's order type) in vendor_data; timestamp = `timestamp` (RFC 3339, µs) exactly.
 * - `ticker` (subscribe with event_trigger "bbo" to get one per best-bid-offer change) → QuoteV2:
 *   timestamp = the ticker's `timestamp` (vendor_data.timestamp_source "exchange"); a frame without one (as in
 *   the 2023 docs) is stamped with receive time ("receive_time"). There is no sequence number: source_sequence
 *   is null and the message_id source id is "<timestamp µs>:<bid>:<bid_qty>:<ask>:<ask_qty>" — the same quote
 *   seen twice (reconnect snapshot) gets the same id, two different quotes in one µs do not. The 24 h
 *   statistics (last, volume, vwap, low, high, change, change_pct) are kept in vendor_data as written.
 * - `heartbeat`, `status`, subscribe/unsubscribe acks and `pong` → control messages.
 */
export function mapKrakenMessage(raw: string, ctx: DecodeContext): KrakenMessage {
  return mapFrame(raw, ctx, AS_MESSAGE);
}

/** The streamer's view of the same frame: trades, quotes, or what a control message means to the connection. */
export function decodeKrakenFrame(raw: string, ctx: DecodeContext): FeedEvent {
  return mapFrame(raw, ctx, AS_FEED_EVENT);
}

type Ack = Extract<KrakenMessage, { kind: 'ack' }>;
type Status = Extract<KrakenMessage, { kind: 'status' }>;

/** What one frame becomes; each view builds its own result from the mapped parts, so nothing is translated twice. */
interface FrameView<T> {
  trades(trades: FeedTrade[], snapshot: boolean): T;
  quotes(quotes: FeedQuote[]): T;
  ack(ack: Ack): T;
  heartbeat(): T;
  status(status: Status): T;
  pong(reqId: number | undefined): T;
}

const AS_MESSAGE: FrameView<KrakenMessage> = {
  trades: (trades, snapshot) => ({ kind: 'trades', snapshot, trades }),
  quotes: (quotes) => ({ kind: 'quotes', quotes }),
  ack: (ack) => ack,
  heartbeat: () => ({ kind: 'heartbeat' }),
  status: (status) => status,
  pong: (reqId) => (reqId === undefined ? { kind: 'pong' } : { kind: 'pong', reqId }),
};

const AS_FEED_EVENT: FrameView<FeedEvent> = {
  trades: (trades) => ({ type: 'trades', trades }),
  quotes: (quotes) => ({ type: 'quotes', quotes }),
  ack: (m) =>
    m.success
      ? { type: 'control', detail: `${m.method} ${m.channel ?? ''} ${m.symbol ?? ''}`.trim() }
      : { type: 'exchange-error', detail: `${m.method} ${m.channel ?? ''} ${m.symbol ?? ''}: ${m.error ?? 'failed'}` },
  heartbeat: () => ({ type: 'control', detail: 'heartbeat' }),
  // connection_id exceeds 2^53; the mapper keeps its exact digits as text.
  status: (m) => ({ type: 'control', detail: `status ${m.system} connection ${m.connectionId}`, notable: true }),
  pong: () => ({ type: 'control', detail: 'pong' }),
};

function mapFrame<T>(raw: string, ctx: DecodeContext, view: FrameView<T>): T {
  const msg = parseMessage(raw, 'kraken');
  if (!isObj(msg)) throw new ValidationError(`kraken: frame must be a JSON object, got ${show(msg)}`);

  const channel = msg['channel'];
  if (channel !== undefined) {
    switch (channel) {
      case 'trade': {
        const snapshot = updateType(msg) === 'snapshot';
        const data = dataArray(msg);
        const trades: FeedTrade[] = new Array(data.length);
        for (let i = 0; i < data.length; i++) trades[i] = mapTrade(data[i], i, ctx);
        return view.trades(trades, snapshot);
      }
      case 'ticker':
        try {
          updateType(msg);
          const data = dataArray(msg);
          const quotes: FeedQuote[] = new Array(data.length);
          for (let i = 0; i < data.length; i++) quotes[i] = mapTicker(data[i], i, ctx);
          return view.quotes(quotes);
        } catch (err) {
          return asDecodeError('quotes', err);
        }
      case 'heartbeat':
        return view.heartbeat();
      case 'status':
        return view.status(mapStatus(msg));
      default:
        break;
    }
  } else {
    const method = msg['method'];
    if (method === 'pong') return view.pong(optReqId(msg));
    if (typeof method === 'string' && msg['success'] !== undefined) return view.ack(mapAck(msg, method));
  }
  throw new ValidationError(
    `kraken: unknown message shape (channel=${show(channel)}, method=${show(msg['method'])}, keys=${Object.keys(msg).slice(0, 12).join(',')})`,
    { context: { channel: show(channel), method: show(msg['method']) } },
  );
}

function updateType(msg: Obj): 'snapshot' | 'update' {
  const type = msg['type'];
  if (type !== 'snapshot' && type !== 'update') throw invalid('type', type, type === undefined ? 'is required' : 'must be "snapshot" or "update"');
  return type;
}

function dataArray(msg: Obj): unknown[] {
  const data = msg['data'];
  if (!Array.isArray(data)) throw invalid('data', data, data === undefined ? 'is required' : 'must be an array');
  return data;
}

function mapTrade(item: unknown, i: number, ctx: DecodeContext): FeedTrade {
  let where = `kraken trade [${i}]`;
  try {
    if (!isObj(item)) throw invalid('data[]', item, 'must be a JSON object');
    const pair = str(item, 'symbol', 'symbol');
    const { symbol, quote } = krakenPair(pair);
    const id = seqIdText(item, 'trade_id', 'trade_id');
    where = `kraken trade ${pair} trade_id=${id}`;
    const sideText = str(item, 'side', 'side');
    if (sideText !== 'buy' && sideText !== 'sell') throw invalid('side', sideText, 'must be "buy" or "sell"');
    const vendor: VendorData = { pair };
    const ordType = optStr(item, 'ord_type', 'ord_type');
    if (ordType !== undefined) vendor['ord_type'] = ordType;
    const record: TradeV2 = {
      message_id: messageId(KRAKEN_EXCHANGE, symbol, id),
      trade_id: id,
      symbol,
      exchange: KRAKEN_EXCHANGE,
      asset_class: KRAKEN_ASSET_CLASS,
      timestamp: isoMicros(item, 'timestamp', 'timestamp'),
      price: positiveDecimal(item, 'price', 'price', 'price'),
      quantity: positiveDecimal(item, 'qty', 'qty', 'quantity'),
      currency: quote,
      side: sideText === 'buy' ? 'BUY' : 'SELL',
      trade_conditions: [],
      source_sequence: BigInt(id),
      ingestion_timestamp: ctx.receivedAtMicros,
      platform_sequence: null,
      vendor_data: vendor,
    };
    return { symbol, tradeId: record.source_sequence as bigint, record };
  } catch (e) {
    return withPrefix(where, e);
  }
}

const TICKER_STATS = ['last', 'volume', 'vwap', 'low', 'high', 'change', 'change_pct'] as const;

function mapTicker(item: unknown, i: number, ctx: DecodeContext): FeedQuote {
  let where = `kraken ticker [${i}]`;
  try {
    if (!isObj(item)) throw invalid('data[]', item, 'must be a JSON object');
    const pair = str(item, 'symbol', 'symbol');
    where = `kraken ticker ${pair}`;
    const { symbol, quote } = krakenPair(pair);
    const [bidPrice, bidQty] = bookSide(item, 'bid', 'bid_qty');
    const [askPrice, askQty] = bookSide(item, 'ask', 'ask_qty');
    const fromExchange = item['timestamp'] !== undefined;
    const timestamp = fromExchange ? isoMicros(item, 'timestamp', 'timestamp') : ctx.receivedAtMicros;
    const vendor: VendorData = { pair, timestamp_source: fromExchange ? 'exchange' : 'receive_time' };
    for (const k of TICKER_STATS) {
      const v = item[k];
      if (isLosslessNumber(v)) vendor[k] = v.value;
    }
    const record: QuoteV2 = {
      message_id: messageId(KRAKEN_EXCHANGE, symbol, `${timestamp}:${bidPrice}:${bidQty}:${askPrice}:${askQty}`, 'quote'),
      symbol,
      exchange: KRAKEN_EXCHANGE,
      asset_class: KRAKEN_ASSET_CLASS,
      timestamp,
      bid_price: bidPrice,
      bid_quantity: bidQty,
      ask_price: askPrice,
      ask_quantity: askQty,
      currency: quote,
      source_sequence: null,
      ingestion_timestamp: ctx.receivedAtMicros,
      platform_sequence: null,
      vendor_data: vendor,
    };
    return { symbol, record };
  } catch (e) {
    return withPrefix(where, e, 'quotes');
  }
}

function mapStatus(msg: Obj): Status {
  try {
    const data = dataArray(msg);
    const s = data[0];
    if (!isObj(s)) throw invalid('data[0]', s, 'must be a JSON object');
    // connection_id exceeds 2^53 (docs example 13834774380200032777): kept as its exact digits.
    const out: { kind: 'status'; system: string; connectionId: string; apiVersion?: string; version?: string } = {
      kind: 'status',
      system: str(s, 'system', 'system'),
      connectionId: uintText(s, 'connection_id', 'connection_id'),
    };
    const apiVersion = optStr(s, 'api_version', 'api_version');
    const version = optStr(s, 'version', 'version');
    if (apiVersion !== undefined) out.apiVersion = apiVersion;
    if (version !== undefined) out.version = version;
    return out;
  } catch (e) {
    return withPrefix('kraken status', e);
  }
}

function mapAck(msg: Obj, method: string): Ack {
  try {
    const out: { kind: 'ack'; method: string; success: boolean; reqId?: number; channel?: string; symbol?: string; error?: string } = {
      kind: 'ack',
      method,
      success: bool(msg, 'success', 'success'),
    };
    const reqId = optReqId(msg);
    if (reqId !== undefined) out.reqId = reqId;
    // Success: details under "result"; failure: "error" and (for symbol errors) "symbol" at the top level.
    // Informational fields of other shapes are ignored rather than failing the ack.
    const result = msg['result'];
    const res: Obj = isObj(result) ? result : {};
    const channel = asString(res['channel']);
    const symbol = asString(res['symbol']) ?? asString(msg['symbol']);
    const error = asString(msg['error']);
    if (channel !== undefined) out.channel = channel;
    if (symbol !== undefined) out.symbol = symbol;
    if (error !== undefined) out.error = error;
    return out;
  } catch (e) {
    return withPrefix(`kraken ${method} ack`, e);
  }
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
