import { ErrorCode, ValidationError } from '@k2/core';
import { messageId } from '@k2/schema';
import { mapBinanceMessage } from './mapper';
import type { BinanceMessage, MappedQuote, MappedTrade } from './types';

const ctx = { receivedAtMicros: 1672515782140123n };

// Variations of the documented payloads (web-socket-streams.md, "Trade Streams" / "Aggregate Trade Streams" /
// "Individual Symbol Book Ticker Streams").
const TRADE = { e: 'trade', E: 1672515782136, s: 'BNBBTC', t: 12345, p: '0.001', q: '100', T: 1672515782136, m: true, M: true };
const AGG = { e: 'aggTrade', E: 1672515782136, s: 'BNBBTC', a: 12345, p: '0.001', q: '100', f: 100, l: 105, T: 1672515782136, m: true, M: true };
const BOOK = { u: 400900217, s: 'BNBUSDT', b: '25.35190000', B: '31.21000000', a: '25.36520000', A: '40.66000000' };

function trade(msg: BinanceMessage): MappedTrade {
  if (msg.kind !== 'trade') throw new Error(`expected a trade, got ${msg.kind}`);
  return msg.trade;
}
function quote(msg: BinanceMessage): MappedQuote {
  if (msg.kind !== 'quote') throw new Error(`expected a quote, got ${msg.kind}`);
  return msg.quote;
}
function rejection(raw: string): ValidationError {
  try {
    mapBinanceMessage(raw, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error(`expected ${raw} to be rejected`);
}
const frame = (o: object) => JSON.stringify(o);

describe('mapBinanceMessage: trades', () => {
  it('maps m=true to SELL (buyer was maker, aggressor sold) and m=false to BUY', () => {
    expect(trade(mapBinanceMessage(frame(TRADE), ctx)).record.side).toBe('SELL');
    expect(trade(mapBinanceMessage(frame({ ...TRADE, m: false }), ctx)).record.side).toBe('BUY');
    expect(trade(mapBinanceMessage(frame({ ...AGG, m: false }), ctx)).record.side).toBe('BUY');
  });

  it('keeps the id as trade_id, source_sequence and tradeId; message_id from (BINANCE, symbol, id)', () => {
    const t = trade(mapBinanceMessage(frame(TRADE), ctx));
    expect(t).toMatchObject({ symbol: 'BNBBTC', tradeId: 12345n });
    expect(t.record).toMatchObject({
      trade_id: '12345',
      source_sequence: 12345n,
      message_id: messageId('BINANCE', 'BNBBTC', '12345'),
      exchange: 'BINANCE',
      asset_class: 'crypto',
      currency: 'BTC',
      ingestion_timestamp: ctx.receivedAtMicros,
      platform_sequence: null,
      trade_conditions: [],
    });
  });

  it('uses the aggregate id for aggTrade and a message_id that cannot collide with raw trade ids', () => {
    const a = trade(mapBinanceMessage(frame(AGG), ctx));
    expect(a.tradeId).toBe(12345n);
    expect(a.record.source_sequence).toBe(12345n);
    expect(a.record.message_id).toBe(messageId('BINANCE', 'BNBBTC', '12345', 'aggTrade'));
    expect(a.record.message_id).not.toBe(trade(mapBinanceMessage(frame(TRADE), ctx)).record.message_id);
    expect(a.record.vendor_data).toMatchObject({ event_type: 'aggTrade', first_trade_id: '100', last_trade_id: '105' });
  });

  it('reads µs trade times as they are (timeUnit=MICROSECOND) and converts 13-digit ms times, saying which', () => {
    const us = trade(mapBinanceMessage(frame({ ...TRADE, E: 1672515782136512, T: 1672515782136507 }), ctx));
    expect(us.record.timestamp).toBe(1672515782136507n);
    expect(us.record.vendor_data).toMatchObject({ time_unit: 'us', event_time: '1672515782136512' });
    const ms = trade(mapBinanceMessage(frame(TRADE), ctx));
    expect(ms.record.timestamp).toBe(1672515782136000n);
    expect(ms.record.vendor_data).toMatchObject({ time_unit: 'ms', event_time: '1672515782136' });
    const aggUs = trade(mapBinanceMessage(frame({ ...AGG, T: 1672515782136507 }), ctx));
    expect(aggUs.record.timestamp).toBe(1672515782136507n);
  });

  it('rejects trade times that are neither ms nor µs', () => {
    expect(rejection(frame({ ...TRADE, T: 1672515782 })).message).toContain('T (trade time): 1672515782 is neither epoch milliseconds');
    expect(rejection(frame({ ...TRADE, T: 16725157821360000 })).message).toContain('T (trade time)');
    expect(rejection(frame({ ...TRADE, T: '1672515782136' })).message).toContain('T (trade time): "1672515782136" must be a positive integer');
  });

  it('unwraps the combined-stream wrapper and keeps the stream name', () => {
    const msg = mapBinanceMessage(frame({ stream: 'bnbbtc@trade', data: TRADE }), ctx);
    expect(msg).toMatchObject({ kind: 'trade', stream: 'bnbbtc@trade' });
    expect(trade(msg).record.vendor_data).toMatchObject({ stream: 'bnbbtc@trade' });
    expect(mapBinanceMessage(frame(TRADE), ctx)).not.toHaveProperty('stream');
  });

  it('keeps exact ids above 2^53 by re-reading the frame losslessly', () => {
    const raw = frame(TRADE).replace('"t":12345', '"t":9007199254740993');
    const t = trade(mapBinanceMessage(raw, ctx));
    expect(t.tradeId).toBe(9007199254740993n);
    expect(t.record.trade_id).toBe('9007199254740993');
    const combined = `{"stream":"bnbbtc@aggTrade","data":${frame(AGG).replace('"a":12345', '"a":9223372036854775807')}}`;
    expect(trade(mapBinanceMessage(combined, ctx)).record.source_sequence).toBe(9223372036854775807n);
  });

  it('refuses ids from 2^63 up, which the Avro long source_sequence cannot hold, with a clear reason', () => {
    const limit = 'is above 9223372036854775807, the largest signed 64-bit id';
    expect(rejection(frame(TRADE).replace('"t":12345', '"t":9223372036854775808')).message).toBe(`binance trade BNBBTC t=?: t (trade id): 9223372036854775808 ${limit}`);
    expect(rejection(frame(AGG).replace('"a":12345', '"a":18446744073709551617')).message).toBe(
      `binance aggTrade BNBBTC a=?: a (aggregate trade id): 18446744073709551617 ${limit}`,
    );
    expect(rejection(frame(BOOK).replace('"u":400900217', '"u":9223372036854775808')).message).toBe(
      `binance bookTicker BNBUSDT u=?: u (order book update id): 9223372036854775808 ${limit}`,
    );
  });

  it('canonicalises the symbol to upper case and derives the currency from the quote asset', () => {
    const t = trade(mapBinanceMessage(frame({ ...TRADE, s: 'ethfdusd' }), ctx));
    expect(t.symbol).toBe('ETHFDUSD');
    expect(t.record.currency).toBe('FDUSD');
  });
});

describe('mapBinanceMessage: invalid trades are ValidationErrors naming field and value', () => {
  it.each([
    [{ ...TRADE, p: '-1.5' }, 'p (price): "-1.5" must not be negative', ErrorCode.DECIMAL_INVALID],
    [{ ...TRADE, p: '0.00000000' }, 'p (price): "0.00000000" must be greater than zero', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, p: 'NaN' }, 'p (price): "NaN" is not a decimal number', ErrorCode.DECIMAL_INVALID],
    [{ ...TRADE, p: 0.001 }, 'p (price): 0.001 must be decimal text, got number', ErrorCode.DECIMAL_INVALID],
    [{ ...TRADE, q: '0.000000001' }, 'q (quantity): "0.000000001" has more than 8 significant fraction digits', ErrorCode.DECIMAL_INVALID],
    [{ ...TRADE, q: '0' }, 'q (quantity): "0" must be greater than zero', ErrorCode.DECIMAL_INVALID],
    [{ ...TRADE, q: '12345678901.5' }, 'q (quantity): "12345678901.5" has more than 10 integer digits', ErrorCode.DECIMAL_INVALID],
    [{ ...TRADE, p: undefined }, 'p (price): missing is required', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, t: undefined }, 't (trade id): missing is required', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, t: '12345' }, 't (trade id): "12345" must be a non-negative integer', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, t: -1 }, 't (trade id): -1 must be a non-negative integer', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, t: 1.5 }, 't (trade id): 1.5 must be a non-negative integer', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, m: 'true' }, 'm (is buyer maker): "true" must be true or false', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, m: undefined }, 'm (is buyer maker): missing is required', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, s: 12 }, 's (symbol): 12 must be a string', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, s: 'BTCXYZ' }, 'does not end in a known quote asset', ErrorCode.VALIDATION_FAILED],
    [{ ...TRADE, E: undefined }, 'E (event time): missing is required', ErrorCode.VALIDATION_FAILED],
    [{ ...AGG, f: undefined }, 'f (first trade id): missing is required', ErrorCode.VALIDATION_FAILED],
    [{ ...AGG, a: null }, 'a (aggregate trade id): null must be a non-negative integer', ErrorCode.VALIDATION_FAILED],
  ])('%j', (payload, message, code) => {
    const err = rejection(frame(payload));
    expect(err.message).toContain(message);
    expect(err.code).toBe(code);
    expect(err.retriable).toBe(false);
  });

  it('says which trade failed', () => {
    expect(rejection(frame({ ...TRADE, p: '-1' })).message).toMatch(/^binance trade BNBBTC t=12345: p \(price\)/);
    expect(rejection(frame({ ...AGG, q: 'x' })).message).toMatch(/^binance aggTrade BNBBTC a=12345: q \(quantity\)/);
  });

  it('rejects malformed JSON, non-objects and unknown shapes', () => {
    const bad = rejection('{"e":"trade","s":');
    expect(bad.message).toMatch(/^binance: malformed JSON/);
    expect(bad.code).toBe(ErrorCode.JSON_INVALID);
    expect(rejection('[1,2]').message).toContain('binance: frame must be a JSON object, got [1,2]');
    expect(rejection('null').message).toContain('frame must be a JSON object');
    expect(rejection(frame({ e: 'kline', E: 1, s: 'BNBBTC' })).message).toContain('unknown message shape (e="kline"');
    expect(rejection(frame({ stream: 'x@trade', data: 5 })).message).toContain('data: 5 must be a JSON object');
    expect(rejection(frame({ stream: 'x@depth', data: { lastUpdateId: 1, bids: [], asks: [] } })).message).toContain('unknown message shape');
    expect(rejection(frame({ e: 'serverShutdown' })).message).toContain('E (event time): missing is required');
  });
});

