import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Registry } from 'prom-client';
import { ErrorCode, toK2Error, ValidationError, type K2Error, type Logger } from '@k2/core';
import { deadLetterRecord, dlqTopic, ensureTopics, topicName, type KafkaBrokers } from '@k2/kafka';
import { messageId, nowMicros, v2Type, type RecordKind } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import type { S3Config } from '@k2/storage';
import { CheckpointStore, type FileCheckpoint, type FileCounts } from './checkpoint';
import { AsxInputError, AsxRowError, type RejectReason } from './errors';
import { readLines } from './lines';
import { ASX_EXCHANGE, createMapper, DEFAULT_CURRENCY, parseCompanyInfo, recordKindOf, type CompanyInfo, type RowMapper } from './mappers';
import { AsxMetrics } from './metrics';
import { AckBatch, BatchProducer } from './producer';
import { ProgressReporter } from './progress';
import { RejectFile, type RejectRecord } from './rejects';
import { scanFrom, type ScanStart } from './scan';
import { companyInfoSource, findCompanyInfo, fingerprint, readText, resolveSources, type AsxInputSpec, type AsxSource } from './sources';
import { ExchangeClock } from './time';

export interface AsxLoadOptions {
  input: AsxInputSpec;
  /** Comma-separated bootstrap servers, or servers plus librdkafka security properties. */
  brokers: KafkaBrokers;
  registryUrl: string;
  /** Registry basic auth and CA (`schemaRegistryOptions`). */
  registryAuth?: { username?: string; password?: string; ca?: string };
  logger: Logger;
  s3?: S3Config;
  s3Client?: S3Client;
  /** Trading currency of prices and instruments (default AUD). */
  currency?: string;
  /** company_info.csv location when the input does not contain or sit next to it. */
  companyInfo?: string;
  /** company id -> symbol, overriding or completing company_info. */
  symbols?: Readonly<Record<string, string>>;
  /** Prefix of source identities (see AsxSource.identity). */
  sourceTag?: string;
  checkpointDir: string;
  /** Default `<checkpointDir>/rejects.jsonl` (`rejects.dry-run.jsonl` in a dry run). */
  rejectFile?: string;
  /** Abort (non-zero exit) once more rows than this were rejected in this run. Unlimited when undefined. */
  maxErrors?: number;
  /** Parse, map and encode everything, write the reject file, produce nothing, keep no checkpoints. */
  dryRun?: boolean;
  /** Exchange segment of the topic names (`market.equities.<kind>.<topicExchange>`); tests and the bench use their own. */
  topicExchange?: string;
  registry?: Registry;
  /** false: no progress output; otherwise a bar on a TTY and a periodic log line elsewhere. */
  progress?: false | { tty?: boolean; stream?: NodeJS.WritableStream; logIntervalMs?: number };
  signal?: AbortSignal;
  clientId?: string;
  /** Most messages waiting for acknowledgement before reading pauses. */
  maxInFlight?: number;
  /** Least time between two checkpoint writes of a file (always written at its end). */
  checkpointIntervalMs?: number;
}

export type LoadStatus = 'completed' | 'max_errors_exceeded' | 'interrupted' | 'failed';

export interface KindCounts {
  read: number;
  produced: number;
  rejected: number;
}

export interface FileSummary {
  identity: string;
  location: string;
  kind: string;
  symbol: string | null;
  outcome: 'loaded' | 'skipped' | 'partial' | 'failed';
  resumedFromLine: number;
  counts: FileCounts;
}

export interface LoadSummary {
  status: LoadStatus;
  exitCode: number;
  dryRun: boolean;
  rowsRead: number;
  rowsProduced: number;
  rowsRejected: number;
  rowsAlreadyInKafka: number;
  /** Blank lines, headers and "no records" placeholders: read, but no record and no rejection. */
  linesWithoutRecord: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  perSymbol: Record<string, Partial<Record<RecordKind, KindCounts>>>;
  files: FileSummary[];
  elapsedMs: number;
  rowsPerSecond: number;
  rejectFile: string;
  topics: Record<RecordKind, string>;
  error?: Record<string, unknown>;
}

