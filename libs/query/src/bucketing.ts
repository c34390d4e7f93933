import { barJson, combine, type Bar, type BarPartial } from './bars';
import { labelDate, UTC, zoneBoundaries } from './trading-day';

/**
 * How trades are grouped into bars (issue 16, ADR 0017). `starts` null: buckets are the epoch-aligned multiples of
 * `bucketUs` (UTC days and clocks, the original behaviour, kept bit-identical). Otherwise `starts` lists the
 * buckets' starts in µs, ascending (zoneBoundaries): bucket k holds [starts[k], starts[k+1]) and is labelled
 * starts[k]; the first may begin before the request's start, as an epoch-aligned first bucket does.
 */
export interface Bucketing {
  bucketUs: bigint;
  starts: readonly bigint[] | null;
}

const MINUTE_US = 60_000_000n;

export const epochBuckets = (bucketUs: bigint): Bucketing => ({ bucketUs, starts: null });

/** Index of the bucket holding `ts`: the last start at or before it (binary search; -1 if before the first). */
export function bucketIndex(starts: readonly bigint[], ts: bigint): number {
  let lo = 0;
  let hi = starts.length; // starts[i] <= ts for every i < lo; starts[i] > ts for every i >= hi
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The bucket of a timestamp, as rebucket and mergeBars take it. */
export function bucketOf(b: Bucketing): bigint | ((ts: bigint) => bigint) {
  const starts = b.starts;
  if (!starts) return b.bucketUs;
  return (ts) => starts[Math.max(0, bucketIndex(starts, ts))];
}

/**
 * Whether 1-minute partials can be regrouped into these buckets: the window and every bucket start are whole
 * minutes, so no minute straddles two buckets. True for every zone whose offsets since 1970 are whole minutes
 * (all but a few historical ones, e.g. Africa/Monrovia at −0:44:30 until 1972); those go to SQL.barsBounded.
 */
export function wholeMinutes(b: Bucketing, startUs: bigint, endUs: bigint): boolean {
  if (startUs % MINUTE_US !== 0n || endUs % MINUTE_US !== 0n) return false;
  return b.starts ? b.starts.every((s) => s % MINUTE_US === 0n) : b.bucketUs % MINUTE_US === 0n;
}

/** Whether [startUs, endUs) is exactly one bucket (a daily summary): cached on its own by MinuteBarCache. */
export function isSingle(b: Bucketing, startUs: bigint, endUs: bigint): boolean {
  if (b.starts) return b.starts.length === 1 && b.starts[0] === startUs;
  return b.bucketUs === endUs - startUs && startUs % b.bucketUs === 0n;
}

/** SQL.barsBounded's lists: each bucket's [start, end), the last ending at the window's end. */
export function boundedParams(starts: readonly bigint[], endUs: bigint): { bucket_starts: bigint[]; bucket_ends: bigint[] } {
  return { bucket_starts: [...starts], bucket_ends: [...starts.slice(1), endUs] };
}

/** Partials already labelled by bucket, from several files, as one partial per bucket, ascending. */
export function combineByBucket(partials: Iterable<BarPartial>): BarPartial[] {
  const out = new Map<bigint, BarPartial>();
  for (const p of partials) {
    const cur = out.get(p.bucket);
    out.set(p.bucket, cur ? combine(cur, p) : p);
  }
  return [...out.values()].sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
}

/** A bars request's buckets and, for local days, each bucket's trading date (labels for the answer). */
export interface BarPlan {
  bucketing: Bucketing;
  tz: string;
  dates: ReadonlyMap<bigint, string> | null;
}

/** UTC keeps the epoch-aligned path untouched; every other zone gets its local-clock bucket starts. */
export function planBars(tz: string, intervalUs: bigint, daily: boolean, startUs: bigint, endUs: bigint): BarPlan {
  if (tz === UTC) return { bucketing: epochBuckets(intervalUs), tz, dates: null };
  const bounds = zoneBoundaries(tz, Number(intervalUs / 1000n), daily, startUs, endUs);
  return {
    bucketing: { bucketUs: intervalUs, starts: bounds.map((b) => b.us) },
    tz,
    dates: daily ? new Map(bounds.map((b) => [b.us, labelDate(b)])) : null,
  };
}

/** A summary's one bucket: the (local) day [startUs, endUs). */
export function planSummary(tz: string, startUs: bigint, endUs: bigint): Bucketing {
  return tz === UTC ? epochBuckets(endUs - startUs) : { bucketUs: endUs - startUs, starts: [startUs] };
}

/**
 * The bars answer: unchanged for UTC; in another zone it names the zone, and daily bars carry their trading date
 * next to `time` (the day's first instant, UTC).
 */
export function barsBody(partials: readonly BarPartial[], plan: BarPlan): { tz?: string; data: Array<Bar & { date?: string }> } {
  if (plan.tz === UTC) return { data: partials.map(barJson) };
  const dates = plan.dates;
  return {
    tz: plan.tz,
    data: partials.map((p) => {
      const { time, ...rest } = barJson(p);
      const date = dates?.get(p.bucket);
      return date === undefined ? { time, ...rest } : { time, date, ...rest };
    }),
  };
}
