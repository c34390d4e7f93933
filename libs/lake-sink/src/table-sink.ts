import { ErrorCode, K2Error, type Logger } from '@k2/core';
import {
  applyTransform,
  avroToIcebergSchema,
  commitSnapshot,
  currentSchema,
  defaultSpec,
  partitionPathSegment,
  partitionType,
  type AvroField,
  type Catalog,
  type ColumnSource,
  type DataFile,
  type FileIO,
  type LoadedTable,
  type Long,
  type ParquetWriter,
  type Schema,
  type TableIdent,
  type TableUpdate,
  storeDataFile,
} from '@k2/iceberg';
import { DedupIndex } from './dedup';
import {
  marketTableLayout,
  MARKET_NAMESPACE,
  mergeOffsets,
  offsetsKey,
  serializeOffsets,
  TABLE_PROPERTIES,
  tableOffsets,
  toRow,
  type DecodedRecord,
  type OffsetMap,
} from '@k2/lake';
import type { SinkMetrics } from './metrics';

export interface BufferedRecord {
  rec: DecodedRecord;
  id: string;
  pkey: string;
  tp: string;
  offset: number;
  bytes: number;
  schemaId: number;
  eventUs: bigint | null;
  /** The partition incarnation (assignment) this record was consumed under; see dropStale. */
  owner: object;
}

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
  maxDedupIds?: number;
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
 * One Iceberg table's buffer and its commits. Records wait here until the sink decides to flush; a flush is one
 * snapshot carrying the rows (deduplicated against the table) and the Kafka offsets they came from.
 */
export class TableSink {
  private buf: BufferedRecord[] = [];
  /** Next offset per topic-partition consumed into this table, including records that went to the DLQ. */
  private consumed: OffsetMap = new Map();
  private readonly consumedOwner = new Map<string, object>();
  private firstAt: number | undefined;
  private bytes = 0;
  private readonly dedup: DedupIndex;
  private ensured: LoadedTable | undefined;
  maxEventUs: bigint | undefined;

  constructor(
    readonly kind: string,
    readonly ident: TableIdent,
    private readonly deps: TableSinkDeps,
  ) {
    this.dedup = new DedupIndex(deps.io, deps.parquet, deps.maxDedupIds);
  }

