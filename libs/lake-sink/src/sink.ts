import { ErrorCode, K2Error, toK2Error, ValidationError, type Logger } from '@k2/core';
import type { AvroField, Catalog, FileIO, ParquetWriter } from '@k2/iceberg';
import {
  dlqTopic,
  ensureTopics,
  K2Consumer,
  parseTopic,
  type ConsumedMessage,
  type K2Producer,
  type KafkaBrokers,
  type TopicPartition,
  type TopicPartitionOffset,
  deadLetterRecord,
} from '@k2/kafka';
import { Backoff, retry, sleep, untilAborted, type RetryPolicy } from '@k2/resilience';
import { readSchemaId, type AvroSerde } from '@k2/serde';
import type { Registry } from 'prom-client';
import { SinkMetrics } from './metrics';
import { MARKET_NAMESPACE, parseTpKey, partitionKey, partitionOf, TABLE_BY_KIND, tpKey, type DecodedRecord } from '@k2/lake';
import { TableSink, type FlushResult } from './table-sink';

export interface CommitLimits {
  intervalMs: number;
  maxRows: number;
  maxBytes: number;
}

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
  maxDedupIds?: number;
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

interface PartitionState {
  /** Next offset we accept; anything lower is a stale re-delivery. */
  next: number;
  /** Next offset durable in the table (lag is measured from here). */
  committed: number;
  /** Positioned at the earliest retained offset: the first message may be above 0 (retention). */
  fromEarliest: boolean;
  /** The position we last re-assigned to because of an offset jump (see handle). */
  resyncedAt?: number;
  /** Last known high watermark (lag metric). */
  high?: number;
  table: TableSink;
}

const DEFAULT_MIN_EVENT_US = BigInt(Date.UTC(1990, 0, 1)) * 1000n;
const DAY_US = 86_400_000_000n;

/**
 * Kafka → Iceberg, exactly once. The position of every partition lives in the tables (snapshot summaries); on
 * each assignment the sink looks it up and re-assigns the consumer there, so Kafka's committed offsets are only
 * advisory (committed after Iceberg, for lag tooling). A commit failure keeps the buffer, pauses consumption and
 * retries with backoff; nothing is acknowledged before it is durable in a snapshot.
 */
export class IcebergSink {
  readonly metrics: SinkMetrics;
  private consumer: K2Consumer | undefined;
  private readonly tables = new Map<string, TableSink>();
  private readonly partitions = new Map<string, PartitionState>();
  private ownershipChanged = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private failing = false;
  private retryAt = 0;
  /** The commit backoff: 1 s doubling to 30 s, no jitter (one writer per partition set: nothing to de-synchronise). */
  private readonly commitBackoff: Backoff;
  private pausedTps: TopicPartition[] = [];
  private readonly dlqTopicsReady = new Set<string>();
  private lastLagAt = 0;

  constructor(private readonly o: IcebergSinkOptions) {
    this.metrics = new SinkMetrics(o.registry);
    const initialMs = o.retryInitialMs ?? 1000;
    this.commitBackoff = new Backoff({ initialMs, factor: 2, maxMs: Math.max(initialMs, o.retryMaxMs ?? 30_000), jitter: 0 });
  }

  /** Ready = consuming and the last commit attempt did not fail. */
  isReady(): boolean {
    return !!this.consumer?.isConnected() && !this.failing && !this.stopped;
  }

  /** Position, committed offset and buffered rows per owned partition (diagnostics). */
  debugState(): Record<string, unknown> {
    return {
      failing: this.failing,
      partitions: Object.fromEntries([...this.partitions].map(([k, st]) => [k, { next: st.next, committed: st.committed, high: st.high, resyncedAt: st.resyncedAt }])),
      tables: Object.fromEntries([...this.tables].map(([k, t]) => [k, { rows: t.rows, work: t.hasWork() }])),
      assignments: this.consumer?.assignments().length,
    };
  }

