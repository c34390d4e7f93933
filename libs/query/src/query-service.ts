import { isRetriable, type Logger } from '@k2/core';
import type { FileIO, PlannedFile, Predicate, Schema } from '@k2/iceberg';
import { Admission, type AdmissionOptions, type CostClass } from './admission';
import { barJson, mergeBars, partialFromRow, rebucket, type BarPartial } from './bars';
import { barsBody, boundedParams, bucketOf, planBars, planSummary, wholeMinutes, type Bucketing } from './bucketing';
import { MinuteBarCache } from './minute-bars';
import type { BarsTable } from './bars-table';
import { classifyCost, DEFAULT_COST_LIMITS, estimateRows, type CostLimits } from './cost';
import type { QueryEngine } from './engine';
import type { QueryMetrics } from './metrics';
import { encodeCursor, parseAsOf, singleSymbol, type BarsRequest, type RowsRequest, type Selection, type SummaryRequest, type SymbolsRequest, type TimeWindow } from './params';
import { recordJson } from './records';
import { DeadlineExceededError, StorageGate } from './storage-gate';
import { recentFiles, type HotSlice, type HotTier } from './hot-tier';
import { hotPageRows } from './hot-page';
import { FileSymbols, selectSymbols, type SymbolRow } from './file-symbols';
import { mergePage, RawJsonArray, sqlTableRow, type TableRow } from './merge-page';
import type { TailKind, TailRow, TailSelection, TailStore } from './tail-store';
import type { TableState, TableView } from './table-view';
import { historicalProvenance, resolveAsOf, type AsOfRead } from './time-travel';

export type Degradation = 'storage' | 'kafka' | 'tail-truncated';

/** Where an answer came from, sent as response headers and in `meta`. */
export interface Provenance {
  snapshotId: string | null;
  icebergRows: number;
  tailRows: number;
  tail: boolean;
  degraded: Degradation[];
  /** Time travel (issue 16): the `as_of` asked for and the commit time of the snapshot that answered. */
  asOf?: { requested: string; snapshotTime: string | null };
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
  /** Admission control in front of DuckDB; default 4 slots (the engine's default connections), queue 16, heavy 2 + 2. */
  admission?: Partial<AdmissionOptions>;
  /** Scan caps per route kind and the heavy threshold (see cost.ts). */
  costs?: Partial<CostLimits>;
  /** Decoded (file, symbol) slices answering rows without DuckDB (ADR 0015); undefined = off. */
  hot?: HotTier;
  /** Bytes the 1-minute bar cache may hold (its share of QUERY_MEMORY_BUDGET). Default 256 MB. */
  minuteBarBytes?: number;
  /** bars_1m_v2 (issue 17): whole-minute bars from the writer's minute table when it covers the trades snapshot. */
  bars?: BarsTable;
}

export interface Planned {
  files: PlannedFile[];
  schema: Schema;
}

/** Data loaded into the hot tier as soon as a snapshot holds it: the table's last 24 hours. */
const RECENT_US = 24n * 3600n * 1_000_000n;

/**
 * The hybrid read path (the kdb+ RDB + HDB split on Kafka + Iceberg). Each request:
 *  1. takes the table view's current state (snapshot S and the Kafka offsets O(S) it holds) and, in the same
 *     synchronous step, the tail rows at or past O(S) — every record is in exactly one of the two;
 *  2. reads the table at S through DuckDB under the storage breaker and the request deadline;
 *  3. merges, dropping tail rows whose message_id the table already has (replays), and answers.
 * Storage failing (breaker open, error, deadline) → tail only, `degraded: storage`; Kafka failing → table plus the
 * tail held so far, `degraded: kafka`. Before any download or scan, a request's planned rows are checked against
 * its route's cap (422) and it is admitted to the engine by cost class (503 + Retry-After when the queue is full).
 */
export class QueryService {
  private readonly gate: StorageGate;
  private readonly admission: Admission;
  private readonly costs: CostLimits;
  /** Snapshot each table's caches were last pruned against. */
  private readonly prunedAt: Record<TailKind, unknown> = { trades: undefined, quotes: undefined };
  private readonly minuteBars: MinuteBarCache;
  /** Instruments per data file, per table; only the files of the latest plan are kept. */
  private readonly fileSymbols: FileSymbols;

