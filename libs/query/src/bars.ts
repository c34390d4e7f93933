import Big from 'big.js';
import { isoFromMicros } from '@k2/schema';
import type { V2Record } from './tail-store';

/** Per-bucket partial aggregate: what SQL.bars returns per row, and what tail trades are folded into. */
export interface BarPartial {
  bucket: bigint;
  open: string;
  openTs: bigint;
  openId: string;
  close: string;
  closeTs: bigint;
  closeId: string;
  high: string;
  low: string;
  volume: Big;
  notional: Big;
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
}

/** (timestamp, message_id) order: open is the smallest, close the largest — the same total order the SQL uses. */
function before(ts: bigint, id: string, ts2: bigint, id2: string): boolean {
  return ts < ts2 || (ts === ts2 && id < id2);
}

export function partialFromRow(r: Record<string, unknown>): BarPartial {
  return {
    bucket: BigInt(r['bucket'] as bigint),
    open: String(r['open']),
    openTs: BigInt(r['open_ts'] as bigint),
    openId: String(r['open_id']),
    close: String(r['close']),
    closeTs: BigInt(r['close_ts'] as bigint),
    closeId: String(r['close_id']),
    high: String(r['high']),
    low: String(r['low']),
    volume: new Big(String(r['volume'])),
    notional: new Big(String(r['notional'])),
    trades: Number(r['trades']),
  };
}

/** Folds tail trades (already deduplicated against the table) into the table's partials, bucket by bucket. */
export function mergeBars(partials: readonly BarPartial[], tail: readonly V2Record[], bucketUs: bigint): BarPartial[] {
  const byBucket = new Map<bigint, BarPartial>();
  for (const p of partials) byBucket.set(p.bucket, { ...p });
  for (const t of tail) {
    const ts = t['timestamp'] as bigint;
    const id = String(t['message_id']);
    const price = String(t['price']);
    const qty = new Big(String(t['quantity']));
    // Floor division (the SQL's `//` floors too); timestamps before 1970 do not occur (start ≥ 0 is validated).
    const bucket = (ts / bucketUs) * bucketUs;
    const p = byBucket.get(bucket);
    if (!p) {
      byBucket.set(bucket, { bucket, open: price, openTs: ts, openId: id, close: price, closeTs: ts, closeId: id, high: price, low: price, volume: qty, notional: qty.times(price), trades: 1 });
      continue;
    }
    if (before(ts, id, p.openTs, p.openId)) Object.assign(p, { open: price, openTs: ts, openId: id });
    if (before(p.closeTs, p.closeId, ts, id)) Object.assign(p, { close: price, closeTs: ts, closeId: id });
    if (new Big(price).gt(p.high)) p.high = price;
    if (new Big(price).lt(p.low)) p.low = price;
    p.volume = p.volume.plus(qty);
    p.notional = p.notional.plus(qty.times(price));
    p.trades++;
  }
  return [...byBucket.values()].sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
}

const canonical = (v: string | Big): string => new Big(v).toFixed(8);

/**
 * VWAP = Σ(price×quantity) / Σ quantity, computed exactly and then rounded half-even to the 8 decimals of the
 * platform's Decimal(18,8) — a derived statistic, the one place a value is rounded, and documented as such.
 */
export function vwap(p: Pick<BarPartial, 'notional' | 'volume'>): string | null {
  if (p.volume.eq(0)) return null;
  const B = Big();
  B.DP = 30;
  return new B(p.notional.toFixed()).div(p.volume.toFixed()).round(8, Big.roundHalfEven).toFixed(8);
}

export function barJson(p: BarPartial): Bar & { first_trade_time: string; last_trade_time: string } {
  return {
    time: isoFromMicros(p.bucket),
    open: canonical(p.open),
    high: canonical(p.high),
    low: canonical(p.low),
    close: canonical(p.close),
    volume: canonical(p.volume),
    vwap: vwap(p),
    trades: p.trades,
    first_trade_time: isoFromMicros(p.openTs),
    last_trade_time: isoFromMicros(p.closeTs),
  };
}
