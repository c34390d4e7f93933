import { ErrorCode, ValidationError } from '@k2/core';
import { ASSET_CLASSES, microsFromIso, type AssetClass } from '@k2/schema';
import { canonicalZone, localDay, UTC, zoneFor } from './trading-day';

/**
 * Request parameters of every query-api route, declared once: the validators below and the OpenAPI document
 * (openapi.ts) are both built from these specs, so the two cannot drift apart. Unknown parameters are rejected
 * rather than ignored, so a typo (`windows_minutes`) is a 400 instead of silently answering a different question.
 */
export const US_PER_MINUTE = 60_000_000n;
export const US_PER_DAY = 86_400_000_000n;
export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 10_000;
/** The longest window one request may scan: 31 days of trades is already ~10^8 rows at crypto rates. */
export const MAX_WINDOW_MINUTES = 31 * 24 * 60;
/** Bars requests are cheaper per row but still bounded: at most this many buckets per answer. */
export const MAX_BARS = 10_000;
export const DEFAULT_WINDOW_MINUTES = 15;
/** Symbols one cross-source request may name (`symbol=BTCUSDT,BHP,…`). */
export const MAX_SYMBOLS = 20;
/** Replay-then-follow (issue 16): symbols per replay, and the longest cursor (a live one names every partition). */
export const MAX_REPLAY_SYMBOLS = 100;
export const MAX_REPLAY_CURSOR = 8192;

export const INTERVALS = { '1m': 60_000_000n, '5m': 300_000_000n, '15m': 900_000_000n, '1h': 3_600_000_000n, '1d': US_PER_DAY } as const;
export type Interval = keyof typeof INTERVALS;

export class InvalidParameterError extends ValidationError {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(`${parameter}: ${message}`, { code: ErrorCode.QUERY_INVALID_PARAMETER, context: { parameter } });
    this.parameter = parameter;
  }
}

export interface ParamSpec {
  name: string;
  description: string;
  /** JSON schema of the raw query-string value, for OpenAPI. */
  schema: Record<string, unknown>;
  required?: boolean;
}

// Symbols as the V2 records carry them: Binance "BTCUSDT", Kraken "BTC/USD", ASX "BHP". Upper-cased on input.
const SYMBOL_RE = /^[A-Z0-9][A-Z0-9._/-]{0,31}$/;
// Exchange codes as the records carry them (BINANCE, KRAKEN, ASX); accepted in any case.
const EXCHANGE_RE = /^[A-Z][A-Z0-9_-]{0,31}$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INT_RE = /^[0-9]{1,9}$/;

// Time travel and reference data (issue 16 parts 3 and 6).
export const REFERENCE_TYPES = { instrument: 'INSTRUMENT', dividend: 'DIVIDEND', split: 'SPLIT', merger: 'MERGER' } as const;
export type ReferenceType = keyof typeof REFERENCE_TYPES;
export const SNAPSHOT_TABLES = ['trades', 'quotes', 'reference'] as const;
export type SnapshotTable = (typeof SNAPSHOT_TABLES)[number];
export const MAX_SNAPSHOTS = 1000;
export const DEFAULT_SNAPSHOTS = 100;

