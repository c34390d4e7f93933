import { ErrorCode, LosslessNumber, ValidationError } from '@k2/core';
import { mapKrakenMessage } from './mapper';
import { floatSecondsToMicros, mapKrakenRestTrades } from './rest-mapper';
import type { MappedTrade } from './types';

const ctx = { receivedAtMicros: 1688671970000000n };

// Variations of the documented GET /0/public/Trades response (docs.kraken.com, "Get Recent Trades").
const body = (rows: string, last = '"1688671969993150842"', key = 'XXBTZUSD') => `{"error":[],"result":{"${key}":[${rows}],"last":${last}}}`;
const ROW = '["30243.40000","0.34507674",1688669597.8277369,"b","m","",61044952]';

function rejectionOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a rejection');
}

describe('mapKrakenRestTrades', () => {
  it('maps rows to the same ids as the WS trade channel and returns the cursor exactly', () => {
    const { trades, last } = mapKrakenRestTrades(body(ROW), 'BTC/USD', ctx);
    expect(last).toBe('1688671969993150842');
    expect(trades).toHaveLength(1);
    const rest = trades[0]!;
    const ws = mapKrakenMessage(
      '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":30243.4,"qty":0.34507674,"ord_type":"market","trade_id":61044952,"timestamp":"2023-07-06T18:53:17.827737Z"}]}',
      ctx,
    ) as { trades: MappedTrade[] };
    const live = ws.trades[0]!.record;
    for (const k of ['message_id', 'trade_id', 'symbol', 'timestamp', 'price', 'quantity', 'currency', 'side', 'source_sequence'] as const) {
      expect(rest.record[k]).toEqual(live[k]);
    }
    expect(rest.tradeId).toBe(61044952n);
    expect(rest.record.vendor_data).toEqual({
      pair: 'BTC/USD',
      ord_type: 'market',
      rest_pair: 'XXBTZUSD',
      timestamp_source: 'rest_float_seconds',
      origin: 'rest',
    });
  });

  it('accepts a legacy WS symbol and a numeric cursor, keeps misc, maps s/l', () => {
    const { trades, last } = mapKrakenRestTrades(body('["1.5","2",1688669598,"s","l","x",7]', '1688671969993150842'), 'XBT/USD', ctx);
    expect(last).toBe('1688671969993150842');
    expect(trades[0]!.record).toMatchObject({ symbol: 'BTCUSD', side: 'SELL', timestamp: 1688669598000000n, vendor_data: { ord_type: 'limit', misc: 'x' } });
  });

  it('rounds float seconds to the nearest µs from the source text', () => {
    const f = (t: string) => floatSecondsToMicros(new LosslessNumber(t), 'time');
    expect(f('1688669597.8277369')).toBe(1688669597827737n);
    expect(f('1688669597.8277364')).toBe(1688669597827736n);
    expect(f('1688669597.9999995')).toBe(1688669598000000n);
    expect(f('1688669602.698379')).toBe(1688669602698379n);
    expect(f('1688669602.5')).toBe(1688669602500000n);
    expect(() => f('1.688669602e9')).toThrow(/must be epoch seconds as a plain non-negative JSON number/);
    expect(() => floatSecondsToMicros('1688669602.5', 'time')).toThrow(ValidationError);
  });

  it('returns an empty page', () => {
    expect(mapKrakenRestTrades(body(''), 'BTC/USD', ctx).trades).toEqual([]);
  });

  it('rejects error bodies and malformed rows, naming row, field and value', () => {
    expect(rejectionOf(() => mapKrakenRestTrades('{"error":["EQuery:Unknown asset pair"]}', 'BTC/USD', ctx)).message).toBe(
      'kraken Trades: error EQuery:Unknown asset pair',
    );
    const json = rejectionOf(() => mapKrakenRestTrades('{"error":[],"result":', 'BTC/USD', ctx));
    expect(json.code).toBe(ErrorCode.JSON_INVALID);
    expect(rejectionOf(() => mapKrakenRestTrades(body(ROW, 'null'), 'BTC/USD', ctx)).message).toContain('result.last: null must be a non-negative integer');
    expect(rejectionOf(() => mapKrakenRestTrades('{"error":[],"result":{"A":[],"B":[],"last":"1"}}', 'BTC/USD', ctx)).message).toContain(
      'must hold exactly one pair besides "last", found 2',
    );
    expect(rejectionOf(() => mapKrakenRestTrades(body('["30243.4","0.1",1688669597.8,"b","m",""]'), 'BTC/USD', ctx)).message).toBe(
      'kraken Trades XXBTZUSD [0]: [6] (trade_id): missing is required',
    );
    expect(rejectionOf(() => mapKrakenRestTrades(body(ROW.replace('61044952', '9223372036854775808')), 'BTC/USD', ctx)).message).toBe(
      'kraken Trades XXBTZUSD [0]: [6] (trade_id): 9223372036854775808 is above 9223372036854775807, the largest signed 64-bit id',
    );
    expect(rejectionOf(() => mapKrakenRestTrades(body('["-1","0.1",1688669597.8,"b","m","",5]'), 'BTC/USD', ctx)).message).toBe(
      'kraken Trades XXBTZUSD [0] trade_id=5: [0] (price): "-1" must not be negative',
    );
    expect(rejectionOf(() => mapKrakenRestTrades(body('["1",0.1,1688669597.8,"b","m","",5]'), 'BTC/USD', ctx)).message).toContain(
      '[1] (volume): 0.1 must be decimal text',
    );
    expect(rejectionOf(() => mapKrakenRestTrades(body('["1","0.1",1688669597.8,"x","m","",5]'), 'BTC/USD', ctx)).message).toContain(
      '[3] (side): "x" must be "b" or "s"',
    );
    expect(rejectionOf(() => mapKrakenRestTrades(body('["1","0.1","1688669597.8","b","m","",5]'), 'BTC/USD', ctx)).message).toContain(
      '[2] (time): "1688669597.8" must be epoch seconds',
    );
    expect(rejectionOf(() => mapKrakenRestTrades(body(ROW), 'BTCUSD', ctx)).message).toContain('is not a BASE/QUOTE pair');
  });
});
