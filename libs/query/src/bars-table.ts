import { ErrorCode, K2Error, type Logger } from '@k2/core';
import { planScan, type Catalog, type FileIO, type LoadedTable, type Long, type PlannedFile } from '@k2/iceberg';
import { BARS_TABLE, foldedUpTo } from '@k2/lake';
import { partialFromRow, type BarPartial } from './bars';
import type { QueryEngine } from './engine';

export interface BarsTableOptions {
  catalog: Catalog;
  io: FileIO;
  namespace: readonly string[];
  engine: QueryEngine;
  logger: Logger;
}

/** The bars_1m_v2 metadata a request reads, with the trades snapshot it is complete for. */
export interface BarsState {
  table: LoadedTable;
  folded: string;
}

/**
 * bars_1m_v2 (issue 17, ADR 0024) as a source of 1-minute partials: used for a request only when the bars were
 * folded up to exactly the trades snapshot the request reads, so both sources hold the same trades and give the
 * same answer; otherwise (bars lagging, table missing, time travel) the request scans trades as before.
 */
export class BarsTable {
  private current: BarsState | undefined;

  constructor(private readonly o: BarsTableOptions) {}

  /** Reloads the table's metadata (absent table: no bars). */
  async refresh(): Promise<void> {
    try {
      const table = await this.o.catalog.loadTable({ namespace: [...this.o.namespace], name: BARS_TABLE });
      if (this.current?.table.metadataLocation === table.metadataLocation) return;
      const folded = foldedUpTo(table.metadata);
      this.current = folded === undefined ? undefined : { table, folded };
    } catch (e) {
      if (e instanceof K2Error && e.code === ErrorCode.ICEBERG_NOT_FOUND) this.current = undefined;
      else throw e;
    }
  }

  /** The bars state complete for trades snapshot `tradesSnapshotId`, taken synchronously (a request keeps it). */
  coveringFor(tradesSnapshotId: Long | undefined): BarsState | undefined {
    const c = this.current;
    return c && tradesSnapshotId !== undefined && c.folded === String(tradesSnapshotId) ? c : undefined;
  }

  /** Bar files that may hold the symbol's minutes in [startUs, endUs). */
  async plan(state: BarsState, req: { symbol: string; exchange: string | undefined; startUs: bigint; endUs: bigint }): Promise<PlannedFile[]> {
    const predicates = [
      { column: 'symbol', op: 'eq' as const, value: req.symbol },
      { column: 'bucket_start', op: 'gte' as const, value: req.startUs },
      { column: 'bucket_start', op: 'lt' as const, value: req.endUs },
      ...(req.exchange !== undefined ? [{ column: 'exchange', op: 'eq' as const, value: req.exchange }] : []),
    ];
    return (await planScan(this.o.io, state.table, { predicates })).files;
  }

  /** The 1-minute partials of the symbol in [startUs, endUs) from local copies of the planned bar files. */
  async minutes(files: readonly string[], req: { symbol: string; exchange: string | undefined; startUs: bigint; endUs: bigint }, signal: AbortSignal): Promise<BarPartial[]> {
    if (files.length === 0) return [];
    const rows = await this.o.engine.query('barsTable', { files, symbol: req.symbol, exchange: req.exchange ?? null, start: req.startUs, end: req.endUs }, signal);
    return rows.map(partialFromRow);
  }
}
