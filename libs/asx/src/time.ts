import { AsxRowError } from './errors';

/** ASX files stamp rows in exchange-local wall-clock time. */
export const ASX_TIME_ZONE = 'Australia/Sydney';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Converts exchange-local wall-clock times to UTC with the ICU time-zone database that ships with Node (full ICU),
 * so daylight saving follows the official rules for any year without a table of our own.
 *
 * Asking ICU is slow (formatToParts allocates), so the UTC offset is cached per local calendar day: a day whose
 * offset is the same at both ends has no transition and every time on it shares that offset. Only the two
 * transition days a year take the exact per-row path.
 */
export class ExchangeClock {
  private readonly fmt: Intl.DateTimeFormat;
  /** Local day (days since 1970-01-01) -> offset in ms, or NaN for a transition day. */
  private readonly dayOffsets = new Map<number, number>();
  // Rows come sorted by time, so thousands in a row share a date string: remember the last one parsed.
  private lastDate = '';
  private lastDateMs = 0;

  constructor(readonly timeZone: string = ASX_TIME_ZONE) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Local minus UTC, in ms, at the UTC instant `utcMs`. */
  offsetAt(utcMs: number): number {
    let y = 0;
    let mo = 0;
    let d = 0;
    let h = 0;
    let mi = 0;
    let s = 0;
    for (const p of this.fmt.formatToParts(utcMs)) {
      switch (p.type) {
        case 'year':
          y = Number(p.value);
          break;
        case 'month':
          mo = Number(p.value);
          break;
        case 'day':
          d = Number(p.value);
          break;
        case 'hour':
          h = Number(p.value);
          break;
        case 'minute':
          mi = Number(p.value);
          break;
        case 'second':
          s = Number(p.value);
          break;
      }
    }
    return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(utcMs / 1000) * 1000;
  }

  /**
   * UTC ms of a local wall-clock time given as "local fields read as if UTC" (`Date.UTC(y, m-1, d, h, mi, s, ms)`).
   * Returns NaN for a local time that does not exist (skipped by a spring-forward). An ambiguous time (repeated
   * by a fall-back) resolves to its first occurrence, i.e. still on daylight time, so the result is deterministic.
   */
  localToUtcMs(localMs: number): number {
    const day = Math.floor(localMs / DAY_MS);
    let off = this.dayOffsets.get(day);
    if (off === undefined) {
      off = this.uniformOffset(day * DAY_MS);
      this.dayOffsets.set(day, off);
    }
    if (!Number.isNaN(off)) return localMs - off;
    return this.exact(localMs);
  }

  private uniformOffset(localMidnight: number): number {
    // Every instant of the local day lies within [midnight - 15h, midnight + 24h + 15h] in UTC for any real zone;
    // equal offsets at both ends mean no transition happened in between (zones change at most twice a year).
    const a = this.offsetAt(localMidnight - 15 * HOUR_MS);
    const b = this.offsetAt(localMidnight + DAY_MS + 15 * HOUR_MS);
    return a === b ? a : NaN;
  }

  private exact(localMs: number): number {
    const before = this.offsetAt(localMs - DAY_MS);
    const after = this.offsetAt(localMs + DAY_MS);
    let best = NaN;
    for (const off of before === after ? [before] : [before, after]) {
      const utc = localMs - off;
      if (this.offsetAt(utc) === off && (Number.isNaN(best) || utc < best)) best = utc;
    }
    return best;
  }

  /**
   * `MM/DD/YYYY` and `HH:MM:SS[.fraction]` local text to µs since the epoch, UTC. Fractions up to 6 digits.
   * Throws AsxRowError (BAD_DATE, BAD_TIME, NONEXISTENT_LOCAL_TIME).
   */
  micros(date: string, time: string): bigint {
    let dayMs: number;
    if (date === this.lastDate) {
      dayMs = this.lastDateMs;
    } else {
      dayMs = parseUsDate(date, 'date');
      this.lastDate = date;
      this.lastDateMs = dayMs;
    }
    const micros = parseTime(time);
    const sub = micros % 1000;
    const utc = this.localToUtcMs(dayMs + (micros - sub) / 1000);
    if (Number.isNaN(utc)) {
      throw new AsxRowError('NONEXISTENT_LOCAL_TIME', 'time', `${date} ${time} does not exist in ${this.timeZone} (daylight-saving gap)`);
    }
    // µs since the epoch stay below 2^53 until the year 2255, so the sum is exact as a double.
    return BigInt(utc * 1000 + sub);
  }

  /** Local midnight of an `MM/DD/YYYY` date, µs UTC: what a date-only field (listing, ex-date) means at the exchange. */
  dateMicros(date: string, field: string): bigint {
    const utc = this.localToUtcMs(parseUsDate(date, field));
    if (Number.isNaN(utc)) throw new AsxRowError('BAD_DATE', field, `${field} ${date}: local midnight does not exist in ${this.timeZone}`);
    return BigInt(utc) * 1000n;
  }
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function num(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = digit(s, i);
    if (c < 0) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Strict `MM/DD/YYYY` (the Tick Data layout) to "local midnight read as UTC" ms. */
export function parseUsDate(s: string, field = 'date'): number {
  if (s.length === 10 && s.charCodeAt(2) === 47 && s.charCodeAt(5) === 47) {
    const mo = num(s, 0, 2);
    const d = num(s, 3, 5);
    const y = num(s, 6, 10);
    if (mo >= 1 && mo <= 12 && d >= 1 && y >= 1900) {
      const ms = Date.UTC(y, mo - 1, d);
      // Date.UTC rolls 02/30 over into March; a round trip catches it.
      if (new Date(ms).getUTCDate() === d) return ms;
    }
  }
  throw new AsxRowError('BAD_DATE', field, `${field} ${JSON.stringify(s)} is not a valid MM/DD/YYYY date`);
}

/** Strict `HH:MM:SS` with an optional 1-6 digit fraction, to µs since local midnight. */
export function parseTime(s: string): number {
  const n = s.length;
  if (n >= 8 && s.charCodeAt(2) === 58 && s.charCodeAt(5) === 58 && (n === 8 || (n >= 10 && n <= 15 && s.charCodeAt(8) === 46))) {
    const h = num(s, 0, 2);
    const mi = num(s, 3, 5);
    const sec = num(s, 6, 8);
    const frac = n === 8 ? 0 : num(s, 9, n);
    if (h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59 && frac >= 0) {
      return ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac * 10 ** (6 - (n === 8 ? 0 : n - 9));
    }
  }
  throw new AsxRowError('BAD_TIME', 'time', `time ${JSON.stringify(s)} is not a valid HH:MM:SS.mmm time`);
}
