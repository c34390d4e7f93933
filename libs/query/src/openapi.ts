import { ErrorCode } from '@k2/core';
import { ROUTE_PARAMS, type ParamSpec, type RouteName } from './params';

/** Path of every route, next to the name its parameters are declared under (params.ts). */
export const ROUTE_PATHS: Record<RouteName, string> = {
  trades: '/v1/trades',
  quotes: '/v1/quotes',
  bars: '/v1/bars',
  summary: '/v1/summary',
  symbols: '/v1/symbols',
  stream: '/v1/stream/trades',
  // Time travel and reference data (issue 16 parts 3 and 6).
  snapshots: '/v1/snapshots',
  reference: '/v1/reference',
  replay: '/v1/replay',
};

const decimal = { type: 'string', pattern: '^-?[0-9]{1,10}\\.[0-9]{8}$', description: 'Decimal(18,8) as text, never a JSON number', example: '97000.12000000' };
const time = { type: 'string', format: 'date-time', description: 'ISO-8601 UTC with microseconds', example: '2026-11-23T10:15:30.123456Z' };
const long = { type: ['string', 'null'], pattern: '^-?[0-9]+$', description: '64-bit integer as text (may exceed 2^53)' };
const str = { type: 'string' };
const vendor = { type: ['object', 'null'], additionalProperties: { type: 'string' } };

const common = {
  message_id: str,
  symbol: str,
  exchange: str,
  asset_class: { type: 'string', enum: ['equities', 'crypto', 'futures', 'options'] },
  timestamp: time,
  currency: str,
  source_sequence: long,
  ingestion_timestamp: time,
  platform_sequence: long,
  vendor_data: vendor,
};

const schemas = {
  Trade: {
    type: 'object',
    properties: { ...common, trade_id: str, price: decimal, quantity: decimal, side: { type: 'string', enum: ['BUY', 'SELL', 'SELL_SHORT', 'UNKNOWN'] }, trade_conditions: { type: 'array', items: str } },
  },
  Quote: {
    type: 'object',
    properties: { ...common, bid_price: decimal, bid_quantity: decimal, ask_price: decimal, ask_quantity: decimal },
  },
  Bar: {
    type: 'object',
    properties: { time, open: decimal, high: decimal, low: decimal, close: decimal, volume: decimal, vwap: { ...decimal, type: ['string', 'null'], description: 'Σ(price×quantity)/Σquantity rounded half-even to 8 decimals' }, trades: { type: 'integer' }, first_trade_time: time, last_trade_time: time,
      // Trading days and time zones (issue 16).
      date: { type: 'string', format: 'date', description: 'Daily bars in a zone other than UTC: the local trading date (`time` is its first instant)' },
    },
  },
  Summary: {
    type: 'object',
    properties: {
      symbol: str,
      exchange: { type: ['string', 'null'] },
      date: { type: 'string', format: 'date' },
      open: { ...decimal, type: ['string', 'null'] },
      high: { ...decimal, type: ['string', 'null'] },
      low: { ...decimal, type: ['string', 'null'] },
      close: { ...decimal, type: ['string', 'null'] },
      volume: decimal,
      vwap: { ...decimal, type: ['string', 'null'] },
      trades: { type: 'integer' },
      first_trade_time: { ...time, type: ['string', 'null'] },
      last_trade_time: { ...time, type: ['string', 'null'] },
      // Trading days and time zones (issue 16).
      tz: { type: 'string', description: 'Present when the zone is not UTC: the IANA zone whose local day `date` is' },
    },
  },
  Instrument: { type: 'object', properties: { symbol: str, exchange: str, asset_class: common.asset_class, first_seen: time, last_seen: time } },
  // Time travel and reference data (issue 16 parts 3 and 6).
  Snapshot: {
    type: 'object',
    properties: { snapshot_id: long, parent_id: long, sequence_number: { type: 'integer' }, time, operation: { type: 'string', enum: ['append', 'replace', 'overwrite', 'delete'] }, current: { type: 'boolean' }, summary: { type: 'object', additionalProperties: str } },
  },
  Reference: {
    type: 'object',
    properties: {
      message_id: str, instrument_id: str, symbol: str, exchange: str, asset_class: common.asset_class,
      record_type: { type: 'string', enum: ['INSTRUMENT', 'DIVIDEND', 'SPLIT', 'MERGER'] },
      name: str, isin: { type: ['string', 'null'] }, currency: { type: ['string', 'null'] },
      effective_date: { ...time, type: ['string', 'null'] }, effective_day: { type: ['string', 'null'], format: 'date', description: "effective_date's day in the exchange's calendar" },
      is_active: { type: 'boolean' }, ingestion_timestamp: time, vendor_data: vendor,
    },
  },
  Error: {
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: { code: { type: 'string', enum: [ErrorCode.QUERY_INVALID_PARAMETER, ErrorCode.QUERY_NOT_FOUND, ErrorCode.INTERNAL, 'K2_QUERY_STREAM_LIMIT'] }, parameter: str, message: str },
        required: ['code', 'message'],
      },
    },
  },
};