/** Exit codes of a load: 0 only when every good row was acknowledged by Kafka. */
export const EXIT_CODES: Record<LoadStatus, number> = { completed: 0, failed: 1, interrupted: 1, max_errors_exceeded: 2 };

const DEFAULT_MAX_IN_FLIGHT = 100_000;

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
 * Loads ASX trades, quotes and reference data into the V2 topics. One file at a time, streamed line by line,
 * produced in batches with delivery reports; per-file checkpoints advance only over acknowledged batches. Bad rows
 * go to `<topic>.dlq` and the reject file and are counted; nothing about a row can stop the load except
 * `maxErrors`. A run that resumes a file first reads what a killed run sent after its checkpoint and skips those
 * message ids, so a kill at any point leaves no row missing and none twice in Kafka.
 */
export class AsxLoader {
  private readonly log: Logger;
  private readonly metrics: AsxMetrics | undefined;
  private readonly clock = new ExchangeClock();
  private readonly checkpoints: CheckpointStore;
  private readonly rejectPath: string;
  private readonly topics: Record<RecordKind, string>;
  private readonly currency: string;
  private producer: BatchProducer | undefined;
  private serde: AvroSerde | undefined;
  private readonly schemaIds = new Map<RecordKind, number>();
  private rejects: RejectFile | undefined;
  private stopReason: LoadStatus | undefined;
  private ran = false;
  private readonly keys = new Map<string, Buffer>();
  // Run totals (this run only).
  private storedBytes = 0;
  private totalBytes = 0;
  private currentFile: string | undefined;
  private readonly t = {
    read: 0,
    produced: 0,
    rejected: 0,
    already: 0,
    noRecord: 0,
    byReason: {} as Partial<Record<RejectReason, number>>,
    perSymbol: {} as Record<string, Partial<Record<RecordKind, KindCounts>>>,
  };
  private lastMetrics = { read: 0, bytes: 0 };

  constructor(private readonly o: AsxLoadOptions) {
    this.log = o.logger;
    this.metrics = o.registry ? new AsxMetrics(o.registry) : undefined;
    this.checkpoints = new CheckpointStore(path.resolve(o.checkpointDir));
    this.rejectPath = path.resolve(o.rejectFile ?? path.join(o.checkpointDir, o.dryRun ? 'rejects.dry-run.jsonl' : 'rejects.jsonl'));
    this.currency = o.currency ?? DEFAULT_CURRENCY;
    const exchange = o.topicExchange ?? 'asx';
    this.topics = {
      trades: topicName({ assetClass: 'equities', dataType: 'trades', exchange }),
      quotes: topicName({ assetClass: 'equities', dataType: 'quotes', exchange }),
      reference: topicName({ assetClass: 'equities', dataType: 'reference', exchange }),
    };
  }

  /** Broker round trip for /readyz while loading; once the load is over nothing depends on Kafka any more. */
  async ping(): Promise<void> {
    if (this.producer) await this.producer.ping();
  }

