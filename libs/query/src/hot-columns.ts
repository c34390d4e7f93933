import { isoFromMicros } from '@k2/schema';
import { fromUnits, toUnits } from './bars';
import { isTimeField, tableFieldJson } from './records';

/**
 * Compact columns for the hot tier (ADR 0015): one column per field of a SQL.trades/SQL.quotes row, in the encoding
 * that reproduces every value exactly as DuckDB returned it. An encoding is chosen only when every value of the
 * column round-trips through it (checked value by value when loading); anything else is kept as given (`raw`).
 *  - i64:      bigint values (µs timestamps) in a BigInt64Array
 *  - int-text: canonical integer text (sequences, numeric trade ids) as BigInt64Array, back with toString()
 *  - dec:      canonical Decimal(18,8) text as scaled int64 (1e-8 units), back with fromUnits
 *  - uuid:     canonical lowercase UUID text as two 64-bit halves
 *  - dict:     few distinct strings / string lists (symbol, exchange, side, currency, conditions, …) as codes
 */
export type Column =
  | { t: 'i64' | 'int-text' | 'dec'; v: BigInt64Array; nulls: Uint8Array | undefined }
  | { t: 'uuid'; hi: BigUint64Array; lo: BigUint64Array; nulls: Uint8Array | undefined }
  | { t: 'dict'; codes: Uint16Array; dict: unknown[] }
  | { t: 'raw'; v: unknown[] };

const INT_TEXT = /^-?(0|[1-9]\d{0,18})$/;
const DEC_TEXT = /^-?\d{1,10}\.\d{8}$/;
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_DICT = 65_535;
const fitsI64 = (v: bigint): boolean => BigInt.asIntN(64, v) === v;

function numeric(values: readonly unknown[], t: 'i64' | 'int-text' | 'dec'): Column | undefined {
  const v = new BigInt64Array(values.length);
  let nulls: Uint8Array | undefined;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null) {
      (nulls ??= new Uint8Array(values.length))[i] = 1;
      continue;
    }
    let n: bigint;
    if (t === 'i64') {
      if (typeof x !== 'bigint') return undefined;
      n = x;
    } else {
      if (typeof x !== 'string' || !(t === 'dec' ? DEC_TEXT : INT_TEXT).test(x)) return undefined;
      n = t === 'dec' ? toUnits(x) : BigInt(x);
      if (!fitsI64(n) || (t === 'dec' ? fromUnits(n) : n.toString()) !== x) return undefined;
    }
    if (!fitsI64(n)) return undefined;
    v[i] = n;
  }
  return { t, v, nulls };
}

function uuid(values: readonly unknown[]): Column | undefined {
  const hi = new BigUint64Array(values.length);
  const lo = new BigUint64Array(values.length);
  let nulls: Uint8Array | undefined;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null) {
      (nulls ??= new Uint8Array(values.length))[i] = 1;
      continue;
    }
    if (typeof x !== 'string' || !UUID_TEXT.test(x)) return undefined;
    const h = x.replace(/-/g, '');
    hi[i] = BigInt(`0x${h.slice(0, 16)}`);
    lo[i] = BigInt(`0x${h.slice(16)}`);
  }
  return { t: 'uuid', hi, lo, nulls };
}

function dictionary(values: readonly unknown[]): Column | undefined {
  const index = new Map<string, number>();
  const dict: unknown[] = [];
  const codes = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const isList = Array.isArray(x) && x.every((e) => typeof e === 'string');
    if (x !== null && typeof x !== 'string' && !isList) return undefined;
    const k = typeof x === 'string' ? `s${x}` : JSON.stringify(x);
    let c = index.get(k);
    if (c === undefined) {
      if (dict.length >= MAX_DICT) return undefined;
      index.set(k, (c = dict.length));
      dict.push(isList ? [...(x as string[])] : x);
    }
    codes[i] = c;
  }
  return { t: 'dict', codes, dict };
}

