import type { Express, NextFunction, Request, Response } from 'express';
import { ErrorCode, type Logger } from '@k2/core';
import { nowMicros } from '@k2/schema';
import { QueryRejectedError } from './admission';
import type { QueryMetrics } from './metrics';
import { openApiDocument, ROUTE_PATHS } from './openapi';
import {
  InvalidParameterError,
  parseBarsRequest,
  parseReplayRequest,
  parseRowsRequest,
  parseStreamRequest,
  parseSummaryRequest,
  parseSymbolsRequest,
  type RouteName,
  parseAsOf,
  parseReferenceRequest,
  parseSnapshotsRequest,
} from './params';
import type { ReferenceService } from './reference';
import { listSnapshots, resolveAsOf } from './time-travel';
import type { Answer, Provenance, QueryService } from './query-service';
import { RawJsonArray, renderBody } from './merge-page';
import type { StreamHub } from './stream';
import type { Exporter } from './export';
import { exportFormatOf, parseExportRequest } from './export-format';
import type { ReplayService } from './replay/service';

export interface RoutesOptions {
  service: QueryService;
  hub?: StreamHub;
  /** Replay-then-follow (issue 16). */
  replay?: ReplayService;
  metrics: QueryMetrics;
  logger: Logger;
  version: string;
  /** GET /v1/reference (issue 16 part 6); the route answers 503 without it. */
  reference?: ReferenceService;
  /** export (issue 16): format=csv|ndjson|parquet on trades, quotes and bars; undefined = json only. */
  exporter?: Exporter;
}

function setProvenance(res: Response, p: Provenance): void {
  res.set('X-K2-Snapshot-Id', p.snapshotId ?? 'none');
  res.set('X-K2-Sources', p.tail ? 'iceberg,kafka-tail' : 'iceberg');
  res.set('X-K2-Rows', `iceberg=${p.icebergRows};tail=${p.tailRows}`);
  if (p.degraded.length > 0) res.set('X-K2-Degraded', p.degraded.join(','));
  // Time travel (issue 16): which as_of was asked and when the snapshot that answered was committed.
  if (p.asOf) {
    res.set('X-K2-As-Of', p.asOf.requested);
    res.set('X-K2-Snapshot-Time', p.asOf.snapshotTime ?? 'none');
  }
}

/**
 * The API routes on the service's express app (next to /metrics, /healthz, /readyz from @k2/runtime). Every
 * answer carries its provenance headers and a `meta` object with the same facts; every failure is JSON
 * `{ error: { code, message, parameter? } }`: 400 for bad input, 404 for unknown paths, 500 only for bugs.
 */
export function mountQueryRoutes(app: Express, o: RoutesOptions): void {
  const handle =
    <T extends object>(route: RouteName, run: (q: Record<string, unknown>) => Promise<Answer<T>>) =>
    async (req: Request, res: Response, next: NextFunction) => {
      const end = o.metrics.duration.startTimer({ route });
      try {
        const a = await run(req.query as Record<string, unknown>);
        setProvenance(res, a.provenance);
        o.metrics.rows.inc({ route, source: 'iceberg' }, a.provenance.icebergRows);
        o.metrics.rows.inc({ route, source: 'tail' }, a.provenance.tailRows);
        o.metrics.requests.inc({ route, status: '200', degraded: a.provenance.degraded.join(',') || 'none' });
        const p = a.provenance;
        const body = { ...a.body, meta: { snapshot_id: p.snapshotId, rows: { iceberg: p.icebergRows, tail: p.tailRows }, degraded: p.degraded, ...(p.asOf ? { as_of: { requested: p.asOf.requested, snapshot_time: p.asOf.snapshotTime } } : {}) } };
        // Rows pre-formatted as JSON text (RawJsonArray) are written as they are; the bytes equal res.json's.
        if (Object.values(a.body).some((v) => v instanceof RawJsonArray)) res.type('json').send(renderBody(body));
        else res.json(body);
      } catch (e) {
        next(e);
      } finally {
        end();
      }
    };

  // export (issue 16): with format=csv|ndjson|parquet the route streams a file (export.ts) instead of the JSON page.
  const exporting =
    (route: 'trades' | 'quotes' | 'bars', json: ReturnType<typeof handle>) =>
    (req: Request, res: Response, next: NextFunction) => {
      const q = req.query as Record<string, unknown>;
      let format;
      try {
        format = o.exporter ? exportFormatOf(q) : undefined;
      } catch (e) {
        next(e);
        return;
      }
      if (!format || !o.exporter) {
        void json(req, res, next);
        return;
      }
      const ex = o.exporter;
      // `as_of` exports that snapshot alone, windows ending at its instant, like the JSON answer (time travel).
      let at;
      try {
        at = o.service.asOf(route === 'bars' ? 'trades' : route, q, nowMicros());
      } catch (e) {
        next(e);
        return;
      }
      const now = at?.instantUs ?? nowMicros();
      const run = route === 'bars' ? () => ex.bars(parseBarsRequest(q, now), format, res, at) : () => ex.rows(route, parseExportRequest(route, q, now), format, res, at);
      const end = o.metrics.duration.startTimer({ route });
      run()
        .then(() => o.metrics.requests.inc({ route, status: res.headersSent ? String(res.statusCode) : '500', degraded: 'none' }))
        .catch(next)
        .finally(end);
    };
  const s = o.service;
  // `as_of` (time travel, issue 16): resolved first, so windows default to end at the snapshot's instant, not now.
  app.get(ROUTE_PATHS.trades, exporting('trades', handle('trades', (q, at = s.asOf('trades', q, nowMicros())) => s.rows('trades', parseRowsRequest('trades', q, at?.instantUs ?? nowMicros()), at))));
  app.get(ROUTE_PATHS.quotes, exporting('quotes', handle('quotes', (q, at = s.asOf('quotes', q, nowMicros())) => s.rows('quotes', parseRowsRequest('quotes', q, at?.instantUs ?? nowMicros()), at))));
  app.get(ROUTE_PATHS.bars, exporting('bars', handle('bars', (q, at = s.asOf('trades', q, nowMicros())) => s.bars(parseBarsRequest(q, at?.instantUs ?? nowMicros()), at))));
  app.get(ROUTE_PATHS.summary, handle('summary', (q) => s.summary(parseSummaryRequest(q), s.asOf('trades', q, nowMicros()))));
  app.get(ROUTE_PATHS.symbols, handle('symbols', (q) => s.symbols(parseSymbolsRequest(q), symbolsAsOf(s, q))));
  // Time travel and reference data (issue 16 parts 3 and 6).
  app.get(ROUTE_PATHS.snapshots, handle('snapshots', async (q) => {
    const r = parseSnapshotsRequest(q);
    return listSnapshots(r.table === 'reference' ? await referenceOf(o).fresh() : s.view(r.table), r);
  }));
  app.get(ROUTE_PATHS.reference, handle('reference', (q) => {
    const now = nowMicros();
    return referenceOf(o).reference(parseReferenceRequest(q, now), parseAsOf(q, now));
  }));
  app.get(ROUTE_PATHS.stream, (req, res, next) => {
    try {
      const r = parseStreamRequest(req.query as Record<string, unknown>);
      if (!o.hub) {
        res.status(503).json({ error: { code: ErrorCode.KAFKA_UNAVAILABLE, message: 'the live stream needs the Kafka tail, which is switched off (QUERY_TAIL_ENABLED=false)' } });
        return;
      }
      o.hub.open(res, r.symbol, r.exchange);
    } catch (e) {
      next(e);
    }
  });
  // Replay-then-follow (issue 16): NDJSON or SSE until the client leaves (or `end`), counted as a stream per key.
  app.get(ROUTE_PATHS.replay, async (req, res, next) => {
    try {
      const r = parseReplayRequest(req.query as Record<string, unknown>, req.get('last-event-id'));
      if (!o.replay) {
        res.status(503).json({ error: { code: ErrorCode.INTERNAL, message: 'replay is not available on this replica' } });
        return;
      }
      await o.replay.serve(r, req.accepts(['application/x-ndjson', 'text/event-stream']) === 'text/event-stream' ? 'sse' : 'ndjson', res);
    } catch (e) {
      next(e);
    }
  });
  const doc = openApiDocument(o.version);
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
}