  /**
   * Runs the load. Problems with the input as a whole (nothing matches, unknown company, unclassifiable file)
   * throw before anything is produced; everything else ends in the returned summary.
   */
  async run(): Promise<LoadSummary> {
    // Counters, producer and checkpoint state belong to one load.
    if (this.ran) throw new Error('an AsxLoader runs once; create a new one for another load');
    this.ran = true;
    const started = Date.now();
    const sources = await resolveSources(this.o.input, { s3: this.o.s3, s3Client: this.o.s3Client, sourceTag: this.o.sourceTag });
    const companies = await this.companies(sources);
    const missing = [...new Set(sources.map((s) => s.companyId).filter((id): id is string => id !== null && !companies.has(id)))];
    if (missing.length) {
      throw new AsxInputError(
        `no symbol for company id(s) ${missing.join(', ')}: add them to company_info.csv, point ASX_COMPANY_INFO at one that has them, or map them with ASX_SYMBOLS (e.g. 7078=BHP)`,
        { companyIds: missing },
      );
    }
    const unlock = this.o.dryRun ? undefined : this.checkpoints.lock();
    let plan: Awaited<ReturnType<AsxLoader['plan']>>;
    try {
      plan = await this.plan(sources);
    } catch (err) {
      unlock?.();
      throw err;
    }
    this.totalBytes = plan.reduce((n, p) => n + (p.skip ? 0 : p.source.size), 0);
    this.log.info('asx load planned', {
      dryRun: !!this.o.dryRun,
      files: plan.map((p) => ({ identity: p.source.identity, location: p.source.location, kind: p.source.kind, action: p.skip ? 'skip (already loaded)' : p.checkpoint ? `resume after line ${p.checkpoint.line}` : 'load' })),
      topics: this.topics,
      checkpointDir: this.checkpoints.dir,
      rejectFile: this.rejectPath,
    });

    const files: FileSummary[] = [];
    let error: K2Error | undefined;
    const progress = this.progressReporter();
    try {
      if (!this.o.dryRun) await this.connect(plan.filter((p) => !p.skip).map((p) => recordKindOf(p.source.kind)));
      this.rejects = new RejectFile(this.rejectPath);
      this.rejects.open(this.o.dryRun ? 0 : this.rejectKeepBytes());
      progress?.start();
      for (const p of plan) {
        const symbol = p.source.companyId ? (companies.get(p.source.companyId)?.symbol ?? null) : null;
        if (p.skip && p.checkpoint) {
          files.push({ identity: p.source.identity, location: p.source.location, kind: p.source.kind, symbol, outcome: 'skipped', resumedFromLine: p.checkpoint.line, counts: p.checkpoint.counts });
          this.metrics?.files.labels({ status: 'skipped' }).inc();
          continue;
        }
        if (this.o.signal?.aborted) this.stopReason ??= 'interrupted';
        if (this.stopReason) break;
        const summary = await this.loadFile(p.source, p.fingerprint, p.checkpoint, companies);
        files.push({ ...summary, symbol });
        this.metrics?.files.labels({ status: summary.outcome === 'loaded' ? 'loaded' : summary.outcome === 'failed' ? 'failed' : 'partial' }).inc();
        if (summary.error) {
          error = summary.error;
          break;
        }
      }
    } catch (err) {
      error = toK2Error(err);
    } finally {
      progress?.stop();
      this.rejects?.close();
      await this.producer?.disconnect().catch((e) => this.log.warn('producer disconnect failed', { error: toK2Error(e).toJSON() }));
      this.producer = undefined;
      unlock?.();
      this.updateMetrics();
    }
    const status: LoadStatus = error ? 'failed' : (this.stopReason ?? 'completed');
    const elapsedMs = Date.now() - started;
    const summary: LoadSummary = {
      status,
      exitCode: EXIT_CODES[status],
      dryRun: !!this.o.dryRun,
      rowsRead: this.t.read,
      rowsProduced: this.t.produced,
      rowsRejected: this.t.rejected,
      rowsAlreadyInKafka: this.t.already,
      linesWithoutRecord: this.t.noRecord,
      rejectedByReason: this.t.byReason,
      perSymbol: this.t.perSymbol,
      files,
      elapsedMs,
      rowsPerSecond: elapsedMs > 0 ? Math.round((this.t.read * 1000) / elapsedMs) : 0,
      rejectFile: this.rejectPath,
      topics: this.topics,
      ...(error ? { error: error.toJSON() } : {}),
    };
    this.metrics?.progress.set(this.totalBytes > 0 ? Math.min(1, this.storedBytes / this.totalBytes) : 1);
    this.metrics?.rowsPerSecond.set(summary.rowsPerSecond);
    return summary;
  }

  private async companies(sources: AsxSource[]): Promise<Map<string, CompanyInfo>> {
    const map = new Map<string, CompanyInfo>();
    const opts = { s3: this.o.s3, s3Client: this.o.s3Client };
    const src = this.o.companyInfo ? await companyInfoSource(this.o.companyInfo, opts) : await findCompanyInfo(sources, this.o.input, opts);
    if (src) {
      const { companies, errors } = parseCompanyInfo(await readText(src), this.clock, src.identity);
      for (const [id, c] of companies) map.set(id, c);
      for (const e of errors) this.log.warn('company_info row ignored for the symbol lookup', { file: src.location, line: e.line, reason: e.error.reason, error: e.error.message });
      this.log.info('company info loaded', { file: src.location, companies: companies.size });
    }
    for (const [id, symbol] of Object.entries(this.o.symbols ?? {})) {
      const known = map.get(id);
      map.set(id, { companyId: id, symbol, name: known?.name ?? symbol, isin: known?.isin ?? null });
    }
    return map;
  }

