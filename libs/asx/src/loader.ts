import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Registry } from 'prom-client';
import { toK2Error, type K2Error, type Logger } from '@k2/core';
import { dlqTopic, ensureTopics, topicName, type KafkaBrokers } from '@k2/kafka';
import type { RecordKind } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import type { S3Config } from '@k2/storage';
import { CheckpointStore, type FileCheckpoint, type FileCounts } from './checkpoint';
import { AsxInputError, type RejectReason } from './errors';
import { FileLoad, type FileLoadResult, type FileLoadRun, type KafkaTarget, type RunTotals } from './file-load';
import { DEFAULT_CURRENCY, parseCompanyInfo, recordKindOf, type CompanyInfo } from './mappers';
import { AsxMetrics } from './metrics';
import { BatchProducer } from './producer';
import { ProgressReporter } from './progress';
import { RejectFile } from './rejects';
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
  private ran = false;
  private readonly keys = new Map<string, Buffer>();
  private totalBytes = 0;
  private currentFile: string | undefined;
  /** Run totals (this run only), shared with each FileLoad. */
  private readonly t: RunTotals = { read: 0, produced: 0, rejected: 0, already: 0, noRecord: 0, byReason: {}, perSymbol: {}, stopReason: undefined, storedBytes: 0 };
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
        if (this.o.signal?.aborted) this.t.stopReason ??= 'interrupted';
        if (this.t.stopReason) break;
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
    const status: LoadStatus = error ? 'failed' : (this.t.stopReason ?? 'completed');
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
    this.metrics?.progress.set(this.totalBytes > 0 ? Math.min(1, this.t.storedBytes / this.totalBytes) : 1);
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
        storedBytes: this.t.storedBytes,
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
    this.metrics.bytesRead.inc(this.t.storedBytes - this.lastMetrics.bytes);
    this.lastMetrics.bytes = this.t.storedBytes;
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

  private kafkaFor(kind: RecordKind): KafkaTarget {
    const schemaId = this.schemaIds.get(kind);
    if (!this.producer || !this.serde || schemaId === undefined) throw new Error(`not connected for ${kind}`);
    return { producer: this.producer, serde: this.serde, schemaId };
  }

  /** One file through FileLoad, with what it shares with this run. */
  private loadFile(source: AsxSource, fp: string, resumeFrom: FileCheckpoint | undefined, companies: Map<string, CompanyInfo>): Promise<FileLoadResult> {
    this.currentFile = source.identity;
    const rejects = this.rejects;
    if (!rejects) throw new Error('the reject file is not open');
    const o = this.o;
    const run: FileLoadRun = {
      log: this.log,
      metrics: this.metrics,
      checkpoints: this.checkpoints,
      rejects,
      rejectPath: this.rejectPath,
      totals: this.t,
      clock: this.clock,
      currency: this.currency,
      topics: this.topics,
      brokers: o.brokers,
      dryRun: !!o.dryRun,
      maxErrors: o.maxErrors,
      maxInFlight: o.maxInFlight,
      checkpointIntervalMs: o.checkpointIntervalMs,
      signal: o.signal,
      companies,
      kafka: (kind) => this.kafkaFor(kind),
      key: (symbol) => this.key(symbol),
    };
    return new FileLoad(run, source, fp, resumeFrom).load();
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
