import { ErrorCode, FatalError, K2Error, toK2Error, type Logger } from '@k2/core';
import {
  applyTransform,
  commitSnapshot,
  currentSchema,
  defaultSpec,
  liveDataFiles,
  partitionPathSegment,
  partitionType,
  storeDataFile,
  type Catalog,
  type DataFile,
  type FileIO,
  type LoadedTable,
  type Long,
  type ParquetWriter,
  type RowValue,
  type SnapshotChanges,
  type TableIdent,
} from '@k2/iceberg';
import { BARS_FOLDED_KEY, BARS_SCHEMA, foldedUpTo, BARS_SORT, BARS_TABLE, barsTableLayout, MARKET_NAMESPACE, TABLE_BY_KIND, TABLE_PROPERTIES } from '@k2/lake';
import { Backoff, sleep } from '@k2/resilience';
import type { Registry } from 'prom-client';
import { BarPartials, HOUR_US, type BarsPartition } from './aggregate';
import { filesAddedBy, planFold, type FoldPlan } from './fold';
import { BarsMetrics } from './metrics';

export interface BarsMaintainerOptions {
  catalog: Catalog;
  io: FileIO;
  /** A writer of its own: the bars step runs beside the trades commits and must not share their DuckDB connection. */
  parquet: ParquetWriter;
  namespace?: readonly string[];
  writerId: string;
  logger: Logger;
  registry: Registry;
  /** Backoff after a failed catch-up: initial and maximum delay (default 1 s doubling to 60 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Checks this often even without a notify (other writers' commits, a trades table created later). */
  pollMs?: number;
}

export interface BarsCommit {
  mode: 'fold' | 'rebuild';
  tradesSnapshotId: string;
  snapshotId: Long;
  tradeRows: number;
  barRows: number;
  files: number;
  deletedFiles: number;
  seconds: number;
}

/**
 * Keeps `bars_1m_v2` equal to the minute aggregates of `trades_v2` (ADR 0024): after every trades commit (notify)
 * and at start it folds the trades snapshots not yet in the bars, merging the new partial bars into the bar files
 * of the partitions they touch (one overwrite snapshot: old files deleted, merged files added). Exactly once by
 * construction: the bars snapshot records the trades snapshot it has folded up to, and a lost race recomputes on
 * the new base. Runs in the background: a failure is logged, counted and retried, never blocking the trades.
 */
export class BarsMaintainer {
  readonly metrics: BarsMetrics;
  private readonly namespace: string[];
  private readonly backoff: Backoff;
  private stopped = false;
  private dirty = true;
  private wake = new AbortController();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private tableReady = false;

  constructor(private readonly o: BarsMaintainerOptions) {
    this.metrics = new BarsMetrics(o.registry);
    this.namespace = [...(o.namespace ?? MARKET_NAMESPACE)];
    const initialMs = o.retryInitialMs ?? 1000;
    this.backoff = new Backoff({ initialMs, factor: 2, maxMs: Math.max(initialMs, o.retryMaxMs ?? 60_000), jitter: 0 });
  }

  private get tradesIdent(): TableIdent {
    return { namespace: this.namespace, name: TABLE_BY_KIND.trades };
  }

  get ident(): TableIdent {
    return { namespace: this.namespace, name: BARS_TABLE };
  }

  /** Starts the background loop (a first catch-up at once). */
  start(): void {
    this.loop ??= this.run();
  }

  /** A trades commit happened: catch up soon. */
  notify(): void {
    this.dirty = true;
    this.wake.abort();
  }

  /** Lets a running catch-up finish, then ends the loop (what is left is caught up at the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.wake.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.dirty) {
        this.dirty = false;
        try {
          await this.catchUp();
          this.backoff.reset();
        } catch (e) {
          const err = toK2Error(e);
          this.metrics.failures.inc({ code: err.code });
          const delay = this.backoff.next();
          this.dirty = true;
          this.o.logger.warn('minute bars catch-up failed; trades commits go on, bars lag until a retry succeeds', { error: err.toJSON(), retryInMs: delay });
          // The backoff holds even when trades keep committing; only stop() cuts it short.
          await sleep(delay, this.stopping.signal);
          continue;
        }
      }
      if (this.stopped || this.dirty) continue; // notified while catching up: go again at once
      // Poll anyway: trades committed by another writer instance must be folded too.
      await sleep(this.o.pollMs ?? 30_000, this.wake.signal);
      if (this.wake.signal.aborted) this.wake = new AbortController();
      else this.dirty = true;
    }
  }

  /** Trades snapshots not folded yet (0 when up to date or when there is no trades table). */
  async lag(): Promise<number> {
    const trades = await this.loadOptional(this.tradesIdent);
    if (!trades) return 0;
    const bars = await this.loadOptional(this.ident);
    const plan = planFold(trades.metadata, bars ? foldedUpTo(bars.metadata) : undefined);
    return lagOf(plan, trades);
  }

