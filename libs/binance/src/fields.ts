import { ErrorCode, isLosslessNumber, K2Error, parseLosslessJson, ValidationError, type LosslessJson } from '@k2/core';
import { parseDecimal, type Decimal, type DecimalKind } from '@k2/decimal';
import { AVRO_LONG_MAX, digitsFitLong } from '@k2/schema';

/** Field readers for JSON.parse output. Every failure is a ValidationError naming the field and the value. */

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function show(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) {
    const text = JSON.stringify(v);
    return text.length > 60 ? `${text.slice(0, 60)}…` : text;
  }
  return String(v);
}

export function invalid(field: string, value: unknown, reason: string): ValidationError {
  return new ValidationError(`${field}: ${show(value)} ${reason}`, { context: { field, value: show(value) } });
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

export function str(o: Json, key: string, field: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw invalid(field, v, v === undefined ? 'is required' : 'must be a string');
  return v;
}

export function bool(o: Json, key: string, field: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw invalid(field, v, v === undefined ? 'is required' : 'must be true or false');
  return v;
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

/** A trade price or quantity: decimal text, > 0, at most Decimal(18,8) (see @k2/decimal). */
export function positiveDecimal(o: Json, key: string, field: string, kind: Extract<DecimalKind, 'price' | 'quantity'>): Decimal {
  const v = o[key];
  if (v === undefined) throw invalid(field, v, 'is required');
  const d = parseDecimal(field, v, kind);
  if (kind === 'price' && d === ZERO) throw invalid(field, v, 'must be greater than zero');
  return d;
}

/** One side of a top of book: price > 0 with size >= 0, or the empty side 0 / 0. */
export function bookSide(o: Json, priceKey: string, sizeKey: string, priceField: string, sizeField: string): [Decimal, Decimal] {
  const pv = o[priceKey];
  const sv = o[sizeKey];
  if (pv === undefined) throw invalid(priceField, pv, 'is required');
  if (sv === undefined) throw invalid(sizeField, sv, 'is required');
  const price = parseDecimal(priceField, pv, 'price');
  const size = parseDecimal(sizeField, sv, 'size');
  if (price === ZERO && size !== ZERO) throw invalid(priceField, pv, `must be greater than zero when ${sizeField} is ${show(sv)}`);
  return [price, size];
}

const ZERO = '0.00000000';

/** Adds "<what>: " before the message of a mapping error, keeping its code and the original as the cause. */
export function withPrefix(what: string, e: unknown): never {
  if (e instanceof K2Error) {
    throw new ValidationError(`${what}: ${e.message}`, { code: e.code, cause: e, context: e.context });
  }
  throw e;
}

