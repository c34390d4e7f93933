import Big from 'big.js';
import { ErrorCode, ValidationError } from '@k2/core';

/**
 * Decimal(18,8): 18 significant digits, 8 after the point, so at most 10 before it (ADR-017 of the seeds).
 * A `Decimal` is the canonical text with exactly 8 fraction digits, e.g. "42156.12345678" or "-0.50000000".
 * Money never becomes a JS number: wire text -> big.js -> this string -> Avro unscaled bigint and back.
 */
export type Decimal = string & { readonly __brand: 'Decimal18x8' };

export const DECIMAL_PRECISION = 18;
export const DECIMAL_SCALE = 8;
export const MAX_INTEGER_DIGITS = DECIMAL_PRECISION - DECIMAL_SCALE;
const SCALE_FACTOR = 10n ** BigInt(DECIMAL_SCALE);
const MAX_UNSCALED = 10n ** BigInt(DECIMAL_PRECISION) - 1n;

/** What a value means decides which signs are legal. */
export type DecimalKind =
  /** Trade and quote prices: negative rejected (zero allowed; a quote's empty side is decided by the mapper). */
  | 'price'
  /** Trade quantities: must be > 0. */
  | 'quantity'
  /** Quote sizes and similar: must be >= 0. */
  | 'size'
  /** Any sign (spreads, adjustments). */
  | 'signed';

export class DecimalError extends ValidationError {
  readonly field: string;
  readonly value: string;
  constructor(field: string, value: unknown, reason: string) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    super(`${field}: ${shown} ${reason}`, { code: ErrorCode.DECIMAL_INVALID, context: { field, value: shown } });
    this.field = field;
    this.value = shown;
  }
}

// Plain or scientific notation; no hex, no spaces, no "Infinity"/"NaN".
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// Exponents past this cannot fit Decimal(18,8) either way; checked before big.js allocates anything.
const MAX_ABS_EXPONENT = 64;

/**
 * Parses wire text (Binance "42156.12000000", Kraken raw JSON number text "0.00123", ASX "45.670") into a
 * Decimal(18,8). Rejects rather than rounds: a value with non-zero digits past the 8th decimal is an error.
 */
export function parseDecimal(field: string, raw: unknown, kind: DecimalKind = 'signed'): Decimal {
  if (typeof raw === 'string') {
    const plain = plainCanonical(raw, kind);
    if (plain !== undefined) return plain;
  }
  return parseDecimalExact(field, raw, kind);
}

const ZEROS = '00000000';

/**
 * The fast path for what the wire nearly always carries: plain unsigned decimal text such as Binance's
 * "97000.12000000", Kraken's 0.5117 or ASX's "36.667", whose canonical form needs no big.js object. Returns
 * undefined for anything else — signs, exponents, over-precision, too many digits, zero quantities — which
 * parseDecimalExact then canonicalises or rejects with its message. decimal.spec.ts checks both paths agree.
 */
function plainCanonical(raw: string, kind: DecimalKind): Decimal | undefined {
  const n = raw.length;
  let i = 0;
  while (i < n && raw.charCodeAt(i) === 0x30) i++;
  const intStart = i;
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  const intLen = i - intStart;
  if (i === 0 || intLen > MAX_INTEGER_DIGITS) return undefined;
  let frac: string;
  if (i === n) {
    frac = ZEROS;
  } else {
    if (raw.charCodeAt(i) !== 0x2e) return undefined;
    const fracStart = ++i;
    while (i < n) {
      const c = raw.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return undefined;
      i++;
    }
    const fracLen = n - fracStart;
    if (fracLen === 0) return undefined;
    if (fracLen === DECIMAL_SCALE) {
      // Already canonical ("97000.12000000", "0.00100000"): no new string.
      if (intLen > 0 ? intStart === 0 : intStart === 1) {
        if (kind === 'quantity' && intLen === 0 && raw.endsWith(ZEROS)) return undefined;
        return raw as Decimal;
      }
      frac = raw.slice(fracStart);
    } else if (fracLen < DECIMAL_SCALE) {
      frac = raw.slice(fracStart) + ZEROS.slice(fracLen);
    } else {
      for (let k = fracStart + DECIMAL_SCALE; k < n; k++) if (raw.charCodeAt(k) !== 0x30) return undefined;
      frac = raw.slice(fracStart, fracStart + DECIMAL_SCALE);
    }
  }
  if (kind === 'quantity' && intLen === 0 && frac === ZEROS) return undefined;
  return `${intLen === 0 ? '0' : raw.slice(intStart, intStart + intLen)}.${frac}` as Decimal;
}

