import { ErrorCode, K2Error, type Logger } from '@k2/core';
import {
  currentSnapshot,
  planScan,
  readManifestList,
  tableFileIO,
  type Catalog,
  type FileIO,
  type LoadedTable,
  type Long,
  type ManifestCache,
  type Predicate,
  type ScanPlan,
  type Snapshot,
} from '@k2/iceberg';
import { lineageOffsets, TABLE_BY_KIND, tableOffsets, type TableKind } from '@k2/lake';
import type { Offsets } from './tail-store';

/** What one request reads from the table: a fixed snapshot and the Kafka offsets it holds. */
export interface TableState {
  table: LoadedTable | undefined;
  snapshotId: Long | undefined;
  offsets: Offsets;
  refreshedAtMs: number;
  /** Time travel (issue 16): a retained older snapshot, read without the tail; planned with its own cache. */
  historical?: boolean;
}

export interface TableViewOptions {
  /** trades and quotes (with a tail), or reference (time travel and /v1/reference only). */
  kind: TableKind;
  catalog: Catalog;
  io: FileIO;
  namespace: readonly string[];
  /** The writer's consumer group, whose offsets the snapshot summaries carry. */
  writerGroupId: string;
  logger: Logger;
  /** Called synchronously after every switch to a newer snapshot (the tail evicts what it now holds). */
  onAdvance?: (state: TableState) => void;
}

/** Bounds of the older snapshots' manifest cache (entries; a manifest of a small commit is a few KB decoded). */
const HISTORICAL_LISTS = 64;
const HISTORICAL_MANIFESTS = 2048;

const EMPTY: TableState = { table: undefined, snapshotId: undefined, offsets: new Map(), refreshedAtMs: 0 };

/**
 * The latest snapshot of one table as this process knows it. `refresh` asks the catalog for the metadata
 * location; only when it changed is the new metadata read, its manifests decoded into the cache (immutable files,
 * so the cache is exact; entries not referenced by the new snapshot are dropped to bound memory) and the state
 * swapped. Requests take `state` once and plan against that snapshot, so a refresh in the middle of a request
 * changes nothing for it.
 */
export class TableView {
  private current: TableState = EMPTY;
  private cache: ManifestCache = { lists: new Map(), manifests: new Map() };
  private refreshing: Promise<TableState> | undefined;

  constructor(private readonly o: TableViewOptions) {}

  get state(): TableState {
    return this.current;
  }

  get kind(): TableKind {
    return this.o.kind;
  }

  /** One catalog round trip (joined when already running); rejects with the storage error. */
  refresh(): Promise<TableState> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<TableState> {
    const ident = { namespace: [...this.o.namespace], name: TABLE_BY_KIND[this.o.kind] };
    let table: LoadedTable;
    try {
      table = await this.o.catalog.loadTable(ident);
    } catch (e) {
      if (e instanceof K2Error && e.code === ErrorCode.ICEBERG_NOT_FOUND) {
        // No writer has created the table yet: an empty table, not a failure.
        this.current = { ...EMPTY, refreshedAtMs: Date.now() };
        return this.current;
      }
      throw e;
    }
    if (this.current.table?.metadataLocation === table.metadataLocation) {
      this.current = { ...this.current, refreshedAtMs: Date.now() };
      return this.current;
    }
    const snapshot = currentSnapshot(table.metadata);
    const next: ManifestCache = { lists: new Map(), manifests: new Map() };
    if (snapshot) {
      const listPath = snapshot['manifest-list'];
      // Confined like planScan: the table's manifest list must lie in its own location (issue 18).
      const list = this.cache.lists.get(listPath) ?? readManifestList(await tableFileIO(this.o.io, table.metadata.location).read(listPath), listPath);
      next.lists.set(listPath, list);
      for (const m of list) {
        const kept = this.cache.manifests.get(m['manifest-path']);
        if (kept) next.manifests.set(m['manifest-path'], kept);
      }
    }
    this.cache = next;
    // Warm the new manifests now, off the request path: an unfiltered plan decodes every one of them.
    await planScan(this.o.io, table, { cache: this.cache });
    const previous = this.current.snapshotId;
    this.current = {
      table,
      snapshotId: snapshot?.['snapshot-id'],
      offsets: tableOffsets(table.metadata, this.o.writerGroupId),
      refreshedAtMs: Date.now(),
    };
    this.o.logger.debug('table view advanced', { table: ident.name, snapshotId: String(snapshot?.['snapshot-id']), previous: String(previous) });
    this.o.onAdvance?.(this.current);
    return this.current;
  }

  /** Data files of `state`'s snapshot that may hold rows matching `predicates`. */
  plan(state: TableState, predicates: readonly Predicate[]): Promise<ScanPlan | undefined> {
    if (!state.table || state.snapshotId === undefined) return Promise.resolve(undefined);
    return planScan(this.o.io, state.table, { predicates, snapshotId: state.snapshotId, cache: state.historical ? this.historicalCache() : this.cache });
  }

  // ---- Time travel (issue 16 part 3) ----

  /**
   * The state of `snapshot`, one of the current metadata's retained snapshots: the table part of an `as_of` read.
   * Offsets are those the snapshot's own lineage carries (the tail is never merged into such a read).
   */
  at(snapshot: Snapshot): TableState {
    const table = this.current.table;
    if (!table) throw new Error('TableView.at: no table loaded');
    const lineage = { ...table.metadata, refs: {}, 'current-snapshot-id': snapshot['snapshot-id'] };
    return { table, snapshotId: snapshot['snapshot-id'], offsets: lineageOffsets(lineage, this.o.writerGroupId) ?? new Map(), refreshedAtMs: this.current.refreshedAtMs, historical: true };
  }

  /** A table with no snapshot at the requested time (before its first commit): an empty answer. */
  empty(): TableState {
    return { table: undefined, snapshotId: undefined, offsets: new Map(), refreshedAtMs: this.current.refreshedAtMs, historical: true };
  }

  /**
   * Manifests of older snapshots, kept apart from the current snapshot's (which refresh prunes to what it
   * references): both are immutable files, so any cached entry is exact; the bound only limits memory.
   */
  private historical: ManifestCache = { lists: new Map(), manifests: new Map() };
  private historicalCache(): ManifestCache {
    if (this.historical.lists.size > HISTORICAL_LISTS || this.historical.manifests.size > HISTORICAL_MANIFESTS) this.historical = { lists: new Map(), manifests: new Map() };
    return this.historical;
  }
}