  constructor(private readonly o: QueryServiceOptions) {
    this.gate = new StorageGate({ metrics: o.metrics, logger: o.logger, breaker: o.breaker });
    this.admission = new Admission({
      slots: 4,
      queue: 16,
      heavySlots: 2,
      heavyQueue: 2,
      retryAfterSeconds: Math.max(1, Math.ceil(o.deadlineMs / 1000)),
      ...o.admission,
    });
    this.costs = { ...DEFAULT_COST_LIMITS, ...o.costs };
    this.minuteBars = new MinuteBarCache(o.engine, o.minuteBarBytes);
    this.fileSymbols = new FileSymbols(o.engine, (uri) => this.localPath(uri));
  }

  get storageBreakerState(): string {
    return this.gate.breakerState;
  }

  /** The 1-minute bar cache's bytes held (estimate) and bound. */
  get minuteBarStats(): { bytes: number; limit: number } {
    return this.minuteBars.stats;
  }

  get admissionStats(): Admission['stats'] {
    return this.admission.stats;
  }

  /**
   * Refreshes one table view with its own budget, outside the request breaker and admission: user reads can
   * neither starve it nor keep it from running (ADR 0013). Rejects with the storage error.
   */
  refreshView(kind: TailKind, budgetMs: number): Promise<TableState> {
    return this.gate.refresh(() => this.o.views[kind].refresh(), budgetMs, kind);
  }

  /** The table view of `kind` (time travel: /v1/snapshots lists its retained snapshots). */
  view(kind: TailKind): TableView {
    return this.o.views[kind];
  }

  /** `as_of` of a request resolved against the table (undefined: a live read); see time-travel.ts. */
  asOf(kind: TailKind, q: Record<string, unknown>, nowUs: bigint): AsOfRead | undefined {
    return resolveAsOf(this.o.views[kind], parseAsOf(q, nowUs));
  }

  /**
   * Raw rows of one symbol or across sources (several symbols or all, filtered by exchange and asset class), newest
   * first by (timestamp, message_id) — a total order, so cursors page across sources without gaps or repeats.
   */
  async rows(kind: TailKind, req: RowsRequest, at?: AsOfRead): Promise<Answer<{ data: RawJsonArray; next_cursor: string | null }>> {
    const deadlineAt = Date.now() + this.o.deadlineMs;
    const { state, tailRows, prov } = this.capture(kind, req, req.startUs, req.endUs, at);
    const c = req.cursor;
    const tail = c ? tailRows.filter((r) => r.ts < c.ts || (r.ts === c.ts && r.id < c.id)) : tailRows;
    let table: TableRow[] = [];
    try {
      table = await this.gate.request((signal) => this.tableRows(kind, state, req, signal), deadlineAt);
    } catch (e) {
      this.storageFailed(prov, e);
    }
    const { page, fromTable } = mergePage(table, tail, req.limit);
    prov.icebergRows = fromTable;
    prov.tailRows = page.length - fromTable;
    const last = page[page.length - 1];
    return {
      body: { data: new RawJsonArray(page.map((r) => r.text)), next_cursor: page.length === req.limit && last ? encodeCursor({ ts: last.ts, id: last.id }) : null },
      provenance: prov,
    };
  }

  /** The table part of `rows`: from the hot tier when it holds every slice the plan needs, else through DuckDB. */
  private async tableRows(kind: TailKind, state: TableState, req: RowsRequest, signal: AbortSignal): Promise<TableRow[]> {
    const planned = await this.plan(state, kind, predicates(req));
    if (planned.files.length === 0) return [];
    const cls = classifyCost('raw', estimateRows(planned.files, planned.schema, req.startUs, req.endUs), { ...req, parameter: 'start' }, this.costs);
    const symbol = singleSymbol(req);
    const c = req.cursor;
    const hotQuery = { exchange: req.exchange ?? null, startUs: req.startUs, endUs: req.endUs, cursor: c ?? null, limit: req.limit };
    const hot = symbol !== undefined ? this.o.hot?.lookup(kind, planned.files, symbol) : this.hotAcross(kind, planned.files, req);
    if (hot) return hotPageRows(hot, hotQuery);
    // An older snapshot's files are not loaded into the hot tier (time travel): the next prune would drop them again.
    if (symbol !== undefined && !state.historical) this.o.hot?.schedule(kind, planned.files, symbol, (uri) => this.o.io.localPath(uri));
    const rows = await this.withSlot(cls, signal, async () => {
      const files = await this.localFiles(planned.files, signal);
      const page = { files, exchange: req.exchange ?? null, start: req.startUs, end: req.endUs, cursor_ts: c?.ts ?? null, cursor_id: c?.id ?? null, limit: req.limit };
      if (symbol !== undefined) return this.o.engine.query(kind, { ...page, symbol }, signal);
      return this.o.engine.query(kind === 'trades' ? 'tradesAcross' : 'quotesAcross', { ...page, symbols: req.symbols ?? null, asset_class: req.assetClass ?? null }, signal);
    });
    return rows.map(sqlTableRow);
  }

