import { isoFromMicros } from '@k2/schema';
import type { V2Record } from './tail-store';

/**
 * Bar arithmetic in fixed point on bigint: prices and quantities are Decimal(18,8), i.e. integers of 1e-8 units, so
 * sums are exact integers and the notional Σ price×quantity an exact integer of 1e-16 units. Faster than big.js by
 * an order of magnitude on a day of 1m bars, and just as exact.
 */
const SCALE = 8;

/** Canonical Decimal(18,8) text ("-0.50000000") → units of 1e-8. */
export function toUnits(text: string): bigint {
  const neg = text.startsWith('-');
  const t = neg ? text.slice(1) : text;
  const dot = t.indexOf('.');
  const int = dot < 0 ? t : t.slice(0, dot);
  const frac = dot < 0 ? '' : t.slice(dot + 1);
  if (frac.length > SCALE * 2) throw new RangeError(`more than ${SCALE * 2} decimals: ${text}`);
  const v = BigInt(int + frac.padEnd(SCALE, '0').slice(0, SCALE));
  if (frac.length > SCALE && /[1-9]/.test(frac.slice(SCALE))) throw new RangeError(`not a Decimal(18,8): ${text}`);
  return neg ? -v : v;
}

/** Units of 10^-scale → canonical text with `scale` decimals. */
export function fromUnits(v: bigint, scale = SCALE): string {
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

/** DuckDB's DECIMAL(38,16) text of the notional → units of 1e-16. */
function notionalUnits(text: string): bigint {
  const neg = text.startsWith('-');
  const t = neg ? text.slice(1) : text;
  const [int, frac = ''] = t.split('.');
  const v = BigInt(int + frac.padEnd(16, '0'));
  return neg ? -v : v;
}

/** Per-bucket partial aggregate: what SQL.bars returns per row, and what tail trades are folded into. */
export interface BarPartial {
  bucket: bigint;
  open: bigint;
  openTs: bigint;
  openId: string;
  close: bigint;
  closeTs: bigint;
  closeId: string;
  high: bigint;
  low: bigint;
  /** 1e-8 units. */
  volume: bigint;
  /** 1e-16 units. */
  notional: bigint;
  trades: number;
}

export interface Bar {
  time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  /** null when the volume is zero (e.g. only zero-quantity prints). */
  vwap: string | null;
  trades: number;
  first_trade_time: string;
  last_trade_time: string;
}

/** (timestamp, message_id) order: open is the smallest, close the largest — the same total order the SQL uses. */
function before(ts: bigint, id: string, ts2: bigint, id2: string): boolean {
  return ts < ts2 || (ts === ts2 && id < id2);
}

export function partialFromRow(r: Record<string, unknown>): BarPartial {
  return {
    bucket: BigInt(r['bucket'] as bigint),
    open: toUnits(String(r['open'])),
    openTs: BigInt(r['open_ts'] as bigint),
    openId: String(r['open_id']),
    close: toUnits(String(r['close'])),
    closeTs: BigInt(r['close_ts'] as bigint),
    closeId: String(r['close_id']),
    high: toUnits(String(r['high'])),
    low: toUnits(String(r['low'])),
    volume: toUnits(String(r['volume'])),
    notional: notionalUnits(String(r['notional'])),
    trades: Number(r['trades']),
  };
}

/**
 * A bucket width (epoch-aligned buckets) or the bucket of a timestamp (zone-aligned buckets, see bucketing.ts):
 * rebucket and mergeBars group by either, so the tail merge uses the same boundaries as the table part.
 */
export type BucketOf = bigint | ((ts: bigint) => bigint);

const bucketFn = (b: BucketOf): ((ts: bigint) => bigint) => (typeof b === 'bigint' ? (ts) => (ts / b) * b : b);

/** Folds tail trades (already deduplicated against the table) into the table's partials, bucket by bucket. */
export function mergeBars(partials: readonly BarPartial[], tail: readonly V2Record[], bucketUs: BucketOf): BarPartial[] {
  if (tail.length === 0) return [...partials];
  const byBucket = new Map<bigint, BarPartial>();
  const of = bucketFn(bucketUs);
  for (const p of partials) byBucket.set(p.bucket, { ...p });
  for (const t of tail) {
    const ts = t['timestamp'] as bigint;
    const id = String(t['message_id']);
    const price = toUnits(String(t['price']));
    const qty = toUnits(String(t['quantity']));
    // Floor division, as the SQL's `//`; timestamps before 1970 do not occur (start ≥ 0 is validated).
    const bucket = of(ts);
    const p = byBucket.get(bucket);
    if (!p) {
      byBucket.set(bucket, { bucket, open: price, openTs: ts, openId: id, close: price, closeTs: ts, closeId: id, high: price, low: price, volume: qty, notional: price * qty, trades: 1 });
      continue;
    }
    if (before(ts, id, p.openTs, p.openId)) Object.assign(p, { open: price, openTs: ts, openId: id });
    if (before(p.closeTs, p.closeId, ts, id)) Object.assign(p, { close: price, closeTs: ts, closeId: id });
    if (price > p.high) p.high = price;
    if (price < p.low) p.low = price;
    p.volume += qty;
    p.notional += price * qty;
    p.trades++;
  }
  return [...byBucket.values()].sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
}

/** Two partials of the same bucket (e.g. from two data files) as one. */
export function combine(a: BarPartial, b: BarPartial): BarPartial {
  const first = before(a.openTs, a.openId, b.openTs, b.openId) ? a : b;
  const last = before(a.closeTs, a.closeId, b.closeTs, b.closeId) ? b : a;
  return {
    bucket: a.bucket,
    open: first.open,
    openTs: first.openTs,
    openId: first.openId,
    close: last.close,
    closeTs: last.closeTs,
    closeId: last.closeId,
    high: a.high > b.high ? a.high : b.high,
    low: a.low < b.low ? a.low : b.low,
    volume: a.volume + b.volume,
    notional: a.notional + b.notional,
    trades: a.trades + b.trades,
  };
}

/**
 * Finer partials (e.g. 1m) of [startUs, endUs) regrouped into `bucketUs` buckets (a multiple of theirs) or, given
 * a function, into the buckets it assigns (each finer bucket must lie within one of them).
 */
export function rebucket(partials: Iterable<BarPartial>, bucketUs: BucketOf, startUs: bigint, endUs: bigint): BarPartial[] {
  const out = new Map<bigint, BarPartial>();
  const of = bucketFn(bucketUs);
  for (const p of partials) {
    if (p.bucket < startUs || p.bucket >= endUs) continue;
    const bucket = of(p.bucket);
    const cur = out.get(bucket);
    out.set(bucket, cur ? combine(cur, { ...p, bucket }) : { ...p, bucket });
  }
  return [...out.values()].sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
}

/**
 * VWAP = Σ(price×quantity) / Σ quantity, computed exactly and then rounded half-even to the 8 decimals of the
 * platform's Decimal(18,8) — a derived statistic, the one place a value is rounded, and documented as such.
 * notional (1e-16) / volume (1e-8) is already in 1e-8 units.
 */
export function vwap(p: Pick<BarPartial, 'notional' | 'volume'>): string | null {
  if (p.volume === 0n) return null;
  const neg = p.notional < 0n !== p.volume < 0n;
  const n = p.notional < 0n ? -p.notional : p.notional;
  const d = p.volume < 0n ? -p.volume : p.volume;
  let q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d || (r2 === d && q % 2n === 1n)) q++;
  return fromUnits(neg ? -q : q);
}

export function barJson(p: BarPartial): Bar {
  return {
    time: isoFromMicros(p.bucket),
    open: fromUnits(p.open),
    high: fromUnits(p.high),
    low: fromUnits(p.low),
    close: fromUnits(p.close),
    volume: fromUnits(p.volume),
    vwap: vwap(p),
    trades: p.trades,
    first_trade_time: isoFromMicros(p.openTs),
    last_trade_time: isoFromMicros(p.closeTs),
  };
}