describe('mapBinanceMessage: bookTicker', () => {
  it('stamps receive time, says so, and uses u as sequence and message id', () => {
    const q = quote(mapBinanceMessage(frame(BOOK), ctx));
    expect(q.symbol).toBe('BNBUSDT');
    expect(q.record).toMatchObject({
      timestamp: ctx.receivedAtMicros,
      ingestion_timestamp: ctx.receivedAtMicros,
      source_sequence: 400900217n,
      message_id: messageId('BINANCE', 'BNBUSDT', '400900217', 'quote'),
      bid_price: '25.35190000',
      ask_quantity: '40.66000000',
      currency: 'USDT',
      vendor_data: { timestamp_source: 'receive_time' },
    });
  });

  it('accepts an empty side (0 / 0) but not a zero price with size, nor negatives', () => {
    expect(quote(mapBinanceMessage(frame({ ...BOOK, a: '0.00000000', A: '0.00000000' }), ctx)).record.ask_price).toBe('0.00000000');
    expect(rejection(frame({ ...BOOK, b: '0', B: '1' })).message).toContain('b (bid price): "0" must be greater than zero when B (bid quantity) is "1"');
    expect(rejection(frame({ ...BOOK, B: '-1' })).message).toContain('B (bid quantity): "-1" must not be negative');
    expect(rejection(frame({ ...BOOK, A: undefined })).message).toContain('A (ask quantity): missing is required');
  });
});

