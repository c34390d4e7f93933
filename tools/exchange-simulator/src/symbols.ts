import { SCALE } from './numfmt';

/** Rough starting prices so the synthetic tape looks like the real market in magnitude. */
const START_PRICES: Record<string, number> = {
  BTC: 65000,
  XBT: 65000,
  ETH: 3500,
  BNB: 600,
  SOL: 150,
  LTC: 80,
  XRP: 0.52,
  ADA: 0.45,
  MATIC: 0.5,
  POL: 0.5,
  DOGE: 0.15,
  XDG: 0.15,
  DOT: 6.5,
  AVAX: 30,
  LINK: 14,
  SHIB: 0.00002345,
  PEPE: 0.0000123,
};

const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CHF', 'BTC', 'XBT', 'ETH', 'BNB'];

export interface SymbolSpec {
  /** Exchange-native name used on the wire: BTCUSDT (Binance), BTC/USD or XBT/USD (Kraken). */
  wire: string;
  /** Name the admin API and the caller use: BTCUSDT, BTC/USD. */
  name: string;
  base: string;
  quote: string;
  startPriceUnits: number;
  tickUnits: number;
  lotUnits: number;
  /** Median trade size in units. */
  medianQtyUnits: number;
  /** Kraken REST price padding (the REST API pads prices to the pair's display precision). */
  restPriceDecimals: number;
}

function pow10(e: number): number {
  return Math.pow(10, e);
}

function specFor(name: string, wire: string, base: string, quote: string): SymbolSpec {
  const quoteIsFiatLike = !['BTC', 'XBT', 'ETH', 'BNB'].includes(quote);
  let price = START_PRICES[base] ?? 100;
  if (!quoteIsFiatLike) price = price / (START_PRICES[quote] ?? 1);
  // Tick about 1e-6 of the price (BTC 0.01, DOGE 0.0000001), never below 1e-8; lot about 1e-3 of one unit of
  // value, so small-priced coins get 8-decimal prices and big ones 8-decimal quantities.
  const tick = Math.max(1, Math.round(pow10(Math.floor(Math.log10(price)) - 6) * SCALE));
  const lot = Math.max(1, Math.round(pow10(Math.floor(Math.log10(1 / price)) - 3) * SCALE));
  const startPriceUnits = Math.max(tick * 10, Math.round((price * SCALE) / tick) * tick);
  const medianNotional = quoteIsFiatLike ? 400 : 400 / (START_PRICES[quote] ?? 1);
  const medianQtyUnits = Math.max(lot, Math.round(((medianNotional / price) * SCALE) / lot) * lot);
  const tickDecimals = Math.max(0, -Math.floor(Math.log10(tick / SCALE) + 1e-9));
  return { name, wire, base, quote, startPriceUnits, tickUnits: tick, lotUnits: lot, medianQtyUnits, restPriceDecimals: Math.max(5, tickDecimals) };
}

/** BTCUSDT -> base BTC, quote USDT (longest known quote suffix). */
export function binanceSpec(symbol: string): SymbolSpec {
  const name = symbol.toUpperCase();
  // ASCII only: frames are written as latin1 with byte length = string length (net.ts flushOut).
  if (!/^[A-Z0-9]{2,20}$/.test(name)) throw new Error(`Binance symbol must be 2-20 letters/digits: ${symbol}`);
  let base = name;
  let quote = 'USDT';
  for (const q of [...QUOTES].sort((a, b) => b.length - a.length)) {
    if (name.length > q.length && name.endsWith(q)) {
      base = name.slice(0, -q.length);
      quote = q;
      break;
    }
  }
  return specFor(name, name, base, quote);
}

/** Kraken renamed XBT to BTC and XDG to DOGE in WebSocket v2; v1 and REST altnames keep the old codes. */
const V2_TO_LEGACY: Record<string, string> = { BTC: 'XBT', DOGE: 'XDG' };
const LEGACY_TO_V2: Record<string, string> = { XBT: 'BTC', XDG: 'DOGE' };