  private async plan(sources: AsxSource[]): Promise<Array<{ source: AsxSource; fingerprint: string; checkpoint: FileCheckpoint | undefined; skip: boolean }>> {
    const out = [];
    for (const source of sources) {
      const fp = await fingerprint(source);
      let cp = this.o.dryRun ? undefined : this.checkpoints.load(source.identity);
      const topic = this.topics[recordKindOf(source.kind)];
      if (cp && (cp.fingerprint !== fp || cp.topic !== topic)) {
        this.log.warn('checkpoint does not match the file (content or topic changed); loading it from the start', {
          identity: source.identity,
          checkpointFingerprint: cp.fingerprint,
          fingerprint: fp,
          checkpointTopic: cp.topic,
          topic,
        });
        cp = undefined;
      }
      out.push({ source, fingerprint: fp, checkpoint: cp, skip: !!cp?.done });
    }
    return out;
  }

  /**
   * How much of an existing reject file to keep. A load that starts from no checkpoints at all starts the file
   * afresh; otherwise it keeps what the checkpoints account for (anything after that is from an interrupted run and
   * will be rejected again), and a file no checkpoint knows is only appended to.
   */
  private rejectKeepBytes(): number {
    const all = this.checkpoints.all();
    if (all.length === 0) return 0;
    const mine = all.filter((cp) => cp.rejectFile === this.rejectPath);
    if (mine.length === 0) return Number.MAX_SAFE_INTEGER;
    return Math.max(...mine.map((cp) => cp.rejectBytes));
  }

  private async connect(kinds: RecordKind[]): Promise<void> {
    const needed = [...new Set(kinds)];
    if (needed.length === 0) return;
    await ensureTopics(
      this.o.brokers,
      needed.flatMap((k) => [{ topic: this.topics[k] }, { topic: dlqTopic(this.topics[k]), partitions: 1 }]),
    );
    this.serde = new AvroSerde({ ...this.o.registryAuth, registryUrl: this.o.registryUrl });
    for (const k of needed) this.schemaIds.set(k, await this.serde.registerV2(this.topics[k], k));
    this.producer = await BatchProducer.connect({ brokers: this.o.brokers, clientId: this.o.clientId ?? 'asx-batch-loader', logger: this.log });
  }

  private progressReporter(): ProgressReporter | undefined {
    if (this.o.progress === false) return undefined;
    const p = this.o.progress ?? {};
    const stream = p.stream ?? process.stderr;
    return new ProgressReporter(
      {
        logger: this.log,
        tty: p.tty ?? !!(stream as NodeJS.WriteStream).isTTY,
        stream,
        logIntervalMs: p.logIntervalMs,
        onTick: (rate, ratio) => {
          this.metrics?.rowsPerSecond.set(Math.round(rate));
          this.metrics?.progress.set(ratio);
          this.updateMetrics();
        },
      },
      () => ({
        storedBytes: this.storedBytes,
        totalBytes: this.totalBytes,
        rowsRead: this.t.read,
        rowsProduced: this.t.produced,
        rowsRejected: this.t.rejected,
        file: this.currentFile,
      }),
    );
  }

  private updateMetrics(): void {
    if (!this.metrics) return;
    this.metrics.bytesRead.inc(this.storedBytes - this.lastMetrics.bytes);
    this.lastMetrics.bytes = this.storedBytes;
    this.metrics.inFlight.set(this.producer?.inFlight ?? 0);
  }

  private key(symbol: string): Buffer {
    let k = this.keys.get(symbol);
    if (!k) {
      k = Buffer.from(symbol, 'utf8');
      this.keys.set(symbol, k);
    }
    return k;
  }