const P = {
  symbols: {
    name: 'symbol',
    description: `Instrument symbols as in the V2 records, comma-separated (up to ${MAX_SYMBOLS}), e.g. BTCUSDT or BTCUSDT,BHP; case-insensitive. Omit for every symbol (narrow with exchange, asset_class and the window).`,
    schema: { type: 'string', maxLength: 256 },
  },
  symbol: { name: 'symbol', description: 'Instrument symbol as in the V2 records, e.g. BTCUSDT, BTC/USD, BHP (case-insensitive).', schema: { type: 'string', pattern: SYMBOL_RE.source, maxLength: 32 } },
  exchange: { name: 'exchange', description: 'Exchange code as in the records (BINANCE, KRAKEN, ASX), case-insensitive.', schema: { type: 'string', pattern: EXCHANGE_RE.source } },
  asset_class: { name: 'asset_class', description: 'Asset class.', schema: { type: 'string', enum: [...ASSET_CLASSES] } },
  window_minutes: {
    name: 'window_minutes',
    description: `Window ending now (or at \`end\`), in minutes; default ${DEFAULT_WINDOW_MINUTES} when neither start nor end is given. Not combinable with start.`,
    schema: { type: 'integer', minimum: 1, maximum: MAX_WINDOW_MINUTES },
  },
  start: { name: 'start', description: 'Inclusive start, RFC 3339 (e.g. 2026-11-23T10:00:00Z, up to µs).', schema: { type: 'string', format: 'date-time' } },
  end: { name: 'end', description: 'Exclusive end, RFC 3339; default now.', schema: { type: 'string', format: 'date-time' } },
  limit: { name: 'limit', description: `Rows per page, 1–${MAX_LIMIT}.`, schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } },
  cursor: { name: 'cursor', description: 'Opaque `next_cursor` of the previous page (same filters).', schema: { type: 'string', maxLength: 256 } },
  interval: { name: 'interval', description: 'Bar width.', schema: { type: 'string', enum: Object.keys(INTERVALS) } },
  date: { name: 'date', description: 'Trading date YYYY-MM-DD: the calendar day in `tz`, else in the exchange\'s zone (ASX: Australia/Sydney), else UTC.', schema: { type: 'string', format: 'date' } },
  // Trading days and time zones (issue 16, ADR 0017).
  tz: {
    name: 'tz',
    description: 'IANA time zone of days and bar boundaries (e.g. Australia/Sydney, Asia/Kolkata, UTC). Default: the exchange\'s zone when `exchange` is given (ASX: Australia/Sydney; BINANCE, KRAKEN and others: UTC), else UTC.',
    schema: { type: 'string', maxLength: 64 },
  },
  // Time travel and reference data (issue 16 parts 3 and 6).
  as_of: {
    name: 'as_of',
    description:
      'Answer from one Iceberg snapshot only, without the Kafka tail: a snapshot id (see /v1/snapshots) or an RFC 3339 time (the snapshot current then). ' +
      'The window defaults to end at that instant. 404 for an unknown id, 410 once snapshot expiry removed it.',
    schema: { type: 'string', maxLength: 40 },
  },
  table: { name: 'table', description: 'Which table: trades (default), quotes or reference.', schema: { type: 'string', enum: [...SNAPSHOT_TABLES], default: 'trades' } },
  snapshots_limit: { name: 'limit', description: `Snapshots per page, 1–${MAX_SNAPSHOTS}.`, schema: { type: 'integer', minimum: 1, maximum: MAX_SNAPSHOTS, default: DEFAULT_SNAPSHOTS } },
  type: { name: 'type', description: 'Record type; all types when omitted.', schema: { type: 'string', enum: Object.keys(REFERENCE_TYPES) } },
  as_of_date: {
    name: 'as_of_date',
    description: "Rows effective on or before this day (YYYY-MM-DD, in the exchange's own calendar); default today (UTC).",
    schema: { type: 'string', format: 'date' },
  },
  // export (issue 16): see export.ts and docs/query-api.md "Export"
  format: {
    name: 'format',
    description: 'json (default: the paged answer) or an export of every row of the window, oldest first, as a file: csv, ndjson or parquet (no limit or cursor; symbol optional on trades and quotes).',
    schema: { type: 'string', enum: ['json', 'csv', 'ndjson', 'parquet'], default: 'json' },
  },
} satisfies Record<string, ParamSpec>;

const req = (p: ParamSpec): ParamSpec => ({ ...p, required: true });

