import {
  ancestors,
  currentSnapshot,
  readManifest,
  readManifestList,
  type DataFile,
  type FileIO,
  type LoadedTable,
  type Long,
  type ParquetWriter,
} from '@k2/iceberg';
import { IdFilter } from './id-filter';

export const dataFilePartitionKey = (f: DataFile): string => `${f.partition['timestamp_day'] ?? ''}|${f.partition['exchange'] ?? ''}`;

/** The dedup share of the default memory budget (budget.ts). */
export const DEFAULT_DEDUP_BYTES = 64 * 1024 * 1024;

interface PartitionIds {
  /** Bloom filter over the partition's ids; null when the budget could not hold it (every id is checked exactly). */
  filter: IdFilter | null;
  /** The partition's live data files (URIs): where "maybe seen" is decided exactly. */
  files: string[];
}

/**
 * Exact replay dedup by message_id, per partition (day, exchange), over every row of the partition whatever its age,
 * in memory bounded by `maxBytes`:
 * - a Bloom filter per partition answers "certainly new" for almost every id (IdFilter, ~2 B per id);
 * - the few "maybe seen" ids are checked exactly against the partition's data files by one DuckDB query per
 *   partition and commit (`ParquetWriter.findStrings`), so a false positive never drops a row.
 * Filters are loaded lazily the first time a batch touches a partition and then kept in step with the table: every
 * snapshot committed since the last sync (by us or another writer) contributes the ids of the files it added. Past
 * `maxBytes` the least recently used partitions are evicted (reloaded from their files when needed again); a
 * partition the budget cannot hold even alone is served without a filter (every id checked against the files:
 * slower, still exact).
 */
export class DedupIndex {
  private readonly parts = new Map<string, PartitionIds>();
  private readonly lastUsed = new Map<string, number>();
  private pinned: ReadonlySet<string> = new Set();
  private snapshotId: Long | undefined;
  private tick = 0;

  constructor(
    private readonly io: FileIO,
    private readonly parquet: ParquetWriter,
    private readonly maxBytes = DEFAULT_DEDUP_BYTES,
  ) {}

  /** Ids held in filters. */
  get size(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.filter?.size ?? 0;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.filter?.bytes ?? 0;
    return n;
  }

  /** Partitions currently served without a filter (budget too small for them). */
  get unfiltered(): number {
    return [...this.parts.values()].filter((p) => !p.filter).length;
  }

  /** Which of `ids` (all of partition `pkey`, which the last sync loaded) are already in the table: exact. */
  async known(pkey: string, ids: readonly string[]): Promise<Set<string>> {
    const p = this.parts.get(pkey);
    if (!p || p.files.length === 0) return new Set();
    const f = p.filter;
    const candidates = f ? ids.filter((id) => f.mightHave(id)) : ids;
    if (candidates.length === 0) return new Set();
    const paths = await Promise.all(p.files.map((u) => this.io.localPath(u)));
    return this.parquet.findStrings(paths, 'message_id', candidates);
  }

  /** Brings the index up to `table`'s current snapshot and loads the `needed` partitions. */
  async sync(table: LoadedTable, needed: ReadonlySet<string>): Promise<void> {
    this.pinned = needed;
    const cur = currentSnapshot(table.metadata);
    if (!cur) {
      this.clear();
      for (const k of needed) this.ensure(k);
      return;
    }
    const curId = cur['snapshot-id'];
    if (this.snapshotId !== curId) {
      const fresh = new Set<Long>();
      let rewritten = false;
      let found = this.snapshotId === undefined && this.parts.size === 0;
      for (const s of ancestors(table.metadata)) {
        if (s['snapshot-id'] === this.snapshotId) {
          found = true;
          break;
        }
        // A rewrite (compaction) moves ids to new files; any other operation may add rows with new ids.
        if (s.summary.operation !== 'replace') fresh.add(s['snapshot-id']);
        if (s.summary.operation !== 'append') rewritten = true;
      }
      if (!found) this.clear();
      else if (this.parts.size > 0) {
        if (fresh.size > 0) {
          const files = await this.filesAddedBy(cur['manifest-list'], fresh);
          await this.addFiles(files.filter((f) => this.parts.has(dataFilePartitionKey(f))));
        }
        // Compaction replaced files (same ids, new paths): the exact check must read the live ones.
        if (rewritten) await this.refreshFileLists(cur['manifest-list']);
      }
      this.snapshotId = curId;
    }
    const missing = [...needed].filter((k) => !this.parts.has(k));
    if (missing.length) {
      const want = new Set(missing);
      for (const k of missing) this.ensure(k);
      const files = await this.liveFiles(cur['manifest-list']);
      await this.addFiles(files.filter((f) => want.has(dataFilePartitionKey(f))));
    }
    for (const k of needed) this.lastUsed.set(k, ++this.tick);
  }

