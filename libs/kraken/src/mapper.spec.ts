import { ErrorCode, ValidationError } from '@k2/core';
import { messageId } from '@k2/schema';
import { mapKrakenMessage } from './mapper';
import type { KrakenMessage, MappedQuote, MappedTrade } from './types';

const ctx = { receivedAtMicros: 1695628177709001n };

// Variations of the documented payloads (docs.kraken.com/api/docs/websocket-v2/trade, …/ticker, …/status), written
// as raw text because the point is what the wire says, digit for digit.
const tradeFrame = (fields: string, type = 'update') =>
  `{"channel":"trade","type":"${type}","data":[{${fields}}]}`;
const T = {
  symbol: '"symbol":"MATIC/USD"',
  side: '"side":"sell"',
  price: '"price":0.5117',
  qty: '"qty":40.0',
  ord: '"ord_type":"market"',
  id: '"trade_id":4665906',
  ts: '"timestamp":"2023-09-25T07:49:37.708706Z"',
};
const trade1 = (over: Partial<typeof T> = {}, type?: string) =>
  tradeFrame(
    Object.values({ ...T, ...over })
      .filter((v) => v !== '')
      .join(','),
    type,
  );
const tickerFrame = (fields: string) => `{"channel":"ticker","type":"update","data":[{${fields}}]}`;
const TICK = '"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10035,"ask_qty":740.0,"last":0.10035';

