import { deserializeValue, type PlannedFile, type PrimitiveType, type Schema } from '@k2/iceberg';
import { isRetriable, type Logger } from '@k2/core';
import { columnBytes, columnJson, encodeColumn, valueAt, type Column } from './hot-columns';
import type { QueryEngine } from './engine';
import { missingConvertedFields } from './records';
import type { TailKind } from './tail-store';

const MAX_US = 253_402_300_799_999_999n;
/** Loads waiting at most; past it the oldest wait is dropped (a later request asks again). */
const MAX_QUEUE = 64;
/** Misses remembered for admission; the memory is cleared past this many keys. */
const MAX_MISSES = 100_000;
const INT32_MAX = 2_147_483_647;

/**
 * One (data file, symbol): every row of the symbol in the file, decoded once into compact columns, in the order
 * SQL.trades/SQL.quotes return them (timestamp DESC, message_id DESC). Files are immutable, so an entry is exact
 * for as long as the file is in the table's current plan.
 */
export class HotSlice {
  readonly rows: number;
  readonly bytes: number;
  private readonly ts: BigInt64Array;
  private readonly idCol: Column;
  private readonly exCol: Column;
  /** Per column: `"name":` and the value's JSON text formatter (jsonAt). */
  private readonly json: ReadonlyArray<{ key: string; value: (i: number) => string }>;
  /** Fields the API row has beyond the columns (tableRowToRecord adds them as null). */
  private readonly jsonTail: string;

  constructor(
    private readonly names: readonly string[],
    private readonly cols: readonly Column[],
    rows: number,
  ) {
    this.rows = rows;
    const at = (n: string): Column => {
      const c = cols[names.indexOf(n)];
      if (!c) throw new Error(`hot slice without ${n}`);
      return c;
    };
    const ts = at('timestamp');
    if (ts.t !== 'i64' || ts.nulls) throw new Error('hot slice: timestamp is not a non-null bigint');
    this.ts = ts.v;
    this.idCol = at('message_id');
    this.exCol = at('exchange');
    this.bytes = 128 + cols.reduce((n, c) => n + columnBytes(c), 0);
    this.json = names.map((n, c) => ({ key: JSON.stringify(n), value: columnJson(cols[c], n) }));
    this.jsonTail = missingConvertedFields(names).map((n) => `,${JSON.stringify(n)}:null`).join('');
  }

  /** Row i as the API's JSON text: `JSON.stringify(recordJson(tableRowToRecord(this.rowAt(i))))`, built directly. */
  jsonAt(i: number): string {
    let out = '{';
    for (let c = 0; c < this.json.length; c++) out += `${c ? ',' : ''}${this.json[c].key}:${this.json[c].value(i)}`;
    return out.length === 1 ? `{${this.jsonTail.slice(1)}}` : `${out}${this.jsonTail}}`;
  }

  static fromRows(rows: readonly Record<string, unknown>[]): HotSlice {
    const names = rows.length ? Object.keys(rows[0]) : ['timestamp', 'message_id', 'exchange'];
    return HotSlice.fromColumns(Object.fromEntries(names.map((n) => [n, rows.map((r) => (r[n] === undefined ? null : r[n]))])));
  }

  /** From the engine's column arrays (queryColumns), in the statement's column order. */
  static fromColumns(columns: Record<string, readonly unknown[]>): HotSlice {
    const names = Object.keys(columns);
    const rows = names.length ? columns[names[0]].length : 0;
    return new HotSlice(names, names.map((n) => encodeColumn(columns[n])), rows);
  }

  /** The same, one column per turn of the event loop (background loads). */
  static async encode(columns: Record<string, readonly unknown[]>): Promise<HotSlice> {
    const names = Object.keys(columns);
    const cols: Column[] = [];
    for (const n of names) {
      cols.push(encodeColumn(columns[n]));
      await new Promise((r) => setImmediate(r));
    }
    return new HotSlice(names, cols, names.length ? columns[names[0]].length : 0);
  }

  tsAt(i: number): bigint {
    return this.ts[i];
  }

  idAt(i: number): string {
    return String(valueAt(this.idCol, i));
  }

  exchangeAt(i: number): string {
    return String(valueAt(this.exCol, i));
  }