export const ROUTE_PARAMS = {
  trades: [P.symbols, P.exchange, P.asset_class, P.window_minutes, P.start, P.end, P.limit, P.cursor, P.format],
  quotes: [P.symbols, P.exchange, P.asset_class, P.window_minutes, P.start, P.end, P.limit, P.cursor, P.format],
  bars: [req(P.symbol), P.exchange, req(P.interval), P.start, P.end, P.window_minutes, P.format, P.tz],
  summary: [req(P.symbol), P.exchange, req(P.date), P.tz],
  symbols: [P.exchange, P.asset_class],
  stream: [req(P.symbol), P.exchange],
  // Time travel and reference data (issue 16 parts 3 and 6).
  snapshots: [P.table, P.snapshots_limit, P.cursor],
  reference: [P.symbol, P.type, P.as_of_date, P.as_of, P.limit],
  // Replay-then-follow (issue 16); the cursor of a live position lists every partition, hence its own length.
  replay: [
    { name: 'symbols', description: `Comma-separated symbols (at most ${MAX_REPLAY_SYMBOLS}); default every symbol of the other filters.`, schema: { type: 'string' } },
    P.exchange,
    P.asset_class,
    { name: 'types', description: 'Comma-separated record types: trades, quotes (default both).', schema: { type: 'string', default: 'trades,quotes' } },
    req(P.start),
    { ...P.end, description: 'Exclusive end, RFC 3339. Without it the replay continues into the live tail (replay-then-follow).' },
    { name: 'speed', description: 'Pacing: 1 or 10 times event time (gaps capped at 1 s), or max (as fast as the client reads).', schema: { type: 'string', enum: ['1', '10', 'max'], default: 'max' } },
    { name: 'format', description: 'ndjson or sse; default by the Accept header (text/event-stream → sse), else ndjson.', schema: { type: 'string', enum: ['ndjson', 'sse'] } },
    { name: 'cursor', description: 'An event id of a previous replay with the same filters (or the Last-Event-ID header): resume after it.', schema: { type: 'string', maxLength: MAX_REPLAY_CURSOR } },
  ],
} satisfies Record<string, ParamSpec[]>;
export type RouteName = keyof typeof ROUTE_PARAMS;

type Raw = Record<string, unknown>;

/** The single string value of a parameter; repeated parameters (`?a=1&a=2`) and nested forms are rejected. */
export function one(q: Raw, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InvalidParameterError(name, 'must be given once, as a plain value');
  if (v.length > 256) throw new InvalidParameterError(name, 'is longer than 256 characters');
  return v;
}

export function checkKnown(q: Raw, route: RouteName): void {
  const allowed = new Set(ROUTE_PARAMS[route].map((p) => p.name));
  for (const k of Object.keys(q)) {
    if (!allowed.has(k)) {
      const name = k.length > 40 ? `${k.slice(0, 40)}…` : k;
      throw new InvalidParameterError(name, `unknown parameter; ${route} accepts ${[...allowed].join(', ')}`);
    }
  }
}

export function parseSymbol(q: Raw, required = true): string | undefined {
  const v = one(q, 'symbol');
  if (v === undefined || v === '') {
    if (required) throw new InvalidParameterError('symbol', 'is required, e.g. symbol=BTCUSDT');
    return undefined;
  }
  const s = v.toUpperCase();
  if (!SYMBOL_RE.test(s)) throw new InvalidParameterError('symbol', 'must be 1–32 characters of A–Z, 0–9 and . _ / - (e.g. BTCUSDT, BTC/USD, BHP)');
  return s;
}

/** `symbol=A,B` → ['A', 'B'] (upper-cased, duplicates removed, sorted); absent or empty → undefined (every symbol). */
export function parseSymbols(q: Raw): string[] | undefined {
  const v = one(q, 'symbol');
  if (v === undefined || v === '') return undefined;
  const parts = v.split(',').map((x) => x.trim().toUpperCase());
  if (parts.length > MAX_SYMBOLS) throw new InvalidParameterError('symbol', `names ${parts.length} symbols; at most ${MAX_SYMBOLS} per request`);
  for (const s of parts) {
    if (!SYMBOL_RE.test(s)) throw new InvalidParameterError('symbol', 'must be comma-separated symbols of 1–32 characters of A–Z, 0–9 and . _ / - (e.g. BTCUSDT,BHP)');
  }
  return [...new Set(parts)].sort();
}

export function parseExchange(q: Raw): string | undefined {
  const v = one(q, 'exchange');
  if (v === undefined || v === '') return undefined;
  const s = v.toUpperCase();
  if (!EXCHANGE_RE.test(s)) throw new InvalidParameterError('exchange', 'must be an exchange code such as BINANCE, KRAKEN or ASX');
  return s;
}

