import { partialFromRow, type BarPartial } from './bars';
import type { QueryEngine } from './engine';

const MINUTE_US = 60_000_000n;
const MAX_US = 253_402_300_799_999_999n;
/** Heap bytes of one partial (an object of 4 bigints, 3 more, 2 strings of a UUID and a number), measured roughly. */
export const PARTIAL_BYTES = 250;
/** Default bound: ~256 MB, a month of 1m bars for ~700 symbol-days. */
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * 1-minute partial bars per (data file, symbol): files are immutable, so these are exact forever. Bars of any
 * whole-minute interval and window, and daily summaries, are regrouped from them without touching Parquet again.
 * LRU, bounded in bytes (partials held × PARTIAL_BYTES); entries of files no longer planned are pruned.
 */
export class MinuteBarCache {
  private readonly entries = new Map<string, BarPartial[]>();
  private size = 0;
  private readonly maxPartials: number;

  constructor(
    private readonly engine: QueryEngine,
    maxBytes = DEFAULT_MAX_BYTES,
  ) {
    this.maxPartials = Math.floor(maxBytes / PARTIAL_BYTES);
  }

  /** Bytes held (estimate) and the bound. */
  get stats(): { bytes: number; limit: number } {
    return { bytes: this.size * PARTIAL_BYTES, limit: this.maxPartials * PARTIAL_BYTES };
  }

  /** Forgets the partials of files not in `current` (the table's latest plan). */
  prune(current: ReadonlySet<string>): void {
    for (const [k, v] of this.entries) {
      if (current.has(k.slice(0, k.indexOf('\u0000')))) continue;
      this.entries.delete(k);
      this.size -= v.length + 1;
    }
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
