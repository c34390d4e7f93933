import { ErrorCode, isRetriable, TransientError, type Logger } from '@k2/core';
import type { FileIO, Predicate } from '@k2/iceberg';
import { CircuitBreaker } from '@k2/resilience';
import { barJson, mergeBars, partialFromRow, rebucket, type BarPartial } from './bars';
import type { QueryEngine } from './engine';
import type { QueryMetrics } from './metrics';
import { encodeCursor, type BarsRequest, type RowsRequest, type SummaryRequest, type SymbolsRequest } from './params';
import { recordJson, tableRowToRecord } from './records';
import type { TailKind, TailRow, TailStore, V2Record } from './tail-store';
import type { TableState, TableView } from './table-view';

export type Degradation = 'storage' | 'kafka' | 'tail-truncated';

/** Where an answer came from, sent as response headers and in `meta`. */
export interface Provenance {
  snapshotId: string | null;
  icebergRows: number;
  tailRows: number;
  tail: boolean;
  degraded: Degradation[];
}

export interface Answer<T> {
  body: T;
  provenance: Provenance;
}

export interface QueryServiceOptions {
  views: Record<TailKind, TableView>;
  /** Undefined when the tail is switched off (QUERY_TAIL_ENABLED=false): answers are the table's alone. */
  tail?: { store: TailStore; isHealthy: () => boolean };
  engine: QueryEngine;
  io: FileIO;
  metrics: QueryMetrics;
  logger: Logger;
  /** Every request's budget for the table part; the in-memory tail part takes microseconds. */
  deadlineMs: number;
  /** Storage breaker: open after this many failures in its window, retried after resetMs. */
  breaker?: { volumeThreshold?: number; resetMs?: number };
}

type Job<T> = (signal: AbortSignal) => Promise<T>;

const MINUTE_US = 60_000_000n;
const MAX_US = 253_402_300_799_999_999n;
/** About 250 bytes each: ~250 MB, a month of 1m bars for ~600 symbol-days. */
const MAX_MINUTE_PARTIALS = 1_000_000;

/**
 * The hybrid read path (the kdb+ RDB + HDB split on Kafka + Iceberg). Each request:
 *  1. takes the table view's current state (snapshot S and the Kafka offsets O(S) it holds) and, in the same
 *     synchronous step, the tail rows at or past O(S) — every record is in exactly one of the two;
 *  2. reads the table at S through DuckDB under the storage breaker and the request deadline;
 *  3. merges, dropping tail rows whose message_id the table already has (replays), and answers.
 * Storage failing (breaker open, error, deadline) → tail only, `degraded: storage`; Kafka failing → table plus the
 * tail held so far, `degraded: kafka`.
 */
export class QueryService {
  private readonly breaker: CircuitBreaker<[Job<unknown>, number], unknown>;
  private readonly localPaths = new Map<string, string>();
  /**
   * 1-minute partial bars per (data file, symbol): files are immutable, so these are exact forever. Bars of any
   * whole-minute interval and window, and daily summaries, are regrouped from them without touching Parquet again.
   * LRU, bounded by the number of partials held.
   */
  private readonly minuteBars = new Map<string, BarPartial[]>();
  private minuteBarsSize = 0;
  /** Instruments per data file, per table; only the files of the latest plan are kept. */
  private readonly fileSymbols: Record<TailKind, Map<string, SymbolRow[]>> = { trades: new Map(), quotes: new Map() };

  constructor(private readonly o: QueryServiceOptions) {
    this.breaker = new CircuitBreaker((job: Job<unknown>, budgetMs: number) => withDeadline(job, budgetMs), {
      name: 'storage',
      timeout: false,
      volumeThreshold: o.breaker?.volumeThreshold ?? 3,
      errorThresholdPercentage: 50,
      resetTimeout: o.breaker?.resetMs ?? 10_000,
    });
    this.breaker.on('state', (s) => {
      if (s === 'open') o.metrics.setStorageHealthy(false);
      o.logger[s === 'closed' ? 'info' : 'warn']('storage breaker', { state: s });
    });
    this.breaker.on('failure', (e) => o.metrics.storageFailures.inc({ code: (e as { code?: string }).code ?? 'unknown' }));
  }

  get storageBreakerState(): string {
    return this.breaker.state;
  }

