import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Response } from 'express';
import { ErrorCode, isRetriable, TransientError, type Logger } from '@k2/core';
import type { Predicate } from '@k2/iceberg';
import { QueryRejectedError, QueryTooExpensiveError } from './admission';
import { estimateRows } from './cost';
import type { QueryEngine, SqlValue } from './engine';
import { barCsvLine, EXPORT_CONTENT_TYPES, EXPORT_CSV_COLUMNS, exportFilename, tailJson, type ExportFormat, type ExportRequest } from './export-format';
import type { QueryMetrics } from './metrics';
import { US_PER_DAY, type BarsRequest } from './params';
import type { Provenance, QueryService } from './query-service';
import type { AsOfRead } from './time-travel';
import type { SqlName } from './sql';
import type { TailKind, TailRow } from './tail-store';

export interface ExporterOptions {
  service: QueryService;
  engine: QueryEngine;
  metrics: QueryMetrics;
  logger: Logger;
  /** Budget of one export, queue wait included (QUERY_EXPORT_DEADLINE_MS); a disconnect cancels sooner. */
  deadlineMs: number;
  /** Most rows the planned files may hold in an export's window (QUERY_MAX_EXPORT_ROWS), else 422. */
  maxRows: number;
  /** Private directory for Parquet files being written and sent; the engine's sandbox must allow it. */
  spoolDir: string;
  /** Bytes of spooled Parquet at once; an export that finds it full gets 503 + Retry-After. */
  spoolMaxBytes: number;
}

const STATEMENTS: Record<TailKind, Record<ExportFormat | 'empty', SqlName>> = {
  trades: { csv: 'exportTradesCsv', ndjson: 'exportTradesNdjson', parquet: 'exportTradesParquet', empty: 'exportEmptyTrades' },
  quotes: { csv: 'exportQuotesCsv', ndjson: 'exportQuotesNdjson', parquet: 'exportQuotesParquet', empty: 'exportEmptyQuotes' },
};

/**
 * Streams exports (issue 16, ADR 0019): every row of a window of trades or quotes, oldest first, as CSV or NDJSON
 * written chunk by chunk with the socket's backpressure, or as a Parquet file written by DuckDB into the spool and
 * then sent. Same rows as paging the JSON route: the table at the captured snapshot plus the tail rows past its
 * offsets, deduplicated by message_id, all inside one statement. CSV/NDJSON run one statement per UTC day of the
 * window (files are partitioned by day, so each sorts one day at most: memory does not grow with the window).
 */
export class Exporter {
  private spoolBytes = 0;
  private readonly empty = new Map<TailKind, Promise<string>>();

  constructor(private readonly o: ExporterOptions) {}

  /** Creates the spool and removes what an earlier process left in it. */
  async init(): Promise<void> {
    await fs.rm(this.o.spoolDir, { recursive: true, force: true });
    await fs.mkdir(this.o.spoolDir, { recursive: true, mode: 0o700 });
  }

  async rows(kind: TailKind, req: ExportRequest, format: ExportFormat, res: Response, at?: AsOfRead): Promise<void> {
    const src = this.o.service.exportSource(kind, req, at);
    const planned = await src.plan(predicates(req, req.startUs, req.endUs));
    const rows = estimateRows(planned.files, planned.schema, req.startUs, req.endUs);
    if (rows > this.o.maxRows) throw new QueryTooExpensiveError('start', `the export would scan about ${rows} rows, more than the ${this.o.maxRows} allowed; export a shorter window or fewer symbols`);
    const name = exportFilename(kind, req.symbols, req.startUs, req.endUs, format);
    // An export holds its connection for as long as it streams: always the heavy class (ADR 0013's heavy slots).
    await this.run(res, `${kind}.${format}`, (signal) => src.heavySlot(signal, async () => {
      if (format === 'parquet') {
        const files = await src.localFiles(planned.files, signal);
        return this.sendParquet(res, name, src.prov, signal, async (p) => {
          await this.o.engine.query(STATEMENTS[kind].parquet, { ...(await this.params(kind, req, files, src.tailRows, req.startUs, req.endUs)), path: p }, signal);
        });
      }
      startFile(res, format, name, src.prov);
      if (format === 'csv') await write(res, `${EXPORT_CSV_COLUMNS[kind].join(',')}\r\n`);
      let n = 0;
      for (const [from, to] of days(req.startUs, req.endUs)) {
        const files = await src.localFiles((await src.plan(predicates(req, from, to))).files, signal);
        const tail = src.tailRows.filter((r) => r.ts >= from && r.ts < to);
        if (files.length === 0 && tail.length === 0) continue;
        const eol = format === 'csv' ? '\r\n' : '\n';
        n += await this.o.engine.streamLines(STATEMENTS[kind][format], await this.params(kind, req, files, tail, from, to), signal, (lines) => write(res, lines.join(eol) + eol));
      }
      return n;
    }));
  }

