import * as avro from 'avsc';
import {
  DECIMAL_PRECISION,
  DECIMAL_SCALE,
  DecimalError,
  decodeDecimalBytes,
  encodeDecimalBytes,
  encodeDecimalBytesTransient,
  isDecimal,
} from '@k2/decimal';

/**
 * avsc applies a logicalType only when a class for it is registered AND the attribute sits inside the type
 * object ({"type":{"type":"bytes","logicalType":"decimal",...}}); otherwise it silently hands out raw bytes.
 * schema.spec.ts proves both conditions hold for every money and time field.
 */

const LONG_SCRATCH = Buffer.alloc(8);

/** Avro long as bigint: exact above 2^53 (sequence numbers, ids, far-future µs). */
/** The largest Avro long (signed 64-bit). source_sequence carries exchange ids, so an id above it cannot be encoded. */
export const AVRO_LONG_MAX = 2n ** 63n - 1n;

/**
 * Whether non-negative decimal digits fit an Avro long. Exchange ids are checked with this in the mappers: an id
 * of 2^63 or more used to pass as exact text and then throw inside Avro encoding (issue 18).
 */
export function digitsFitLong(digits: string): boolean {
  return digits.length < 19 || BigInt(digits) <= AVRO_LONG_MAX;
}

const LONG_MIN = -(2n ** 63n);
const LONG_LIMIT = 2n ** 63n;

export const BigIntLongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  // avsc packs these 8 bytes into its own buffer at once, so one scratch buffer serves every write.
  toBuffer: (n: bigint) => {
    LONG_SCRATCH.writeBigInt64LE(n);
    return LONG_SCRATCH;
  },
  fromJSON: (v: unknown) => BigInt(v as string | number),
  toJSON: (n: bigint) => n.toString(),
  // Bounds are constants: avsc calls this for every long it writes (issue 20: 2n ** 63n per call showed in profiles).
  isValid: (n: unknown) => typeof n === 'bigint' && n >= LONG_MIN && n < LONG_LIMIT,
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

export class DecimalLogicalType extends avro.types.LogicalType {
  readonly precision: number;
  readonly scale: number;

  constructor(schema: avro.Schema & { precision?: number; scale?: number }, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    this.precision = schema.precision ?? 0;
    this.scale = schema.scale ?? 0;
    // K2 has one money type; a schema asking for another would be decoded wrongly, so refuse it.
    if (this.precision !== DECIMAL_PRECISION || this.scale !== DECIMAL_SCALE) {
      throw new Error(`only decimal(${DECIMAL_PRECISION},${DECIMAL_SCALE}) is supported, got decimal(${this.precision},${this.scale})`);
    }
  }

  override _fromValue(buf: Buffer): string {
    return decodeDecimalBytes(buf);
  }

  override _toValue(val: unknown): Buffer {
    // The fast path accepts only canonical text (it implies isDecimal); avsc writes the returned bytes before the
    // next value is converted, so a view on one scratch buffer is enough (issue 20).
    const fast = typeof val === 'string' ? encodeDecimalBytesTransient(val) : undefined;
    return fast ?? this.ownBytes(val);
  }

  /** Both sides need their own bytes: `_toValue` hands out views on one scratch buffer. */
  override compare(a: unknown, b: unknown): number {
    return this.underlyingType.compare(this.ownBytes(a), this.ownBytes(b));
  }

  private ownBytes(val: unknown): Buffer {
    if (typeof val !== 'string' || !isDecimal(val)) {
      throw new DecimalError('decimal', val, `is not a canonical Decimal(${DECIMAL_PRECISION},${DECIMAL_SCALE}); parse it with parseDecimal first`);
    }
    return encodeDecimalBytes(val);
  }

  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (type instanceof DecimalLogicalType && type.precision === this.precision && type.scale === this.scale) {
      return (v) => v;
    }
    return undefined;
  }

  override _export(schema: avro.Schema): void {
    const attrs = schema as unknown as Record<string, unknown>;
    attrs['precision'] = this.precision;
    attrs['scale'] = this.scale;
  }
}

/**
 * timestamp-micros: the value is a bigint of µs since epoch (Date has only ms). The underlying long is read as
 * a JS number, exact up to 2^53 µs (year 2255); anything beyond is refused rather than rounded.
 */
export class TimestampMicrosLogicalType extends avro.types.LogicalType {
  override _fromValue(v: number): bigint {
    return BigInt(v);
  }

  override _toValue(v: unknown): number {
    if (typeof v !== 'bigint') throw new TypeError(`timestamp-micros must be a bigint of microseconds, got ${typeof v}`);
    if (v > MAX_SAFE || v < -MAX_SAFE) throw new RangeError(`timestamp-micros ${v} is outside the exact range`);
    return Number(v);
  }

  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (type instanceof TimestampMicrosLogicalType) return (v) => v;
    if (avro.Type.isType(type, 'long')) return (v) => BigInt(v as number);
    return undefined;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const K2_LOGICAL_TYPES = {
  decimal: DecimalLogicalType,
  'timestamp-micros': TimestampMicrosLogicalType,
} as const;

/**
 * avsc options giving K2's logical types and bigint longs. A typeHook (not `registry`) swaps in the bigint long
 * because avsc adds every named type to the registry object it is given, so one shared registry breaks the
 * second schema parsed with it. Fresh object per call for the same reason.
 */
export function k2AvroOptions(): Partial<avro.ForSchemaOptions> {
  return {
    logicalTypes: K2_LOGICAL_TYPES as unknown as Record<string, new (s: avro.Schema, o?: avro.ForSchemaOptions) => avro.types.LogicalType>,
    typeHook: (schema: avro.Schema) => {
      if (schema === 'long') return BigIntLongType;
      if (typeof schema === 'object' && !Array.isArray(schema)) {
        const o = schema as { type?: unknown; logicalType?: unknown };
        if (o.type === 'long' && o.logicalType === undefined) return BigIntLongType;
      }
      return undefined;
    },
    wrapUnions: false,
    // Without this avsc silently falls back to the raw underlying type when a logical type rejects its schema.
    assertLogicalTypes: true,
  };
}

/** Parses any V2-family schema with K2's logical types and bigint longs. */
export function avroTypeForSchema(schema: avro.Schema | string): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, k2AvroOptions());
}