/** "xbt/usd", "BTC/USD" -> { base: BTC, quote: USD }; undefined if not BASE/QUOTE. */
export function splitKrakenPair(text: string): { base: string; quote: string } | undefined {
  const m = /^([A-Za-z0-9]{1,12})\/([A-Za-z0-9]{1,12})$/.exec(text.trim());
  if (!m) return undefined;
  const base = m[1].toUpperCase();
  const quote = m[2].toUpperCase();
  return { base: LEGACY_TO_V2[base] ?? base, quote: LEGACY_TO_V2[quote] ?? quote };
}

export function krakenCanonical(text: string): string | undefined {
  const p = splitKrakenPair(text);
  return p ? `${p.base}/${p.quote}` : undefined;
}

export function krakenSpec(symbol: string, legacy: boolean): SymbolSpec {
  const p = splitKrakenPair(symbol);
  if (!p) throw new Error(`Kraken symbol must look like BTC/USD: ${symbol}`);
  const name = `${p.base}/${p.quote}`;
  const wire = legacy ? `${V2_TO_LEGACY[p.base] ?? p.base}/${V2_TO_LEGACY[p.quote] ?? p.quote}` : name;
  return specFor(name, wire, p.base, p.quote);
}

/**
 * Kraken REST pair names. The result key of /0/public/Trades is the pair's internal name: the older assets
 * carry X (crypto) / Z (fiat) prefixes (XBTUSD -> XXBTZUSD, ETHUSD -> XETHZUSD), newer ones are the plain
 * altname (SOLUSD, and XDGUSD for Dogecoin).
 */
const LEGACY_PREFIXED: Record<string, string> = {
  XBT: 'XXBT',
  ETH: 'XETH',
  LTC: 'XLTC',
  XRP: 'XXRP',
  XLM: 'XXLM',
  XMR: 'XXMR',
  ETC: 'XETC',
  ZEC: 'XZEC',
  REP: 'XREP',
  MLN: 'XMLN',
  USD: 'ZUSD',
  EUR: 'ZEUR',
  GBP: 'ZGBP',
  JPY: 'ZJPY',
  CAD: 'ZCAD',
};

function mustSplit(pair: string): { base: string; quote: string } {
  const p = splitKrakenPair(pair);
  if (!p) throw new Error(`Kraken symbol must look like BTC/USD: ${pair}`);
  return p;
}

export function krakenAltname(canonical: string): string {
  const p = mustSplit(canonical);
  return `${V2_TO_LEGACY[p.base] ?? p.base}${V2_TO_LEGACY[p.quote] ?? p.quote}`;
}

export function krakenRestKey(canonical: string): string {
  const p = mustSplit(canonical);
  const b = V2_TO_LEGACY[p.base] ?? p.base;
  const q = V2_TO_LEGACY[p.quote] ?? p.quote;
  const pb = LEGACY_PREFIXED[b];
  const pq = LEGACY_PREFIXED[q];
  // Only pairs of two old-style assets use the 8-letter prefixed form (XXBTZUSD, XETHXXBT); USDTZUSD is the
  // exception Kraken made for USDT/USD.
  if (pb && pq) return `${pb}${pq}`;
  if (b === 'USDT' && q === 'USD') return 'USDTZUSD';
  return `${b}${q}`;
}

/** Every spelling /0/public/Trades accepts for a pair, upper-cased: XXBTZUSD, XBTUSD, XBT/USD, BTC/USD, BTCUSD. */
export function krakenRestAliases(canonical: string): string[] {
  const p = mustSplit(canonical);
  const lb = V2_TO_LEGACY[p.base] ?? p.base;
  const lq = V2_TO_LEGACY[p.quote] ?? p.quote;
  return [...new Set([krakenRestKey(canonical), krakenAltname(canonical), `${lb}/${lq}`, `${p.base}/${p.quote}`, `${p.base}${p.quote}`])];
}
