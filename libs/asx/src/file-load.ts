import { ErrorCode, toK2Error, ValidationError, type K2Error, type Logger } from '@k2/core';
import { deadLetterRecord, dlqTopic, type KafkaBrokers } from '@k2/kafka';
import { messageId, nowMicros, v2Type, type RecordKind } from '@k2/schema';
import type { AvroSerde } from '@k2/serde';
import type { CheckpointStore, FileCheckpoint, FileCounts } from './checkpoint';
import { AsxRowError, type RejectReason } from './errors';
import { readLines } from './lines';
import { ASX_EXCHANGE, createMapper, recordKindOf, type CompanyInfo, type RowMapper } from './mappers';
import type { AsxMetrics } from './metrics';
import { AckBatch, type BatchProducer } from './producer';
import type { RejectFile, RejectRecord } from './rejects';
import { scanFrom, type ScanStart } from './scan';
import type { AsxSource } from './sources';
import type { ExchangeClock } from './time';
import type { FileSummary, KindCounts, LoadStatus } from './loader';

const DEFAULT_MAX_IN_FLIGHT = 100_000;

/** Where good rows of one kind go. */
export interface KafkaTarget {
  producer: BatchProducer;
  serde: AvroSerde;
  schemaId: number;
}

/** Totals of one load (this run only), summed over its files. */
export interface RunTotals {
  read: number;
  produced: number;
  rejected: number;
  already: number;
  noRecord: number;
  byReason: Partial<Record<RejectReason, number>>;
  perSymbol: Record<string, Partial<Record<RecordKind, KindCounts>>>;
  /** Why the load stops before its end; set by any file, read by the run between files. */
  stopReason: LoadStatus | undefined;
  /** Stored (possibly compressed) bytes read so far, for progress. */
  storedBytes: number;
}

/** What a file load shares with the run that owns it. */
export interface FileLoadRun {
  log: Logger;
  metrics: AsxMetrics | undefined;
  checkpoints: CheckpointStore;
  rejects: RejectFile;
  rejectPath: string;
  totals: RunTotals;
  clock: ExchangeClock;
  currency: string;
  topics: Record<RecordKind, string>;
  brokers: KafkaBrokers;
  dryRun: boolean;
  maxErrors: number | undefined;
  maxInFlight: number | undefined;
  checkpointIntervalMs: number | undefined;
  signal: AbortSignal | undefined;
  companies: Map<string, CompanyInfo>;
  /** undefined in a dry run: good rows are only encoded locally. */
  kafka(kind: RecordKind): KafkaTarget | undefined;
  /** Cached message key of a symbol. */
  key(symbol: string): Buffer;
}

export type FileLoadResult = Omit<FileSummary, 'symbol'> & { error?: K2Error };

interface PendingBatch {
  batch: AckBatch;
  line: number;
  offset: number;
  rejectBytes: number;
  counts: FileCounts;
  /** Data rows in the batch per symbol (reference files); trades/quotes use the file symbol. */
  rows: number;
  bySymbol: Map<string, number> | undefined;
}

/**
 * Loads one file: opens (or resumes) its checkpoint, reads it line by line, maps and validates each row, produces
 * the good ones in batches with backpressure, dead-letters the bad ones, and moves the checkpoint only over batches
 * Kafka acknowledged (see AsxLoader for the no-loss/no-duplicate contract). One instance per file, used once.
 */
export class FileLoad {
  private readonly kind: RecordKind;
  private readonly topic: string;
  private readonly dlq: string;
  private readonly dry: boolean;
  private readonly mapper: RowMapper<Record<string, unknown>>;
  private readonly log: Logger;
  private readonly kafka: KafkaTarget | undefined;
  private readonly localType: ReturnType<typeof v2Type>;
  private readonly fileSymbol: string | null;
  private readonly fileKey: Buffer | undefined;
  private readonly skipIds = new Set<string>();
  private readonly pending: PendingBatch[] = [];
  /** What is on disk (or would be, in a dry run). */
  private cp!: FileCheckpoint;
  private counts!: FileCounts;
  private resumedFromLine = 0;
  private lastSave = Date.now();
  private acked = 0;
  private readReported = 0;
  private line = 0;
  private offset = 0;
  private batch = new AckBatch();
  private rows = 0;
  private bySymbol: Map<string, number> | undefined;
  private failure: K2Error | undefined;

