import { ErrorCode, FatalError } from '@k2/core';
import type { IcebergType, PartitionField, PrimitiveType, Transform } from './spec';

/**
 * Single-value serialization (spec, Appendix D) for bounds in manifests, and the partition transforms K2 uses.
 * Values in JS: long/timestamp → bigint (µs), int/date → number, decimal → unscaled bigint, string → string.
 */
export type BoundValue = bigint | number | string | boolean | Buffer;

export function decimalScale(t: IcebergType): number | undefined {
  if (typeof t !== 'string') return undefined;
  const m = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
  return m ? Number(m[2]) : undefined;
}

/** Decimal text ("123.45") → unscaled integer at `scale`; exact, refuses more fractional digits than the scale. */
export function unscaledDecimal(text: string, scale: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new FatalError(ErrorCode.ICEBERG_INVALID, `"${text}" is not a plain decimal`);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > scale) throw new FatalError(ErrorCode.ICEBERG_INVALID, `"${text}" has more than ${scale} fractional digits`);
  const v = BigInt(m[2] + frac.padEnd(scale, '0'));
  return m[1] ? -v : v;
}

export function decimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const s = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return neg ? `-${s}` : s;
}

/** Two's-complement big-endian, minimal length (Appendix D: decimal). */
export function bigIntToMinimalBytes(v: bigint): Buffer {
  let n = 1;
  while (v >= 1n << BigInt(8 * n - 1) || v < -(1n << BigInt(8 * n - 1))) n++;
  const b = Buffer.alloc(n);
  let x = BigInt.asUintN(8 * n, v);
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
}

export function bytesToBigInt(b: Buffer): bigint {
  let x = 0n;
  for (const byte of b) x = (x << 8n) | BigInt(byte);
  return BigInt.asIntN(8 * b.length, x);
}

export function serializeValue(t: PrimitiveType, v: BoundValue): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (decimalScale(t) !== undefined) return bigIntToMinimalBytes(BigInt(v as bigint));
  switch (t) {
    case 'boolean':
      return Buffer.from([v ? 1 : 0]);
    case 'int':
    case 'date': {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(v));
      return b;
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz': {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(v as bigint));
      return b;
    }
    case 'float': {
      const b = Buffer.alloc(4);
      b.writeFloatLE(Number(v));
      return b;
    }
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(v));
      return b;
    }
    case 'string':
      return Buffer.from(String(v), 'utf8');
    case 'uuid':
      return uuidBytes(String(v));
    default:
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `no bound serialization for ${t}`);
  }
}

export function deserializeValue(t: PrimitiveType, b: Buffer): BoundValue {
  if (decimalScale(t) !== undefined) return bytesToBigInt(b);
  switch (t) {
    case 'boolean':
      return b[0] !== 0;
    case 'int':
    case 'date':
      return b.readInt32LE(0);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return b.readBigInt64LE(0);
    case 'float':
      return b.readFloatLE(0);
    case 'double':
      return b.readDoubleLE(0);
    case 'string':
      return b.toString('utf8');
    case 'uuid':
      return uuidText(b);
    default:
      return b;
  }
}

const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Canonical UUID text → the 16 big-endian bytes Iceberg stores (spec, Appendix D: uuid). */
export function uuidBytes(text: string): Buffer {
  if (!UUID_TEXT.test(text)) throw new FatalError(ErrorCode.ICEBERG_INVALID, `"${text}" is not a UUID in 8-4-4-4-12 hex form`);
  return Buffer.from(text.replace(/-/g, ''), 'hex');
}

/**
 * 16 bytes → canonical lowercase UUID text. Lowercase hex keeps the byte order (0-9 sort before a-f), so bounds
 * and sort order compare the same as text or as bytes.
 */
export function uuidText(b: Buffer): string {
  if (b.length !== 16) throw new FatalError(ErrorCode.ICEBERG_INVALID, `a UUID has 16 bytes, got ${b.length}`);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Iceberg orders strings by unsigned UTF-8 bytes, which is what Buffer.compare does. */
export function compareValues(a: BoundValue, b: BoundValue): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  const x = typeof a === 'bigint' || typeof b === 'bigint' ? BigInt(a as bigint) : a;
  const y = typeof a === 'bigint' || typeof b === 'bigint' ? BigInt(b as bigint) : b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * String bounds truncated to 16 code points like Java's default metrics mode `truncate(16)`: the lower bound is a
 * prefix (still ≤ every value); the upper bound's last code point is incremented (still ≥), or omitted when it
 * cannot be.
 */
export const STRING_BOUND_LENGTH = 16;

export function truncateLower(s: string, n = STRING_BOUND_LENGTH): string {
  const cps = Array.from(s);
  return cps.length <= n ? s : cps.slice(0, n).join('');
}

export function truncateUpper(s: string, n = STRING_BOUND_LENGTH): string | undefined {
  const cps = Array.from(s);
  if (cps.length <= n) return s;
  const head = cps.slice(0, n);
  for (let i = head.length - 1; i >= 0; i--) {
    const cp = head[i].codePointAt(0)!;
    let next = cp + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return head.slice(0, i).join('') + String.fromCodePoint(next);
  }
  return undefined;
}

export const MICROS_PER_DAY = 86_400_000_000n;

/** Days since 1970-01-01 of a µs timestamp (floor, so pre-epoch instants land on the right day). */
const MICROS_PER_HOUR = 3_600_000_000n;

export function dayOfMicros(us: bigint): number {
  const d = us / MICROS_PER_DAY;
  return Number(us < 0n && d * MICROS_PER_DAY !== us ? d - 1n : d);
}

export function dayToIso(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export function applyTransform(transform: Transform, sourceType: IcebergType, v: unknown): number | string | bigint | boolean | null {
  if (v === null || v === undefined) return null;
  switch (transform) {
    case 'identity':
      return v as string;
    case 'day':
      if (sourceType === 'date') return Number(v);
      return dayOfMicros(BigInt(v as bigint));
    case 'hour': {
      // Spec "Partition Transforms": hours since 1970-01-01 00:00 UTC (floor, as day).
      const us = BigInt(v as bigint);
      const h = us / MICROS_PER_HOUR;
      return Number(us < 0n && h * MICROS_PER_HOUR !== us ? h - 1n : h);
    }
    case 'void':
      return null;
    default:
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `partition transform ${transform} is not supported by this writer`);
  }
}

/** Result type of a transform (spec: Partition Transforms). */
export function transformResultType(transform: Transform, sourceType: IcebergType): PrimitiveType {
  switch (transform) {
    case 'day':
      return 'date';
    case 'year':
    case 'month':
    case 'hour':
      return 'int';
    case 'identity':
    case 'void':
      return sourceType as PrimitiveType;
    default:
      if (transform.startsWith('bucket')) return 'int';
      return sourceType as PrimitiveType;
  }
}

/** Hive-style path segment, the human-readable form Java uses (`timestamp_day=2024-01-15`). */
export function partitionPathSegment(f: PartitionField, resultType: PrimitiveType, v: unknown): string {
  const text = v === null || v === undefined ? 'null' : resultType === 'date' ? dayToIso(Number(v)) : String(v);
  return `${encodeURIComponent(f.name)}=${encodeURIComponent(text)}`;
}