const provenanceHeaders = {
  'X-K2-Snapshot-Id': { description: 'Iceberg snapshot the table part was read at (`none` before the first commit)', schema: str },
  'X-K2-Sources': { description: 'Sources merged: `iceberg`, `kafka-tail`', schema: str },
  'X-K2-Rows': { description: 'Rows per source in this answer, e.g. `iceberg=990;tail=10`', schema: str },
  'X-K2-Degraded': { description: 'Present when degraded: `storage` (answered from the tail only), `kafka` (tail not advancing), `tail-truncated`', schema: str },
};

function parameters(specs: readonly ParamSpec[]): unknown[] {
  return specs.map((p) => ({ name: p.name, in: 'query', required: p.required ?? false, description: p.description, schema: p.schema }));
}

const list = (item: string, cursor: boolean) => ({
  type: 'object',
  properties: {
    data: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
    ...(cursor ? { next_cursor: { type: ['string', 'null'] } } : {}),
    meta: { type: 'object' },
  },
});

/** Trading days and time zones (issue 16): bars answers name their zone when it is not UTC. */
const zonedList = (l: ReturnType<typeof list>) => ({ ...l, properties: { tz: { type: 'string', description: 'Present when the zone is not UTC: the IANA zone of the bar boundaries' }, ...l.properties } });

/** Routes whose scan is capped (422). */
const SCANNING: readonly RouteName[] = ['trades', 'quotes', 'bars', 'summary'];

function op(route: RouteName, summary: string, body: unknown, contentType = 'application/json'): unknown {
  return {
    get: {
      operationId: route,
      summary,
      parameters: parameters(ROUTE_PARAMS[route]),
      responses: {
        '200': { description: 'OK', headers: provenanceHeaders, content: { [contentType]: { schema: body } } },
        '400': { description: 'Invalid parameter', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ...(SCANNING.includes(route) ? { '422': { description: 'The window holds more rows than the route allows (K2_QUERY_TOO_EXPENSIVE); narrow it', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } } : {}),
        '503': { description: 'Busy (K2_QUERY_OVERLOADED): retry after the Retry-After header', headers: { 'Retry-After': { schema: { type: 'integer' } } }, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    },
  };
}

/** OpenAPI 3.1 description of the API, served at /openapi.json. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'K2 query API',
      version,
      description: 'Market data (V2 schema) from Iceberg merged with the not-yet-committed Kafka tail. Newest first; decimals as strings; times ISO-8601 UTC with µs.',
    },
    paths: {
      [ROUTE_PATHS.trades]: op('trades', 'Trades of one symbol, several, or all (filtered by exchange and asset class) in a time window, newest first by (timestamp, message_id), cursor-paginated', list('Trade', true)),
      [ROUTE_PATHS.quotes]: op('quotes', 'Quotes of one symbol, several, or all (filtered by exchange and asset class) in a time window, newest first by (timestamp, message_id), cursor-paginated', list('Quote', true)),
      [ROUTE_PATHS.bars]: op('bars', 'OHLCV bars with VWAP and trade count', zonedList(list('Bar', false))),
      [ROUTE_PATHS.summary]: op('summary', 'Daily market summary of a symbol', { $ref: '#/components/schemas/Summary' }),
      [ROUTE_PATHS.symbols]: op('symbols', 'Instruments seen, with first and last time', list('Instrument', false)),
      [ROUTE_PATHS.stream]: op('stream', 'Live trades as server-sent events (`event: trade`, data = Trade subset)', { type: 'string' }, 'text/event-stream'),
      // Time travel and reference data (issue 16 parts 3 and 6).
      [ROUTE_PATHS.snapshots]: op('snapshots', 'Retained Iceberg snapshots of a table, newest first (ids for `as_of`), with the retention in force', list('Snapshot', true)),
      [ROUTE_PATHS.reference]: op('reference', 'Reference data (instruments, dividends, splits, mergers) effective on or before a date', list('Reference', false)),
      // Replay-then-follow (issue 16).
      [ROUTE_PATHS.replay]: op('replay', 'Trades and quotes of several symbols merged in event-time order from `start`, then (without `end`) the live tail; NDJSON or server-sent events (docs/query-api.md)', { type: 'string' }, 'application/x-ndjson'),
    },
    components: { schemas },
  };
}