  /**
   * Cross-source reads from the hot tier: the (file, symbol) slices the selection needs, known from each planned
   * file's symbol list (fileSymbols). Undefined — read through DuckDB — when a file's symbols are not known yet or a
   * slice is missing; both are then fetched in the background, so the next such request is served from memory.
   */
  private hotAcross(kind: TailKind, files: readonly PlannedFile[], sel: Selection): HotSlice[] | undefined {
    const hot = this.o.hot;
    if (!hot) return undefined;
    const wanted = sel.symbols ? new Set(sel.symbols) : undefined;
    const pairs: Array<{ file: PlannedFile; symbol: string }> = [];
    let known = true;
    for (const f of files) {
      const rows = this.fileSymbols.cached(kind, f.file['file-path']);
      if (!rows) {
        known = false;
        void this.fileSymbols.load(kind, f.file['file-path']).catch(() => undefined); // best effort: the next request may use it
        continue;
      }
      const pick = selectSymbols(rows, wanted, sel.exchange, sel.assetClass);
      if (pick === undefined) return undefined; // a symbol with rows of several asset classes: only SQL filters per row
      for (const symbol of pick) pairs.push({ file: f, symbol });
    }
    if (!known) return undefined;
    return hot.lookupPairs(kind, pairs, (uri) => this.o.io.localPath(uri));
  }

  async bars(req: BarsRequest, at?: AsOfRead): Promise<Answer<ReturnType<typeof barsBody>>> {
    // Local-clock buckets of the request's zone (issue 16); UTC is the epoch-aligned path as before.
    const plan = planBars(req.tz, req.intervalUs, req.interval === '1d', req.startUs, req.endUs);
    const { partials, prov } = await this.aggregate(req, plan.bucketing, at);
    return { body: barsBody(partials, plan), provenance: prov };
  }

