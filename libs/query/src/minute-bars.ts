import { partialFromRow, rebucket, type BarPartial } from './bars';
import { boundedParams, bucketOf, isSingle, type Bucketing } from './bucketing';
import type { QueryEngine } from './engine';

const MINUTE_US = 60_000_000n;
const MAX_US = 253_402_300_799_999_999n;
/**
 * Heap bytes of one partial, estimated: the object (~120 B for 12 fields), its 9 bigints (~24 B each) and two
 * 36-character message ids (~56 B each). Earlier 250 was assumed, which let the cache hold ~1.8× its bound.
 */
export const PARTIAL_BYTES = 450;
/** Default bound when none is given: 256 MiB, a month of 1m bars for ~400 symbol-days. */
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/** Single-bucket windows (daily summaries) remembered per (file, symbol, window): one partial each. */
const MAX_WINDOWS = 50_000;

/**
 * 1-minute partial bars per (data file, symbol): files are immutable, so these are exact forever. Bars of any
 * whole-minute interval and window, and daily summaries, are regrouped from them without touching Parquet again.
 * LRU, bounded in bytes (partials held × PARTIAL_BYTES); entries of files no longer planned are pruned.
 */
export class MinuteBarCache {
  private readonly entries = new Map<string, BarPartial[]>();
  private size = 0;
  private readonly maxPartials: number;
  private readonly windows = new Map<string, BarPartial[]>();

  constructor(
    private readonly engine: QueryEngine,
    maxBytes = DEFAULT_MAX_BYTES,
  ) {
    this.maxPartials = Math.floor(maxBytes / PARTIAL_BYTES);
  }

  /** Bytes held (estimate) and the bound. */
  get stats(): { bytes: number; limit: number } {
    return { bytes: (this.size + this.windows.size) * PARTIAL_BYTES, limit: (this.maxPartials + MAX_WINDOWS) * PARTIAL_BYTES };
  }

  /** Forgets the partials of files not in `current` (the table's latest plan). */
  prune(current: ReadonlySet<string>): void {
    for (const [k, v] of this.entries) {
      if (current.has(k.slice(0, k.indexOf('\u0000')))) continue;
      this.entries.delete(k);
      this.size -= v.length + 1;
    }
    for (const k of this.windows.keys()) if (!current.has(k.slice(0, k.indexOf('\u0000')))) this.windows.delete(k);
  }

  /** Whether the window's single bucket of the file is held (see `partials`). */
  hasWindow(uri: string, symbol: string, b: Bucketing, startUs: bigint, endUs: bigint): boolean {
    return isSingle(b, startUs, endUs) && this.windows.has(windowKey(uri, symbol, startUs, endUs));
  }

  /**
   * The file's partials for a request of `bucketUs` buckets over [startUs, endUs): its minute partials, or, when
   * the window is exactly one aligned bucket (a daily summary), that one bucket — regrouped from the minutes when
   * they are held, else aggregated by DuckDB alone — kept on its own, so summaries stay cached when the minute
   * partials of a month no longer fit. Regrouping per file first and across files after gives the same result as
   * regrouping all minutes at once (combine is associative).
   */
  async partials(uri: string, file: string, symbol: string, b: Bucketing, startUs: bigint, endUs: bigint, signal: AbortSignal): Promise<BarPartial[]> {
    if (!isSingle(b, startUs, endUs)) return this.get(uri, file, symbol, signal);
    const k = windowKey(uri, symbol, startUs, endUs);
    let hit = this.windows.get(k);
    if (hit) this.windows.delete(k); // re-inserted below: LRU order
    else if (this.has(uri, symbol)) hit = rebucket(await this.get(uri, file, symbol, signal), bucketOf(b), startUs, endUs);
    // Not worth 1,440 minute partials in the cache: DuckDB aggregates the one bucket (the same exact arithmetic);
    // a local trading day (issue 16) is not an epoch multiple, so it is given as its bounds.
    else if (b.starts) hit = (await this.engine.query('barsBounded', { files: [file], symbol, exchange: null, start: startUs, end: endUs, ...boundedParams(b.starts, endUs) }, signal)).map(partialFromRow);
    else hit = (await this.engine.query('bars', { files: [file], symbol, exchange: null, start: startUs, end: endUs, bucket_us: b.bucketUs }, signal)).map(partialFromRow);
    this.windows.set(k, hit);
    if (this.windows.size > MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value as string);
    return hit;
  }

  /** Whether the file's partials for the symbol are held (a request that needs only these scans nothing). */
  has(uri: string, symbol: string): boolean {
    return this.entries.has(key(uri, symbol));
  }

  /** The partials of data file `uri` (read from its local copy `file`) for `symbol`. */
  async get(uri: string, file: string, symbol: string, signal: AbortSignal): Promise<BarPartial[]> {
    const k = key(uri, symbol);
    const hit = this.entries.get(k);
    if (hit) {
      this.entries.delete(k); // re-insert: Map order is the LRU order
      this.entries.set(k, hit);
      return hit;
    }
    // Exchange is not a filter here: planned files are partitioned by exchange, so a file holds one exchange.
    const rows = await this.engine.query('bars', { files: [file], symbol, exchange: null, start: 0n, end: MAX_US, bucket_us: MINUTE_US }, signal);
    const partials = rows.map(partialFromRow);
    this.entries.set(k, partials);
    this.size += partials.length + 1;
    for (const [old, v] of this.entries) {
      if (this.size <= this.maxPartials) break;
      this.entries.delete(old);
      this.size -= v.length + 1;
    }
    return partials;
  }
}

const key = (uri: string, symbol: string): string => `${uri}\u0000${symbol}`;
const windowKey = (uri: string, symbol: string, startUs: bigint, endUs: bigint): string => `${uri}\u0000${symbol}\u0000${startUs}\u0000${endUs}`;