  constructor(
    private readonly run: FileLoadRun,
    private readonly source: AsxSource,
    private readonly fp: string,
    private readonly resumeFrom: FileCheckpoint | undefined,
  ) {
    this.kind = recordKindOf(source.kind);
    this.topic = run.topics[this.kind];
    this.dlq = dlqTopic(this.topic);
    this.dry = run.dryRun;
    this.mapper = createMapper(source.kind, {
      identity: source.identity,
      currency: run.currency,
      clock: run.clock,
      company: source.companyId ? run.companies.get(source.companyId) : undefined,
      companies: run.companies,
    }) as unknown as RowMapper<Record<string, unknown>>;
    this.log = run.log.child({ file: source.location, identity: source.identity, topic: this.topic });
    this.kafka = this.dry ? undefined : run.kafka(this.kind);
    this.localType = v2Type(this.kind);
    this.fileSymbol = this.mapper.symbol;
    this.fileKey = this.fileSymbol ? run.key(this.fileSymbol) : undefined;
    this.bySymbol = this.kind === 'reference' ? new Map() : undefined;
  }

  /** Runs every step; problems with the file end in the result, not in a throw. */
  async load(): Promise<FileLoadResult> {
    await this.openCheckpoint();
    const readBefore = this.run.totals.read;
    await this.readRows();
    await this.drain();
    // Reference files list several companies; their reads and rejects are summed under one pseudo symbol.
    this.symbolCounts(this.fileSymbol ?? '(reference)').read += this.run.totals.read - readBefore;
    return this.finish();
  }

  /** Step 1: resume from the checkpoint (collecting what a killed run already sent) or write a fresh one. */
  private async openCheckpoint(): Promise<void> {
    const { kafka, topic, dlq } = this;
    if (this.resumeFrom) {
      this.cp = this.resumeFrom;
      if (kafka) await collectAlreadySent(this.run.brokers, kafka.serde, this.cp, topic, dlq, this.skipIds, this.log);
      this.log.info('resuming file', { afterLine: this.cp.line, offset: this.cp.offset, alreadyInKafkaAfterCheckpoint: this.skipIds.size });
    } else {
      const scan: Record<string, Record<string, number>> = {};
      if (kafka) {
        for (const t of [topic, dlq]) {
          const marks = await kafka.producer.highWatermarks(t);
          scan[t] = Object.fromEntries(marks.map((m, p) => [String(p), m]));
        }
      }
      this.cp = {
        version: 1,
        identity: this.source.identity,
        location: this.source.location,
        fingerprint: this.fp,
        topic,
        dlqTopic: dlq,
        line: 0,
        offset: 0,
        done: false,
        scanFrom: scan,
        rejectFile: this.run.rejectPath,
        rejectBytes: this.run.rejects.flush(),
        counts: { read: 0, produced: 0, rejected: 0, alreadyInKafka: 0 },
        updatedAt: '',
      };
      // Written before the first message goes out, so a kill at any later instant leaves a scan start behind.
      if (!this.dry) this.run.checkpoints.save(this.cp);
    }
    this.cp.location = this.source.location;
    this.resumedFromLine = this.cp.line;
    this.counts = { ...this.cp.counts };
    this.acked = this.cp.counts.produced;
    this.line = this.cp.line;
    this.offset = this.cp.offset;
  }

  /** Step 2: stream the file from the checkpoint offset; each line goes through `row`, each chunk ends in `afterChunk`. */
  private async readRows(): Promise<void> {
    const { source, cp, run } = this;
    this.mapper.ingestionTimestamp = nowMicros();
    if (!source.gzip) run.totals.storedBytes += cp.offset;
    const stream = source.open(cp.offset, (n) => (run.totals.storedBytes += n));
    try {
      await readLines(stream, (text, lineNo, endOffset, overlong) => this.row(text, lineNo, endOffset, overlong), {
        firstLine: cp.line + 1,
        startOffset: cp.offset,
        afterChunk: () => this.afterChunk(),
      });
    } catch (err) {
      this.failure ??= toK2Error(err);
      this.log.error('reading the file failed', { error: this.failure.toJSON() });
    }
  }

  /** Step 3: one line — map and validate, then skip (already in Kafka), encode (dry run) or produce; bad rows are rejected. */
  private row(text: string, lineNo: number, endOffset: number, overlong: boolean): boolean {
    const t = this.run.totals;
    if (t.stopReason || this.failure) return false;
    this.counts.read++;
    t.read++;
    if (text.length === 0 && !overlong) {
      t.noRecord++;
    } else {
      try {
        if (overlong) throw new AsxRowError('LINE_TOO_LONG', undefined, `line is longer than ${text.length} bytes`);
        const rec = this.mapper.map(text, lineNo);
        if (rec === null) {
          t.noRecord++;
        } else if (this.skipIds.size > 0 && this.skipIds.has(this.mapper.idOf(rec))) {
          this.counts.alreadyInKafka++;
          t.already++;
        } else if (!this.kafka) {
          this.localType.toBuffer(rec);
        } else {
          this.produce(this.kafka, rec);
        }
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        this.deadLetter(text, lineNo, err);
      }
    }
    this.line = lineNo;
    this.offset = endOffset;
    return !t.stopReason;
  }