  /** Rows just committed by us at `snapshotId` (saves re-reading our own files). */
  addCommitted(ids: Iterable<[string, string]>, files: readonly DataFile[], snapshotId: Long, parentId: Long | undefined): void {
    for (const [pkey, id] of ids) {
      const p = this.parts.get(pkey);
      if (p) this.addId(pkey, p, id);
    }
    for (const f of files) this.parts.get(dataFilePartitionKey(f))?.files.push(f['file-path']);
    // Only advance when our snapshot directly follows the state we knew; otherwise the next sync walks the gap.
    if (parentId === this.snapshotId) this.snapshotId = snapshotId;
  }

  clear(): void {
    this.parts.clear();
    this.lastUsed.clear();
    this.snapshotId = undefined;
  }

  private ensure(k: string): void {
    if (!this.parts.has(k)) this.parts.set(k, { filter: new IdFilter(), files: [] });
  }

  private addId(pkey: string, p: PartitionIds, id: string): void {
    const f = p.filter;
    if (!f) return;
    const grow = f.nextBlockBytes;
    if (grow > 0 && this.bytes + grow > this.maxBytes && !this.makeRoom(grow, pkey)) {
      // Even alone past the budget: serve this partition from its files (exact, slower) and free its filter.
      p.filter = null;
      return;
    }
    f.add(id);
  }

  /** Evicts least recently used partitions (never `pkey` or the ones the current batch needs) until `grow` fits. */
  private makeRoom(grow: number, pkey: string): boolean {
    const order = [...this.lastUsed.entries()].filter(([k]) => k !== pkey && !this.pinned.has(k)).sort((a, b) => a[1] - b[1]);
    for (const [k] of order) {
      if (this.bytes + grow <= this.maxBytes) break;
      this.parts.delete(k);
      this.lastUsed.delete(k);
    }
    return this.bytes + grow <= this.maxBytes;
  }

  /** One streamed DuckDB scan per partition over all its files (many small files are common before compaction). */
  private async addFiles(files: DataFile[]): Promise<void> {
    const byPartition = new Map<string, DataFile[]>();
    for (const f of files) {
      const k = dataFilePartitionKey(f);
      byPartition.set(k, [...(byPartition.get(k) ?? []), f]);
    }
    for (const [k, list] of byPartition) {
      const p = this.parts.get(k);
      if (!p) continue;
      p.files.push(...list.map((f) => f['file-path']));
      if (!p.filter) continue;
      const paths = await Promise.all(list.map((f) => this.io.localPath(f['file-path'])));
      await this.parquet.forEachString(paths, 'message_id', (ids) => {
        for (const id of ids) this.addId(k, p, id);
      });
    }
  }

  private async refreshFileLists(manifestList: string): Promise<void> {
    for (const p of this.parts.values()) p.files = [];
    for (const f of await this.liveFiles(manifestList)) this.parts.get(dataFilePartitionKey(f))?.files.push(f['file-path']);
  }

  private async liveFiles(manifestList: string): Promise<DataFile[]> {
    const out: DataFile[] = [];
    for (const m of readManifestList(await this.io.read(manifestList), manifestList)) {
      if (m.content !== 0) continue;
      for (const e of readManifest(await this.io.read(m['manifest-path']), m)) if (e.status !== 2) out.push(e['data-file']);
    }
    return out;
  }

  private async filesAddedBy(manifestList: string, snapshots: ReadonlySet<Long>): Promise<DataFile[]> {
    const out: DataFile[] = [];
    for (const m of readManifestList(await this.io.read(manifestList), manifestList)) {
      if (m.content !== 0 || !snapshots.has(m['added-snapshot-id'])) continue;
      for (const e of readManifest(await this.io.read(m['manifest-path']), m)) {
        if (e.status === 1 && e['snapshot-id'] !== null && snapshots.has(e['snapshot-id'])) out.push(e['data-file']);
      }
    }
    return out;
  }
}