  /** Partitions this instance currently owns and has positioned from the tables. */
  get assignedPartitions(): number {
    return this.partitions.size;
  }

  get failingNow(): boolean {
    return this.failing;
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
      positionOnAssign: (tps) => this.positionsFor(tps),
      onAssign: (_tps, positions) => this.onAssigned(positions ?? []),
      onRevoke: (tps) => {
        for (const tp of tps) this.partitions.delete(tpKey(tp.topic, tp.partition));
        this.ownershipChanged = true;
      },
      extra: {
        // A listed topic created after the start joins within seconds, not librdkafka's default 5 min.
        'topic.metadata.refresh.interval.ms': 10_000,
        'max.poll.interval.ms': 600_000,
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
    this.partitions.clear();
    this.ownershipChanged = true;
    this.applyRevokes(); // drops the buffered records and, with no partitions left, the paused list
    this.metrics.paused.set(0);
    this.failing = false;
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
    if (!this.failing) {
      try {
        await this.flushAll(true);
      } catch (e) {
        this.o.logger.error('final flush failed; the data stays in Kafka and is re-read on the next start', { error: toK2Error(e).toJSON() });
      }
    }
    await this.consumer?.disconnect();
  }

  /** Flush every table now (tests, shutdown). */
  async flushAll(force = false): Promise<void> {
    for (const t of this.tables.values()) if (force ? t.hasWork() : t.due(Date.now(), this.o.commit)) await this.flushTable(t);
  }

  /** Start offset of each newly assigned partition, from the tables (retried until it can be read). */
  private async positionsFor(tps: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    const read = async (): Promise<TopicPartitionOffset[]> => {
      const offsets: TopicPartitionOffset[] = [];
      const byTable = new Map<TableSink, TopicPartition[]>();
      for (const tp of tps) {
        const t = this.tableFor(tp.topic);
        if (t) byTable.set(t, [...(byTable.get(t) ?? []), tp]);
      }
      for (const [t, list] of byTable) {
        const committed = await t.committedOffsets();
        // No entry: this group never landed the partition in the table → from the earliest retained offset.
        for (const tp of list) offsets.push({ ...tp, offset: committed.get(tpKey(tp.topic, tp.partition)) ?? -2 });
      }
      return offsets;
    };
    return retry(read, this.untilStopped('cannot read table offsets for the new assignment; retrying'));
  }

  private onAssigned(offsets: TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const t = this.tableFor(o.topic);
      if (!t) continue;
      const start = o.offset < 0 ? 0 : o.offset;
      this.partitions.set(tpKey(o.topic, o.partition), { next: start, committed: start, table: t, fromEarliest: o.offset < 0 });
    }
    this.ownershipChanged = true;
    this.o.logger.info('partitions positioned from iceberg snapshots', {
      assignments: offsets.map((o) => `${o.topic}/${o.partition}@${o.offset === -2 ? 'earliest' : o.offset}`),
    });
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
        maxDedupIds: this.o.maxDedupIds,
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

  private loopStage = 'idle';
  private loopIterations = 0;

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
        const msgs = await c.consume(2000);
        this.loopStage = 'handle';
        for (const m of msgs) await this.handle(m);
        this.loopStage = 'flush';
        await this.maybeFlush();
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
    if (!this.ownershipChanged) return;
    this.ownershipChanged = false;
    const isCurrent = (tp: string, owner: object) => this.partitions.get(tp) === owner;
    let dropped = 0;
    for (const t of this.tables.values()) dropped += t.dropStale(isCurrent);
    if (dropped) this.o.logger.info('dropped buffered records of partitions whose assignment changed; they are re-read from the table offsets', { dropped });
    this.pausedTps = this.pausedTps.filter((tp) => this.partitions.has(tpKey(tp.topic, tp.partition)));
  }