describe('mapBinanceMessage: control messages', () => {
  it('maps SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS replies', () => {
    expect(mapBinanceMessage('{"result":null,"id":312}', ctx)).toEqual({ kind: 'result', id: 312, result: null });
    expect(mapBinanceMessage('{"result":["btcusdt@aggTrade"],"id":"abc"}', ctx)).toEqual({ kind: 'result', id: 'abc', result: ['btcusdt@aggTrade'] });
    expect(mapBinanceMessage('{"result":null,"id":null}', ctx)).toEqual({ kind: 'result', id: null, result: null });
  });

  it('maps {"code","msg"} error replies, with or without id', () => {
    expect(mapBinanceMessage('{"code": 0, "msg": "Unknown property","id": 7}', ctx)).toEqual({ kind: 'error', id: 7, code: 0, msg: 'Unknown property' });
    expect(mapBinanceMessage('{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}', ctx)).toEqual({
      kind: 'error',
      id: null,
      code: 3,
      msg: 'Invalid JSON: expected value at line 1 column 1',
    });
    expect(rejection('{"code":"x","msg":"m"}').message).toContain('code: "x" must be an integer');
  });

  it('maps serverShutdown, raw and combined, in ms or µs', () => {
    expect(mapBinanceMessage('{"e":"serverShutdown","E":1770123456789}', ctx)).toEqual({ kind: 'server-shutdown', eventTimeMicros: 1770123456789000n });
    expect(mapBinanceMessage('{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789123}}', ctx)).toEqual({
      kind: 'server-shutdown',
      eventTimeMicros: 1770123456789123n,
    });
  });
});
