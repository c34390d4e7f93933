import type { FlagSpec } from '../args';

/**
 * What each k2 command sends. A command's flags map one to one onto the route's query parameters
 * (`--window-minutes` → `window_minutes`, libs/query/src/params.ts and /openapi.json); the server validates them, so
 * k2 never second-guesses a value and a parameter added to the API later works through `--param name=value`.
 */
export interface ParamFlag {
  /** kebab-case flag name; the parameter is the same name in snake_case. */
  readonly flag: string;
  /** The value's placeholder in --help. */
  readonly arg: string;
  readonly doc: string;
}

export interface RouteCommand {
  readonly name: string;
  readonly path: string;
  readonly summary: string;
  /** Positional arguments, joined with commas into this parameter (`k2 trades BTCUSDT ETHUSDT`). */
  readonly positional?: { readonly param: string; readonly arg: string; readonly doc: string };
  readonly params: readonly ParamFlag[];
  /** The columns of the table format (other formats print every field); `--columns all` shows every field. */
  readonly tableColumns?: readonly string[];
  /** One object, not a list (summary). */
  readonly single?: boolean;
  /** `k2 export` can download it in a streamed format (format=csv|ndjson|parquet). */
  readonly exportable?: boolean;
}

export const paramOf = (flag: string): string => flag.replaceAll('-', '_');

const f = (flag: string, arg: string, doc: string): ParamFlag => ({ flag, arg, doc });

const EXCHANGE = f('exchange', 'CODE', 'only this exchange: BINANCE, KRAKEN, ASX (any case)');
const ASSET_CLASS = f('asset-class', 'CLASS', 'only this asset class: crypto, equities');
const START = f('start', 'TIME', 'inclusive start, RFC 3339 (2026-11-23T10:00:00Z)');
const END = f('end', 'TIME', 'exclusive end, RFC 3339; default now');
const WINDOW = f('window-minutes', 'N', 'window ending now (or at --end), in minutes; default 15 without --start');
const LIMIT = f('limit', 'N', 'rows per request (1-10000, default 1000); --all fetches every page');
const CURSOR = f('cursor', 'CURSOR', 'start at this next_cursor of an earlier page');
const AS_OF = f('as-of', 'ID|TIME', 'answer from one table snapshot: a snapshot id (k2 snapshots) or an RFC 3339 time (time travel, no Kafka tail)');
const TZ = f('tz', 'ZONE', "IANA time zone of the buckets/day, e.g. Australia/Sydney; default the exchange's (ASX: Australia/Sydney), else UTC");
const SYMBOL = { param: 'symbol', arg: 'SYMBOL', doc: 'instrument(s), e.g. BTCUSDT, BTC/USD, BHP; several comma-separated' };

const ROWS: readonly ParamFlag[] = [EXCHANGE, ASSET_CLASS, START, END, WINDOW, LIMIT, CURSOR, AS_OF];

export const ROUTE_COMMANDS: readonly RouteCommand[] = [
  {
    name: 'trades',
    path: '/v1/trades',
    summary: 'trades, newest first',
    positional: SYMBOL,
    params: ROWS,
    tableColumns: ['timestamp', 'exchange', 'symbol', 'side', 'price', 'quantity', 'trade_id'],
    exportable: true,
  },
  {
    name: 'quotes',
    path: '/v1/quotes',
    summary: 'best bid/ask quotes, newest first',
    positional: SYMBOL,
    params: ROWS,
    tableColumns: ['timestamp', 'exchange', 'symbol', 'bid_price', 'bid_quantity', 'ask_price', 'ask_quantity'],
    exportable: true,
  },
  {
    name: 'bars',
    path: '/v1/bars',
    summary: 'OHLCV bars with VWAP and trade counts',
    positional: SYMBOL,
    params: [f('interval', 'WIDTH', 'bar width: 1m 5m 15m 1h 1d (required)'), EXCHANGE, START, END, WINDOW, TZ, AS_OF],
    exportable: true,
  },
  {
    name: 'summary',
    path: '/v1/summary',
    summary: "one day's OHLC, volume, VWAP and trade count",
    positional: SYMBOL,
    params: [f('date', 'YYYY-MM-DD', 'the day (required)'), EXCHANGE, TZ, AS_OF],
    single: true,
  },
  {
    name: 'symbols',
    path: '/v1/symbols',
    summary: 'instruments seen, with first/last seen times',
    params: [EXCHANGE, ASSET_CLASS, AS_OF],
  },
  {
    name: 'snapshots',
    path: '/v1/snapshots',
    summary: 'Iceberg snapshots of the tables (ids and times for --as-of)',
    params: [f('table', 'NAME', 'trades, quotes or reference'), f('limit', 'N', 'most snapshots to list')],
  },
  {
    name: 'reference',
    path: '/v1/reference',
    summary: 'reference data (instrument and corporate-action records)',
    positional: SYMBOL,
    params: [f('type', 'TYPE', 'only this reference record type'), f('as-of-date', 'YYYY-MM-DD', 'the records valid on this day'), AS_OF],
  },
];

export const REPLAY_PARAMS: readonly ParamFlag[] = [
  f('types', 'LIST', 'event types, comma-separated: trades, quotes'),
  EXCHANGE,
  ASSET_CLASS,
  START,
  END,
  f('speed', 'X', 'replay speed: 1 = as recorded, 10 = ten times faster, max = as fast as the client reads (the default)'),
  CURSOR,
];

export const CONNECTION_FLAGS: readonly FlagSpec[] = [
  { name: 'url', value: true },
  { name: 'api-key', value: true },
  { name: 'help', value: false, short: 'h' },
];

export function paramFlagSpecs(params: readonly ParamFlag[]): FlagSpec[] {
  return params.map((p) => ({ name: p.flag, value: true }));
}
