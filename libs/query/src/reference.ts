import { ErrorCode, isRetriable, type Logger } from '@k2/core';
import type { FileIO } from '@k2/iceberg';
import { QueryRejectedError } from './admission';
import type { QueryEngine } from './engine';
import { REFERENCE_TYPES, type AsOf, type ReferenceRequest } from './params';
import type { Answer, Provenance } from './query-service';
import { recordJson } from './records';
import type { TableView } from './table-view';
import { historicalProvenance, resolveAsOf, type AsOfRead } from './time-travel';
import { zoneFor } from './trading-day';

/**
 * GET /v1/reference (issue 16 part 6): reference_data_v2 as of a date. A row is "effective on or before" the day
 * when its `effective_date`, read in its exchange's own calendar, is that day or earlier:
 *  - INSTRUMENT: the listing (start) date; the answer keeps the newest such row per (exchange, instrument_id),
 *    i.e. the instrument as it stood that day. Rows without a start date are always effective.
 *  - DIVIDEND: the ex-date (the day the price goes ex; the declared, record and pay dates are in vendor_data),
 *  - SPLIT, MERGER: their effective date;
 * events are all listed, newest first. Amounts stay the exact text the loader wrote (vendor_data, Decimal(18,8)).
 * The loaders store dates as exchange-local midnights in µs UTC (ASX: Australia/Sydney), so comparing with a UTC
 * day would shift them by the exchange's offset: the day is computed in the exchange's zone.
 */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** YYYY-MM-DD of `us` in `exchange`'s calendar (UTC for exchanges without one: the crypto venues). */
export function exchangeDay(us: bigint, exchange: string): string {
  const zone = zoneFor(exchange, undefined); // the trading-day table (trading-day.ts): one place per exchange
  let f = dayFormats.get(zone);
  if (!f) dayFormats.set(zone, (f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(Number(us / 1000n)); // en-CA formats as YYYY-MM-DD
}

export interface ReferenceRow {
  rec: Record<string, unknown>;
  day: string | null;
}

/** The rows effective on or before `asOfDate` (see the file comment), in the order given. */
export function effectiveRows(rows: readonly Record<string, unknown>[], asOfDate: string): ReferenceRow[] {
  const dated = rows.map((rec) => {
    const eff = rec['effective_date'];
    return { rec, day: eff === null || eff === undefined ? null : exchangeDay(BigInt(eff as bigint), String(rec['exchange'])) };
  });
  const effective = dated.filter((r) => r.day === null || r.day <= asOfDate);
  // The instrument as it stood: per (exchange, instrument_id), the latest effective row (then the latest ingested).
  const best = new Map<string, ReferenceRow>();
  for (const r of effective) {
    if (r.rec['record_type'] !== 'INSTRUMENT') continue;
    const k = `${String(r.rec['exchange'])}\u0000${String(r.rec['instrument_id'])}`;
    const cur = best.get(k);
    if (!cur || newer(r, cur)) best.set(k, r);
  }
  return effective.filter((r) => r.rec['record_type'] !== 'INSTRUMENT' || best.get(`${String(r.rec['exchange'])}\u0000${String(r.rec['instrument_id'])}`) === r);
}

function newer(a: ReferenceRow, b: ReferenceRow): boolean {
  if ((a.day ?? '') !== (b.day ?? '')) return (a.day ?? '') > (b.day ?? '');
  const ai = BigInt(a.rec['ingestion_timestamp'] as bigint);
  const bi = BigInt(b.rec['ingestion_timestamp'] as bigint);
  return ai !== bi ? ai > bi : String(a.rec['message_id']) > String(b.rec['message_id']);
}

export interface ReferenceServiceOptions {
  /** The reference_data_v2 table (kind `reference`); refreshed here on demand, at most every refreshMs. */
  view: TableView;
  engine: QueryEngine;
  io: FileIO;
  logger: Logger;
  deadlineMs: number;
  refreshMs: number;
}

export class ReferenceService {
  constructor(private readonly o: ReferenceServiceOptions) {}

  get view(): TableView {
    return this.o.view;
  }

  /** The view, refreshed when older than refreshMs; a failed refresh keeps the last state (none yet: 503). */
  async fresh(): Promise<TableView> {
    const v = this.o.view;
    if (Date.now() - v.state.refreshedAtMs < this.o.refreshMs) return v;
    try {
      await v.refresh();
    } catch (e) {
      if (v.state.refreshedAtMs === 0) throw this.unavailable(e);
      this.o.logger.warn('reference table refresh failed; answering from the last known snapshot', { error: e instanceof Error ? e.message : String(e) });
    }
    return v;
  }

  /** 503 + Retry-After for a storage failure (the cause is logged, not sent: it may name internal locations). */
  private unavailable(e: unknown): QueryRejectedError {
    this.o.logger.warn('reference data read failed', { error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
    return new QueryRejectedError(ErrorCode.STORAGE_UNAVAILABLE, 'reference data cannot be read right now; retry shortly', 503, undefined, 1);
  }

  async reference(req: ReferenceRequest, asOf: AsOf | undefined): Promise<Answer<Record<string, unknown>>> {
    const view = await this.fresh();
    const at: AsOfRead | undefined = resolveAsOf(view, asOf);
    const state = at?.state ?? view.state;
    const prov: Provenance = at ? historicalProvenance(at) : { snapshotId: state.snapshotId === undefined ? null : String(state.snapshotId), icebergRows: 0, tailRows: 0, tail: false, degraded: [] };
    let rows: Record<string, unknown>[] = [];
    try {
      const plan = await view.plan(state, req.symbol ? [{ column: 'symbol', op: 'eq', value: req.symbol }] : []);
      if (plan && plan.files.length > 0) {
        const signal = AbortSignal.timeout(this.o.deadlineMs);
        const files: string[] = [];
        for (const f of plan.files) files.push(await this.o.io.localPath(f.file['file-path']));
        rows = await this.o.engine.query('reference', { files, symbol: req.symbol ?? null, record_type: req.type ? REFERENCE_TYPES[req.type] : null }, signal);
      }
    } catch (e) {
      throw isRetriable(e) ? this.unavailable(e) : e;
    }
    const effective = effectiveRows(rows, req.asOfDate);
    const page = effective.slice(0, req.limit);
    prov.icebergRows = page.length;
    const data = page.map((r) => ({ ...recordJson({ ...r.rec, vendor_data: parseVendor(r.rec['vendor_data']) }), effective_day: r.day }));
    return { body: { as_of_date: req.asOfDate, data, truncated: effective.length > page.length }, provenance: prov };
  }
}

function parseVendor(v: unknown): Record<string, string> | null {
  return typeof v === 'string' ? (JSON.parse(v) as Record<string, string>) : null;
}

