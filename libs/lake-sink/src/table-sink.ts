import { ErrorCode, K2Error, type Logger } from '@k2/core';
import {
  avroToIcebergSchema,
  type Long,
  commitSnapshot,
  evolveSchema,
  writeDataFiles,
  type AvroField,
  type Catalog,
  type EvolvedSchema,
  type FileIO,
  type LoadedTable,
  type ParquetWriter,
  type TableIdent,
} from '@k2/iceberg';
import { Batch, type BatchRecord } from './batch';
import { DedupIndex } from './dedup';
import { Prepared } from './prepared';
import {
  marketTableLayout,
  MARKET_NAMESPACE,
  mergeOffsets,
  offsetsKey,
  serializeOffsets,
  TABLE_PROPERTIES,
  tableOffsets,
  AvroCsvTranscoder,
  CsvLineEncoder,
  type OffsetMap,
} from '@k2/lake';
import type { SinkMetrics } from './metrics';

/** Data files are sorted by symbol, then time: narrow row-group statistics for the typical one-symbol read. */
const SORT_BY = ['symbol', 'timestamp'];

export interface TableSinkDeps {
  catalog: Catalog;
  io: FileIO;
  parquet: ParquetWriter;
  groupId: string;
  writerId: string;
  logger: Logger;
  metrics: SinkMetrics;
  /** Fields of a registry schema id (the record's writer schema). */
  avroFields: (schemaId: number) => readonly AvroField[];
  /** Memory for this table's dedup filters (DedupIndex). */
  dedupBytes?: number;
}

export interface FlushResult {
  /** Next offsets now durable in the table, for the advisory Kafka commit. */
  offsets: OffsetMap;
  written: number;
  duplicates: number;
  snapshotId: Long | undefined;
  files: number;
  bytes: number;
  /** Wall time of the flush (Parquet + uploads + snapshot + catalog swap, retries included). */
  seconds: number;
  /** Oldest and newest event time among the rows written. */
  minEventUs: bigint | undefined;
  maxEventUs: bigint | undefined;
}

/**
 * One Iceberg table's buffer and its commits. Records wait in the current batch until the sink decides to flush;
 * a flush swaps the batch out and commits it as one snapshot carrying the rows (deduplicated against the table) and
 * the Kafka offsets they came from, while consumption goes on into a fresh batch. At most one flush per table is in
 * flight, so snapshots — and the offsets in their summaries — stay in consumption order; a failed flush puts its
 * batch back in front of the current one.
 */
export class TableSink {
  private cur = new Batch();
  private inflight: { batch: Batch; done: Promise<FlushResult | null> } | undefined;
  private readonly dedup: DedupIndex;
  private readonly encoders = new Map<number, CsvLineEncoder>();
  private readonly transcoders = new Map<number, AvroCsvTranscoder | undefined>();
  private ensured: LoadedTable | undefined;
  maxEventUs: bigint | undefined;

  constructor(
    readonly kind: string,
    readonly ident: TableIdent,
    private readonly deps: TableSinkDeps,
  ) {
    this.dedup = new DedupIndex(deps.io, deps.parquet, deps.dedupBytes);
  }

  /** Rows buffered, the in-flight flush's included. */
  get rows(): number {
    return this.cur.rows + (this.inflight?.batch.rows ?? 0);
  }

  /** Estimated heap bytes of the buffered rows, the in-flight flush's included (the memory budget's buffer share). */
  get bufferedBytes(): number {
    return this.cur.bytes + (this.inflight?.batch.bytes ?? 0);
  }

  get dedupIds(): number {
    return this.dedup.size;
  }

  get dedupBytes(): number {
    return this.dedup.bytes;
  }

  get flushing(): boolean {
    return this.inflight !== undefined;
  }

  /** The Avro → CSV transcoder of a writer schema (undefined: a type it does not support; decode with avsc). */
  transcoder(schemaId: number): AvroCsvTranscoder | undefined {
    if (!this.transcoders.has(schemaId)) this.transcoders.set(schemaId, AvroCsvTranscoder.forFields(this.deps.avroFields(schemaId)));
    return this.transcoders.get(schemaId);
  }