/** parseDecimal through big.js for every input: the reference the fast path is tested against. */
export function parseDecimalExact(field: string, raw: unknown, kind: DecimalKind = 'signed'): Decimal {
  if (typeof raw !== 'string') {
    // A number here means someone already lost precision upstream; refuse it loudly.
    throw new DecimalError(field, raw, `must be decimal text, got ${raw === null ? 'null' : typeof raw}`);
  }
  if (raw.length === 0) throw new DecimalError(field, raw, 'is empty');
  if (!NUMERIC.test(raw)) throw new DecimalError(field, raw, 'is not a decimal number');
  const expIdx = raw.search(/[eE]/);
  if (expIdx >= 0 && Math.abs(Number(raw.slice(expIdx + 1))) > MAX_ABS_EXPONENT) {
    throw new DecimalError(field, raw, `exponent is out of range for Decimal(${DECIMAL_PRECISION},${DECIMAL_SCALE})`);
  }
  const b = new Big(raw.charCodeAt(0) === 43 /* + */ ? raw.slice(1) : raw);
  // big.js keeps digits in b.c and the exponent in b.e (value = 0.c * 10^(e+1)); no float is involved.
  const intDigits = b.c.length === 1 && b.c[0] === 0 ? 0 : b.e + 1;
  if (intDigits > MAX_INTEGER_DIGITS) {
    throw new DecimalError(field, raw, `has more than ${MAX_INTEGER_DIGITS} integer digits (Decimal(${DECIMAL_PRECISION},${DECIMAL_SCALE}))`);
  }
  const fracDigits = b.c.length - (b.e + 1);
  if (fracDigits > DECIMAL_SCALE) {
    throw new DecimalError(field, raw, `has more than ${DECIMAL_SCALE} significant fraction digits; refusing to round`);
  }
  const isZero = b.c.length === 1 && b.c[0] === 0;
  const negative = b.s < 0 && !isZero;
  if (negative && kind !== 'signed') throw new DecimalError(field, raw, 'must not be negative');
  if (isZero && kind === 'quantity') throw new DecimalError(field, raw, 'must be greater than zero');
  return b.toFixed(DECIMAL_SCALE).replace(/^-(0\.0+)$/, '$1') as Decimal;
}

/** Unscaled integer (value × 10^8) of a canonical Decimal. */
export function decimalToUnscaled(d: Decimal | string): bigint {
  const dot = d.indexOf('.');
  if (dot < 0) return BigInt(d) * SCALE_FACTOR;
  const frac = d.length - dot - 1;
  const digits = d.slice(0, dot) + d.slice(dot + 1);
  if (frac === DECIMAL_SCALE) return BigInt(digits);
  if (frac > DECIMAL_SCALE) throw new DecimalError('decimal', d, `has more than ${DECIMAL_SCALE} fraction digits`);
  return BigInt(digits) * 10n ** BigInt(DECIMAL_SCALE - frac);
}

export function unscaledToDecimal(unscaled: bigint): Decimal {
  const neg = unscaled < 0n;
  const s = (neg ? -unscaled : unscaled).toString().padStart(DECIMAL_SCALE + 1, '0');
  const cut = s.length - DECIMAL_SCALE;
  return `${neg ? '-' : ''}${s.slice(0, cut)}.${s.slice(cut)}` as Decimal;
}

/**
 * Avro `decimal` on `bytes`: the big-endian two's-complement of the unscaled value, minimal length
 * (Avro 1.11 spec, "Decimal"). Java's BigInteger.toByteArray() produces the same bytes.
 */
export function encodeDecimalBytes(d: Decimal | string): Buffer {
  const fast = smallUnscaled(d);
  if (fast !== undefined) return smallToTwosComplement(fast);
  const unscaled = decimalToUnscaled(d);
  if (unscaled > MAX_UNSCALED || unscaled < -MAX_UNSCALED) {
    throw new DecimalError('decimal', d, `does not fit Decimal(${DECIMAL_PRECISION},${DECIMAL_SCALE})`);
  }
  return unscaledToTwosComplement(unscaled);
}