  private async loadFile(
    source: AsxSource,
    fp: string,
    resumeFrom: FileCheckpoint | undefined,
    companies: Map<string, CompanyInfo>,
  ): Promise<Omit<FileSummary, 'symbol'> & { error?: K2Error }> {
    const kind = recordKindOf(source.kind);
    const topic = this.topics[kind];
    const dlq = dlqTopic(topic);
    const dry = !!this.o.dryRun;
    const mapper = createMapper(source.kind, {
      identity: source.identity,
      currency: this.currency,
      clock: this.clock,
      company: source.companyId ? companies.get(source.companyId) : undefined,
      companies,
    }) as unknown as RowMapper<Record<string, unknown>>;
    const log = this.log.child({ file: source.location, identity: source.identity, topic });
    this.currentFile = source.identity;
    const rejects = this.rejects;
    if (!rejects) throw new Error('the reject file is not open');
    // Where good rows go: Kafka, or in a dry run only a local encode that proves they would fit the schema.
    const kafka = dry ? undefined : this.kafkaFor(kind);
    const localType = v2Type(kind);

    // Checkpoint state; `cp` is what is on disk (or would be, in a dry run).
    let cp: FileCheckpoint;
    const skipIds = new Set<string>();
    if (resumeFrom) {
      cp = resumeFrom;
      if (kafka) await this.collectAlreadySent(kafka.serde, cp, topic, dlq, skipIds, log);
      log.info('resuming file', { afterLine: cp.line, offset: cp.offset, alreadyInKafkaAfterCheckpoint: skipIds.size });
    } else {
      const scan: Record<string, Record<string, number>> = {};
      if (kafka) {
        for (const t of [topic, dlq]) {
          const marks = await kafka.producer.highWatermarks(t);
          scan[t] = Object.fromEntries(marks.map((m, p) => [String(p), m]));
        }
      }
      cp = {
        version: 1,
        identity: source.identity,
        location: source.location,
        fingerprint: fp,
        topic,
        dlqTopic: dlq,
        line: 0,
        offset: 0,
        done: false,
        scanFrom: scan,
        rejectFile: this.rejectPath,
        rejectBytes: rejects.flush(),
        counts: { read: 0, produced: 0, rejected: 0, alreadyInKafka: 0 },
        updatedAt: '',
      };
      // Written before the first message goes out, so a kill at any later instant leaves a scan start behind.
      if (!dry) this.checkpoints.save(cp);
    }
    cp.location = source.location;
    const resumedFromLine = cp.line;
    const counts: FileCounts = { ...cp.counts };
    const maxInFlight = this.o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const cpInterval = this.o.checkpointIntervalMs ?? 1000;
    let lastSave = Date.now();
    let acked = cp.counts.produced;
    let readReported = 0;
    let line = cp.line;
    let offset = cp.offset;
    let batch = new AckBatch();
    let rows = 0;
    let bySymbol: Map<string, number> | undefined = kind === 'reference' ? new Map() : undefined;
    const pending: PendingBatch[] = [];
    let failure: K2Error | undefined;
    const fileSymbol = mapper.symbol;
    const fileKey = fileSymbol ? this.key(fileSymbol) : undefined;
    const symbolCounts = (sym: string): KindCounts => {
      const s = (this.t.perSymbol[sym] ??= {});
      return (s[kind] ??= { read: 0, produced: 0, rejected: 0 });
    };

    const seal = () => {
      // An empty batch still moves the checkpoint when lines were read (all rejected, or already in Kafka).
      if (batch.sent === 0 && line === (pending.at(-1)?.line ?? cp.line)) return;
      batch.seal();
      pending.push({ batch, line, offset, rejectBytes: rejects.flush(), counts: { ...counts }, rows, bySymbol });
      batch = new AckBatch();
      rows = 0;
      bySymbol = kind === 'reference' ? new Map() : undefined;
    };

    const commitSettled = (force: boolean) => {
      for (let p = pending[0]; p?.batch.settled; p = pending[0]) {
        pending.shift();
        if (p.batch.error) {
          failure ??= p.batch.error;
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
        acked += p.rows;
        cp.line = p.line;
        cp.offset = p.offset;
        cp.rejectFile = this.rejectPath;
        cp.rejectBytes = p.rejectBytes;
        cp.counts = { ...p.counts, produced: acked };
        this.t.produced += p.rows;
        if (fileSymbol) {
          symbolCounts(fileSymbol).produced += p.rows;
          if (p.rows) this.metrics?.rowsProduced.labels({ kind, symbol: fileSymbol }).inc(p.rows);
        } else if (p.bySymbol) {
          for (const [sym, n] of p.bySymbol) {
            symbolCounts(sym).produced += n;
            this.metrics?.rowsProduced.labels({ kind, symbol: sym }).inc(n);
          }
        }
      }
      if (!dry && !failure && (force || Date.now() - lastSave >= cpInterval)) {
        this.checkpoints.save(cp);
        lastSave = Date.now();
      }
    };

    const reject = (text: string, lineNo: number, err: ValidationError) => {
      const reason: RejectReason = err instanceof AsxRowError ? err.reason : err.code === ErrorCode.SERDE_FAILED ? 'ENCODE_FAILED' : 'BAD_FIELD';
      const field = err instanceof AsxRowError ? (err.field ?? null) : null;
      const sourceId = `${source.companyId ?? ''}:${source.identity}:${lineNo}`;
      const rec: RejectRecord = {
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
      rejects.append(rec);
      counts.rejected++;
      this.t.rejected++;
      this.t.byReason[reason] = (this.t.byReason[reason] ?? 0) + 1;
      symbolCounts(fileSymbol ?? '(reference)').rejected++;
      this.metrics?.rowsRejected.labels({ kind, reason }).inc();
      if (kafka) {
        if (skipIds.has(rec.message_id)) {
          counts.alreadyInKafka++;
          this.t.already++;
        } else {
          kafka.producer.send(dlq, this.key(fileSymbol ?? source.companyId ?? source.identity), Buffer.from(JSON.stringify(rec), 'utf8'), batch);
          this.metrics?.dlq.labels({ topic: dlq, code: reason }).inc();
        }
      }
      if (this.o.maxErrors !== undefined && this.t.rejected > this.o.maxErrors) this.stopReason ??= 'max_errors_exceeded';
    };

    const onLine = (text: string, lineNo: number, endOffset: number, overlong: boolean): boolean => {
      if (this.stopReason || failure) return false;
      counts.read++;
      this.t.read++;
      if (text.length === 0 && !overlong) {
        this.t.noRecord++;
      } else {
        try {
          if (overlong) throw new AsxRowError('LINE_TOO_LONG', undefined, `line is longer than ${text.length} bytes`);
          const rec = mapper.map(text, lineNo);
          if (rec === null) {
            this.t.noRecord++;
          } else if (skipIds.size > 0 && skipIds.has(mapper.idOf(rec))) {
            counts.alreadyInKafka++;
            this.t.already++;
          } else if (!kafka) {
            localType.toBuffer(rec);
          } else {
            const value = kafka.serde.encode(kafka.schemaId, rec);
            const sym = fileSymbol ?? mapper.keyOf(rec);
            kafka.producer.send(topic, fileKey ?? this.key(sym), value, batch);
            rows++;
            if (bySymbol) bySymbol.set(sym, (bySymbol.get(sym) ?? 0) + 1);
          }
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          reject(text, lineNo, err);
        }
      }
      line = lineNo;
      offset = endOffset;
      return !this.stopReason;
    };

    mapper.ingestionTimestamp = nowMicros();
    if (!source.gzip) this.storedBytes += cp.offset;
    const stream = source.open(cp.offset, (n) => (this.storedBytes += n));
    const readCountBefore = this.t.read;
    try {
      await readLines(stream, onLine, {
        firstLine: cp.line + 1,
        startOffset: cp.offset,
        afterChunk: async () => {
          mapper.ingestionTimestamp = nowMicros();
          if (this.o.signal?.aborted) this.stopReason ??= 'interrupted';
          seal();
          commitSettled(false);
          this.metrics?.rowsRead.labels({ kind }).inc(counts.read - readReported);
          readReported = counts.read;
          if (kafka && kafka.producer.inFlight > maxInFlight) await kafka.producer.waitInFlightAtMost(maxInFlight / 2);
          if (kafka?.producer.fatalError) failure ??= kafka.producer.fatalError;
        },
      });
    } catch (err) {
      failure ??= toK2Error(err);
      log.error('reading the file failed', { error: failure.toJSON() });
    }
    seal();
    for (const p of [...pending]) await p.batch.whenSettled();
    commitSettled(true);
    this.metrics?.rowsRead.labels({ kind }).inc(counts.read - readReported);
    // Reference files list several companies; their reads and rejects are summed under one pseudo symbol.
    symbolCounts(fileSymbol ?? '(reference)').read += this.t.read - readCountBefore;
    const complete = !failure && !this.stopReason;
    if (complete && !dry) {
      cp.done = true;
      this.checkpoints.save(cp);
    }
    if (failure) log.error('file load failed', { error: failure.toJSON(), checkpointLine: cp.line });
    else log.info(complete ? 'file loaded' : 'file load stopped', { ...cp.counts, ...(dry ? counts : {}), resumedFromLine, lastLine: cp.line, reason: this.stopReason });
    return {
      identity: source.identity,
      location: source.location,
      kind: source.kind,
      outcome: failure ? 'failed' : complete ? 'loaded' : 'partial',
      resumedFromLine,
      counts: dry ? counts : cp.counts,
      ...(failure ? { error: failure } : {}),
    };
  }

  /** Message ids a killed run sent after the checkpoint: rows to count as produced but not send again. */
  private kafkaFor(kind: RecordKind): { producer: BatchProducer; serde: AvroSerde; schemaId: number } {
    const schemaId = this.schemaIds.get(kind);
    if (!this.producer || !this.serde || schemaId === undefined) throw new Error(`not connected for ${kind}`);
    return { producer: this.producer, serde: this.serde, schemaId };
  }

  private async collectAlreadySent(serde: AvroSerde, cp: FileCheckpoint, topic: string, dlq: string, into: Set<string>, log: Logger): Promise<void> {
    const starts: ScanStart[] = [];
    for (const [t, parts] of Object.entries(cp.scanFrom)) {
      if (t !== topic && t !== dlq) continue;
      for (const [p, offset] of Object.entries(parts)) starts.push({ topic: t, partition: Number(p), offset });
    }
    const values: Buffer[] = [];
    const dlqValues: Buffer[] = [];
    const n = await scanFrom(this.o.brokers, starts, (t, v) => {
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
}


/** The summary as a small table for a terminal; the structured log line carries the same numbers. */
export function formatSummary(s: LoadSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `ASX load ${s.status}${s.dryRun ? ' (dry run)' : ''} in ${(s.elapsedMs / 1000).toFixed(1)} s, ${n(s.rowsPerSecond)} rows/s, exit code ${s.exitCode}`,
    `  rows read ${n(s.rowsRead)}, produced ${n(s.rowsProduced)}, rejected ${n(s.rowsRejected)}, already in Kafka ${n(s.rowsAlreadyInKafka)}, without record ${n(s.linesWithoutRecord)}`,
    `  ${'symbol'.padEnd(12)}${'kind'.padEnd(11)}${'read'.padStart(12)}${'produced'.padStart(12)}${'rejected'.padStart(10)}`,
  ];
  for (const [symbol, kinds] of Object.entries(s.perSymbol)) {
    for (const [kind, c] of Object.entries(kinds)) {
      if (c) lines.push(`  ${symbol.padEnd(12)}${kind.padEnd(11)}${n(c.read).padStart(12)}${n(c.produced).padStart(12)}${n(c.rejected).padStart(10)}`);
    }
  }
  const reasons = Object.entries(s.rejectedByReason);
  if (reasons.length) lines.push(`  rejected by reason: ${reasons.map(([r, c]) => `${r} ${n(c ?? 0)}`).join(', ')}`, `  reject file: ${s.rejectFile}`);
  const skipped = s.files.filter((f) => f.outcome === 'skipped').length;
  if (skipped) lines.push(`  ${skipped} file(s) skipped: already loaded according to their checkpoints`);
  if (s.error) lines.push(`  error: ${String(s.error['message'])}`);
  return `${lines.join('\n')}\n`;
}
