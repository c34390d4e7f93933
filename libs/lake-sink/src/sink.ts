import { ErrorCode, toK2Error, type Logger } from '@k2/core';
import type { AvroField, Catalog, FileIO, ParquetWriter } from '@k2/iceberg';
import { K2Consumer, parseTopic, type K2Producer, type KafkaBrokers } from '@k2/kafka';
import { retry, sleep, untilAborted, type RetryPolicy } from '@k2/resilience';
import type { AvroSerde } from '@k2/serde';
import type { Registry } from 'prom-client';
import { SinkMetrics } from './metrics';
import { MARKET_NAMESPACE, parseTpKey, TABLE_BY_KIND, tpKey } from '@k2/lake';
import { TableSink, type FlushResult } from './table-sink';
import { CommitScheduler, type CommitLimits } from './commit-scheduler';
import { PartitionOwnership } from './ownership';
import { DeadLetters, EventTimeCheck } from './record-checks';
import { RecordIntake } from './intake';
import { defaultMemoryBudget, RDKAFKA_QUEUE_KBYTES, type MemoryBudget } from './budget';

export type { CommitLimits } from './commit-scheduler';

export interface IcebergSinkOptions {
  brokers: KafkaBrokers;
  groupId: string;
  clientId: string;
  writerId: string;
  serde: AvroSerde;
  catalog: Catalog;
  io: FileIO;
  parquet: ParquetWriter;
  dlqProducer: K2Producer;
  commit: CommitLimits;
  logger: Logger;
  registry: Registry;
  namespace?: string[];
  /** Event times outside [minEventUs, now + maxFutureUs] are dead-lettered instead of creating absurd partitions. */
  minEventUs?: bigint;
  maxFutureUs?: bigint;
  /** The memory budget's split (default: defaultMemoryBudget(), 768 MiB). */
  memory?: MemoryBudget;
  /** Storage/catalog retry backoff while commits fail. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  consumerExtra?: Record<string, string | number | boolean>;
  /** Called after every successful commit (benchmarks, tests). */
  onCommit?: (table: string, result: FlushResult) => void;
  /**
   * The V2 data topics to consume, by name (never a DLQ, never a pattern: a topic that merely fits the naming
   * rule, such as a benchmark's, must not reach the tables). A listed topic created later is picked up at the next
   * metadata refresh.
   */
  topics: readonly string[];
}

/** Messages per consume call. */
const FETCH_MAX = 2000;

/**
 * Kafka → Iceberg, exactly once. The position of every partition lives in the tables (snapshot summaries); on
 * each assignment the sink looks it up and re-assigns the consumer there, so Kafka's committed offsets are only
 * advisory (committed after Iceberg, for lag tooling). A commit failure keeps the buffer, pauses consumption and
 * retries with backoff; nothing is acknowledged before it is durable in a snapshot.
 *
 * The parts: PartitionOwnership (assignment, positions from the tables), RecordIntake (message → buffered row, with
 * EventTimeCheck and DeadLetters for what cannot become one), CommitScheduler (when to commit, failure backoff,
 * pause reasons), TableSink (one table's batches and snapshots). This class wires them to the consumer loop.
 */
export class IcebergSink {
  readonly metrics: SinkMetrics;
  private consumer: K2Consumer | undefined;
  private readonly tables = new Map<string, TableSink>();
  private readonly owned: PartitionOwnership;
  private readonly scheduler: CommitScheduler;
  private readonly intake: RecordIntake;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private lastLagAt = 0;
  private loopStage = 'idle';
  private loopIterations = 0;
  private readonly memory: MemoryBudget;
  /** The last fetch came back full: more is waiting in Kafka (commits may run back to back). */
  private backlog = false;
  /** Caught up after a backlog: commit what is buffered as soon as each table has no commit in flight. */
  private drain = false;