  /**
   * Runs `job` (table reads) under the storage breaker with the time left until `deadlineAt`. A retriable
   * failure marks storage degraded (k2_degradation_level{component="storage"}); a success clears it unless
   * `provesHealth` is false (a catalog poll that found nothing new has not touched the object store).
   */
  storage<T>(job: Job<T>, deadlineAt: number, provesHealth = true): Promise<T> {
    const budget = deadlineAt - Date.now();
    if (budget <= 0) return Promise.reject(new TransientError(ErrorCode.TIMEOUT, 'request deadline reached before the table was read'));
    return (this.breaker.fire(job as Job<unknown>, budget) as Promise<T>).then(
      (v) => {
        if (provesHealth) this.o.metrics.setStorageHealthy(true);
        return v;
      },
      (e: unknown) => {
        if (isRetriable(e)) this.o.metrics.setStorageHealthy(false);
        throw e;
      },
    );
  }

  async rows(kind: TailKind, req: RowsRequest): Promise<Answer<{ data: Record<string, unknown>[]; next_cursor: string | null }>> {
    const deadlineAt = Date.now() + this.o.deadlineMs;
    const { state, tailRows, prov } = this.capture(kind, req.symbol, req.exchange, req.startUs, req.endUs);
    const c = req.cursor;
    const tail = c ? tailRows.filter((r) => r.ts < c.ts || (r.ts === c.ts && r.id < c.id)) : tailRows;
    let table: V2Record[] = [];
    try {
      table = await this.storage(async (signal) => {
        const files = await this.files(state, kind, predicates(req), signal);
        if (files.length === 0) return [];
        const rows = await this.o.engine.query(kind, {
          files,
          symbol: req.symbol,
          exchange: req.exchange ?? null,
          start: req.startUs,
          end: req.endUs,
          cursor_ts: c?.ts ?? null,
          cursor_id: c?.id ?? null,
          limit: req.limit,
        }, signal);
        return rows.map(tableRowToRecord);
      }, deadlineAt);
    } catch (e) {
      this.storageFailed(prov, e);
    }
    // Newest first by (timestamp, message_id). A replayed record in the tail has the same key as its table twin,
    // so the top `limit` of the deduplicated union only ever needs the table's top `limit`.
    const seen = new Set<string>();
    const merged: Array<{ rec: V2Record; ts: bigint; id: string; fromTail: boolean }> = [];
    for (const rec of table) {
      const id = String(rec['message_id']);
      seen.add(id);
      merged.push({ rec, ts: rec['timestamp'] as bigint, id, fromTail: false });
    }
    for (const r of tail) if (!seen.has(r.id)) merged.push({ rec: r.rec, ts: r.ts, id: r.id, fromTail: true });
    merged.sort((a, b) => (a.ts > b.ts ? -1 : a.ts < b.ts ? 1 : a.id > b.id ? -1 : a.id < b.id ? 1 : 0));
    const page = merged.slice(0, req.limit);
    prov.icebergRows = page.filter((r) => !r.fromTail).length;
    prov.tailRows = page.length - prov.icebergRows;
    const last = page[page.length - 1];
    return {
      body: { data: page.map((r) => recordJson(r.rec)), next_cursor: page.length === req.limit && last ? encodeCursor({ ts: last.ts, id: last.id }) : null },
      provenance: prov,
    };
  }

  async bars(req: BarsRequest): Promise<Answer<{ data: ReturnType<typeof barJson>[] }>> {
    const { partials, prov } = await this.aggregate(req, req.intervalUs);
    return { body: { data: partials.map(barJson) }, provenance: prov };
  }

  async summary(req: SummaryRequest): Promise<Answer<Record<string, unknown>>> {
    const { partials, prov } = await this.aggregate(req, req.endUs - req.startUs);
    const p = partials[0];
    const b = p ? barJson(p) : undefined;
    return {
      body: {
        symbol: req.symbol,
        exchange: req.exchange ?? null,
        date: req.date,
        open: b?.open ?? null,
        high: b?.high ?? null,
        low: b?.low ?? null,
        close: b?.close ?? null,
        volume: b?.volume ?? '0.00000000',
        vwap: b?.vwap ?? null,
        trades: b?.trades ?? 0,
        first_trade_time: b?.first_trade_time ?? null,
        last_trade_time: b?.last_trade_time ?? null,
      },
      provenance: prov,
    };
  }