function parseAssetClass(q: Raw): AssetClass | undefined {
  const v = one(q, 'asset_class');
  if (v === undefined || v === '') return undefined;
  if (!(ASSET_CLASSES as readonly string[]).includes(v)) throw new InvalidParameterError('asset_class', `must be one of ${ASSET_CLASSES.join(', ')}`);
  return v as AssetClass;
}

function parseInt(q: Raw, name: string, min: number, max: number): number | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  if (!INT_RE.test(v)) throw new InvalidParameterError(name, `must be a whole number from ${min} to ${max}`);
  const n = Number(v);
  if (n < min || n > max) throw new InvalidParameterError(name, `must be from ${min} to ${max}, got ${n}`);
  return n;
}

// Years 1970–9999 only: the tables hold no earlier data and Date cannot format beyond.
const MIN_US = 0n;
const MAX_US = 253_402_300_799_999_999n;

function parseTime(q: Raw, name: string): bigint | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  let us: bigint;
  try {
    us = microsFromIso(v);
  } catch {
    throw new InvalidParameterError(name, 'must be an RFC 3339 timestamp such as 2026-11-23T10:00:00Z or 2026-11-23T10:00:00.123456+11:00');
  }
  if (us < MIN_US || us > MAX_US) throw new InvalidParameterError(name, 'must be between 1970-01-01 and 9999-12-31');
  return us;
}

export interface TimeWindow {
  startUs: bigint;
  endUs: bigint;
}

/** start/end/window_minutes → [startUs, endUs). */
export function parseWindow(q: Raw, nowUs: bigint, defaultMinutes: number | undefined): TimeWindow {
  const start = parseTime(q, 'start');
  const end = parseTime(q, 'end');
  const minutes = parseInt(q, 'window_minutes', 1, MAX_WINDOW_MINUTES);
  if (start !== undefined && minutes !== undefined) throw new InvalidParameterError('window_minutes', 'cannot be combined with start; give start and end, or window_minutes (and optionally end)');
  const endUs = end ?? nowUs + 1n; // exclusive end: "now" includes a trade stamped this very µs
  let startUs: bigint;
  if (start !== undefined) startUs = start;
  else if (minutes !== undefined) startUs = endUs - BigInt(minutes) * US_PER_MINUTE;
  else if (defaultMinutes !== undefined) startUs = endUs - BigInt(defaultMinutes) * US_PER_MINUTE;
  else throw new InvalidParameterError('start', 'is required (or window_minutes)');
  if (startUs >= endUs) throw new InvalidParameterError(start !== undefined ? 'start' : 'window_minutes', 'the window is empty: start must be before end');
  if (endUs - startUs > BigInt(MAX_WINDOW_MINUTES) * US_PER_MINUTE) {
    throw new InvalidParameterError(start !== undefined ? 'start' : 'window_minutes', `the window is longer than ${MAX_WINDOW_MINUTES / 1440} days; page through smaller windows`);
  }
  return { startUs, endUs };
}

/** Position after the last row of a page, in the newest-first order (timestamp desc, message_id desc). */
export interface Cursor {
  ts: bigint;
  id: string;
}

const CURSOR_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ t: c.ts.toString(), i: c.id }), 'utf8').toString('base64url');
}

export function parseCursor(q: Raw): Cursor | undefined {
  const v = one(q, 'cursor');
  if (v === undefined || v === '') return undefined;
  const bad = () => new InvalidParameterError('cursor', 'is not a cursor this API issued; pass next_cursor from the previous page unchanged');
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(v)) throw bad();
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(v, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof o !== 'object' || o === null) throw bad();
  const { t, i } = o as { t?: unknown; i?: unknown };
  if (typeof t !== 'string' || !/^[0-9]{1,19}$/.test(t) || typeof i !== 'string' || !CURSOR_ID_RE.test(i)) throw bad();
  const ts = BigInt(t);
  if (ts > MAX_US) throw bad();
  return { ts, id: i };
}