  constructor(private readonly o: IcebergSinkOptions) {
    this.metrics = new SinkMetrics(o.registry);
    this.memory = o.memory ?? defaultMemoryBudget();
    this.scheduler = new CommitScheduler(o.commit, o, (reasons) => {
      this.metrics.paused.set(reasons.size ? 1 : 0);
      for (const r of ['commit-failing', 'buffer-full'] as const) this.metrics.pausedBy.set({ reason: r }, reasons.has(r) ? 1 : 0);
    });

    this.owned = new PartitionOwnership({
      tableOf: (topic) => this.tableFor(topic)?.kind,
      committedOffsets: (kind) => this.tables.get(kind)!.committedOffsets(),
      retryPolicy: (message) => this.untilStopped(message),
      log: (message, context) => o.logger.info(message, context),
    });
    this.intake = new RecordIntake({
      consumer: () => this.consumer,
      owned: this.owned,
      table: (kind) => this.tables.get(kind)!,
      serde: o.serde,
      eventTime: new EventTimeCheck(o.minEventUs, o.maxFutureUs),
      deadLetters: new DeadLetters(o.brokers, o.dlqProducer, this.metrics, o.logger),
      metrics: this.metrics,
      logger: o.logger,
    });
  }

  /** Ready = consuming and the last commit attempt did not fail. */
  isReady(): boolean {
    return !!this.consumer?.isConnected() && !this.scheduler.failingNow && !this.stopped;
  }

  /** Position, committed offset and buffered rows per owned partition (diagnostics). */
  debugState(): Record<string, unknown> {
    return {
      failing: this.scheduler.failingNow,
      partitions: Object.fromEntries([...this.owned.entries()].map(([k, st]) => [k, { next: st.next, committed: st.committed, high: st.high, resyncedAt: st.resyncedAt }])),
      tables: Object.fromEntries([...this.tables].map(([k, t]) => [k, { rows: t.rows, work: t.hasWork() }])),
      assignments: this.consumer?.assignments().length,
    };
  }

  /** Partitions this instance currently owns and has positioned from the tables. */
  get assignedPartitions(): number {
    return this.owned.size;
  }

  get failingNow(): boolean {
    return this.scheduler.failingNow;
  }

  async start(): Promise<void> {
    this.consumer = await this.connectConsumer();
    this.loop = this.run();
  }

  private connectConsumer(): Promise<K2Consumer> {
    return K2Consumer.connect({
      brokers: this.o.brokers,
      groupId: this.o.groupId,
      clientId: this.o.clientId,
      topics: [...this.o.topics],
      logger: this.o.logger,
      fromBeginning: true,
      positionOnAssign: (tps) => this.owned.positionsFor(tps),
      onAssign: (_tps, positions) => this.owned.assigned(positions ?? []),
      onRevoke: (tps) => this.owned.revoked(tps),
      extra: {
        // A listed topic created after the start joins within seconds, not librdkafka's default 5 min.
        'topic.metadata.refresh.interval.ms': 10_000,
        'max.poll.interval.ms': 600_000,
        // librdkafka's prefetch lives in the runtime allowance of the memory budget (budget.ts).
        'queued.max.messages.kbytes': RDKAFKA_QUEUE_KBYTES,
        ...(this.o.consumerExtra ?? {}),
      },
    });
  }

  /**
   * librdkafka's fatal errors leave the client unusable (INTRODUCTION.md, "Fatal consumer errors"): it must be
   * replaced. Nothing is lost by that: buffered records are dropped and re-read, because every position comes from
   * the tables on the next assignment (ADR 0008). Seen in the end-to-end test when the coordinator fenced the static
   * member after a broker restart; without this the writer stayed up but consumed nothing.
   */
  private async replaceConsumer(): Promise<void> {
    const old = this.consumer;
    this.consumer = undefined;
    this.owned.clear();
    this.applyRevokes(); // drops the buffered records
    this.scheduler.reset();
    await old?.disconnect().catch(() => undefined);
    // Every 2 s until it works or the writer stops: an unbounded policy that stop() aborts.
    this.consumer = await retry(() => this.connectConsumer(), this.untilStopped('cannot create the kafka consumer yet; retrying')).catch(() => undefined);
    if (this.consumer) this.o.logger.info('kafka consumer replaced after a fatal error');
  }

