/**
 * Exchange trading days and time zones (issue 16, ADR 0017). A daily bar or summary is one local calendar day of
 * the exchange's zone (ASX: Australia/Sydney with its daylight saving; crypto: UTC); intraday bars follow the
 * zone's local clock. Boundaries are exact µs instants computed from the runtime's ICU zone data (Intl), no
 * dependency: the zone's UTC offset is sampled and each change located to the second, then every local bucket
 * start is mapped back through the offset in force. Correct across 23- and 25-hour days and :30/:45 offsets.
 */
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Exchange code → IANA zone. Crypto venues trade around the clock and settle on UTC days. */
export const EXCHANGE_ZONES: Readonly<Record<string, string>> = Object.freeze({
  ASX: 'Australia/Sydney',
  BINANCE: 'UTC',
  KRAKEN: 'UTC',
});

export const UTC = 'UTC';

/**
 * The zone of a request: its `tz` if given, else its exchange's zone, else UTC. An exchange-less request is not
 * looked up by symbol (a symbol may trade on several venues; the answer must not depend on which tables hold it):
 * it keeps the UTC days it always had. Unknown exchanges (scratch, future crypto venues) are UTC too.
 */
export function zoneFor(exchange: string | undefined, tz: string | undefined): string {
  if (tz !== undefined) return tz;
  return (exchange !== undefined && EXCHANGE_ZONES[exchange]) || UTC;
}

// IANA names only (Area/Location, legacy single words such as UTC or EST5EDT); Intl's "+05:30" offsets are not.
const ZONE_RE = /^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/;
let supported: Map<string, string> | undefined;

/**
 * A `tz` value → the zone's IANA name (case-insensitive: "australia/sydney" → "Australia/Sydney"), or undefined
 * when ICU does not know it. Names ICU maps to UTC (Etc/UTC, GMT, Zulu…) become "UTC".
 */
export function canonicalZone(name: string): string | undefined {
  if (!ZONE_RE.test(name)) return undefined;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  if (resolved === UTC) return UTC;
  // The name as the caller gave it (ICU would turn Asia/Kolkata into its older canonical Asia/Calcutta), its case
  // taken from the runtime's list when listed there.
  supported ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  return supported.get(name.toLowerCase()) ?? (resolved.toLowerCase() === name.toLowerCase() ? resolved : name);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's UTC offset in ms at instant `ms` (whole seconds: ICU formats to the second). */
export function offsetMs(zone: string, ms: number): number {
  const at = Math.floor(ms / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const x of formatter(zone).formatToParts(new Date(at))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return Date.UTC(p['year'], p['month'] - 1, p['day'], p['hour'], p['minute'], p['second']) - at;
}

/** A stretch of time with one UTC offset, from `from` (ms) to the next segment's start. */
interface Segment {
  from: number;
  offset: number;
}

/**
 * The zone's offsets over [fromMs, toMs): sampled hourly, each change located to the second by bisection. Two
 * changes within one hour would be seen as one; tzdb has none since 1970 for the zones exchanges use.
 */
export function segments(zone: string, fromMs: number, toMs: number): Segment[] {
  const out: Segment[] = [{ from: fromMs, offset: offsetMs(zone, fromMs) }];
  let prev = fromMs;
  for (let t = fromMs + HOUR_MS; prev < toMs; t += HOUR_MS) {
    const o = offsetMs(zone, t);
    const cur = out[out.length - 1].offset;
    if (o !== cur) {
      let lo = Math.floor(prev / 1000); // offset cur at lo, o at hi (seconds)
      let hi = Math.floor(t / 1000);
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetMs(zone, mid * 1000) === cur) lo = mid;
        else hi = mid;
      }
      out.push({ from: hi * 1000, offset: offsetMs(zone, hi * 1000) });
    }
    prev = t;
  }
  return out;
}

/** One bucket start: the instant (µs UTC) and its label, the local wall-clock bucket start (ms of a UTC-like clock). */
export interface Boundary {
  us: bigint;
  wallMs: number;
}

/**
 * Bucket starts of width `widthMs` on the zone's local clock covering [startUs, endUs): the last start at or
 * before startUs, then every one before endUs. A bucket starts where the local clock enters a new multiple of the
 * width: at a multiple of it, or at an offset change that lands on or jumps over one (the bucket after a skipped hour,
 * or after a :30 shift, starts at the change). Daily buckets (`daily`) start only where the local date passes every date
 * seen before, so a repeated hour never splits a day: a local date is one bucket from its first instant (23 or
 * 25 hours long on change days). Intraday buckets start at every change of the multiple, so the two occurrences
 * of a repeated hour are two 1h bars.
 */
export function zoneBoundaries(zone: string, widthMs: number, daily: boolean, startUs: bigint, endUs: bigint): Boundary[] {
  const startMs = Number(startUs / 1000n);
  const endMs = Number((endUs + 999n) / 1000n);
  // Start early enough that a bucket start at or before startUs is seen (a day is at most ~26 hours).
  const segs = segments(zone, startMs - widthMs - 2 * DAY_MS, endMs);
  const all: Boundary[] = [];
  let maxLabel = -Infinity;
  const add = (t: number, label: number) => {
    if (daily && label <= maxLabel) return;
    maxLabel = Math.max(maxLabel, label);
    all.push({ us: BigInt(t) * 1000n, wallMs: label * widthMs });
  };
  for (let i = 0; i < segs.length; i++) {
    const { from, offset } = segs[i];
    const to = i + 1 < segs.length ? segs[i + 1].from : endMs;
    const wallFrom = from + offset;
    const label = Math.floor(wallFrom / widthMs);
    if (i === 0) maxLabel = label; // the first segment's own start is where sampling began, not a boundary
    else if (label !== Math.floor((from - 1000 + segs[i - 1].offset) / widthMs) || wallFrom % widthMs === 0) add(from, label);
    for (let w = (label + 1) * widthMs; w - offset < to; w += widthMs) add(w - offset, w / widthMs);
  }
  let first = 0;
  while (first + 1 < all.length && all[first + 1].us <= startUs) first++;
  return all.slice(first).filter((b, i) => i === 0 || b.us < endUs);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const dayCache = new Map<string, { startUs: bigint; endUs: bigint }>();
const DAY_CACHE_MAX = 10_000;

/** The local calendar day `date` (YYYY-MM-DD, assumed valid) of the zone as [startUs, endUs): 23, 24 or 25 hours. */
export function localDay(zone: string, date: string): { startUs: bigint; endUs: bigint } {
  const k = `${zone} ${date}`;
  const hit = dayCache.get(k);
  if (hit) return hit;
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Any instant of the day's first hours in every zone (offsets are within ±14 h) lies in [wall - 15 h, wall + 15 h).
  const probe = BigInt(wall - 15 * HOUR_MS) * 1000n;
  const b = zoneBoundaries(zone, DAY_MS, true, probe, probe + BigInt(2 * DAY_MS + 30 * HOUR_MS) * 1000n);
  const i = b.findIndex((x) => x.wallMs === wall);
  if (i < 0 || i + 1 >= b.length) throw new RangeError(`no local day ${date} in ${zone}`);
  const day = { startUs: b[i].us, endUs: b[i + 1].us };
  if (dayCache.size >= DAY_CACHE_MAX) dayCache.delete(dayCache.keys().next().value as string);
  dayCache.set(k, day);
  return day;
}

/** The local date (YYYY-MM-DD) of a daily boundary's label. */
export function labelDate(b: Boundary): string {
  return new Date(b.wallMs).toISOString().slice(0, 10);
}
