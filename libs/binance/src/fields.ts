import { ErrorCode, isLosslessNumber, parseLosslessJson, ValidationError, type LosslessJson } from '@k2/core';
import { type Decimal, type DecimalKind } from '@k2/decimal';
import { bookSide as feedBookSide, invalid, positiveDecimal as feedPositiveDecimal, type DecimalText } from '@k2/feed';
import { AVRO_LONG_MAX, digitsFitLong } from '@k2/schema';

/**
 * Binance's field readers for JSON.parse output (prices and quantities are JSON strings there); the ones every
 * exchange shares live in @k2/feed. Every failure is a ValidationError naming the field and the value.
 */
export { bool, invalid, show, str, withPrefix } from '@k2/feed';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}



export function parseFrame(raw: string, what: string): unknown {
  if (typeof raw !== 'string') throw new ValidationError(`${what}: frame must be text, got ${typeof raw}`);
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new ValidationError(`${what}: malformed JSON: ${e instanceof Error ? e.message : String(e)}`, {
      code: ErrorCode.JSON_INVALID,
      cause: e,
    });
  }
}



export function optBool(o: Json, key: string, field: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(field, v, 'must be true or false');
  return v;
}

/**
 * A non-negative integer id (trade id, aggregate id, order book update id) as exact decimal text. Binance ids are
 * JSON numbers below 2^53 today; should one ever exceed it, JSON.parse has already rounded it, so the exact digits
 * are re-read from the frame with the lossless parser (`exact`) instead of publishing a wrong id. Ids go to the
 * Avro long source_sequence, so one above 2^63-1 is refused here rather than throwing inside encoding (issue 18).
 */
export function idText(o: Json, key: string, field: string, exact: () => Json): string {
  const v = o[key];
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) {
    const n = exact()[key] as LosslessJson | undefined;
    if (isLosslessNumber(n) && /^[0-9]+$/.test(n.value)) {
      if (!digitsFitLong(n.value)) {
        throw new ValidationError(`${field}: ${n.value} is above ${AVRO_LONG_MAX}, the largest signed 64-bit id`, { context: { field, value: n.value } });
      }
      return n.value;
    }
    throw invalid(field, isLosslessNumber(n) ? n.value : v, 'must be a non-negative integer');
  }
  throw invalid(field, v, v === undefined ? 'is required' : 'must be a non-negative integer');
}

/** Re-parses a frame losslessly and returns the event object (unwrapping the combined-stream wrapper). */
export function losslessEvent(raw: string, combined: boolean): () => Json {
  let cached: Json | undefined;
  return () => {
    if (cached) return cached;
    const tree = parseLosslessJson(raw) as unknown as Json;
    cached = (combined ? tree['data'] : tree) as Json;
    return cached;
  };
}

export type TimeUnit = 'ms' | 'us';

/**
 * Epoch time in ms (13 digits) or µs (16 digits) — Binance sends ms unless `timeUnit=MICROSECOND` was honoured
 * (web-socket-streams.md, General information). Anything else is out of range (years 2001..2286 only).
 */
export function epochMicros(v: unknown, field: string): { micros: bigint; unit: TimeUnit } {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw invalid(field, v, v === undefined ? 'is required' : 'must be a positive integer epoch time');
  }
  if (v >= 1e12 && v < 1e13) return { micros: BigInt(v) * 1000n, unit: 'ms' };
  if (v >= 1e15 && v < 1e16) return { micros: BigInt(v), unit: 'us' };
  throw invalid(field, v, 'is neither epoch milliseconds (13 digits) nor epoch microseconds (16 digits)');
}

export function intText(o: Json, key: string, field: string): string {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw invalid(field, v, v === undefined ? 'is required' : 'must be an integer');
  }
  return String(v);
}

/** JSON string decimals: anything but undefined goes to parseDecimal, which refuses non-text with its own message. */
const wireText: DecimalText = (v, field) => {
  if (v === undefined) throw invalid(field, v, 'is required');
  return v;
};

/** A trade price or quantity: decimal text, > 0, at most Decimal(18,8) (see @k2/decimal). */
export function positiveDecimal(o: Json, key: string, field: string, kind: Extract<DecimalKind, 'price' | 'quantity'>): Decimal {
  return feedPositiveDecimal(o, key, field, kind, wireText);
}

/** One side of a top of book: price > 0 with size >= 0, or the empty side 0 / 0. */
export function bookSide(o: Json, priceKey: string, sizeKey: string, priceField: string, sizeField: string): [Decimal, Decimal] {
  return feedBookSide(o, [priceKey, sizeKey], [priceField, sizeField], wireText);
}