  /** Step 4: encode and send a good row into the open batch. */
  private produce(kafka: KafkaTarget, rec: Record<string, unknown>): void {
    const value = kafka.serde.encode(kafka.schemaId, rec);
    const sym = this.fileSymbol ?? this.mapper.keyOf(rec);
    kafka.producer.send(this.topic, this.fileKey ?? this.run.key(sym), value, this.batch);
    this.rows++;
    if (this.bySymbol) this.bySymbol.set(sym, (this.bySymbol.get(sym) ?? 0) + 1);
  }

  /** Step 5: a bad row goes to the reject file and (unless a killed run already sent it) the DLQ, and is counted. */
  private deadLetter(text: string, lineNo: number, err: ValidationError): void {
    const { source, kind, fileSymbol, run } = this;
    const t = run.totals;
    const rec = rejectRecord(source, kind, fileSymbol, this.topic, text, lineNo, err);
    const reason = rec.reason;
    run.rejects.append(rec);
    this.counts.rejected++;
    t.rejected++;
    t.byReason[reason] = (t.byReason[reason] ?? 0) + 1;
    this.symbolCounts(fileSymbol ?? '(reference)').rejected++;
    run.metrics?.rowsRejected.labels({ kind, reason }).inc();
    if (this.kafka) {
      if (this.skipIds.has(rec.message_id)) {
        this.counts.alreadyInKafka++;
        t.already++;
      } else {
        this.kafka.producer.send(this.dlq, run.key(fileSymbol ?? source.companyId ?? source.identity), Buffer.from(JSON.stringify(rec), 'utf8'), this.batch);
        run.metrics?.dlq.labels({ topic: this.dlq, code: reason }).inc();
      }
    }
    if (run.maxErrors !== undefined && t.rejected > run.maxErrors) t.stopReason ??= 'max_errors_exceeded';
  }

  /** After each chunk: seal the batch, commit what is acknowledged, and wait while too much is in flight. */
  private async afterChunk(): Promise<void> {
    const { run, kafka } = this;
    this.mapper.ingestionTimestamp = nowMicros();
    if (run.signal?.aborted) run.totals.stopReason ??= 'interrupted';
    this.seal();
    this.commitAcked(false);
    this.reportRead();
    const maxInFlight = run.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (kafka && kafka.producer.inFlight > maxInFlight) await kafka.producer.waitInFlightAtMost(maxInFlight / 2);
    if (kafka?.producer.fatalError) this.failure ??= kafka.producer.fatalError;
  }

  private seal(): void {
    // An empty batch still moves the checkpoint when lines were read (all rejected, or already in Kafka).
    if (this.batch.sent === 0 && this.line === (this.pending.at(-1)?.line ?? this.cp.line)) return;
    this.batch.seal();
    this.pending.push({
      batch: this.batch,
      line: this.line,
      offset: this.offset,
      rejectBytes: this.run.rejects.flush(),
      counts: { ...this.counts },
      rows: this.rows,
      bySymbol: this.bySymbol,
    });
    this.batch = new AckBatch();
    this.rows = 0;
    this.bySymbol = this.kind === 'reference' ? new Map() : undefined;
  }

  /** Step 6: move the checkpoint over the settled batches at the head of the queue, stopping at a failed one. */
  private commitAcked(force: boolean): void {
    const { pending, cp, run } = this;
    for (let p = pending[0]; p?.batch.settled; p = pending[0]) {
      pending.shift();
      if (p.batch.error) {
        this.failure ??= p.batch.error;
        // Nothing after a failed batch may be checkpointed: the rows it lost would be skipped on resume.
        pending.length = 0;
        break;
      }
      for (const [t, parts] of p.batch.offsets) {
        const m = (cp.scanFrom[t] ??= {});
        parts.forEach((off, part) => {
          if (off !== undefined && off + 1 > (m[String(part)] ?? 0)) m[String(part)] = off + 1;
        });
      }
      this.acked += p.rows;
      cp.line = p.line;
      cp.offset = p.offset;
      cp.rejectFile = run.rejectPath;
      cp.rejectBytes = p.rejectBytes;
      cp.counts = { ...p.counts, produced: this.acked };
      this.countProduced(p);
    }
    if (!this.dry && !this.failure && (force || Date.now() - this.lastSave >= (run.checkpointIntervalMs ?? 1000))) {
      run.checkpoints.save(cp);
      this.lastSave = Date.now();
    }
  }

