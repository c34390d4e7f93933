import { partialFromRow, type BarPartial } from './bars';
import type { QueryEngine } from './engine';

const MINUTE_US = 60_000_000n;
const MAX_US = 253_402_300_799_999_999n;
/** About 250 bytes each: ~250 MB, a month of 1m bars for ~600 symbol-days. */
const MAX_MINUTE_PARTIALS = 1_000_000;

/**
 * 1-minute partial bars per (data file, symbol): files are immutable, so these are exact forever. Bars of any
 * whole-minute interval and window, and daily summaries, are regrouped from them without touching Parquet again.
 * LRU, bounded by the number of partials held.
 */
export class MinuteBarCache {
  private readonly entries = new Map<string, BarPartial[]>();
  private size = 0;

  constructor(
    private readonly engine: QueryEngine,
    private readonly maxPartials = MAX_MINUTE_PARTIALS,
  ) {}

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