  private async handle(m: ConsumedMessage): Promise<void> {
    const key = tpKey(m.topic, m.partition);
    const st = this.partitions.get(key);
    // Not positioned yet (assignment still being resolved) or a stale fetch from before the re-assign.
    if (!st || m.offset < st.next) return;
    if (m.offset > st.next && !st.fromEarliest) {
      // Our producers are idempotent and not transactional, so offsets are contiguous: a jump is either a message
      // fetched before a rewind (dropped; the rewind re-delivers in order) or retention having deleted the offsets
      // we wanted (then the low watermark is above them and we go on from there).
      const { low } = await this.consumer!.watermarks(m.topic, m.partition, 5000).catch(() => ({ low: -1 }));
      if (low <= st.next) {
        if (st.resyncedAt !== st.next) {
          st.resyncedAt = st.next;
          this.o.logger.info('fetched past the expected offset; re-positioning every partition', { topic: m.topic, partition: m.partition, expected: st.next, got: m.offset });
          this.consumer!.reassign(this.positions());
        }
        return;
      }
      this.o.logger.warn('offsets no longer in the log (retention); continuing from the oldest retained', { topic: m.topic, partition: m.partition, expected: st.next, got: m.offset });
    }
    st.fromEarliest = false;
    st.next = m.offset + 1;
    this.metrics.recordsConsumed.inc({ topic: m.topic });
    let rec: DecodedRecord;
    let schemaId: number;
    try {
      if (!m.value) throw new ValidationError('empty message value (tombstone) on a data topic', { code: ErrorCode.SERDE_FAILED });
      schemaId = readSchemaId(m.value);
      rec = this.o.serde.isLoaded(schemaId) ? this.o.serde.decodeLoaded<DecodedRecord>(m.value) : await this.o.serde.decode<DecodedRecord>(m.value);
      this.checkEventTime(rec);
    } catch (e) {
      const err = toK2Error(e);
      if (err.retriable) {
        // Registry unreachable: the message is fine; re-read it once the registry is back.
        st.next = m.offset;
        this.consumer!.reassign(this.positions());
        throw err;
      }
      try {
        await this.deadLetter(m, err);
      } catch (dlqError) {
        // The dead-letter topic refused it (no ACL for it, issue 18's narrowed writer user; or the broker past the
        // delivery timeout): skipping it now would lose the record, so it is read again until its dead letter lands.
        st.next = m.offset;
        this.consumer?.reassign(this.positions());
        throw dlqError;
      }
      st.table.note(key, m.offset + 1, st);
      return;
    }
    const part = partitionOf(rec);
    const ts = rec['timestamp'];
    st.table.add({
      rec,
      id: String(rec['message_id']),
      pkey: partitionKey(part),
      tp: key,
      offset: m.offset,
      bytes: m.size,
      schemaId,
      eventUs: typeof ts === 'bigint' ? ts : null,
      owner: st,
    });
  }

  private positions(): TopicPartitionOffset[] {
    return [...this.partitions.entries()].map(([k, st]) => ({ ...parseTpKey(k), offset: st.next }));
  }

  private checkEventTime(rec: DecodedRecord): void {
    const ts = rec['timestamp'];
    if (typeof ts !== 'bigint') return;
    const min = this.o.minEventUs ?? DEFAULT_MIN_EVENT_US;
    const max = BigInt(Date.now()) * 1000n + (this.o.maxFutureUs ?? DAY_US);
    if (ts < min || ts > max) {
      throw new ValidationError(`event timestamp ${ts} µs (${new Date(Number(ts / 1000n)).toISOString()}) is outside the accepted window`, {
        code: ErrorCode.VALIDATION_FAILED,
        context: { timestamp: ts.toString() },
      });
    }
  }