  async summary(req: SummaryRequest, at?: AsOfRead): Promise<Answer<Record<string, unknown>>> {
    const { partials, prov } = await this.aggregate(req, planSummary(req.tz, req.startUs, req.endUs), at);
    const p = partials[0];
    const b = p ? barJson(p) : undefined;
    return {
      body: {
        symbol: req.symbol,
        exchange: req.exchange ?? null,
        date: req.date,
        ...(req.tz === 'UTC' ? {} : { tz: req.tz }), // the zone of `date` (issue 16); UTC answers are unchanged
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

  /** `at`: time travel, one resolved `as_of` per table (trades' id or time; quotes at the same instant). */
  async symbols(req: SymbolsRequest, at?: Record<TailKind, AsOfRead>): Promise<Answer<{ data: Record<string, unknown>[] }>> {
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
    const prov = at ? historicalProvenance(at.trades) : this.provenance(undefined);
    const states = (['trades', 'quotes'] as const).map((k) => ({ kind: k, state: at ? at[k].state : this.o.views[k].state }));
    // The tail rows past each snapshot are taken in the same tick as the snapshots (ADR 0009): once the table reads
    // below have awaited, a newer snapshot may have evicted rows that the older one does not hold.
    const tailRows: Array<[string, string, string, bigint]> = [];
    if (this.o.tail && !at) {
      for (const { kind, state } of states) {
        for (const [, set] of this.o.tail.store.symbols(kind)) {
          for (const r of set) if (r.offset >= (state.offsets.get(r.tp) ?? 0)) tailRows.push([r.symbol, r.exchange, String(r.rec['asset_class']), r.ts]);
        }
      }
    }
    for (const { kind, state } of states) {
      try {
        const rows = await this.gate.request((signal) => this.symbolsOf(kind, state, signal), deadlineAt);
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

  private async aggregate(req: { symbol: string; exchange: string | undefined; startUs: bigint; endUs: bigint }, b: Bucketing, at?: AsOfRead): Promise<{ partials: BarPartial[]; prov: Provenance }> {
    const deadlineAt = Date.now() + this.o.deadlineMs;
    const { state, tailRows, prov } = this.capture('trades', { symbols: [req.symbol], exchange: req.exchange, assetClass: undefined }, req.startUs, req.endUs, at);
    // bars_1m_v2 answers whole-minute requests when it holds exactly this trades snapshot (issue 17, ADR 0024).
    const barsState = at || !wholeMinutes(b, req.startUs, req.endUs) ? undefined : this.o.bars?.coveringFor(state.snapshotId);
    let partials: BarPartial[] = [];
    let tail = tailRows;
    try {
      const r = await this.gate.request(async (signal) => {
        const planned = await this.plan(state, 'trades', predicates(req));
        if (planned.files.length === 0) return { partials: [] as BarPartial[], present: new Set<string>() };
        const minutesFit = wholeMinutes(b, req.startUs, req.endUs);
        const barFiles = barsState && this.o.bars ? await this.o.bars.plan(barsState, req) : undefined;
        // Minute partials cover a whole file: cached files cost nothing, the others are scanned whole, once.
        const uncached = planned.files.filter((f) => !this.minuteBars.has(f.file['file-path'], req.symbol) && !this.minuteBars.hasWindow(f.file['file-path'], req.symbol, b, req.startUs, req.endUs));
        const scanned = barFiles ?? (minutesFit ? uncached : undefined);
        const rows = scanned ? scanned.reduce((n, f) => n + f.file['record-count'], 0) : estimateRows(planned.files, planned.schema, req.startUs, req.endUs);
        const cls = classifyCost('aggregate', rows, { ...req, parameter: 'date' in req ? 'date' : 'start' }, this.costs);
        return this.withSlot(cls, signal, async () => {
          // From bars_1m_v2 the trades files are only needed to find replayed tail records.
          const files = barFiles && tailRows.length === 0 ? [] : await this.localFiles(planned.files, signal);
          const base = { files, symbol: req.symbol, start: req.startUs, end: req.endUs };
          let partials: BarPartial[];
          this.o.metrics.barsSource.inc({ source: barFiles ? 'bars_table' : 'trades' });
          if (barFiles && this.o.bars) {
            const minutes = await this.o.bars.minutes(await this.localFiles(barFiles, signal), req, signal);
            partials = rebucket(minutes, bucketOf(b), req.startUs, req.endUs);
          } else if (minutesFit) {
            const minutes: BarPartial[] = [];
            for (let i = 0; i < files.length; i++) minutes.push(...(await this.minuteBars.partials(planned.files[i].file['file-path'], files[i], req.symbol, b, req.startUs, req.endUs, signal)));
            partials = rebucket(minutes, bucketOf(b), req.startUs, req.endUs);
          } else if (b.starts) {
            partials = (await this.o.engine.query('barsBounded', { ...base, exchange: req.exchange ?? null, ...boundedParams(b.starts, req.endUs) }, signal)).map(partialFromRow);
          } else {
            partials = (await this.o.engine.query('bars', { ...base, exchange: req.exchange ?? null, bucket_us: b.bucketUs }, signal)).map(partialFromRow);
          }
          // Replays of records the table already holds must not count twice in volume and trade counts.
          const present = tailRows.length === 0 ? new Set<string>() : new Set((await this.o.engine.query('presentIds', { ...base, ids: tailRows.map((t) => t.id) }, signal)).map((x) => String(x['message_id'])));
          return { partials, present };
        });
      }, deadlineAt);
      partials = r.partials;
      tail = tailRows.filter((t) => !r.present.has(t.id));
    } catch (e) {
      this.storageFailed(prov, e);
    }
    prov.icebergRows = partials.reduce((n, p) => n + p.trades, 0);
    prov.tailRows = tail.length;
    return { partials: mergeBars(partials, tail.map((t) => t.rec), bucketOf(b)), prov };
  }

  /** Table state and tail rows taken together, synchronously (see the class comment). */
  private capture(kind: TailKind, sel: TailSelection, startUs: bigint, endUs: bigint, at?: AsOfRead): { state: TableState; tailRows: TailRow[]; prov: Provenance } {
    // Time travel: that snapshot only, never the tail (issue 16).
    if (at) return { state: at.state, tailRows: [], prov: historicalProvenance(at) };
    const state = this.o.views[kind].state;
    const tail = this.o.tail;
    const tailRows = tail ? tail.store.select(kind, sel, startUs, endUs, state.offsets) : [];
    const prov = this.provenance(state);
    if (tail?.store.truncatedFor(kind, state.offsets)) prov.degraded.push('tail-truncated');
    return { state, tailRows, prov };
  }

  private provenance(state: TableState | undefined): Provenance {
    const degraded: Degradation[] = [];
    if (this.o.tail && !this.o.tail.isHealthy()) degraded.push('kafka');
    return { snapshotId: state?.snapshotId === undefined ? null : String(state.snapshotId), icebergRows: 0, tailRows: 0, tail: this.o.tail !== undefined, degraded };
  }

  /** The table part is missing (storage error, open breaker or the request's deadline): answer from the tail. */
  private storageFailed(prov: Provenance, e: unknown): void {
    if (!isRetriable(e) && !(e instanceof DeadlineExceededError)) throw e;
    if (!prov.degraded.includes('storage')) prov.degraded.push('storage');
    this.o.logger.warn('table part of a request failed; answering from the tail', { error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
  }

  /** Data files of `state` that may hold matching rows (from the manifests the refresh has cached). */
  private async plan(state: TableState, kind: TailKind, preds: readonly Predicate[]): Promise<Planned> {
    const plan = await this.o.views[kind].plan(state, preds);
    return plan ? { files: plan.files, schema: plan.schema } : { files: [], schema: { type: 'struct', 'schema-id': 0, fields: [] } };
  }

  /**
   * Runs `fn` holding an engine slot of class `cls` (see Admission). The deadline frees the slot at once: an
   * interrupted statement or a download left running must not keep other requests out.
   */
  private async withSlot<T>(cls: CostClass, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const release = await this.admission.enter(cls, signal);
    signal.addEventListener('abort', release, { once: true });
    try {
      return await fn();
    } finally {
      signal.removeEventListener('abort', release);
      release();
    }
  }

  /** Local paths of the planned files (S3 objects are downloaded once: data files never change). */
  private async localFiles(files: readonly PlannedFile[], signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    for (const f of files) {
      if (signal.aborted) throw signal.reason;
      out.push(await this.localPath(f.file['file-path']));
    }
    return out;
  }

  /** No memo: the download cache is a byte-bounded LRU, a remembered path could be deleted; its index is cheap. */
  private localPath(uri: string): Promise<string> {
    return this.o.io.localPath(uri);
  }

  /**
   * Drops cached state for data files the table's current snapshot no longer plans (a compaction's replaced
   * files): hot slices, minute bars. Run after each refresh; a no-op while the snapshot is unchanged.
   */
  async pruneCaches(kind: TailKind): Promise<void> {
    const state = this.o.views[kind].state;
    if (state.snapshotId === undefined || this.prunedAt[kind] === state.snapshotId) return;
    const { files, schema } = await this.plan(state, kind, []);
    const current = new Set(files.map((f) => f.file['file-path']));
    this.o.hot?.prune(kind, current);
    if (kind === 'trades') this.minuteBars.prune(current);
    this.prunedAt[kind] = state.snapshotId;
    await this.o.hot?.warm(kind, recentFiles(files, schema, RECENT_US), (uri) => this.fileSymbols.symbolsOf(kind, uri), (u) => this.localPath(u));
  }

  /** Every file's instruments in `state`'s plan; a cold table's files are scanned once (no cap: nothing to narrow). */
  private async symbolsOf(kind: TailKind, state: TableState, signal: AbortSignal): Promise<SymbolRow[]> {
    const { files } = await this.plan(state, kind, []);
    const missing = this.fileSymbols.missing(kind, files);
    if (missing.length > 0) {
      const rows = missing.reduce((n, f) => n + f.file['record-count'], 0);
      await this.withSlot(rows > this.costs.heavyRows ? 'heavy' : 'light', signal, async () => {
        for (const f of missing) await this.fileSymbols.load(kind, f.file['file-path'], signal);
      });
    }
    return this.fileSymbols.ofPlan(kind, files, !state.historical);
  }

  /**
   * export (issue 16, export.ts): the table state and the tail rows past its offsets taken in one synchronous step
   * (as every read), with the read path's planner, files and admission for the export to run on. An export always takes a heavy slot (it holds a connection for as long as it streams).
   */
  exportSource(kind: TailKind, req: TimeWindow & Selection, at?: AsOfRead): ExportSource {
    const { state, tailRows, prov } = this.capture(kind, req, req.startUs, req.endUs, at);
    return {
      prov,
      tailRows,
      plan: (preds) => this.plan(state, kind, preds),
      localFiles: (files, signal) => this.localFiles(files, signal),
      heavySlot: (signal, fn) => this.withSlot('heavy', signal, fn),
    };
  }

  close(): void {
    this.gate.close();
  }

  /**
   * Replay-then-follow (issue 16): one ascending page of a selection at `state`, after a (timestamp, message_id)
   * position. Read like a row listing (breaker, deadline, an engine slot by the window's estimated rows) but not
   * capped: a replay streams its window in bounded pages. Rejects with the storage error (the replay ends with it).
   */
  replayPage(kind: TailKind, state: TableState, p: ReplayPageRequest): Promise<ReplayPage> {
    return this.gate.request(async (signal) => {
      const planned = await this.plan(state, kind, replayPredicates(p));
      if (planned.files.length === 0) return { ts: [], id: [], json: [] };
      const cls = estimateRows(planned.files, planned.schema, p.startUs, p.endUs) > this.costs.heavyRows ? 'heavy' : 'light';
      return this.withSlot(cls, signal, async () => {
        const files = await this.localFiles(planned.files, signal);
        const params = { files, symbols: p.symbols ?? null, exchange: p.exchange ?? null, asset_class: p.assetClass ?? null, start: p.startUs, end: p.endUs, after_ts: p.after?.ts ?? null, after_id: p.after?.id ?? null, limit: p.limit };
        return (await this.o.engine.queryColumns(kind === 'trades' ? 'replayTrades' : 'replayQuotes', params, signal)) as unknown as ReplayPage;
      });
    }, Date.now() + this.o.deadlineMs);
  }
}

/** Replay-then-follow (issue 16): a page as columns — order key (µs, message_id) and the row's API JSON. */
export interface ReplayPage {
  ts: bigint[];
  id: string[];
  json: string[];
}

/** Replay-then-follow (issue 16): one page of history. */
export interface ReplayPageRequest {
  symbols: readonly string[] | undefined;
  exchange: string | undefined;
  assetClass: string | undefined;
  startUs: bigint;
  endUs: bigint;
  after: { ts: bigint; id: string } | undefined;
  limit: number;
}

function replayPredicates(p: ReplayPageRequest): Predicate[] {
  const out: Predicate[] = [
    { column: 'timestamp', op: 'gte', value: p.after && p.after.ts > p.startUs ? p.after.ts : p.startUs },
    { column: 'timestamp', op: 'lt', value: p.endUs },
  ];
  if (p.symbols?.length === 1) out.push({ column: 'symbol', op: 'eq', value: p.symbols[0] });
  if (p.exchange !== undefined) out.push({ column: 'exchange', op: 'eq', value: p.exchange });
  return out;
}

/** What an export reads (see QueryService.exportSource). */
export interface ExportSource {
  prov: Provenance;
  tailRows: TailRow[];
  plan(preds: readonly Predicate[]): Promise<Planned>;
  localFiles(files: readonly PlannedFile[], signal: AbortSignal): Promise<string[]>;
  heavySlot<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T>;
}

function predicates(req: { symbol?: string; symbols?: readonly string[]; exchange: string | undefined; assetClass?: string; startUs: bigint; endUs: bigint }): Predicate[] {
  const symbol = req.symbol ?? (req.symbols?.length === 1 ? req.symbols[0] : undefined);
  const p: Predicate[] = [
    { column: 'timestamp', op: 'gte', value: req.startUs },
    { column: 'timestamp', op: 'lt', value: req.endUs },
  ];
  if (symbol !== undefined) p.unshift({ column: 'symbol', op: 'eq', value: symbol });
  if (req.exchange !== undefined) p.push({ column: 'exchange', op: 'eq', value: req.exchange });
  if (req.assetClass !== undefined) p.push({ column: 'asset_class', op: 'eq', value: req.assetClass });
  return p;
}