  private countProduced(p: PendingBatch): void {
    const { kind, fileSymbol, run } = this;
    run.totals.produced += p.rows;
    if (fileSymbol) {
      this.symbolCounts(fileSymbol).produced += p.rows;
      if (p.rows) run.metrics?.rowsProduced.labels({ kind, symbol: fileSymbol }).inc(p.rows);
    } else if (p.bySymbol) {
      for (const [sym, n] of p.bySymbol) {
        this.symbolCounts(sym).produced += n;
        run.metrics?.rowsProduced.labels({ kind, symbol: sym }).inc(n);
      }
    }
  }

  /** End of input: seal the last batch, wait for every delivery report, commit. */
  private async drain(): Promise<void> {
    this.seal();
    for (const p of [...this.pending]) await p.batch.whenSettled();
    this.commitAcked(true);
    this.reportRead();
  }

  private reportRead(): void {
    this.run.metrics?.rowsRead.labels({ kind: this.kind }).inc(this.counts.read - this.readReported);
    this.readReported = this.counts.read;
  }

  /** Step 7: mark the file done when it was read to its end without failure, log and summarise it. */
  private finish(): FileLoadResult {
    const { cp, counts, dry, failure, source } = this;
    const stopReason = this.run.totals.stopReason;
    const complete = !failure && !stopReason;
    if (complete && !dry) {
      cp.done = true;
      this.run.checkpoints.save(cp);
    }
    if (failure) this.log.error('file load failed', { error: failure.toJSON(), checkpointLine: cp.line });
    else this.log.info(complete ? 'file loaded' : 'file load stopped', { ...cp.counts, ...(dry ? counts : {}), resumedFromLine: this.resumedFromLine, lastLine: cp.line, reason: stopReason });
    return {
      identity: source.identity,
      location: source.location,
      kind: source.kind,
      outcome: failure ? 'failed' : complete ? 'loaded' : 'partial',
      resumedFromLine: this.resumedFromLine,
      counts: dry ? counts : cp.counts,
      ...(failure ? { error: failure } : {}),
    };
  }

  private symbolCounts(sym: string): KindCounts {
    const s = (this.run.totals.perSymbol[sym] ??= {});
    return (s[this.kind] ??= { read: 0, produced: 0, rejected: 0 });
  }
}

/** The reject-file (and DLQ) record of a bad row. */
function rejectRecord(source: AsxSource, kind: RecordKind, fileSymbol: string | null, topic: string, text: string, lineNo: number, err: ValidationError): RejectRecord & { reason: RejectReason } {
  const reason: RejectReason = err instanceof AsxRowError ? err.reason : err.code === ErrorCode.SERDE_FAILED ? 'ENCODE_FAILED' : 'BAD_FIELD';
  const field = err instanceof AsxRowError ? (err.field ?? null) : null;
  const sourceId = `${source.companyId ?? ''}:${source.identity}:${lineNo}`;
  return {
    ...deadLetterRecord({ error: err, raw: text, reason, service: 'asx-batch-loader', exchange: ASX_EXCHANGE }),
    ...(reason === 'LINE_TOO_LONG' ? { raw_truncated: 'true' as const } : {}),
    message_id: messageId(ASX_EXCHANGE, fileSymbol ?? '', sourceId, 'reject'),
    source: 'asx-batch-loader',
    exchange: ASX_EXCHANGE,
    kind,
    symbol: fileSymbol,
    company_id: source.companyId,
    topic,
    file: source.location,
    source_identity: source.identity,
    line: lineNo,
    raw: text,
    reason,
    error_code: err.code,
    field,
    message: err.message,
    rejected_at: new Date().toISOString(),
  };
}

/** Message ids a killed run sent after the checkpoint: rows to count as produced but not send again. */
async function collectAlreadySent(brokers: KafkaBrokers, serde: AvroSerde, cp: FileCheckpoint, topic: string, dlq: string, into: Set<string>, log: Logger): Promise<void> {
  const starts: ScanStart[] = [];
  for (const [t, parts] of Object.entries(cp.scanFrom)) {
    if (t !== topic && t !== dlq) continue;
    for (const [p, offset] of Object.entries(parts)) starts.push({ topic: t, partition: Number(p), offset });
  }
  const values: Buffer[] = [];
  const dlqValues: Buffer[] = [];
  const n = await scanFrom(brokers, starts, (t, v) => {
    if (v) (t === dlq ? dlqValues : values).push(v);
  });
  for (const v of values) {
    const rec = await serde.decode<{ message_id?: string }>(v);
    if (rec.message_id) into.add(rec.message_id);
  }
  for (const v of dlqValues) {
    try {
      const rec = JSON.parse(v.toString('utf8')) as { message_id?: string };
      if (rec.message_id) into.add(rec.message_id);
    } catch {
      // Not one of ours (another producer's DLQ format); it cannot collide with our ids.
    }
  }
  log.info('resume scan done', { messagesScanned: n, idsFound: into.size });
}
