import { ErrorCode, isLosslessNumber, K2Error, parseLosslessJson, ValidationError, type LosslessJson, type LosslessNumber, type LosslessObject } from '@k2/core';
import { type Decimal, type DecimalKind } from '@k2/decimal';
import { bookSide as feedBookSide, bool, invalid, positiveDecimal as feedPositiveDecimal, show, str, withPrefix, type DecimalText } from '@k2/feed';
import { AVRO_LONG_MAX, digitsFitLong, microsFromIso } from '@k2/schema';

/**
 * Kraken's field readers over the lossless parse tree (numbers are LosslessNumber, never JS numbers); the ones every
 * exchange shares live in @k2/feed. Every failure is a ValidationError naming the field and the offending value as
 * written on the wire.
 */
export { bool, invalid, show, str, withPrefix };

export type Obj = LosslessObject;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
}



export function parseMessage(raw: string, what: string): LosslessJson {
  try {
    return parseLosslessJson(raw);
  } catch (e) {
    if (e instanceof K2Error) throw new ValidationError(`${what}: ${e.message}`, { code: ErrorCode.JSON_INVALID, cause: e, context: e.context });
    throw e;
  }
}


export function optStr(o: Obj, key: string, field: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(field, v, 'must be a string');
  return v;
}

export function num(o: Obj, key: string, field: string): LosslessNumber {
  const v = o[key];
  if (!isLosslessNumber(v)) throw invalid(field, v, v === undefined ? 'is required' : 'must be a JSON number');
  return v;
}

/** A non-negative integer as exact digits (trade_id, connection_id). */
export function uintText(o: Obj, key: string, field: string): string {
  const v = num(o, key, field).value;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) throw invalid(field, o[key], 'must be a non-negative integer');
  }
  return v;
}

/**
 * A trade id: exact digits that also fit the Avro long source_sequence. An id of 2^63 or more used to pass as text
 * and then throw inside Avro encoding (issue 18); it is refused here, so the frame goes to the DLQ with this reason.
 */
export function seqIdText(o: Obj, key: string, field: string): string {
  const v = uintText(o, key, field);
  if (!digitsFitLong(v)) throw invalid(field, o[key], `is above ${AVRO_LONG_MAX}, the largest signed 64-bit id`);
  return v;
}

/** Optional client request id (req_id): an integer that fits a JS number exactly. */
export function optReqId(o: Obj): number | undefined {
  const v = o['req_id'];
  if (v === undefined || v === null) return undefined;
  const n = isLosslessNumber(v) && v.isInteger() ? Number(v.value) : NaN;
  if (!Number.isSafeInteger(n)) throw invalid('req_id', v, 'must be an integer within ±2^53');
  return n;
}


/** RFC 3339 text → µs since epoch, exact; sub-microsecond digits other than zeros are refused (microsFromIso). */
export function isoMicros(o: Obj, key: string, field: string): bigint {
  const v = str(o, key, field);
  const fast = isoMicrosFast(v);
  if (fast !== undefined) return fast;
  try {
    return microsFromIso(v);
  } catch (e) {
    throw invalid(field, v, `is not an RFC 3339 timestamp with at most µs precision (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * microsFromIso for the shape Kraken sends, "YYYY-MM-DDTHH:MM:SS.ffffffZ" (1..9 fraction digits, UTC), without a
 * regex match array or string padding; same result as microsFromIso (a differential spec checks it). Anything else
 * — offsets, out-of-range fields, non-zero digits past µs, years outside 1970..2200 — returns undefined and takes
 * the microsFromIso path, which gives the value or the error.
 */
export function isoMicrosFast(v: string): bigint | undefined {
  const n = v.length;
  if (n < 20 || n > 30 || v.charCodeAt(n - 1) !== 0x5a /* Z */) return undefined;
  if (v.charCodeAt(4) !== 0x2d || v.charCodeAt(7) !== 0x2d || v.charCodeAt(10) !== 0x54 || v.charCodeAt(13) !== 0x3a || v.charCodeAt(16) !== 0x3a) {
    return undefined;
  }
  const y = digits(v, 0, 4);
  const mo = digits(v, 5, 2);
  const d = digits(v, 8, 2);
  const h = digits(v, 11, 2);
  const mi = digits(v, 14, 2);
  const s = digits(v, 17, 2);
  if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;
  let micros = 0;
  if (n > 20) {
    if (v.charCodeAt(19) !== 0x2e /* . */ || n < 22 || n - 21 > 9) return undefined;
    let scale = 100000;
    for (let i = 20; i < n - 1; i++) {
      const c = v.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) return undefined;
      if (scale >= 1) {
        micros += c * scale;
        scale /= 10;
      } else if (c !== 0) {
        return undefined;
      }
    }
  }
  // Below 2^53: ms since 1970 up to 2200 is < 7.3e12, × 1000 + µs stays exact in a double.
  return BigInt(Date.UTC(y, mo - 1, d, h, mi, s) * 1000 + micros);
}

function digits(v: string, at: number, len: number): number {
  let x = 0;
  for (let i = at; i < at + len; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Kraken writes decimals as JSON numbers; the lossless parser keeps their source text. */
const numberText: DecimalText = (v, field) => {
  if (!isLosslessNumber(v)) throw invalid(field, v, v === undefined ? 'is required' : 'must be a JSON number');
  return v.value;
};

/** REST rows write them as text ("30243.40000"). */
const restText: DecimalText = (v, field) => {
  if (typeof v !== 'string') throw invalid(field, v, v === undefined ? 'is required' : 'must be decimal text');
  return v;
};

/** A trade price or quantity from a JSON number's source text: > 0, Decimal(18,8), never rounded. */
export function positiveDecimal(o: Obj, key: string, field: string, kind: Extract<DecimalKind, 'price' | 'quantity'>): Decimal {
  return feedPositiveDecimal(o, key, field, kind, numberText);
}

/** A decimal given as text (REST rows: "30243.40000"). */
export function positiveDecimalText(v: unknown, field: string, kind: Extract<DecimalKind, 'price' | 'quantity'>): Decimal {
  return feedPositiveDecimal({ v }, 'v', field, kind, restText);
}

/** One side of a top of book: price > 0 with size >= 0, or the empty side 0 / 0. */
export function bookSide(o: Obj, priceKey: string, sizeKey: string): [Decimal, Decimal] {
  return feedBookSide(o, [priceKey, sizeKey], [priceKey, sizeKey], numberText);
}


