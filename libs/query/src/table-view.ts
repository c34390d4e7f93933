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
} from '@k2/iceberg';
import { TABLE_BY_KIND, tableOffsets } from '@k2/lake';
import type { Offsets, TailKind } from './tail-store';

/** What one request reads from the table: a fixed snapshot and the Kafka offsets it holds. */
export interface TableState {
  table: LoadedTable | undefined;
  snapshotId: Long | undefined;
  offsets: Offsets;
  refreshedAtMs: number;
}

export interface TableViewOptions {
  kind: TailKind;
  catalog: Catalog;
  io: FileIO;
  namespace: readonly string[];
  /** The writer's consumer group, whose offsets the snapshot summaries carry. */
  writerGroupId: string;
  logger: Logger;
  /** Called synchronously after every switch to a newer snapshot (the tail evicts what it now holds). */
  onAdvance?: (state: TableState) => void;
}

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

  get kind(): TailKind {
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
    return planScan(this.o.io, state.table, { predicates, snapshotId: state.snapshotId, cache: this.cache });
  }
}
