/**
 * Prices and quantities are held as integer units of 1e-8 (exact in a double up to 2^53, i.e. 90 million
 * whole units) and written to the wire from those integers, never through floating-point formatting, so
 * the simulator controls every digit the streamers have to preserve.
 */
export const SCALE = 100000000;

// Zero-padded and trailing-zero-trimmed digit groups: formatting a fraction is two table lookups instead of
// number-to-string conversions and slicing (these run several times per frame at hundreds of thousands a second).
const PAD4: string[] = [];
const TRIM4: string[] = [];
const PAD3: string[] = [];
for (let i = 0; i < 10000; i++) {
  const p = String(i).padStart(4, '0');
  PAD4.push(p);
  TRIM4.push(p.replace(/0+$/, ''));
  if (i < 1000) PAD3.push(String(i).padStart(3, '0'));
}

function frac8(frac: number): string {
  const hi = Math.floor(frac / 10000);
  return PAD4[hi] + PAD4[frac - hi * 10000];
}

/** Binance style: always 8 decimals ("30243.40000000"). */
export function fixed8(units: number): string {
  const int = Math.floor(units / SCALE);
  return `${int}.${frac8(units - int * SCALE)}`;
}

/** Minimal decimal text ("30243.4", "0.00000001", "100"); valid as a JSON number and never in exponent form. */
export function trimmed(units: number): string {
  const int = Math.floor(units / SCALE);
  const frac = units - int * SCALE;
  if (frac === 0) return `${int}`;
  const hi = Math.floor(frac / 10000);
  const lo = frac - hi * 10000;
  return lo === 0 ? `${int}.${TRIM4[hi]}` : `${int}.${PAD4[hi]}${TRIM4[lo]}`;
}

/** At least `decimals` decimals, more when the value needs them (Kraken REST pads prices to the pair's precision). */
export function padded(units: number, decimals: number): string {
  const int = Math.floor(units / SCALE);
  const f = frac8(units - int * SCALE);
  let end = f.length;
  while (end > decimals && f.charCodeAt(end - 1) === 48) end--;
  return end === 0 ? `${int}` : `${int}.${f.slice(0, end)}`;
}

/** Exact decimal text to units; undefined when the text is not a plain non-negative decimal with <= 8 decimals. */
export function parseUnits(text: string): number | undefined {
  const m = /^(\d{1,10})(?:\.(\d{1,8})0*)?$/.exec(text);
  if (!m) return undefined;
  const units = Number(m[1]) * SCALE + (m[2] ? Number(m[2].padEnd(8, '0')) : 0);
  return Number.isSafeInteger(units) ? units : undefined;
}

let cachedSecond = -1;
let cachedPrefix = '';

/** RFC 3339 with microseconds, as Kraken v2 writes timestamps ("2023-09-25T07:48:36.925533Z"). */
export function rfc3339Micros(us: number): string {
  const sec = Math.floor(us / 1e6);
  if (sec !== cachedSecond) {
    cachedSecond = sec;
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  const f = us - sec * 1e6;
  const ms = Math.floor(f / 1000);
  return `${cachedPrefix}.${PAD3[ms]}${PAD3[f - ms * 1000]}Z`;
}

export function parseRfc3339Micros(text: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(ms)) return undefined;
  return ms * 1000 + (m[2] ? Number(m[2].padEnd(6, '0').slice(0, 6)) : 0);
}

/** Kraken REST trade time: seconds with the microsecond fraction written out ("1688669597.827736"). */
export function secondsMicros(us: number): string {
  const sec = Math.floor(us / 1e6);
  return `${sec}.${(us - sec * 1e6 + 1e6).toString().slice(1)}`;
}

/** Float to minimal decimal text with at most `decimals` decimals (ticker statistics, which are floats on Kraken too). */
export function floatText(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return '0';
  const s = v.toFixed(decimals);
  let end = s.length;
  if (decimals > 0) {
    while (s.charCodeAt(end - 1) === 48) end--;
    if (s.charCodeAt(end - 1) === 46) end--;
  }
  const out = end === s.length ? s : s.slice(0, end);
  return out === '-0' ? '0' : out;
}