  async bars(req: BarsRequest, format: ExportFormat, res: Response, at?: AsOfRead): Promise<void> {
    const a = await this.o.service.bars(req, at);
    const data = a.body.data;
    const name = exportFilename('bars', [req.symbol], req.startUs, req.endUs, format).replace(/^bars_/, `bars_${req.interval}_`);
    await this.run(res, `bars.${format}`, async (signal) => {
      if (format === 'parquet') return this.sendParquet(res, name, a.provenance, signal, async (p) => void (await this.o.engine.query('exportBarsParquet', { rows: JSON.stringify(data), path: p }, signal)), data.length);
      startFile(res, format, name, a.provenance);
      if (format === 'csv') await write(res, [EXPORT_CSV_COLUMNS.bars.join(','), ...data.map(barCsvLine)].join('\r\n') + '\r\n');
      else await write(res, data.map((b) => JSON.stringify(b) + '\n').join(''));
      return data.length;
    });
  }

  /**
   * Runs one export under its deadline, cancelled when the client goes away. Failures before the first byte go to
   * the error handler (storage → 503); after it the connection is cut, so a client never takes a short file for a
   * whole one (chunked encoding ends without its last chunk).
   */
  private async run(res: Response, route: string, fn: (signal: AbortSignal) => Promise<number>): Promise<void> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new TransientError(ErrorCode.TIMEOUT, `export reached its deadline of ${this.o.deadlineMs} ms`)), this.o.deadlineMs);
    const onClose = () => {
      if (!res.writableFinished) ac.abort(new TransientError(ErrorCode.TIMEOUT, 'export cancelled: the client disconnected'));
    };
    res.on('close', onClose);
    const t0 = Date.now();
    try {
      const rows = await fn(ac.signal);
      if (rows >= 0) res.addTrailers({ 'X-K2-Rows': `total=${rows}` });
      res.end();
      this.o.metrics.rows.inc({ route: route.split('.')[0], source: 'export' }, rows);
      this.o.logger.info('export sent', { route, rows, ms: Date.now() - t0 });
    } catch (e) {
      if (!res.headersSent && !ac.signal.aborted) throw isRetriable(e) ? new QueryRejectedError(ErrorCode.STORAGE_UNAVAILABLE, `export failed: ${e instanceof Error ? e.message : String(e)}`, 503, undefined, 5) : e;
      this.o.logger.warn('export cut short', { route, error: e instanceof Error ? e.message : String(e), sent: res.headersSent });
      res.destroy();
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
    }
  }

  /** DuckDB writes the file into the spool (`write`), then it is sent with backpressure and deleted. */
  private async sendParquet(res: Response, name: string, prov: Provenance, signal: AbortSignal, writeFile: (path: string) => Promise<void>, knownRows?: number): Promise<number> {
    if (this.spoolBytes >= this.o.spoolMaxBytes) throw new QueryRejectedError(ErrorCode.QUERY_OVERLOADED, 'the export spool is full; retry later', 503, undefined, 30);
    const file = path.join(this.o.spoolDir, `${randomUUID()}.parquet`);
    let size = 0;
    try {
      await writeFile(file);
      size = (await fs.stat(file)).size;
      this.spoolBytes += size;
      if (signal.aborted) throw signal.reason;
      startFile(res, 'parquet', name, prov, size);
      // Not stream.pipeline: it destroys the response when done, which closes a keep-alive connection under the client.
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        if (signal.aborted) throw signal.reason;
        await write(res, chunk as Buffer);
      }
      return knownRows ?? -1; // not counted: the file's footer has it
    } finally {
      this.spoolBytes -= size;
      await fs.rm(file, { force: true });
    }
  }

  /** Parameters of an export statement for one slice [from, to) and its tail rows. */
  private async params(kind: TailKind, req: ExportRequest, files: string[], tail: readonly TailRow[], from: bigint, to: bigint): Promise<Record<string, SqlValue>> {
    // The dedup scan reads only the tail's time range; with no tail rows it is empty (1 > 0) and prunes every row group.
    let min = tail.length > 0 ? tail[0].ts : 1n;
    let max = tail.length > 0 ? tail[0].ts : 0n;
    for (const r of tail) {
      if (r.ts < min) min = r.ts;
      if (r.ts > max) max = r.ts;
    }
    return {
      files: files.length > 0 ? files : [await this.emptyFile(kind)],
      symbols: req.symbols ?? null,
      exchange: req.exchange ?? null,
      asset_class: req.assetClass ?? null,
      start: from,
      end: to,
      tail: tailJson(tail.map((r) => r.rec)),
      tail_min: min,
      tail_max: max,
    };
  }

  /** An empty file of the table's columns for windows without data files (read_parquet needs one file). */
  private emptyFile(kind: TailKind): Promise<string> {
    let p = this.empty.get(kind);
    if (!p) {
      const file = path.join(this.o.spoolDir, `_empty-${kind}.parquet`);
      p = this.o.engine.query(STATEMENTS[kind].empty, { tail: '[]', path: file }).then(() => file);
      p.catch(() => this.empty.delete(kind));
      this.empty.set(kind, p);
    }
    return p;
  }
}

