import { isLosslessNumber, K2Error, stringifyLossless, ValidationError } from '@k2/core';
import { parseDecimal, type Decimal, type DecimalKind } from '@k2/decimal';

/**
 * Field readers every exchange mapper shares (Binance reads JSON.parse output, Kraken the lossless tree). Every
 * failure is a ValidationError naming the field and the offending value as written on the wire.
 */

/** A decoded JSON object, whichever parser produced it. */
export type FieldSource = { readonly [key: string]: unknown };

/** Which record kind a frame carried: a frame that fails to decode goes to that kind's dead-letter topic. */
export type FeedDataKind = 'trades' | 'quotes';

/**
 * A frame the exchange mapper refused, saying which kind of data it carried, so the streamer dead-letters it on
 * the right topic without looking at the raw text. Unrecognisable frames are `trades` (the gap-tracked kind).
 */
export class FeedDecodeError extends ValidationError {
  constructor(
    readonly dataKind: FeedDataKind,
    message: string,
    opts: ConstructorParameters<typeof ValidationError>[1] = {},
  ) {
    super(message, opts);
  }
}

/** The dead-letter kind of a decode failure: what the mapper said, trades when it could not tell. */
export function decodeFailureKind(err: unknown): FeedDataKind {
  return err instanceof FeedDecodeError ? err.dataKind : 'trades';
}

export function show(v: unknown): string {
  if (v === undefined) return 'missing';
  if (isLosslessNumber(v)) return v.value;
  if (typeof v === 'string') return JSON.stringify(v);
  const text = stringifyLossless(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

export function invalid(field: string, value: unknown, reason: string): ValidationError {
  return new ValidationError(`${field}: ${show(value)} ${reason}`, { context: { field, value: show(value) } });
}

export function str(o: FieldSource, key: string, field: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw invalid(field, v, v === undefined ? 'is required' : 'must be a string');
  return v;
}

export function bool(o: FieldSource, key: string, field: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw invalid(field, v, v === undefined ? 'is required' : 'must be true or false');
  return v;
}

/**
 * How an exchange writes a decimal: returns the text to parse (Binance: the JSON string itself; Kraken: a JSON
 * number's source text) or throws the exchange's own "wrong type" error.
 */
export type DecimalText = (v: unknown, field: string) => unknown;

const ZERO = '0.00000000';

/** A trade price or quantity: > 0 (quantities may not be zero either: parseDecimal refuses), Decimal(18,8). */
export function positiveDecimal(o: FieldSource, key: string, field: string, kind: Extract<DecimalKind, 'price' | 'quantity'>, text: DecimalText): Decimal {
  const v = o[key];
  const d = parseDecimal(field, text(v, field), kind);
  if (kind === 'price' && d === ZERO) throw invalid(field, v, 'must be greater than zero');
  return d;
}

/** One side of a top of book: price > 0 with size >= 0, or the empty side 0 / 0. */
export function bookSide(o: FieldSource, keys: readonly [string, string], fields: readonly [string, string], text: DecimalText): [Decimal, Decimal] {
  const pv = o[keys[0]];
  const sv = o[keys[1]];
  const pText = text(pv, fields[0]);
  const sText = text(sv, fields[1]);
  const price = parseDecimal(fields[0], pText, 'price');
  const size = parseDecimal(fields[1], sText, 'size');
  if (price === ZERO && size !== ZERO) throw invalid(fields[0], pv, `must be greater than zero when ${fields[1]} is ${show(sv)}`);
  return [price, size];
}

/**
 * Adds "<what>: " before the message of a mapping error, keeping its code and the original as the cause; the
 * error says which kind of record failed (`FeedDecodeError`).
 */
export function withPrefix(what: string, e: unknown, kind: FeedDataKind = 'trades'): never {
  if (e instanceof K2Error) {
    throw new FeedDecodeError(kind, `${what}: ${e.message}`, { code: e.code, cause: e, context: e.context });
  }
  throw e;
}

/** Marks any mapping error of a frame known to carry `kind` (a ValidationError stays one, with its message). */
export function asDecodeError(kind: FeedDataKind, e: unknown): never {
  if (e instanceof FeedDecodeError || !(e instanceof K2Error)) throw e;
  throw new FeedDecodeError(kind, e.message, { code: e.code, cause: e, context: e.context });
}