  /** The CSV line encoder of a writer schema. */
  encoder(schemaId: number): CsvLineEncoder {
    let e = this.encoders.get(schemaId);
    if (!e) this.encoders.set(schemaId, (e = new CsvLineEncoder(this.deps.avroFields(schemaId))));
    return e;
  }

  add(r: BatchRecord, now = Date.now()): void {
    this.cur.add(r, now);
  }

  /** A consumed message that produced no row here (dead-lettered): its offset still advances with the next commit. */
  note(tp: string, nextOffset: number, owner: object, now = Date.now()): void {
    this.cur.note(tp, nextOffset, owner, now);
  }

  hasWork(): boolean {
    return this.cur.hasWork();
  }

  /** What the commit scheduler looks at (the current batch; the in-flight one is already committing). */
  work(): { hasWork: boolean; rows: number; bytes: number; firstAt: number | undefined } {
    return { hasWork: this.cur.hasWork(), rows: this.cur.rows, bytes: this.cur.bytes, firstAt: this.cur.firstAt };
  }

  /** See Batch.dropStale. An in-flight batch is left alone: its commit re-checks the table's offsets (ADR 0008). */
  dropStale(isCurrent: (tp: string, owner: object) => boolean): number {
    return this.cur.dropStale(isCurrent);
  }

  /** Resume position of each partition from the table (empty when the table does not exist yet). */
  async committedOffsets(): Promise<OffsetMap> {
    try {
      const t = await this.deps.catalog.loadTable(this.ident);
      return tableOffsets(t.metadata, this.deps.groupId);
    } catch (e) {
      if (e instanceof K2Error && e.code === ErrorCode.ICEBERG_NOT_FOUND) return new Map();
      throw e;
    }
  }

  /**
   * Swaps the current batch out and starts committing it; resolves when it is durable (or settles with the error;
   * then the batch is back in front of the current one). Undefined when a flush is already in flight or there is
   * nothing to commit.
   */
  startFlush(): Promise<FlushResult | null> | undefined {
    if (this.inflight || !this.cur.hasWork()) return undefined;
    const batch = this.cur;
    this.cur = new Batch();
    const done = this.commit(batch).then(
      (r) => {
        this.inflight = undefined;
        return r;
      },
      (e: unknown) => {
        this.inflight = undefined;
        this.cur = batch.absorb(this.cur);
        throw e;
      },
    );
    this.inflight = { batch, done };
    return done;
  }

  /** The in-flight flush, if any (settles, never rejects). */
  async settled(): Promise<void> {
    await this.inflight?.done.catch(() => undefined);
  }

  /** Flush now and wait: the in-flight flush first, then the current batch (tests, shutdown). */
  async flush(): Promise<FlushResult | null> {
    await this.settled();
    return (await this.startFlush()) ?? null;
  }