/** Must be mounted after every other route: JSON 404 for unknown paths and the error → status mapping. */
export function mountErrorHandlers(app: Express, o: Pick<RoutesOptions, 'logger' | 'metrics'>): void {
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: { code: ErrorCode.QUERY_NOT_FOUND, message: `no route ${req.method} ${req.path.slice(0, 200)}; see /openapi.json` } });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const route = routeOf(req.path);
    if (err instanceof InvalidParameterError) {
      o.metrics.requests.inc({ route, status: '400', degraded: 'none' });
      res.status(400).json({ error: { code: err.code, parameter: err.parameter, message: err.message } });
      return;
    }
    // Refused before any work: 503 + Retry-After (engine queue full) or 422 (scan above the route's cap).
    if (err instanceof QueryRejectedError) {
      o.metrics.requests.inc({ route, status: String(err.status), degraded: 'none' });
      if (err.retryAfterSeconds !== undefined) res.set('Retry-After', String(err.retryAfterSeconds));
      res.status(err.status).json({ error: { code: err.code, ...(err.parameter ? { parameter: err.parameter } : {}), message: err.message } });
      return;
    }
    // Body-parser style errors from express itself (e.g. a malformed URI) carry a 4xx status.
    const status = (err as { status?: number; statusCode?: number })?.status ?? (err as { statusCode?: number })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      o.metrics.requests.inc({ route, status: String(status), degraded: 'none' });
      res.status(status).json({ error: { code: ErrorCode.QUERY_INVALID_PARAMETER, message: 'malformed request' } });
      return;
    }
    o.metrics.requests.inc({ route, status: '500', degraded: 'none' });
    o.logger.error('request failed', { path: req.path.slice(0, 200), error: err instanceof Error ? err.message : String(err), code: (err as { code?: string })?.code });
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(500).json({ error: { code: ErrorCode.INTERNAL, message: 'internal error; the server log has the details' } });
  });
}

/** /v1/symbols with `as_of`: trades at the id or time, quotes at the same instant (an id names a trades snapshot). */
function symbolsAsOf(s: QueryService, q: Record<string, unknown>): Parameters<QueryService['symbols']>[1] {
  const trades = s.asOf('trades', q, nowMicros());
  if (!trades) return undefined;
  const quotes = resolveAsOf(s.view('quotes'), { raw: trades.requested, timeUs: trades.instantUs });
  return quotes && { trades, quotes };
}

function referenceOf(o: RoutesOptions): ReferenceService {
  if (!o.reference) throw new QueryRejectedError(ErrorCode.QUERY_NOT_FOUND, 'reference data is not served by this instance', 503);
  return o.reference;
}

function routeOf(path: string): string {
  for (const [name, p] of Object.entries(ROUTE_PATHS)) if (path === p) return name;
  return 'other';
}
