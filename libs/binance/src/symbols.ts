import { ValidationError } from '@k2/core';
import type { AssetClass } from '@k2/schema';

export const BINANCE_EXCHANGE = 'BINANCE';
export const BINANCE_ASSET_CLASS: AssetClass = 'crypto';

/**
 * Quote assets of Binance spot (binance.com and binance.us) symbols. A Binance symbol is base + quote with no
 * separator (`exchangeInfo` gives `baseAsset`/`quoteAsset`, the streams only `s`), so the quote is found as the
 * longest suffix in this list: BTCFDUSD → FDUSD (not USD), ETHTUSD → TUSD, BNBBTC → BTC. Extend the list when
 * Binance lists a new quote asset; a symbol whose quote is not here is rejected rather than guessed.
 */
export const BINANCE_QUOTE_ASSETS: readonly string[] = Object.freeze([
  // Stablecoins
  'USDT', 'USDC', 'FDUSD', 'TUSD', 'BUSD', 'USDP', 'PAX', 'DAI', 'UST', 'USDS', 'VAI', 'AEUR', 'EURI', 'USD1', 'XUSD',
  // Crypto quotes
  'BTC', 'ETH', 'BNB', 'XRP', 'TRX', 'DOGE', 'DOT', 'SOL',
  // Fiat and fiat tokens (USD: binance.us)
  'USD', 'EUR', 'GBP', 'TRY', 'AUD', 'BRL', 'RUB', 'UAH', 'NGN', 'ZAR', 'PLN', 'RON', 'ARS', 'JPY', 'MXN', 'COP', 'CZK',
  'BIDR', 'IDRT', 'BKRW',
]);

const QUOTES = new Set(BINANCE_QUOTE_ASSETS);
// Suffix lengths to try, longest first.
const QUOTE_LENGTHS = [...new Set(BINANCE_QUOTE_ASSETS.map((q) => q.length))].sort((a, b) => b - a);

export interface BinanceSymbolInfo {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
}

/**
 * Canonical Binance symbol: upper case, as in the streams' `s` and REST `symbol` (stream names are lower case).
 * Binance allows non-ASCII symbols (web-socket-streams.md, General information), so only emptiness, length,
 * separators, whitespace and control characters are refused.
 */
export function canonicalBinanceSymbol(raw: string): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 64) {
    throw new ValidationError(`binance symbol: ${JSON.stringify(raw)} is not a symbol`, { context: { value: String(raw) } });
  }
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x2f /* / */ || c === 0x2d /* - */ || c === 0x5f /* _ */) {
      throw new ValidationError(`binance symbol: ${JSON.stringify(raw)} contains ${JSON.stringify(raw[i])}`, {
        context: { value: raw },
      });
    }
  }
  return raw.toUpperCase();
}

/** The quote asset of a canonical symbol (the trade's currency), by longest suffix in BINANCE_QUOTE_ASSETS. */
export function binanceQuoteAsset(symbol: string): string {
  for (const len of QUOTE_LENGTHS) {
    if (symbol.length <= len) continue; // the base must not be empty
    const suffix = symbol.slice(symbol.length - len);
    if (QUOTES.has(suffix)) return suffix;
  }
  throw new ValidationError(`binance symbol: ${JSON.stringify(symbol)} does not end in a known quote asset (BINANCE_QUOTE_ASSETS)`, {
    context: { value: symbol },
  });
}

export function binanceSymbolInfo(raw: string): BinanceSymbolInfo {
  const symbol = canonicalBinanceSymbol(raw);
  const quote = binanceQuoteAsset(symbol);
  return { symbol, base: symbol.slice(0, symbol.length - quote.length), quote };
}

/** Stream name for a symbol, e.g. ("BTCUSDT", "trade") → "btcusdt@trade" (stream names are lower case). */
export function binanceStreamName(symbol: string, stream: 'trade' | 'aggTrade' | 'bookTicker'): string {
  return `${canonicalBinanceSymbol(symbol).toLowerCase()}@${stream}`;
}