  get rows(): number {
    return this.buf.length;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  get dedupIds(): number {
    return this.dedup.size;
  }

  add(r: BufferedRecord, now = Date.now()): void {
    this.buf.push(r);
    this.bytes += r.bytes;
    this.firstAt ??= now;
    this.note(r.tp, r.offset + 1, r.owner, now);
  }

  /** A consumed message that produced no row here (dead-lettered): its offset still advances with the next commit. */
  note(tp: string, nextOffset: number, owner: object, now = Date.now()): void {
    if (this.consumedOwner.get(tp) !== owner) {
      this.consumed.delete(tp);
      this.consumedOwner.set(tp, owner);
    }
    if ((this.consumed.get(tp) ?? -1) < nextOffset) this.consumed.set(tp, nextOffset);
    this.firstAt ??= now;
  }

  hasWork(): boolean {
    return this.consumed.size > 0;
  }

  due(now: number, limits: { intervalMs: number; maxRows: number; maxBytes: number }): boolean {
    if (!this.hasWork()) return false;
    return this.buf.length >= limits.maxRows || this.bytes >= limits.maxBytes || now - (this.firstAt ?? now) >= limits.intervalMs;
  }

  /**
   * Forget buffered work consumed under an assignment that is no longer current: partitions revoked (their new
   * owner re-reads them from the table's offsets) or revoked and assigned back (we re-read them ourselves from
   * the table's offsets). Records of the current incarnation are kept, however late the revoke is processed.
   */
  dropStale(isCurrent: (tp: string, owner: object) => boolean): number {
    const before = this.buf.length;
    this.buf = this.buf.filter((r) => isCurrent(r.tp, r.owner));
    this.bytes = this.buf.reduce((s, r) => s + r.bytes, 0);
    for (const [tp, owner] of this.consumedOwner) {
      if (!isCurrent(tp, owner)) {
        this.consumed.delete(tp);
        this.consumedOwner.delete(tp);
      }
    }
    if (!this.hasWork()) this.firstAt = undefined;
    return before - this.buf.length;
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

  async flush(): Promise<FlushResult | null> {
    if (!this.hasWork()) return null;
    const batch = this.buf;
    const consumed = new Map(this.consumed);
    await this.ensureTable(batch[0]?.schemaId);
    const started = process.hrtime.bigint();
    let written: { key: string; files: DataFile[]; rows: BufferedRecord[] } | undefined;
    let duplicates = 0;
    let kept: BufferedRecord[] = [];
    const result = await commitSnapshot(
      this.deps.catalog,
      this.deps.io,
      this.ident,
      async (base) => {
        const tableOff = tableOffsets(base.metadata, this.deps.groupId);
        // Records below the table's offset were committed by another instance that owned the partition before.
        const fresh = batch.filter((r) => r.offset >= (tableOff.get(r.tp) ?? -1));
        await this.dedup.sync(base, new Set(fresh.map((r) => r.pkey)));
        const seen = new Set<string>();
        kept = [];
        for (const r of fresh) {
          if (seen.has(r.id) || this.dedup.has(r.pkey, r.id)) continue;
          seen.add(r.id);
          kept.push(r);
        }
        duplicates = batch.length - kept.length;
        const offsets = mergeOffsets(tableOff, consumed);
        const advanced = [...consumed].some(([tp, o]) => o > (tableOff.get(tp) ?? -1));
        if (kept.length === 0 && !advanced) return null;
        const { schema, sources, updates } = this.targetSchema(base, kept);
        const key = `${schema['schema-id']}:${kept.length}:${kept[0]?.id}:${kept[kept.length - 1]?.id}`;
        if (written && written.key !== key) {
          await Promise.all(written.files.map((f) => this.deps.io.delete(f['file-path']).catch(() => undefined)));
          written = undefined;
        }
        written ??= { key, files: await this.writeFiles(base, schema, sources, kept), rows: kept };
        let maxEvent: bigint | undefined;
        for (const r of kept) if (r.eventUs !== null && (maxEvent === undefined || r.eventUs > maxEvent)) maxEvent = r.eventUs;
        return {
          operation: 'append',
          added: written.files,
          schemaUpdates: updates,
          // The same map as a table property too: it survives snapshots without it being expired (tableOffsets).
          properties: { [offsetsKey(this.deps.groupId)]: serializeOffsets(offsets) },
          summary: {
            [offsetsKey(this.deps.groupId)]: serializeOffsets(offsets),
            'k2.writer-id': this.deps.writerId,
            ...(maxEvent !== undefined ? { 'k2.max-event-time-us': maxEvent.toString() } : {}),
            'k2.duplicates-dropped': String(duplicates),
          },
        };
      },
      { logger: this.deps.logger, onConflict: () => this.deps.metrics.casRetries.inc({ table: this.ident.name }) },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // Whatever happened, the batch is settled: committed now, or already in the table (null result).
    this.buf = this.buf.slice(batch.length);
    this.bytes = this.buf.reduce((s, r) => s + r.bytes, 0);
    for (const [tp, o] of consumed) {
      if (this.consumed.get(tp) === o) {
        this.consumed.delete(tp);
        this.consumedOwner.delete(tp);
      }
    }
    this.firstAt = this.hasWork() ? Date.now() : undefined;
    if (!result) return { offsets: consumed, written: 0, duplicates: batch.length, snapshotId: undefined, files: 0, bytes: 0, seconds, minEventUs: undefined, maxEventUs: undefined };
    this.ensured = result.table;
    const snap = result.snapshot;
    this.dedup.addCommitted(
      kept.map((r) => [r.pkey, r.id] as [string, string]),
      snap['snapshot-id'],
      snap['parent-snapshot-id'] ?? undefined,
    );
    let minEventUs: bigint | undefined;
    let maxEventUs: bigint | undefined;
    for (const r of kept) {
      if (r.eventUs === null) continue;
      if (minEventUs === undefined || r.eventUs < minEventUs) minEventUs = r.eventUs;
      if (maxEventUs === undefined || r.eventUs > maxEventUs) maxEventUs = r.eventUs;
    }
    if (maxEventUs !== undefined && (this.maxEventUs === undefined || maxEventUs > this.maxEventUs)) this.maxEventUs = maxEventUs;
    const files = written?.files ?? [];
    const bytes = files.reduce((s, f) => s + f['file-size-in-bytes'], 0);
    const m = this.deps.metrics;
    m.commitDuration.observe({ table: this.ident.name }, seconds);
    m.recordsWritten.inc({ table: this.ident.name }, kept.length);
    m.filesWritten.inc({ table: this.ident.name }, files.length);
    m.bytesWritten.inc({ table: this.ident.name }, bytes);
    if (duplicates) m.dedupDropped.inc({ table: this.ident.name }, duplicates);
    return { offsets: consumed, written: kept.length, duplicates, snapshotId: snap['snapshot-id'], files: files.length, bytes, seconds, minEventUs, maxEventUs };
  }

  /** Current table schema, evolved with any field a newer writer schema in the batch added. */
  private targetSchema(base: LoadedTable, rows: readonly BufferedRecord[]): { schema: Schema; sources: Map<number, ColumnSource>; updates: TableUpdate[] } {
    let schema = currentSchema(base.metadata);
    let last = base.metadata['last-column-id'];
    const sources = new Map<number, ColumnSource>();
    const nextSchemaId = Math.max(...base.metadata.schemas.map((s) => s['schema-id'])) + 1;
    let changed = false;
    for (const id of new Set(rows.map((r) => r.schemaId))) {
      const mapped = avroToIcebergSchema(this.deps.avroFields(id), schema, last);
      for (const [k, v] of mapped.sources) sources.set(k, v);
      if (mapped.changed) {
        changed = true;
        schema = { ...mapped.schema, 'schema-id': nextSchemaId };
        last = mapped.lastColumnId;
      }
    }
    if (!changed) return { schema, sources, updates: [] };
    this.deps.logger.info('evolving table schema: new columns from the registry schema', {
      table: this.ident.name,
      columns: schema.fields.filter((f) => f.id > base.metadata['last-column-id']).map((f) => f.name),
    });
    return {
      schema,
      sources,
      updates: [
        { action: 'add-schema', schema, 'last-column-id': last },
        { action: 'set-current-schema', 'schema-id': schema['schema-id'] },
      ],
    };
  }

  private async writeFiles(base: LoadedTable, schema: Schema, sources: Map<number, ColumnSource>, rows: readonly BufferedRecord[]): Promise<DataFile[]> {
    const spec = defaultSpec(base.metadata);
    const pt = partitionType(spec, schema);
    const groups = new Map<string, BufferedRecord[]>();
    for (const r of rows) {
      const g = groups.get(r.pkey);
      if (g) g.push(r);
      else groups.set(r.pkey, [r]);
    }
    const sortBy = ['symbol', 'timestamp'].filter((c) => schema.fields.some((f) => f.name === c));
    const files: DataFile[] = [];
    for (const group of groups.values()) {
      const partition: DataFile['partition'] = {};
      const segments: string[] = [];
      spec.fields.forEach((pf, i) => {
        const src = schema.fields.find((f) => f.id === pf['source-id'])!;
        const v = applyTransform(pf.transform, src.type, group[0].rec[src.name]);
        partition[pf.name] = v;
        segments.push(partitionPathSegment(pf, pt[i].type, v));
      });
      const local = await this.deps.parquet.write(
        schema,
        group.map((r) => toRow(r.rec, schema, sources)),
        sortBy,
      );
      files.push(await storeDataFile(this.deps.io, base.metadata, partition, segments, local));
    }
    return files;
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