/**
 * Which instruments a cross-source read covers: named symbols or all, optionally one exchange and one asset class.
 * Every filter is a conjunction; `symbols` undefined means no symbol filter.
 */
export interface Selection {
  symbols: readonly string[] | undefined;
  exchange: string | undefined;
  assetClass: AssetClass | undefined;
}

export function parseSelection(q: Raw): Selection {
  return { symbols: parseSymbols(q), exchange: parseExchange(q), assetClass: parseAssetClass(q) };
}

/** The single symbol of a selection, when it names exactly one (the fast single-symbol path). */
export function singleSymbol(s: Selection): string | undefined {
  return s.symbols?.length === 1 ? s.symbols[0] : undefined;
}

export interface RowsRequest extends TimeWindow, Selection {
  limit: number;
  cursor: Cursor | undefined;
}

export function parseRowsRequest(route: 'trades' | 'quotes', q: Raw, nowUs: bigint): RowsRequest {
  checkKnown(q, route);
  const selection = parseSelection(q);
  const limit = parseInt(q, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const cursor = parseCursor(q);
  return { ...selection, limit, cursor, ...parseWindow(q, nowUs, DEFAULT_WINDOW_MINUTES) };
}

export interface BarsRequest extends TimeWindow {
  symbol: string;
  exchange: string | undefined;
  interval: Interval;
  intervalUs: bigint;
  /** IANA zone of the bar boundaries (tz, else the exchange's, else UTC; see trading-day.ts). */
  tz: string;
}

/** `tz` → the zone's IANA name; an unknown zone is a 400 (issue 16). */
function parseTz(q: Raw): string | undefined {
  const v = one(q, 'tz');
  if (v === undefined || v === '') return undefined;
  const z = canonicalZone(v);
  if (z === undefined) throw new InvalidParameterError('tz', 'must be an IANA time zone name such as Australia/Sydney, Asia/Kolkata or UTC');
  return z;
}

export function parseBarsRequest(q: Raw, nowUs: bigint): BarsRequest {
  checkKnown(q, 'bars');
  const symbol = parseSymbol(q)!;
  const exchange = parseExchange(q);
  const iv = one(q, 'interval');
  if (iv === undefined || iv === '') throw new InvalidParameterError('interval', `is required: one of ${Object.keys(INTERVALS).join(', ')}`);
  if (!Object.hasOwn(INTERVALS, iv)) throw new InvalidParameterError('interval', `must be one of ${Object.keys(INTERVALS).join(', ')}`);
  const interval = iv as Interval;
  const intervalUs = INTERVALS[interval];
  const w = parseWindow(q, nowUs, undefined);
  if ((w.endUs - w.startUs) / intervalUs > BigInt(MAX_BARS)) {
    throw new InvalidParameterError('interval', `the window holds more than ${MAX_BARS} ${interval} bars; use a wider interval or a shorter window`);
  }
  return { symbol, exchange, interval, intervalUs, ...w, tz: zoneFor(exchange, parseTz(q)) };
}

export interface SummaryRequest extends TimeWindow {
  symbol: string;
  exchange: string | undefined;
  /** The trading date: the window is this local day of `tz`. */
  date: string;
  tz: string;
}

export function parseSummaryRequest(q: Raw): SummaryRequest {
  checkKnown(q, 'summary');
  const symbol = parseSymbol(q)!;
  const exchange = parseExchange(q);
  const d = one(q, 'date');
  if (d === undefined || d === '') throw new InvalidParameterError('date', 'is required, e.g. date=2026-11-23');
  const m = DATE_RE.exec(d);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  // Date.UTC rolls 2026-02-30 over to March; a real calendar day formats back to itself.
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== d || ms < 0) {
    throw new InvalidParameterError('date', 'must be a calendar day YYYY-MM-DD from 1970 on');
  }
  const tz = zoneFor(exchange, parseTz(q));
  if (tz !== UTC) {
    // The local day: 23, 24 or 25 hours (issue 16). East of UTC, 1970-01-01 begins before the epoch.
    const day = localDay(tz, d);
    if (day.startUs < 0n) throw new InvalidParameterError('date', `must be a day that begins in 1970 or later in ${tz}`);
    return { symbol, exchange, date: d, tz, ...day };
  }
  const startUs = BigInt(ms) * 1000n;
  return { symbol, exchange, date: d, tz, startUs, endUs: startUs + US_PER_DAY };
}