  /** Brings bars_1m_v2 up to trades_v2's current snapshot; null when already there (or no trades table yet). */
  async catchUp(): Promise<BarsCommit | null> {
    if (!(await this.loadOptional(this.tradesIdent))) return null;
    await this.ensureTable();
    const started = process.hrtime.bigint();
    let written: DataFile[] = [];
    let info: Omit<BarsCommit, 'snapshotId' | 'seconds'> | undefined;
    const discard = async () => {
      await Promise.all(written.map((f) => this.o.io.delete(f['file-path']).catch(() => undefined)));
      written = [];
    };
    let result;
    try {
      result = await commitSnapshot(
        this.o.catalog,
        this.o.io,
        this.ident,
        async (base) => {
          await discard(); // an earlier attempt lost the race: its files are orphans now
          const prepared = await this.prepare(base, written);
          info = prepared?.info;
          return prepared?.changes ?? null;
        },
        { logger: this.o.logger, onConflict: () => this.metrics.casRetries.inc() },
      );
    } catch (e) {
      await discard();
      throw e;
    }
    if (!result || !info) {
      this.metrics.lagSnapshots.set(0);
      this.metrics.lastSuccess.set(Date.now() / 1000);
      return null;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const m = this.metrics;
    m.commits.inc({ mode: info.mode });
    m.commitDuration.observe(seconds);
    m.tradesFolded.inc(info.tradeRows);
    m.barsWritten.inc(info.barRows);
    m.lastSuccess.set(Date.now() / 1000);
    const out: BarsCommit = { ...info, snapshotId: result.snapshot['snapshot-id'], seconds };
    this.o.logger.info('minute bars committed', { ...out, snapshotId: String(out.snapshotId) });
    // Trades committed meanwhile are picked up by the next round (the sink notified us).
    m.lagSnapshots.set(await this.lag().catch(() => 0));
    return out;
  }

  /** One attempt's changes on `base` (bars) against the trades table's current snapshot. */
  private async prepare(base: LoadedTable, written: DataFile[]): Promise<{ changes: SnapshotChanges; info: Omit<BarsCommit, 'snapshotId' | 'seconds'> } | null> {
    const trades = await this.o.catalog.loadTable(this.tradesIdent);
    const plan = planFold(trades.metadata, foldedUpTo(base.metadata));
    this.metrics.lagSnapshots.set(lagOf(plan, trades));
    if (plan.kind === 'up-to-date') return null;
    if (plan.kind === 'rebuild') this.o.logger.info('minute bars rebuilt from every trades file', { reason: plan.reason });
    const io = this.o.io;
    const files = plan.kind === 'rebuild' ? (await liveDataFiles(io, trades)).map((e) => e['data-file']) : (await Promise.all(plan.appends.map((s) => filesAddedBy(io, s)))).flat();
    const barFiles = (await liveDataFiles(io, base)).map((e) => e['data-file']);
    const deleted = new Set<string>(plan.kind === 'rebuild' ? barFiles.map((f) => f['file-path']) : []);
    const locals = await Promise.all(files.map((f) => io.localPath(f['file-path'])));
    const partials = await BarPartials.of(this.o.parquet.connection, locals, `${process.pid}_${String(plan.target['snapshot-id'])}`);
    let barRows = 0;
    try {
      for (const p of await partials.partitions()) {
        const tuple = this.partitionTuple(base, p);
        const old = plan.kind === 'rebuild' ? [] : barFiles.filter((f) => sameTuple(f.partition, tuple.partition));
        for (const f of old) deleted.add(f['file-path']);
        const rows = await partials.rows(p, await Promise.all(old.map((f) => io.localPath(f['file-path']))));
        barRows += rows.length;
        written.push(await this.writeBars(base, tuple, rows));
      }
    } finally {
      await partials.close();
    }
    const target = String(plan.target['snapshot-id']);
    const tradeRows = files.reduce((s, f) => s + f['record-count'], 0);
    const info = { mode: plan.kind, tradesSnapshotId: target, tradeRows, barRows, files: written.length, deletedFiles: deleted.size };
    const folded = plan.kind === 'fold' ? plan.appends.length + plan.skipped : 0;
    return {
      info,
      changes: {
        operation: deleted.size ? 'overwrite' : 'append',
        added: [...written],
        deleted,
        summary: {
          [BARS_FOLDED_KEY]: target,
          'k2.bars.mode': plan.kind,
          'k2.bars.trades-snapshots-folded': String(folded),
          'k2.bars.trade-rows-folded': String(tradeRows),
          'k2.writer-id': this.o.writerId,
          ...(plan.target.summary['k2.max-event-time-us'] ? { 'k2.max-event-time-us': plan.target.summary['k2.max-event-time-us'] } : {}),
        },
      },
    };
  }

  /** The partition tuple and path of a bars partition, through the table's own spec (field ids may be the catalog's). */
  private partitionTuple(base: LoadedTable, p: BarsPartition): { partition: DataFile['partition']; segments: string[] } {
    const schema = currentSchema(base.metadata);
    const spec = defaultSpec(base.metadata);
    const pt = partitionType(spec, schema);
    const rec: Record<string, unknown> = { bucket_start: BigInt(p.hour) * HOUR_US, exchange: p.exchange };
    const partition: DataFile['partition'] = {};
    const segments = spec.fields.map((pf, i) => {
      const src = schema.fields.find((f) => f.id === pf['source-id']);
      if (!src) throw new FatalError(ErrorCode.ICEBERG_INVALID, `${BARS_TABLE}: partition field ${pf.name} has no source column`);
      const v = applyTransform(pf.transform, src.type, rec[src.name]);
      partition[pf.name] = v;
      return partitionPathSegment(pf, pt[i].type, v);
    });
    return { partition, segments };
  }

  private async writeBars(base: LoadedTable, tuple: { partition: DataFile['partition']; segments: string[] }, rows: RowValue[][]): Promise<DataFile> {
    const schema = currentSchema(base.metadata);
    // Rows come in BARS_SCHEMA's column order; the table's schema is matched by name.
    const index = schema.fields.map((f) => BARS_SCHEMA.fields.findIndex((b) => b.name === f.name));
    const ordered = index.some((j, i) => j !== i) ? rows.map((r) => index.map((j) => (j < 0 ? null : r[j]))) : rows;
    const local = await this.o.parquet.write(schema, ordered, BARS_SORT);
    return storeDataFile(this.o.io, base.metadata, tuple.partition, tuple.segments, local);
  }

  private async ensureTable(): Promise<void> {
    if (this.tableReady) return;
    if (!(await this.loadOptional(this.ident))) {
      try {
        const t = await this.o.catalog.createTable(this.ident, { schema: structuredClone(BARS_SCHEMA), ...barsTableLayout(), properties: TABLE_PROPERTIES });
        this.o.logger.info('created iceberg table', { table: BARS_TABLE, location: t.metadata.location });
      } catch (e) {
        if (!(e instanceof K2Error && e.code === ErrorCode.ICEBERG_COMMIT_CONFLICT)) throw e;
      }
    }
    this.tableReady = true;
  }

  private async loadOptional(ident: TableIdent): Promise<LoadedTable | undefined> {
    try {
      return await this.o.catalog.loadTable(ident);
    } catch (e) {
      if (e instanceof K2Error && e.code === ErrorCode.ICEBERG_NOT_FOUND) return undefined;
      throw e;
    }
  }
}

function lagOf(plan: FoldPlan, trades: LoadedTable): number {
  if (plan.kind === 'up-to-date') return 0;
  if (plan.kind === 'fold') return plan.appends.length + plan.skipped;
  return trades.metadata.snapshots?.length ?? 1;
}

function sameTuple(a: DataFile['partition'], b: DataFile['partition']): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => String(a[k] ?? null) === String(b[k] ?? null));
}