  async symbols(req: SymbolsRequest): Promise<Answer<{ data: Record<string, unknown>[] }>> {
    const deadlineAt = Date.now() + this.o.deadlineMs;
    const acc = new Map<string, { symbol: string; exchange: string; asset_class: string; first: bigint; last: bigint }>();
    const add = (symbol: string, exchange: string, assetClass: string, first: bigint, last: bigint) => {
      if (req.exchange !== undefined && exchange !== req.exchange) return;
      if (req.assetClass !== undefined && assetClass !== req.assetClass) return;
      const k = `${exchange}\u0000${symbol}`;
      const cur = acc.get(k);
      if (!cur) acc.set(k, { symbol, exchange, asset_class: assetClass, first, last });
      else {
        if (first < cur.first) cur.first = first;
        if (last > cur.last) cur.last = last;
      }
    };
    const prov = this.provenance(undefined);
    const states = (['trades', 'quotes'] as const).map((k) => ({ kind: k, state: this.o.views[k].state }));
    // The tail rows past each snapshot are taken in the same tick as the snapshots (ADR 0009): once the table reads
    // below have awaited, a newer snapshot may have evicted rows that the older one does not hold.
    const tailRows: Array<[string, string, string, bigint]> = [];
    if (this.o.tail) {
      for (const { kind, state } of states) {
        for (const [, set] of this.o.tail.store.symbols(kind)) {
          for (const r of set) if (r.offset >= (state.offsets.get(r.tp) ?? 0)) tailRows.push([r.symbol, r.exchange, String(r.rec['asset_class']), r.ts]);
        }
      }
    }
    for (const { kind, state } of states) {
      try {
        const rows = await this.storage((signal) => this.symbolsOf(kind, state, signal), deadlineAt);
        for (const r of rows) add(r.symbol, r.exchange, r.asset_class, r.first_seen, r.last_seen);
      } catch (e) {
        this.storageFailed(prov, e);
      }
    }
    for (const [symbol, exchange, assetClass, ts] of tailRows) add(symbol, exchange, assetClass, ts, ts);
    prov.snapshotId = states[0].state.snapshotId === undefined ? null : String(states[0].state.snapshotId);
    const data = [...acc.values()]
      .sort((a, b) => (a.exchange === b.exchange ? (a.symbol < b.symbol ? -1 : 1) : a.exchange < b.exchange ? -1 : 1))
      .map((s) => recordJson({ symbol: s.symbol, exchange: s.exchange, asset_class: s.asset_class, first_seen: s.first, last_seen: s.last }));
    return { body: { data }, provenance: prov };
  }

  private async aggregate(req: { symbol: string; exchange: string | undefined; startUs: bigint; endUs: bigint }, bucketUs: bigint): Promise<{ partials: BarPartial[]; prov: Provenance }> {
    const deadlineAt = Date.now() + this.o.deadlineMs;
    const { state, tailRows, prov } = this.capture('trades', req.symbol, req.exchange, req.startUs, req.endUs);
    let partials: BarPartial[] = [];
    let tail = tailRows;
    try {
      const r = await this.storage(async (signal) => {
        const files = await this.files(state, 'trades', predicates(req), signal);
        if (files.length === 0) return { partials: [] as BarPartial[], present: new Set<string>() };
        const base = { files, symbol: req.symbol, start: req.startUs, end: req.endUs };
        let partials: BarPartial[];
        if (req.startUs % MINUTE_US === 0n && req.endUs % MINUTE_US === 0n && bucketUs % MINUTE_US === 0n) {
          const minutes: BarPartial[] = [];
          for (const f of files) minutes.push(...(await this.minutePartials(f, req.symbol, signal)));
          partials = rebucket(minutes, bucketUs, req.startUs, req.endUs);
        } else {
          partials = (await this.o.engine.query('bars', { ...base, exchange: req.exchange ?? null, bucket_us: bucketUs }, signal)).map(partialFromRow);
        }
        // Replays of records the table already holds must not count twice in volume and trade counts.
        const present = tailRows.length === 0 ? new Set<string>() : new Set((await this.o.engine.query('presentIds', { ...base, ids: tailRows.map((t) => t.id) }, signal)).map((x) => String(x['message_id'])));
        return { partials, present };
      }, deadlineAt);
      partials = r.partials;
      tail = tailRows.filter((t) => !r.present.has(t.id));
    } catch (e) {
      this.storageFailed(prov, e);
    }
    prov.icebergRows = partials.reduce((n, p) => n + p.trades, 0);
    prov.tailRows = tail.length;
    return { partials: mergeBars(partials, tail.map((t) => t.rec), bucketUs), prov };
  }

  private async minutePartials(file: string, symbol: string, signal: AbortSignal): Promise<BarPartial[]> {
    const key = `${file}\u0000${symbol}`;
    const hit = this.minuteBars.get(key);
    if (hit) {
      this.minuteBars.delete(key); // re-insert: Map order is the LRU order
      this.minuteBars.set(key, hit);
      return hit;
    }
    // Exchange is not a filter here: planned files are partitioned by exchange, so a file holds one exchange.
    const rows = await this.o.engine.query('bars', { files: [file], symbol, exchange: null, start: 0n, end: MAX_US, bucket_us: MINUTE_US }, signal);
    const partials = rows.map(partialFromRow);
    this.minuteBars.set(key, partials);
    this.minuteBarsSize += partials.length + 1;
    for (const [k, v] of this.minuteBars) {
      if (this.minuteBarsSize <= MAX_MINUTE_PARTIALS) break;
      this.minuteBars.delete(k);
      this.minuteBarsSize -= v.length + 1;
    }
    return partials;
  }