export interface SymbolsRequest {
  exchange: string | undefined;
  assetClass: AssetClass | undefined;
}

export function parseSymbolsRequest(q: Raw): SymbolsRequest {
  checkKnown(q, 'symbols');
  return { exchange: parseExchange(q), assetClass: parseAssetClass(q) };
}

export interface StreamRequest {
  symbol: string;
  exchange: string | undefined;
}

export function parseStreamRequest(q: Raw): StreamRequest {
  checkKnown(q, 'stream');
  return { symbol: parseSymbol(q)!, exchange: parseExchange(q) };
}

// ---- Time travel and reference data (issue 16 parts 3 and 6) ----

/** `as_of`: a snapshot id (digits) or an RFC 3339 time. Resolved against the table by time-travel.ts. */
export type AsOf = { raw: string; snapshotId: string } | { raw: string; timeUs: bigint };

/** The read routes that take `as_of` (the export/replay routes take it too, through parseAsOf). */
export const AS_OF_ROUTES = ['trades', 'quotes', 'bars', 'summary', 'symbols'] as const;
for (const r of AS_OF_ROUTES) (ROUTE_PARAMS[r] as ParamSpec[]).push(P.as_of);

/** `as_of` of a request, or undefined; a time later than `nowUs` is refused (its snapshot is not known yet). */
export function parseAsOf(q: Raw, nowUs: bigint): AsOf | undefined {
  const v = one(q, 'as_of');
  if (v === undefined || v === '') return undefined;
  // Snapshot ids are positive 64-bit longs (Java and PyIceberg draw 63-bit random ones): kept as text, never rounded.
  if (/^[0-9]{1,19}$/.test(v)) {
    if (BigInt(v) > 9_223_372_036_854_775_807n || BigInt(v) === 0n) throw new InvalidParameterError('as_of', 'is not a snapshot id (a positive 64-bit integer)');
    return { raw: v, snapshotId: BigInt(v).toString() };
  }
  const timeUs = parseTime({ as_of: v }, 'as_of');
  if (timeUs === undefined) return undefined;
  if (timeUs > nowUs) throw new InvalidParameterError('as_of', 'is in the future; give a past time or a snapshot id');
  return { raw: v, timeUs };
}

export interface SnapshotsRequest {
  table: SnapshotTable;
  limit: number;
  /** Sequence number below which the page starts (from next_cursor). */
  beforeSequence: number | undefined;
}

export function encodeSnapshotsCursor(sequence: number): string {
  return Buffer.from(JSON.stringify({ s: sequence }), 'utf8').toString('base64url');
}

export function parseSnapshotsRequest(q: Raw): SnapshotsRequest {
  checkKnown(q, 'snapshots');
  const t = one(q, 'table') || 'trades';
  if (!(SNAPSHOT_TABLES as readonly string[]).includes(t)) throw new InvalidParameterError('table', `must be one of ${SNAPSHOT_TABLES.join(', ')}`);
  const limit = parseInt(q, 'limit', 1, MAX_SNAPSHOTS) ?? DEFAULT_SNAPSHOTS;
  const c = one(q, 'cursor');
  let beforeSequence: number | undefined;
  if (c !== undefined && c !== '') {
    const bad = () => new InvalidParameterError('cursor', 'is not a cursor this API issued; pass next_cursor from the previous page unchanged');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(c)) throw bad();
    try {
      const o = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { s?: unknown };
      if (typeof o.s !== 'number' || !Number.isSafeInteger(o.s) || o.s < 0) throw bad();
      beforeSequence = o.s;
    } catch {
      throw bad();
    }
  }
  return { table: t as SnapshotTable, limit, beforeSequence };
}

export interface ReferenceRequest {
  symbol: string | undefined;
  type: ReferenceType | undefined;
  /** YYYY-MM-DD. */
  asOfDate: string;
  limit: number;
}