function predicates(req: ExportRequest, from: bigint, to: bigint): Predicate[] {
  const p: Predicate[] = [
    { column: 'timestamp', op: 'gte', value: from },
    { column: 'timestamp', op: 'lt', value: to },
  ];
  if (req.symbols?.length === 1) p.push({ column: 'symbol', op: 'eq', value: req.symbols[0] });
  if (req.exchange !== undefined) p.push({ column: 'exchange', op: 'eq', value: req.exchange });
  return p;
}

/** [from, to) cut at UTC midnights, oldest first. */
export function days(startUs: bigint, endUs: bigint): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  for (let from = startUs; from < endUs; ) {
    const next = (from / US_PER_DAY + 1n) * US_PER_DAY;
    const to = next < endUs ? next : endUs;
    out.push([from, to]);
    from = to;
  }
  return out;
}

function startFile(res: Response, format: ExportFormat, name: string, p: Provenance, size?: number): void {
  res.status(200);
  if (size !== undefined) res.set('Content-Length', String(size));
  res.set('Content-Type', EXPORT_CONTENT_TYPES[format]);
  res.set('Content-Disposition', `attachment; filename="${name}"`);
  res.set('X-K2-Snapshot-Id', p.snapshotId ?? 'none');
  res.set('X-K2-Sources', p.tail ? 'iceberg,kafka-tail' : 'iceberg');
  if (p.degraded.length > 0) res.set('X-K2-Degraded', p.degraded.join(','));
  if (format !== 'parquet') res.set('Trailer', 'X-K2-Rows'); // chunked only: the row count is known at the end
  res.flushHeaders();
}

/**
 * res.write with backpressure: waits for 'drain' when the socket's buffer is full. A connection that is gone (or
 * goes while waiting) rejects: 'close' may have fired before this write, and then neither event ever comes.
 */
function write(res: Response, text: string | Buffer): Promise<void> | void {
  if (res.destroyed || res.writableEnded) return Promise.reject(new TransientError(ErrorCode.TIMEOUT, 'export cancelled: the connection is closed'));
  if (res.write(text)) return;
  return new Promise((resolve, reject) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      if (res.destroyed) reject(new TransientError(ErrorCode.TIMEOUT, 'export cancelled: the connection is closed'));
      else resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