  private async deadLetter(m: ConsumedMessage, err: K2Error): Promise<void> {
    const topic = dlqTopic(m.topic);
    if (!this.dlqTopicsReady.has(topic)) {
      await ensureTopics(this.o.brokers, [{ topic }]);
      this.dlqTopicsReady.add(topic);
    }
    const record = deadLetterRecord({
      error: err,
      raw: m.value ?? null,
      service: 'iceberg-writer',
      source: { topic: m.topic, partition: m.partition, offset: m.offset },
    });
    this.o.logger.warn('record sent to dead-letter topic', { topic: m.topic, partition: m.partition, offset: m.offset, code: err.code, reason: err.message });
    // Awaited: the offset of this message is committed with the next snapshot, so its dead letter must be durable first.
    await this.o.dlqProducer.send({ topic, key: m.key, value: Buffer.from(JSON.stringify(record)) });
    this.metrics.dlq.inc({ topic, code: err.code });
  }

  private async maybeFlush(): Promise<void> {
    const now = Date.now();
    for (const t of this.tables.values()) this.metrics.buffered.set({ table: t.ident.name }, t.rows);
    if (this.failing && now < this.retryAt) return;
    for (const t of this.tables.values()) {
      if (this.failing ? t.hasWork() : t.due(now, this.o.commit)) await this.flushTable(t);
    }
    // Paused with nothing buffered (a revoke dropped the failed batch): no flush can succeed to resume us.
    if (this.failing && ![...this.tables.values()].some((t) => t.hasWork())) this.recovered();
  }

  private async flushTable(t: TableSink): Promise<void> {
    try {
      const r = await t.flush();
      if (r) {
        for (const [k, offset] of r.offsets) {
          const st = this.partitions.get(k);
          if (st && st.committed < offset) st.committed = offset;
        }
        this.commitToGroup(r.offsets);
        this.o.onCommit?.(t.ident.name, r);
        this.o.logger.info('iceberg commit', { table: t.ident.name, rows: r.written, duplicates: r.duplicates, files: r.files, bytes: r.bytes, snapshot: String(r.snapshotId ?? '') });
      }
      this.metrics.dedupIndexIds.set({ table: t.ident.name }, t.dedupIds);
      if (t.maxEventUs !== undefined) this.metrics.freshness.set({ table: t.ident.name }, Math.max(0, Date.now() / 1000 - Number(t.maxEventUs) / 1e6));
      if (this.failing) this.recovered();
    } catch (e) {
      const err = toK2Error(e);
      this.metrics.commitFailures.inc({ table: t.ident.name, code: err.code });
      if (!err.retriable && err.code !== ErrorCode.STORAGE_REJECTED && err.code !== ErrorCode.ICEBERG_NOT_FOUND) {
        this.o.logger.error('iceberg commit failed (not retriable); will keep retrying so no data is skipped', { table: t.ident.name, error: err.toJSON() });
      } else {
        this.o.logger.warn('iceberg commit failed; pausing consumption and retrying', { table: t.ident.name, error: err.toJSON(), retryInMs: this.commitBackoff.nominal() });
      }
      this.failed();
    }
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
      this.consumer?.commitAsync([...offsets].filter(([k]) => this.partitions.has(k)).map(([k, offset]) => ({ ...parseTpKey(k), offset })));
    } catch (e) {
      this.o.logger.warn('Kafka group offset commit failed after the Iceberg commit; the table holds the offsets, so nothing is lost or re-read', { error: toK2Error(e).toJSON() });
    }
  }

  private failed(): void {
    if (!this.failing) {
      this.failing = true;
      this.pausedTps = this.consumer?.assignments() ?? [];
      this.consumer?.pause(this.pausedTps);
      this.metrics.paused.set(1);
    }
    // Not a blocking retry(): the loop keeps polling the (paused) consumer meanwhile, or the group would evict us.
    this.retryAt = Date.now() + this.commitBackoff.next();
  }

  private recovered(): void {
    this.failing = false;
    this.commitBackoff.reset();
    this.consumer?.resume(this.pausedTps);
    this.pausedTps = [];
    this.metrics.paused.set(0);
    this.o.logger.info('storage recovered; consumption resumed');
  }

  private async updateLag(): Promise<void> {
    const now = Date.now();
    if (now - this.lastLagAt < 5000 || !this.consumer) return;
    this.lastLagAt = now;
    for (const [k, st] of this.partitions) {
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
