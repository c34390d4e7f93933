import { ValidationError } from '@k2/core';
import type { AssetClass } from '@k2/schema';

export const KRAKEN_EXCHANGE = 'KRAKEN';
export const KRAKEN_ASSET_CLASS: AssetClass = 'crypto';

/**
 * Kraken's legacy asset names (WS v1, REST altnames) and the names WS v2 uses for them: "v2 ... Symbol format
 * XBT/USD → BTC/USD" (docs.kraken.com, spot WebSocket v1 vs v2). Canonical K2 symbols use the v2 names.
 */
export const KRAKEN_LEGACY_ASSETS: Readonly<Record<string, string>> = Object.freeze({ XBT: 'BTC', XDG: 'DOGE' });
const TO_LEGACY: Readonly<Record<string, string>> = Object.freeze({ BTC: 'XBT', DOGE: 'XDG' });

export interface KrakenPair {
  /** Canonical symbol: base + quote without separator, e.g. BTCUSD. */
  readonly symbol: string;
  readonly base: string;
  /** Quote asset: the records' currency. */
  readonly quote: string;
}

/** Splits "BTC/USD" (or legacy "XBT/USD", "XDG/USD") into canonical base and quote. */
export function krakenPair(pair: string): KrakenPair {
  if (typeof pair !== 'string') throw new ValidationError(`kraken symbol: ${String(pair)} must be a string`);
  const slash = pair.indexOf('/');
  if (slash <= 0 || slash === pair.length - 1 || pair.indexOf('/', slash + 1) >= 0 || pair.length > 64) {
    throw new ValidationError(`kraken symbol: ${JSON.stringify(pair)} is not a BASE/QUOTE pair`, { context: { value: pair } });
  }
  for (let i = 0; i < pair.length; i++) {
    const c = pair.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) {
      throw new ValidationError(`kraken symbol: ${JSON.stringify(pair)} contains ${JSON.stringify(pair[i])}`, { context: { value: pair } });
    }
  }
  const rawBase = pair.slice(0, slash).toUpperCase();
  const rawQuote = pair.slice(slash + 1).toUpperCase();
  const base = KRAKEN_LEGACY_ASSETS[rawBase] ?? rawBase;
  const quote = KRAKEN_LEGACY_ASSETS[rawQuote] ?? rawQuote;
  return { symbol: base + quote, base, quote };
}

/** Canonical symbol: BTC/USD, XBT/USD → BTCUSD; XDG/USD → DOGEUSD; ETH/XBT → ETHBTC. */
export function canonicalKrakenSymbol(pair: string): string {
  return krakenPair(pair).symbol;
}

/**
 * The `pair` to send to REST /0/public/Trades for a WS v2 symbol: the REST altname, which still uses the legacy
 * asset names (BTC/USD → XBTUSD, DOGE/USD → XDGUSD, ETH/USD → ETHUSD). The response keys its rows by Kraken's
 * internal name (XXBTZUSD), which mapKrakenRestTrades accepts whatever it is.
 */
export function krakenRestPair(wsSymbol: string): string {
  const { base, quote } = krakenPair(wsSymbol);
  return (TO_LEGACY[base] ?? base) + (TO_LEGACY[quote] ?? quote);
}