/** The most compact exact encoding of one column's values. */
export function encodeColumn(values: readonly unknown[]): Column {
  if (values.length === 0) return { t: 'i64', v: new BigInt64Array(0), nulls: undefined };
  const first = values.find((x) => x !== null);
  if (typeof first === 'bigint') return numeric(values, 'i64') ?? { t: 'raw', v: [...values] };
  if (typeof first === 'string') {
    if (INT_TEXT.test(first)) {
      const c = numeric(values, 'int-text');
      if (c) return c;
    }
    if (DEC_TEXT.test(first)) {
      const c = numeric(values, 'dec');
      if (c) return c;
    }
    if (UUID_TEXT.test(first)) {
      const c = uuid(values);
      if (c) return c;
    }
  }
  return dictionary(values) ?? { t: 'raw', v: [...values] };
}

const hex = (v: bigint): string => v.toString(16).padStart(16, '0');

/** Row `i`'s value, exactly as it was encoded (a list comes back as a fresh copy). */
export function valueAt(c: Column, i: number): unknown {
  switch (c.t) {
    case 'i64':
      return c.nulls?.[i] ? null : c.v[i];
    case 'int-text':
      return c.nulls?.[i] ? null : c.v[i].toString();
    case 'dec':
      return c.nulls?.[i] ? null : fromUnits(c.v[i]);
    case 'uuid': {
      if (c.nulls?.[i]) return null;
      const h = hex(c.hi[i]) + hex(c.lo[i]);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 'dict': {
      const d = c.dict[c.codes[i]];
      return Array.isArray(d) ? [...(d as unknown[])] : d;
    }
    case 'raw':
      return c.v[i];
  }
}

const textBytes = (x: unknown): number => (typeof x === 'string' ? 24 + x.length * 2 : Array.isArray(x) ? 32 + x.reduce((n: number, e) => n + textBytes(e), 0) : 16);

/** Approximate heap bytes of a column (typed arrays exactly, strings as V8 two-byte worst case). */
export function columnBytes(c: Column): number {
  switch (c.t) {
    case 'i64':
    case 'int-text':
    case 'dec':
      return c.v.byteLength + (c.nulls?.byteLength ?? 0);
    case 'uuid':
      return c.hi.byteLength * 2 + (c.nulls?.byteLength ?? 0);
    case 'dict':
      return c.codes.byteLength + c.dict.reduce((n: number, x) => n + textBytes(x), 0);
    case 'raw':
      return c.v.reduce((n: number, x) => n + 8 + textBytes(x), 0);
  }
}

/**
 * Row i's value of column `c` (field `field`) as the JSON text the API sends for it — exactly
 * `tableFieldJson(field, valueAt(c, i))`, without the intermediate values: numbers are formatted straight from
 * the typed arrays, a dictionary's texts are formatted once per distinct value.
 */
export function columnJson(c: Column, field: string): (i: number) => string {
  switch (c.t) {
    case 'i64':
      if (isTimeField(field)) return (i) => (c.nulls?.[i] ? 'null' : `"${isoFromMicros(c.v[i])}"`);
      return (i) => (c.nulls?.[i] ? 'null' : `"${c.v[i]}"`);
    case 'int-text':
      return (i) => (c.nulls?.[i] ? 'null' : `"${c.v[i]}"`);
    case 'dec':
      return (i) => (c.nulls?.[i] ? 'null' : `"${fromUnits(c.v[i])}"`);
    case 'uuid':
      return (i) => (c.nulls?.[i] ? 'null' : `"${valueAt(c, i) as string}"`);
    case 'dict': {
      const texts: Array<string | undefined> = new Array(c.dict.length);
      return (i) => (texts[c.codes[i]] ??= tableFieldJson(field, c.dict[c.codes[i]]));
    }
    case 'raw':
      return (i) => tableFieldJson(field, c.v[i]);
  }
}