/**
 * encodeDecimalBytes for the serde hot path: the bytes are written into one module buffer and returned as a view on
 * it, valid only until the next call (avsc copies them into its output at once). Undefined for anything but plain
 * canonical text below 2^47 unscaled: the caller then uses encodeDecimalBytes (fresh buffer, same bytes).
 */
export function encodeDecimalBytesTransient(d: string): Buffer | undefined {
  const v = smallUnscaled(d);
  if (v === undefined) return undefined;
  let n = 1;
  while (n < 6 && (v >= 2 ** (8 * n - 1) || v < -(2 ** (8 * n - 1)))) n++;
  TRANSIENT.writeIntBE(v, 0, n);
  return TRANSIENT_VIEWS[n - 1]!;
}

const TRANSIENT = Buffer.alloc(8);
const TRANSIENT_VIEWS = [1, 2, 3, 4, 5, 6].map((n) => TRANSIENT.subarray(0, n));

export function decodeDecimalBytes(buf: Uint8Array): Decimal {
  if (buf.length > 0 && buf.length <= 6) {
    // Up to 48 bits: exact as a JS number, and much cheaper than BigInt parsing and formatting.
    const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length).readIntBE(0, buf.length);
    const abs = v < 0 ? -v : v;
    const intPart = Math.floor(abs / 1e8);
    const frac = String(abs - intPart * 1e8);
    return `${v < 0 ? '-' : ''}${intPart}.${'00000000'.slice(frac.length)}${frac}` as Decimal;
  }
  return unscaledToDecimal(twosComplementToUnscaled(buf));
}

const SMALL_LIMIT = 2 ** 47;

/**
 * Fast path for the hot serde loop: a canonical decimal whose unscaled value is below 2^47 (prices under
 * 1,407,374.88...) is computed with exact integer arithmetic on doubles instead of BigInt. Else undefined.
 */
function smallUnscaled(d: string): number | undefined {
  const dot = d.length - 1 - DECIMAL_SCALE;
  if (dot < 1 || d.charCodeAt(dot) !== 46 /* . */) return undefined;
  const neg = d.charCodeAt(0) === 45; /* - */
  const start = neg ? 1 : 0;
  if (dot - start > 7 || dot === start) return undefined;
  let v = 0;
  for (let i = start; i < d.length; i++) {
    if (i === dot) continue;
    const c = d.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  if (v >= SMALL_LIMIT) return undefined;
  return neg ? -v : v;
}

function smallToTwosComplement(v: number): Buffer {
  // Smallest byte count whose signed range holds v: the same bytes the BigInt path writes.
  let n = 1;
  while (n < 6 && (v >= 2 ** (8 * n - 1) || v < -(2 ** (8 * n - 1)))) n++;
  const buf = Buffer.allocUnsafe(n);
  buf.writeIntBE(v, 0, n);
  return buf;
}

export function unscaledToTwosComplement(v: bigint): Buffer {
  // Unscaled values fit in 8 bytes (|v| < 10^18 < 2^63): write int64 then trim redundant sign bytes.
  const full = Buffer.allocUnsafe(8);
  full.writeBigInt64BE(v);
  let start = 0;
  while (start < 7) {
    const b = full[start]!;
    const next = full[start + 1]!;
    if ((b === 0x00 && (next & 0x80) === 0) || (b === 0xff && (next & 0x80) !== 0)) start++;
    else break;
  }
  return full.subarray(start);
}

export function twosComplementToUnscaled(buf: Uint8Array): bigint {
  if (buf.length === 0) return 0n;
  if (buf.length <= 8) {
    const tmp = Buffer.alloc(8, (buf[0]! & 0x80) !== 0 ? 0xff : 0x00);
    tmp.set(buf, 8 - buf.length);
    return tmp.readBigInt64BE();
  }
  let v = 0n;
  for (const b of buf) v = (v << 8n) | BigInt(b);
  if ((buf[0]! & 0x80) !== 0) v -= 1n << BigInt(buf.length * 8);
  return v;
}

/** Exact comparison of two decimals (sorting, bars' high/low). */
export function compareDecimal(a: Decimal | string, b: Decimal | string): -1 | 0 | 1 {
  const x = decimalToUnscaled(a);
  const y = decimalToUnscaled(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isDecimal(v: unknown): v is Decimal {
  return typeof v === 'string' && /^-?\d{1,10}\.\d{8}$/.test(v);
}