export function parseReferenceRequest(q: Raw, nowUs: bigint): ReferenceRequest {
  checkKnown(q, 'reference');
  const symbol = parseSymbol(q, false);
  const t = one(q, 'type');
  if (t !== undefined && t !== '' && !Object.hasOwn(REFERENCE_TYPES, t)) throw new InvalidParameterError('type', `must be one of ${Object.keys(REFERENCE_TYPES).join(', ')}`);
  const d = one(q, 'as_of_date');
  const asOfDate = d === undefined || d === '' ? new Date(Number(nowUs / 1000n)).toISOString().slice(0, 10) : checkDay('as_of_date', d);
  const limit = parseInt(q, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  return { symbol, type: t ? (t as ReferenceType) : undefined, asOfDate, limit };
}

function checkDay(name: string, d: string): string {
  const m = DATE_RE.exec(d);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== d || ms < 0) throw new InvalidParameterError(name, 'must be a calendar day YYYY-MM-DD from 1970 on');
  return d;
}

// Replay-then-follow (issue 16).
export type ReplaySpeed = 1 | 10 | 'max';

export interface ReplayRequest extends Selection {
  types: ReadonlyArray<'trades' | 'quotes'>;
  startUs: bigint;
  /** Undefined: follow into the live tail. */
  endUs: bigint | undefined;
  speed: ReplaySpeed;
  format: 'ndjson' | 'sse' | undefined;
  /** Raw cursor text (decoded by the replay, see replay/cursor.ts), from `cursor` or Last-Event-ID. */
  cursor: string | undefined;
}

function parseList(q: Raw, name: string, max: number): string[] | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  const items = [...new Set(v.split(',').map((x) => x.trim()).filter((x) => x !== ''))];
  if (items.length === 0 || items.length > max) throw new InvalidParameterError(name, `must list 1 to ${max} comma-separated values`);
  return items;
}

export function parseReplayRequest(q: Raw, lastEventId: string | undefined): ReplayRequest {
  const { cursor: rawCursor, ...rest } = q;
  checkKnown(rest, 'replay');
  if (rawCursor !== undefined && (typeof rawCursor !== 'string' || rawCursor.length > MAX_REPLAY_CURSOR)) throw new InvalidParameterError('cursor', 'must be one event id of a previous replay');
  const listed = parseList(rest, 'symbols', MAX_REPLAY_SYMBOLS);
  const symbols = listed && [...new Set(listed.map((s) => s.toUpperCase()))];
  for (const s of symbols ?? []) if (!SYMBOL_RE.test(s)) throw new InvalidParameterError('symbols', `${s.slice(0, 40)} is not a symbol (1–32 characters of A–Z, 0–9 and . _ / -)`);
  const types = parseList(rest, 'types', 2) ?? ['trades', 'quotes'];
  for (const t of types) if (t !== 'trades' && t !== 'quotes') throw new InvalidParameterError('types', 'must be trades, quotes or both');
  const startUs = parseTime(rest, 'start');
  if (startUs === undefined) throw new InvalidParameterError('start', 'is required: the event time the replay starts from');
  const endUs = parseTime(rest, 'end');
  if (endUs !== undefined && endUs <= startUs) throw new InvalidParameterError('end', 'must be after start');
  const sp = one(rest, 'speed') ?? 'max';
  if (sp !== '1' && sp !== '10' && sp !== 'max') throw new InvalidParameterError('speed', 'must be 1, 10 or max');
  const f = one(rest, 'format');
  if (f !== undefined && f !== 'ndjson' && f !== 'sse') throw new InvalidParameterError('format', 'must be ndjson or sse');
  const cursor = (rawCursor as string | undefined) || lastEventId || undefined;
  return {
    symbols,
    exchange: parseExchange(rest),
    assetClass: parseAssetClass(rest),
    types: types as Array<'trades' | 'quotes'>,
    startUs,
    endUs,
    speed: sp === '1' ? 1 : sp === '10' ? 10 : 'max',
    format: f,
    cursor,
  };
}