  /** Fixed 2 s between attempts, any failure retried, until stop(). */
  private untilStopped(message: string): RetryPolicy {
    return untilAborted(this.stopping.signal, {
      initialMs: 2000,
      factor: 1,
      maxMs: 2000,
      jitter: 0,
      retriable: () => true,
      onRetry: ({ error }) => this.o.logger.warn(message, { error: toK2Error(error).toJSON() }),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.loop?.catch(() => undefined);
    for (const t of this.tables.values()) await t.settled();
    // A final flush failing leaves the data in Kafka; it is re-read from the table offsets on the next start.
    if (!this.scheduler.failingNow) await this.flushAll(true);
    await this.consumer?.disconnect();
  }

  /** Flush every table now and wait for it (tests, shutdown): the in-flight commit first, then the current batch. */
  async flushAll(force = false): Promise<void> {
    for (const t of this.tables.values()) {
      await t.settled();
      if (force ? t.hasWork() : this.scheduler.due(Date.now(), t.work())) await this.flushTable(t);
    }
  }

  private tableFor(topic: string): TableSink | undefined {
    let kind: string;
    try {
      const p = parseTopic(topic);
      if (p.dlq) return undefined;
      kind = p.dataType;
    } catch {
      return undefined;
    }
    let t = this.tables.get(kind);
    if (!t) {
      const name = TABLE_BY_KIND[kind as keyof typeof TABLE_BY_KIND];
      t = new TableSink(kind, { namespace: this.o.namespace ?? MARKET_NAMESPACE, name }, {
        catalog: this.o.catalog,
        io: this.o.io,
        parquet: this.o.parquet,
        groupId: this.o.groupId,
        writerId: this.o.writerId,
        logger: this.o.logger,
        metrics: this.metrics,
        avroFields: (id) => this.avroFields(id),
        // Two tables share the dedup share (trades and quotes are the busy ones).
        dedupBytes: Math.floor(this.memory.dedup / 2),
      });
      this.tables.set(kind, t);
    }
    return t;
  }

  private avroFields(schemaId: number): readonly AvroField[] {
    const type = this.o.serde.typeOf(schemaId);
    const schema = type.schema({ exportAttrs: true }) as { fields?: AvroField[] };
    return schema.fields ?? [];
  }

  private async run(): Promise<void> {
    const beat = setInterval(() => {
      if (this.o.logger.isDebugEnabled()) this.o.logger.debug('writer loop', { stage: this.loopStage, iterations: this.loopIterations, ...this.debugState() });
    }, 10_000);
    beat.unref();
    while (!this.stopped) {
      this.loopIterations++;
      try {
        this.applyRevokes();
        this.loopStage = 'consume';
        const c = this.consumer;
        if (!c) break;
        const msgs = await c.consume(FETCH_MAX);
        const backlog = msgs.length === FETCH_MAX;
        // Caught up after a backlog: commit the rest now rather than when the interval is up.
        if (this.backlog && !backlog) this.drain = true;
        this.backlog = backlog;
        this.loopStage = 'handle';
        for (const m of msgs) await this.intake.handle(m);
        this.loopStage = 'flush';
        this.maybeFlush();
        this.loopStage = 'lag';
        await this.updateLag();
      } catch (e) {
        const err = toK2Error(e);
        this.o.logger.error('writer loop error', { error: err.toJSON() });
        if (err.code === ErrorCode.KAFKA_FATAL) await this.replaceConsumer();
        else await sleep(1000, this.stopping.signal);
      }
    }
  }

  private applyRevokes(): void {
    if (!this.owned.takeChanged()) return;
    let dropped = 0;
    for (const t of this.tables.values()) dropped += t.dropStale(this.owned.isCurrent);
    if (dropped) this.o.logger.info('dropped buffered records of partitions whose assignment changed; they are re-read from the table offsets', { dropped });
    this.scheduler.retain((tp) => this.owned.has(tpKey(tp.topic, tp.partition)));
  }

  /** Buffered bytes of every table, in-flight commits included (the budget's buffer share). */
  private bufferedBytes(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.bufferedBytes;
    return n;
  }

  /**
   * Starts the commits that are due without waiting for them: consumption goes on into a fresh batch while a
   * snapshot is written (one in flight per table). Past half the buffer share a table commits early; at the full
   * share fetching pauses until an in-flight commit has made room — the buffer never grows past its share.
   */
  private maybeFlush(): void {
    const now = Date.now();
    const buffered = this.bufferedBytes();
    for (const t of this.tables.values()) {
      this.metrics.buffered.set({ table: t.ident.name }, t.rows);
      this.metrics.bufferBytes.set({ table: t.ident.name }, t.bufferedBytes);
    }
    if (this.scheduler.mayAttempt(now)) {
      const early = buffered >= this.memory.buffers / 2 || this.drain;
      let waiting = false;
      for (const t of this.tables.values()) {
        if (t.flushing) waiting ||= t.hasWork();
        else if (this.scheduler.due(now, t.work(), this.backlog) || (early && t.hasWork())) void this.flushTable(t);
      }
      if (!waiting) this.drain = false;
    }
    if (buffered >= this.memory.buffers) this.scheduler.pause('buffer-full', this.consumer);
    else if (this.scheduler.isPaused('buffer-full')) this.scheduler.resume('buffer-full', this.consumer);
    // Paused with nothing buffered (a revoke dropped the failed batch): no flush can succeed to resume us.
    if (this.scheduler.failingNow && ![...this.tables.values()].some((t) => t.hasWork() || t.flushing)) this.recovered();
  }

  /** Commits the table's current batch and handles the outcome; never throws (a failure pauses and backs off). */
  private async flushTable(t: TableSink): Promise<void> {
    const started = t.startFlush();
    if (!started) return;
    try {
      const r = await started;
      if (r) {
        this.owned.committed(r.offsets);
        this.commitToGroup(r.offsets);
        this.o.onCommit?.(t.ident.name, r);
        this.o.logger.info('iceberg commit', { table: t.ident.name, rows: r.written, duplicates: r.duplicates, files: r.files, bytes: r.bytes, snapshot: String(r.snapshotId ?? '') });
      }
      this.metrics.dedupIndexIds.set({ table: t.ident.name }, t.dedupIds);
      this.metrics.dedupBytes.set({ table: t.ident.name }, t.dedupBytes);
      if (t.maxEventUs !== undefined) this.metrics.freshness.set({ table: t.ident.name }, Math.max(0, Date.now() / 1000 - Number(t.maxEventUs) / 1e6));
      this.recovered();
    } catch (e) {
      // The batch is back in front of the current one; drop what a revoke meanwhile made stale.
      t.dropStale(this.owned.isCurrent);
      const err = toK2Error(e);
      this.metrics.commitFailures.inc({ table: t.ident.name, code: err.code });
      if (!err.retriable && err.code !== ErrorCode.STORAGE_REJECTED && err.code !== ErrorCode.ICEBERG_NOT_FOUND) {
        this.o.logger.error('iceberg commit failed (not retriable); will keep retrying so no data is skipped', { table: t.ident.name, error: err.toJSON() });
      } else {
        this.o.logger.warn('iceberg commit failed; pausing consumption and retrying', { table: t.ident.name, error: err.toJSON(), retryInMs: this.scheduler.retryInMs });
      }
      this.scheduler.failed(this.consumer);
    }
  }

  private recovered(): void {
    if (this.scheduler.recovered(this.consumer)) this.o.logger.info('storage recovered; consumption resumed');
  }

  /**
   * Mirrors the table's offsets into the consumer group, for lag tooling only: positions come from the table
   * (ADR 0008), so a broker that cannot take the commit right now is no commit failure. Counting it as one paused
   * consumption after a durable Iceberg commit, with nothing left to retry, and the writer never resumed; waiting
   * for it synchronously froze the process while the broker was away (both found by the end-to-end test's broker
   * restart).
   */
  private commitToGroup(offsets: ReadonlyMap<string, number>): void {
    try {
      this.consumer?.commitAsync([...offsets].filter(([k]) => this.owned.has(k)).map(([k, offset]) => ({ ...parseTpKey(k), offset })));
    } catch (e) {
      this.o.logger.warn('Kafka group offset commit failed after the Iceberg commit; the table holds the offsets, so nothing is lost or re-read', { error: toK2Error(e).toJSON() });
    }
  }

  private async updateLag(): Promise<void> {
    const now = Date.now();
    if (now - this.lastLagAt < 5000 || !this.consumer) return;
    this.lastLagAt = now;
    for (const [k, st] of this.owned.entries()) {
      const { topic, partition } = parseTpKey(k);
      try {
        const { high } = await this.consumer.watermarks(topic, partition, 2000);
        st.high = high;
        this.metrics.consumerLag.set({ topic, partition: String(partition) }, Math.max(0, high - st.committed));
      } catch {
        // Lag is best effort; the broker may be restarting.
      }
    }
    for (const t of this.tables.values()) {
      if (t.maxEventUs !== undefined) this.metrics.freshness.set({ table: t.ident.name }, Math.max(0, now / 1000 - Number(t.maxEventUs) / 1e6));
    }
  }
}
