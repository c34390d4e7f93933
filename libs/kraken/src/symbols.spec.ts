import { ValidationError } from '@k2/core';
import { canonicalKrakenSymbol, krakenPair, krakenRestPair } from './symbols';

describe('kraken symbols', () => {
  it.each([
    ['BTC/USD', 'BTCUSD', 'USD'],
    ['XBT/USD', 'BTCUSD', 'USD'],
    ['XDG/USD', 'DOGEUSD', 'USD'],
    ['DOGE/USD', 'DOGEUSD', 'USD'],
    ['ETH/XBT', 'ETHBTC', 'BTC'],
    ['ETH/EUR', 'ETHEUR', 'EUR'],
    ['USDT/USD', 'USDTUSD', 'USD'],
    ['eth/usd', 'ETHUSD', 'USD'],
  ])('%s → %s, currency %s', (pair, symbol, quote) => {
    expect(canonicalKrakenSymbol(pair)).toBe(symbol);
    expect(krakenPair(pair).quote).toBe(quote);
  });

  it.each([
    ['BTC/USD', 'XBTUSD'],
    ['XBT/USD', 'XBTUSD'],
    ['DOGE/USD', 'XDGUSD'],
    ['ETH/USD', 'ETHUSD'],
    ['ETH/BTC', 'ETHXBT'],
  ])('REST pair for %s is %s', (ws, rest) => {
    expect(krakenRestPair(ws)).toBe(rest);
  });

  it.each(['BTCUSD', '/USD', 'BTC/', 'BTC/USD/EUR', 'BTC /USD', ''])('rejects %j', (pair) => {
    expect(() => canonicalKrakenSymbol(pair)).toThrow(ValidationError);
  });
});