function trades(msg: KrakenMessage): MappedTrade[] {
  if (msg.kind !== 'trades') throw new Error(`expected trades, got ${msg.kind}`);
  return msg.trades;
}
function quotes(msg: KrakenMessage): MappedQuote[] {
  if (msg.kind !== 'quotes') throw new Error(`expected quotes, got ${msg.kind}`);
  return msg.quotes;
}
function rejection(raw: string): ValidationError {
  try {
    mapKrakenMessage(raw, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error(`expected ${raw} to be rejected`);
}

describe('mapKrakenMessage: trades', () => {
  it('maps a documented update to a TradeV2', () => {
    const [t] = trades(mapKrakenMessage(trade1(), ctx));
    expect(t).toMatchObject({ symbol: 'MATICUSD', tradeId: 4665906n });
    expect(t!.record).toMatchObject({
      message_id: messageId('KRAKEN', 'MATICUSD', '4665906'),
      trade_id: '4665906',
      source_sequence: 4665906n,
      exchange: 'KRAKEN',
      asset_class: 'crypto',
      currency: 'USD',
      side: 'SELL',
      price: '0.51170000',
      quantity: '40.00000000',
      timestamp: 1695628177708706n,
      ingestion_timestamp: ctx.receivedAtMicros,
      platform_sequence: null,
      vendor_data: { pair: 'MATIC/USD', ord_type: 'market' },
    });
    expect(trades(mapKrakenMessage(trade1({ side: '"side":"buy"' }), ctx))[0]!.record.side).toBe('BUY');
  });

  it('tells snapshots from updates', () => {
    expect(mapKrakenMessage(trade1({}, 'snapshot'), ctx)).toMatchObject({ kind: 'trades', snapshot: true });
    expect(mapKrakenMessage(trade1({}, 'update'), ctx)).toMatchObject({ kind: 'trades', snapshot: false });
    expect(mapKrakenMessage('{"channel":"trade","type":"snapshot","data":[]}', ctx)).toEqual({ kind: 'trades', snapshot: true, trades: [] });
  });

  it('parses price and qty from the raw text: digits a JS number would lose survive', () => {
    const [t] = trades(mapKrakenMessage(trade1({ symbol: '"symbol":"BTC/USD"', price: '"price":65000.12345678', qty: '"qty":0.00012345' }), ctx));
    expect(t!.record.price).toBe('65000.12345678');
    expect(t!.record.quantity).toBe('0.00012345');
    // 9999999999.99999999 is the largest Decimal(18,8); as a JS number it would be 10000000000.
    const [max] = trades(mapKrakenMessage(trade1({ price: '"price":9999999999.99999999' }), ctx));
    expect(max!.record.price).toBe('9999999999.99999999');
    const [sci] = trades(mapKrakenMessage(trade1({ qty: '"qty":1.5e-7' }), ctx));
    expect(sci!.record.quantity).toBe('0.00000015');
  });

  it('canonicalises BTC/USD and legacy XBT/USD to BTCUSD, XDG to DOGE, keeping the pair as received', () => {
    const [btc] = trades(mapKrakenMessage(trade1({ symbol: '"symbol":"BTC/USD"' }), ctx));
    const [xbt] = trades(mapKrakenMessage(trade1({ symbol: '"symbol":"XBT/USD"' }), ctx));
    const [xdg] = trades(mapKrakenMessage(trade1({ symbol: '"symbol":"XDG/EUR"' }), ctx));
    const [ethxbt] = trades(mapKrakenMessage(trade1({ symbol: '"symbol":"ETH/XBT"' }), ctx));
    expect(btc!.symbol).toBe('BTCUSD');
    expect(xbt!.symbol).toBe('BTCUSD');
    expect(xbt!.record.message_id).toBe(btc!.record.message_id);
    expect(xbt!.record.vendor_data).toMatchObject({ pair: 'XBT/USD' });
    expect(xdg!.record).toMatchObject({ symbol: 'DOGEEUR', currency: 'EUR', vendor_data: { pair: 'XDG/EUR' } });
    expect(ethxbt!.record).toMatchObject({ symbol: 'ETHBTC', currency: 'BTC' });
  });

  it('keeps µs timestamps exact and accepts trailing zero nanoseconds only', () => {
    const [t] = trades(mapKrakenMessage(trade1({ ts: '"timestamp":"2023-09-25T07:49:37.708706000Z"' }), ctx));
    expect(t!.record.timestamp).toBe(1695628177708706n);
    expect(rejection(trade1({ ts: '"timestamp":"2023-09-25T07:49:37.708706123Z"' })).message).toContain(
      'timestamp: "2023-09-25T07:49:37.708706123Z" is not an RFC 3339 timestamp with at most µs precision',
    );
  });

  it('keeps trade ids beyond 2^53 exact, up to 2^63-1 (the Avro long source_sequence)', () => {
    const [t] = trades(mapKrakenMessage(trade1({ id: '"trade_id":9223372036854775807' }), ctx));
    expect(t!.tradeId).toBe(9223372036854775807n);
    expect(t!.record.trade_id).toBe('9223372036854775807');
  });

  it('refuses trade ids from 2^63 up with a clear reason instead of failing in Avro encoding', () => {
    for (const id of ['9223372036854775808', '18446744073709551615']) {
      expect(rejection(trade1({ id: `"trade_id":${id}` })).message).toBe(
        `kraken trade [0]: trade_id: ${id} is above 9223372036854775807, the largest signed 64-bit id`,
      );
    }
  });

  it('maps every trade of a batch, in order', () => {
    const a = Object.values(T).join(',');
    const b = Object.values({ ...T, id: '"trade_id":4665907', side: '"side":"buy"' }).join(',');
    const out = trades(mapKrakenMessage(`{"channel":"trade","type":"update","data":[{${a}},{${b}}]}`, ctx));
    expect(out.map((t) => [t.tradeId, t.record.side])).toEqual([
      [4665906n, 'SELL'],
      [4665907n, 'BUY'],
    ]);
  });
});

describe('mapKrakenMessage: invalid trades are ValidationErrors naming field and value', () => {
  it.each([
    [{ price: '"price":-0.5117' }, 'price: "-0.5117" must not be negative', ErrorCode.DECIMAL_INVALID],
    [{ price: '"price":0' }, 'price: 0 must be greater than zero', ErrorCode.VALIDATION_FAILED],
    [{ price: '"price":"NaN"' }, 'price: "NaN" must be a JSON number', ErrorCode.VALIDATION_FAILED],
    [{ price: '"price":"0.5117"' }, 'price: "0.5117" must be a JSON number', ErrorCode.VALIDATION_FAILED],
    [{ price: '"price":null' }, 'price: null must be a JSON number', ErrorCode.VALIDATION_FAILED],
    [{ price: '' }, 'price: missing is required', ErrorCode.VALIDATION_FAILED],
    [{ qty: '"qty":0.000000001' }, 'qty: "0.000000001" has more than 8 significant fraction digits', ErrorCode.DECIMAL_INVALID],
    [{ qty: '"qty":0.0' }, 'qty: "0.0" must be greater than zero', ErrorCode.DECIMAL_INVALID],
    [{ qty: '"qty":1e400' }, 'qty: "1e400" exponent is out of range', ErrorCode.DECIMAL_INVALID],
    [{ id: '"trade_id":"4665906"' }, 'trade_id: "4665906" must be a JSON number', ErrorCode.VALIDATION_FAILED],
    [{ id: '"trade_id":-1' }, 'trade_id: -1 must be a non-negative integer', ErrorCode.VALIDATION_FAILED],
    [{ id: '"trade_id":4665906.5' }, 'trade_id: 4665906.5 must be a non-negative integer', ErrorCode.VALIDATION_FAILED],
    [{ id: '' }, 'trade_id: missing is required', ErrorCode.VALIDATION_FAILED],
    [{ side: '"side":"short"' }, 'side: "short" must be "buy" or "sell"', ErrorCode.VALIDATION_FAILED],
    [{ symbol: '"symbol":"MATICUSD"' }, 'kraken symbol: "MATICUSD" is not a BASE/QUOTE pair', ErrorCode.VALIDATION_FAILED],
    [{ symbol: '"symbol":7' }, 'symbol: 7 must be a string', ErrorCode.VALIDATION_FAILED],
    [{ ts: '"timestamp":1695628177' }, 'timestamp: 1695628177 must be a string', ErrorCode.VALIDATION_FAILED],
    [{ ts: '"timestamp":"yesterday"' }, 'timestamp: "yesterday" is not an RFC 3339 timestamp', ErrorCode.VALIDATION_FAILED],
    [{ ord: '"ord_type":5' }, 'ord_type: 5 must be a string', ErrorCode.VALIDATION_FAILED],
  ])('%j', (over, message, code) => {
    const err = rejection(trade1(over));
    expect(err.message).toContain(message);
    expect(err.code).toBe(code);
    expect(err.retriable).toBe(false);
  });

  it('says which trade failed', () => {
    expect(rejection(trade1({ price: '"price":-1' })).message).toMatch(/^kraken trade MATIC\/USD trade_id=4665906: price: "-1" must not be negative/);
  });

  it('rejects malformed JSON, wrong envelopes and unknown shapes', () => {
    const bad = rejection('{"channel":"trade","type":"update","data":[{"price":0.5117,}]}');
    expect(bad.code).toBe(ErrorCode.JSON_INVALID);
    expect(bad.message).toMatch(/^kraken: invalid JSON at position \d+ \(line 1, column \d+\): unexpected character "}"; expected a string key/);
    expect(rejection('[1]').message).toBe('kraken: frame must be a JSON object, got [1]');
    expect(rejection('{"channel":"trade","type":"partial","data":[]}').message).toContain('type: "partial" must be "snapshot" or "update"');
    expect(rejection('{"channel":"trade","type":"update","data":{}}').message).toContain('data: {} must be an array');
    expect(rejection('{"channel":"trade","type":"update","data":[5]}').message).toContain('data[]: 5 must be a JSON object');
    expect(rejection('{"channel":"book","type":"update","data":[]}').message).toContain('unknown message shape (channel="book"');
    expect(rejection('{"event":"heartbeat"}').message).toContain('unknown message shape');
  });
});

describe('mapKrakenMessage: ticker (bbo) → QuoteV2', () => {
  it('uses the ticker timestamp and a deterministic id from time and the book top', () => {
    const raw = tickerFrame(`${TICK},"timestamp":"2023-09-25T09:04:31.742648Z"`);
    const [q] = quotes(mapKrakenMessage(raw, ctx));
    expect(q!.symbol).toBe('ALGOUSD');
    expect(q!.record).toMatchObject({
      timestamp: 1695632671742648n,
      bid_price: '0.10025000',
      bid_quantity: '740.00000000',
      ask_price: '0.10035000',
      ask_quantity: '740.00000000',
      currency: 'USD',
      source_sequence: null,
      message_id: messageId('KRAKEN', 'ALGOUSD', '1695632671742648:0.10025000:740.00000000:0.10035000:740.00000000', 'quote'),
      vendor_data: { pair: 'ALGO/USD', timestamp_source: 'exchange', last: '0.10035' },
    });
    expect(quotes(mapKrakenMessage(raw, { receivedAtMicros: 1n }))[0]!.record.message_id).toBe(q!.record.message_id);
  });

  it('stamps receive time when the ticker has no timestamp (2023 docs shape), and says so', () => {
    const [q] = quotes(mapKrakenMessage(tickerFrame(TICK), ctx));
    expect(q!.record.timestamp).toBe(ctx.receivedAtMicros);
    expect(q!.record.vendor_data).toMatchObject({ timestamp_source: 'receive_time' });
  });

  it('rejects a zero bid with size, negatives and strings', () => {
    expect(rejection(tickerFrame(TICK.replace('"bid":0.10025', '"bid":0'))).message).toContain('bid: 0 must be greater than zero when bid_qty is 740.0');
    expect(rejection(tickerFrame(TICK.replace('"ask_qty":740.0', '"ask_qty":-1'))).message).toContain('ask_qty: "-1" must not be negative');
    expect(rejection(tickerFrame(TICK.replace('"ask":0.10035', '"ask":"0.10035"'))).message).toContain('ask: "0.10035" must be a JSON number');
    expect(rejection(tickerFrame(TICK.replace('"bid":0.10025,', ''))).message).toMatch(/^kraken ticker ALGO\/USD: bid: missing is required/);
  });
});

describe('mapKrakenMessage: control messages', () => {
  it('keeps a connection_id above 2^53 digit for digit', () => {
    const msg = mapKrakenMessage(
      '{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":14858525998463770613,"system":"online","version":"2.0.10"}]}',
      ctx,
    );
    expect(msg).toEqual({ kind: 'status', system: 'online', connectionId: '14858525998463770613', apiVersion: 'v2', version: '2.0.10' });
    expect(rejection('{"channel":"status","type":"update","data":[{"connection_id":"x","system":"online"}]}').message).toBe(
      'kraken status: connection_id: "x" must be a JSON number',
    );
  });

  it('maps heartbeat, pong and acks', () => {
    expect(mapKrakenMessage('{"channel":"heartbeat"}', ctx)).toEqual({ kind: 'heartbeat' });
    expect(mapKrakenMessage('{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}', ctx)).toEqual({
      kind: 'pong',
      reqId: 101,
    });
    expect(mapKrakenMessage('{"method":"pong"}', ctx)).toEqual({ kind: 'pong' });
    expect(
      mapKrakenMessage('{"method":"subscribe","req_id":7,"result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true}', ctx),
    ).toEqual({ kind: 'ack', method: 'subscribe', success: true, reqId: 7, channel: 'trade', symbol: 'BTC/USD' });
    // A refused subscription: error and symbol at the top level.
    expect(
      mapKrakenMessage(
        '{"error":"Currency pair not supported FOO/USD","method":"subscribe","req_id":8,"success":false,"symbol":"FOO/USD","time_in":"2023-09-25T09:21:10.428340Z","time_out":"2023-09-25T09:21:10.428375Z"}',
        ctx,
      ),
    ).toEqual({ kind: 'ack', method: 'subscribe', success: false, reqId: 8, symbol: 'FOO/USD', error: 'Currency pair not supported FOO/USD' });
    expect(rejection('{"method":"subscribe","success":"yes"}').message).toBe('kraken subscribe ack: success: "yes" must be true or false');
    expect(rejection('{"method":"pong","req_id":1.5}').message).toBe('req_id: 1.5 must be an integer within ±2^53');
  });
});