  private async commit(batch: Batch): Promise<FlushResult | null> {
    const first = batch.groups.values().next().value;
    await this.ensureTable(first?.schemaId);
    const started = process.hrtime.bigint();
    const prepared = new Prepared(batch, (id) => this.encoder(id).columns);
    const result = await commitSnapshot(
      this.deps.catalog,
      this.deps.io,
      this.ident,
      async (base) => {
        const tableOff = tableOffsets(base.metadata, this.deps.groupId);
        await prepared.select(base, tableOff, this.dedup);
        const offsets = mergeOffsets(tableOff, batch.consumed);
        const advanced = [...batch.consumed].some(([tp, o]) => o > (tableOff.get(tp) ?? -1));
        if (prepared.kept === 0 && !advanced) return null;
        const evolved = this.targetSchema(base, prepared.schemaIds());
        const files = await prepared.files(
          evolved.schema,
          (groups) => writeDataFiles(this.deps.io, this.deps.parquet, base.metadata, evolved.schema, groups, { sortBy: SORT_BY }),
          async (paths) => void (await Promise.all(paths.map((f) => this.deps.io.delete(f).catch(() => undefined)))),
        );
        return {
          operation: 'append',
          added: files,
          schemaUpdates: evolved.updates,
          // The same map as a table property too: it survives snapshots without it being expired (tableOffsets).
          properties: { [offsetsKey(this.deps.groupId)]: serializeOffsets(offsets) },
          summary: {
            [offsetsKey(this.deps.groupId)]: serializeOffsets(offsets),
            'k2.writer-id': this.deps.writerId,
            ...(prepared.maxEventUs !== undefined ? { 'k2.max-event-time-us': prepared.maxEventUs.toString() } : {}),
            'k2.duplicates-dropped': String(prepared.duplicates),
          },
        };
      },
      { logger: this.deps.logger, onConflict: () => this.deps.metrics.casRetries.inc({ table: this.ident.name }) },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!result) return { offsets: batch.consumed, written: 0, duplicates: batch.rows, snapshotId: undefined, files: 0, bytes: 0, seconds, minEventUs: undefined, maxEventUs: undefined };
    this.ensured = result.table;
    const snap = result.snapshot;
    this.dedup.addCommitted(prepared.keptIds(), prepared.written ?? [], snap['snapshot-id'], snap['parent-snapshot-id'] ?? undefined);
    const { minEventUs, maxEventUs } = prepared;
    if (maxEventUs !== undefined && (this.maxEventUs === undefined || maxEventUs > this.maxEventUs)) this.maxEventUs = maxEventUs;
    const files = prepared.written ?? [];
    const bytes = files.reduce((s, f) => s + f['file-size-in-bytes'], 0);
    const m = this.deps.metrics;
    m.commitDuration.observe({ table: this.ident.name }, seconds);
    m.recordsWritten.inc({ table: this.ident.name }, prepared.kept);
    m.filesWritten.inc({ table: this.ident.name }, files.length);
    m.bytesWritten.inc({ table: this.ident.name }, bytes);
    if (prepared.duplicates) m.dedupDropped.inc({ table: this.ident.name }, prepared.duplicates);
    return { offsets: batch.consumed, written: prepared.kept, duplicates: prepared.duplicates, snapshotId: snap['snapshot-id'], files: files.length, bytes, seconds, minEventUs, maxEventUs };
  }

  /** Current table schema, evolved with any field a newer writer schema in the batch added. */
  private targetSchema(base: LoadedTable, schemaIds: Iterable<number>): EvolvedSchema {
    const evolved = evolveSchema(base.metadata, [...schemaIds].map((id) => this.deps.avroFields(id)));
    if (evolved.added.length) this.deps.logger.info('evolving table schema: new columns from the registry schema', { table: this.ident.name, columns: evolved.added });
    return evolved;
  }

  /** Namespace and table exist (created from the first record's writer schema when missing). */
  async ensureTable(schemaId: number | undefined): Promise<LoadedTable> {
    if (this.ensured) return this.ensured;
    const { catalog } = this.deps;
    try {
      this.ensured = await catalog.loadTable(this.ident);
      return this.ensured;
    } catch (e) {
      if (!(e instanceof K2Error && e.code === ErrorCode.ICEBERG_NOT_FOUND) || schemaId === undefined) throw e;
    }
    await catalog.createNamespace(this.ident.namespace.length ? this.ident.namespace : MARKET_NAMESPACE);
    const { schema } = avroToIcebergSchema(this.deps.avroFields(schemaId));
    try {
      this.ensured = await catalog.createTable(this.ident, { schema, ...marketTableLayout(schema), properties: TABLE_PROPERTIES });
      this.deps.logger.info('created iceberg table', { table: this.ident.name, location: this.ensured.metadata.location });
    } catch (e) {
      if (!(e instanceof K2Error && e.code === ErrorCode.ICEBERG_COMMIT_CONFLICT)) throw e;
      this.ensured = await catalog.loadTable(this.ident);
    }
    return this.ensured;
  }
}