  /** The row as the engine returned it (same keys, order and value types). */
  rowAt(i: number): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < this.names.length; c++) row[this.names[c]] = valueAt(this.cols[c], i);
    return row;
  }

  /** First index whose timestamp is below `us` (timestamps descend): binary search. */
  firstBelow(us: bigint): number {
    let lo = 0;
    let hi = this.rows;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] < us) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * The files holding the table's most recent `windowUs` of data: those whose timestamp upper bound is within
 * `windowUs` of the newest upper bound (the table's "now", so a replayed or benchmark dataset works the same).
 */
export function recentFiles(files: readonly PlannedFile[], schema: Schema, windowUs: bigint): PlannedFile[] {
  const ts = schema.fields.find((f) => f.name === 'timestamp');
  if (!ts) return [];
  const upper = (f: PlannedFile): bigint | undefined => {
    const hi = f.file['upper-bounds']?.get(ts.id);
    return hi ? (deserializeValue(ts.type as PrimitiveType, hi) as bigint) : undefined;
  };
  let newest: bigint | undefined;
  for (const f of files) {
    const u = upper(f);
    if (u !== undefined && (newest === undefined || u > newest)) newest = u;
  }
  if (newest === undefined) return [];
  const from = newest - windowUs;
  return files.filter((f) => (upper(f) ?? -1n) >= from);
}

export interface HotTierOptions {
  engine: QueryEngine;
  logger: Logger;
  /** Bytes the tier may hold (its share of QUERY_MEMORY_BUDGET); 0 = off. */
  maxBytes: number;
  /** Slices loaded at once in the background (each takes one engine connection while it runs). Default 1. */
  loaders?: number;
  /** Pause after a load, as a multiple of the load's duration (default 0.5: loads use at most two thirds of it). */
  restFactor?: number;
}

/**
 * The hot tier (ADR 0015): (table, data file, symbol) slices held decoded in memory, LRU by bytes inside the tier's
 * budget. A request is answered from memory only when every file its plan names is held for its symbol; otherwise
 * it goes to DuckDB as before and the missing slices are loaded in the background, once each. Pruned against the
 * current plan on every snapshot advance (a compaction's replaced files leave the tier).
 */
export class HotTier {
  private readonly slices = new Map<string, HotSlice>();
  private readonly queue = new Map<string, () => Promise<void>>();
  /** Recent data scheduled at refresh: loaded before any on-demand miss, oldest first, never dropped. */
  private readonly eagerQueue = new Map<string, () => Promise<void>>();
  /** Loads running; false once pruned while running (the result is then dropped). */
  private readonly inflight = new Map<string, boolean>();
  private used = 0;
  private idle: Array<() => void> = [];
  private readonly misses = new Map<string, number>();
  /** Slices whose load failed (e.g. a column the encoder refuses): not retried while their file is planned. */
  private readonly failed = new Set<string>();

  constructor(private readonly o: HotTierOptions) {}

  get stats(): { bytes: number; limit: number; slices: number; rows: number; pending: number } {
    let rows = 0;
    for (const s of this.slices.values()) rows += s.rows;
    return { bytes: this.used, limit: this.o.maxBytes, slices: this.slices.size, rows, pending: this.pending };
  }

  /** The held slices of every planned file for `symbol`, or undefined if any is missing (LRU touched on a hit). */
  lookup(kind: TailKind, files: readonly PlannedFile[], symbol: string): HotSlice[] | undefined {
    if (this.o.maxBytes <= 0) return undefined;
    const out: HotSlice[] = [];
    for (const f of files) {
      const s = this.slices.get(key(kind, f.file['file-path'], symbol));
      if (!s) return undefined;
      out.push(s);
    }
    for (const f of files) this.touch(key(kind, f.file['file-path'], symbol));
    return out;
  }

  /**
   * Cross-source form of `lookup`: the held slice of every (file, symbol) pair, or undefined when any is missing —
   * the missing ones are then scheduled like a single-symbol miss.
   */
  lookupPairs(kind: TailKind, pairs: ReadonlyArray<{ file: PlannedFile; symbol: string }>, localPath: (uri: string) => Promise<string>): HotSlice[] | undefined {
    if (this.o.maxBytes <= 0) return undefined;
    const out: HotSlice[] = [];
    let complete = true;
    for (const p of pairs) {
      const s = this.slices.get(key(kind, p.file.file['file-path'], p.symbol));
      if (s) out.push(s);
      else {
        complete = false;
        this.schedule(kind, [p.file], p.symbol, localPath);
      }
    }
    if (!complete) return undefined;
    for (const p of pairs) this.touch(key(kind, p.file.file['file-path'], p.symbol));
    return out;
  }

  /**
   * Queues background loads of the slices `files` lack for `symbol`; `localPath` resolves a file's local copy. The
   * newest request's slices load first. While the tier has room every miss loads; once full, a slice is admitted
   * on its second miss only, so a scan of one-off windows cannot churn out the slices that are asked for again.
   * `eager` (recent data at refresh) skips that test.
   */
  schedule(kind: TailKind, files: readonly PlannedFile[], symbol: string, localPath: (uri: string) => Promise<string>, eager = false): void {
    if (this.o.maxBytes <= 0) return;
    for (const f of files) {
      const uri = f.file['file-path'];
      const k = key(kind, uri, symbol);
      if (this.slices.has(k) || this.inflight.has(k) || this.eagerQueue.has(k) || this.failed.has(k) || (!eager && !this.admit(k))) continue;
      this.queue.delete(k); // re-inserted as the newest
      if (!eager && this.queue.size >= MAX_QUEUE) this.queue.delete(this.queue.keys().next().value as string);
      const limit = Math.min(INT32_MAX, Math.max(1, f.file['record-count']));
      (eager ? this.eagerQueue : this.queue).set(k, async () => {
        const cols = await this.o.engine.queryColumns(kind, { files: [await localPath(uri)], symbol, exchange: null, start: 0n, end: MAX_US, cursor_ts: null, cursor_id: null, limit });
        if (this.inflight.get(k)) this.put(k, await HotSlice.encode(cols));
      });
    }
    this.pump();
  }

  private get pending(): number {
    return this.queue.size + this.eagerQueue.size + this.inflight.size;
  }

  /** Schedules, ahead of any miss, the slices of every symbol of `files` (the table's recent data, at refresh). */
  async warm(kind: TailKind, files: readonly PlannedFile[], symbolsOf: (uri: string) => Promise<string[]>, localPath: (uri: string) => Promise<string>): Promise<void> {
    if (this.o.maxBytes <= 0) return;
    for (const f of files) {
      try {
        for (const s of await symbolsOf(f.file['file-path'])) this.schedule(kind, [f], s, localPath, true);
      } catch (e) {
        this.o.logger.warn('hot tier: recent file not warmed; requests read it through DuckDB', { file: f.file['file-path'], error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private admit(k: string): boolean {
    const avg = this.slices.size ? this.used / this.slices.size : 0;
    if (this.used + avg <= this.o.maxBytes) return true;
    if (this.misses.size >= MAX_MISSES) this.misses.clear();
    const n = (this.misses.get(k) ?? 0) + 1;
    this.misses.set(k, n);
    return n >= 2;
  }

  /** Resolves once no load is queued or running (tests, and the bench's warm-up report). */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Drops every slice (and queued load) of `kind` whose file is not in `current` (the latest plan's files). */
  prune(kind: TailKind, current: ReadonlySet<string>): void {
    const keep = (k: string): boolean => !k.startsWith(`${kind}\u0000`) || current.has(k.split('\u0000')[1]);
    for (const [k, s] of this.slices) if (!keep(k)) this.drop(k, s);
    for (const q of [this.queue, this.eagerQueue]) for (const k of q.keys()) if (!keep(k)) q.delete(k);
    for (const k of this.inflight.keys()) if (!keep(k)) this.inflight.set(k, false);
    for (const k of this.failed) if (!keep(k)) this.failed.delete(k);
  }

  private put(k: string, s: HotSlice): void {
    if (s.bytes > this.o.maxBytes) return;
    const old = this.slices.get(k);
    if (old) this.drop(k, old);
    this.slices.set(k, s);
    this.used += s.bytes;
    for (const [ok, os] of this.slices) {
      if (this.used <= this.o.maxBytes) break;
      this.drop(ok, os);
    }
  }

  private drop(k: string, s: HotSlice): void {
    if (this.slices.delete(k)) this.used -= s.bytes;
  }

  private touch(k: string): void {
    const s = this.slices.get(k);
    if (!s) return;
    this.slices.delete(k); // Map order is the LRU order
    this.slices.set(k, s);
  }

  private pump(): void {
    while (this.inflight.size < (this.o.loaders ?? 1) && this.queue.size + this.eagerQueue.size > 0) {
      const q = this.eagerQueue.size > 0 ? this.eagerQueue : this.queue;
      const k = (q === this.eagerQueue ? q.keys().next().value : [...q.keys()].pop()) as string;
      const load = q.get(k) as () => Promise<void>;
      q.delete(k);
      this.misses.delete(k);
      this.inflight.set(k, true);
      const t0 = Date.now();
      void load()
        // Loads take main-thread time (value conversion): rest half as long as the load took.
        .then(() => new Promise((r) => setTimeout(r, Math.min(1000, (Date.now() - t0) * (this.o.restFactor ?? 0.5)))))
        .catch((e: unknown) => {
          if (!isRetriable(e)) this.failed.add(k); // a storage hiccup is retried on a later miss, a bad column is not
          this.o.logger.warn('hot tier load failed; requests keep reading through DuckDB', { key: k, error: e instanceof Error ? e.message : String(e) });
        })
        .finally(() => {
          this.inflight.delete(k);
          this.pump();
          if (this.pending === 0) for (const r of this.idle.splice(0)) r();
        });
    }
  }
}

const key = (kind: TailKind, uri: string, symbol: string): string => `${kind}\u0000${uri}\u0000${symbol}`;