  /** Table state and tail rows taken together, synchronously (see the class comment). */
  private capture(kind: TailKind, symbol: string, exchange: string | undefined, startUs: bigint, endUs: bigint): { state: TableState; tailRows: TailRow[]; prov: Provenance } {
    const state = this.o.views[kind].state;
    const tail = this.o.tail;
    const tailRows = tail ? tail.store.rows(kind, symbol, exchange, startUs, endUs, state.offsets) : [];
    const prov = this.provenance(state);
    if (tail?.store.truncatedFor(kind, state.offsets)) prov.degraded.push('tail-truncated');
    return { state, tailRows, prov };
  }

  private provenance(state: TableState | undefined): Provenance {
    const degraded: Degradation[] = [];
    if (this.o.tail && !this.o.tail.isHealthy()) degraded.push('kafka');
    return { snapshotId: state?.snapshotId === undefined ? null : String(state.snapshotId), icebergRows: 0, tailRows: 0, tail: this.o.tail !== undefined, degraded };
  }

  private storageFailed(prov: Provenance, e: unknown): void {
    if (!isRetriable(e)) throw e;
    if (!prov.degraded.includes('storage')) prov.degraded.push('storage');
    this.o.logger.warn('table part of a request failed; answering from the tail', { error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
  }

  /** Local paths of the planned files (S3 objects are downloaded once: data files never change). */
  private async files(state: TableState, kind: TailKind, preds: readonly Predicate[], signal: AbortSignal): Promise<string[]> {
    const plan = await this.o.views[kind].plan(state, preds);
    if (!plan) return [];
    const out: string[] = [];
    for (const f of plan.files) {
      if (signal.aborted) throw signal.reason;
      out.push(await this.localPath(f.file['file-path']));
    }
    return out;
  }

  private async localPath(uri: string): Promise<string> {
    let p = this.localPaths.get(uri);
    if (!p) {
      p = await this.o.io.localPath(uri);
      this.localPaths.set(uri, p);
    }
    return p;
  }

  private async symbolsOf(kind: TailKind, state: TableState, signal: AbortSignal): Promise<SymbolRow[]> {
    const plan = await this.o.views[kind].plan(state, []);
    if (!plan) return [];
    const out: SymbolRow[] = [];
    const cache = this.fileSymbols[kind];
    const kept = new Map<string, SymbolRow[]>();
    for (const f of plan.files) {
      const uri = f.file['file-path'];
      let rows = cache.get(uri);
      if (!rows) {
        rows = (await this.o.engine.query('fileSymbols', { files: [await this.localPath(uri)] }, signal)).map((r) => ({
          symbol: String(r['symbol']),
          exchange: String(r['exchange']),
          asset_class: String(r['asset_class']),
          first_seen: BigInt(r['first_seen'] as bigint),
          last_seen: BigInt(r['last_seen'] as bigint),
        }));
        cache.set(uri, rows); // kept even if the deadline cuts this request short, so the next one gets further
      }
      kept.set(uri, rows);
      out.push(...rows);
    }
    this.fileSymbols[kind] = kept;
    return out;
  }

  close(): void {
    this.breaker.shutdown();
  }
}

interface SymbolRow {
  symbol: string;
  exchange: string;
  asset_class: string;
  first_seen: bigint;
  last_seen: bigint;
}

function predicates(req: { symbol: string; exchange: string | undefined; startUs: bigint; endUs: bigint }): Predicate[] {
  const p: Predicate[] = [
    { column: 'symbol', op: 'eq', value: req.symbol },
    { column: 'timestamp', op: 'gte', value: req.startUs },
    { column: 'timestamp', op: 'lt', value: req.endUs },
  ];
  if (req.exchange !== undefined) p.push({ column: 'exchange', op: 'eq', value: req.exchange });
  return p;
}

/** Rejects with a retriable K2_TIMEOUT after `ms` and aborts the job's signal (DuckDB interrupts its query). */
async function withDeadline<T>(job: Job<T>, ms: number): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TransientError(ErrorCode.TIMEOUT, `table read did not finish within the request deadline (${ms} ms)`);
      ac.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([job(ac.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
