import { ValidationError } from '@k2/core';
import { BINANCE_QUOTE_ASSETS, binanceQuoteAsset, binanceStreamName, binanceSymbolInfo, canonicalBinanceSymbol } from './symbols';

describe('binance symbols', () => {
  it.each([
    ['BTCUSDT', 'BTC', 'USDT'],
    ['ETHBTC', 'ETH', 'BTC'],
    ['BNBBTC', 'BNB', 'BTC'],
    ['BTCFDUSD', 'BTC', 'FDUSD'],
    ['ETHTUSD', 'ETH', 'TUSD'],
    ['BTCBUSD', 'BTC', 'BUSD'],
    ['BTCUSDC', 'BTC', 'USDC'],
    ['BTCUSD', 'BTC', 'USD'],
    ['BTCUSD1', 'BTC', 'USD1'],
    ['USDTTRY', 'USDT', 'TRY'],
    ['ETHEUR', 'ETH', 'EUR'],
    ['EURIUSDT', 'EURI', 'USDT'],
    ['ETHEURI', 'ETH', 'EURI'],
    ['BTCIDRT', 'BTC', 'IDRT'],
    ['SOLBNB', 'SOL', 'BNB'],
    ['btcusdt', 'BTC', 'USDT'],
  ])('%s → base %s, quote (currency) %s by longest suffix', (symbol, base, quote) => {
    expect(binanceSymbolInfo(symbol)).toEqual({ symbol: symbol.toUpperCase(), base, quote });
  });

  it('rejects symbols without a known quote, with an empty base, or with separators', () => {
    expect(() => binanceQuoteAsset('BTCXYZ')).toThrow(ValidationError);
    expect(() => binanceQuoteAsset('USDT')).toThrow(/does not end in a known quote asset/);
    expect(() => canonicalBinanceSymbol('BTC-USDT')).toThrow(/contains "-"/);
    expect(() => canonicalBinanceSymbol('BTC USDT')).toThrow(/contains " "/);
    expect(() => canonicalBinanceSymbol('')).toThrow(/is not a symbol/);
    expect(() => canonicalBinanceSymbol(5 as unknown as string)).toThrow(/is not a symbol/);
  });

  it('keeps non-ASCII symbols (allowed by Binance) and upper-cases ASCII', () => {
    expect(binanceSymbolInfo('币安人生usdt')).toEqual({ symbol: '币安人生USDT', base: '币安人生', quote: 'USDT' });
  });

  it('has no duplicate quote assets and builds lower-case stream names', () => {
    expect(new Set(BINANCE_QUOTE_ASSETS).size).toBe(BINANCE_QUOTE_ASSETS.length);
    expect(binanceStreamName('BTCUSDT', 'aggTrade')).toBe('btcusdt@aggTrade');
  });
});
