/** Microsecond time helpers. Date has only milliseconds, so µs values are bigints built from text. */

let lastMicros = 0n;
const originMs = BigInt(Date.now());
const originHr = process.hrtime.bigint();

/** Wall-clock µs since epoch, monotonic within this process (never goes backwards, never repeats). */
export function nowMicros(): bigint {
  const t = originMs * 1000n + (process.hrtime.bigint() - originHr) / 1000n;
  lastMicros = t > lastMicros ? t : lastMicros + 1n;
  return lastMicros;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 text (e.g. Kraken "2023-09-25T07:49:37.708706Z") to µs since epoch; digits past µs are rejected. */
export function microsFromIso(text: string): bigint {
  const m = RFC3339.exec(text);
  if (!m) throw new RangeError(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac = '', tz] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) throw new RangeError(`invalid date: ${JSON.stringify(text)}`);
  if (frac.length > 6 && /[1-9]/.test(frac.slice(6))) {
    throw new RangeError(`sub-microsecond digits would be lost: ${JSON.stringify(text)}`);
  }
  let micros = BigInt(ms) * 1000n + BigInt(frac.slice(0, 6).padEnd(6, '0'));
  if (tz !== 'Z' && tz !== 'z') {
    const sign = tz!.startsWith('-') ? -1n : 1n;
    const offMin = BigInt(Number(tz!.slice(1, 3)) * 60 + Number(tz!.slice(4, 6)));
    micros -= sign * offMin * 60_000_000n;
  }
  return micros;
}

/** The last whole second formatted (rows are mostly formatted in time order: one Date per second, not per row). */
let lastSecond = Number.NaN;
let lastPrefix = '';
const MAX_SAFE_US = BigInt(Number.MAX_SAFE_INTEGER);

/** µs since epoch to ISO-8601 UTC with exactly six fraction digits. */
export function isoFromMicros(micros: bigint): string {
  if (micros >= 0n && micros <= MAX_SAFE_US) {
    // Exact in doubles up to 2^53 µs (year 2255): the remainder and the quotient of a multiple of 1e6 are integers.
    const n = Number(micros);
    const frac = n % 1e6;
    const sec = (n - frac) / 1e6;
    if (sec !== lastSecond) {
      lastPrefix = new Date(sec * 1000).toISOString().slice(0, 19); // yyyy-mm-ddThh:mm:ss
      lastSecond = sec;
    }
    return `${lastPrefix}.${String(frac).padStart(6, '0')}Z`;
  }
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const sub = micros - ms * 1000n;
  const base = new Date(Number(ms)).toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  return `${base.slice(0, 23)}${sub.toString().padStart(3, '0')}Z`;
}

export function microsFromMillis(ms: number | bigint): bigint {
  return BigInt(ms) * 1000n;
}
