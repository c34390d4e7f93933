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

/**
 * message_ids already in the table, per partition (day, exchange), loaded lazily the first time a batch touches
 * a partition and then kept in step with the table: every snapshot committed since the last sync (by us or by
 * another writer) contributes the ids of the files it added. Bounded by `maxIds` with least-recently-used
 * eviction; an evicted partition is simply reloaded from its files when needed again.
 */
export const dataFilePartitionKey = (f: DataFile): string => `${f.partition['timestamp_day'] ?? ''}|${f.partition['exchange'] ?? ''}`;

export class DedupIndex {
  private readonly parts = new Map<string, Set<string>>();
  private readonly lastUsed = new Map<string, number>();
  private snapshotId: Long | undefined;
  private total = 0;
  private tick = 0;

  constructor(
    private readonly io: FileIO,
    private readonly parquet: ParquetWriter,
    private readonly maxIds = 5_000_000,
  ) {}

  get size(): number {
    return this.total;
  }

  has(pkey: string, id: string): boolean {
    return this.parts.get(pkey)?.has(id) ?? false;
  }

  /** Brings the index up to `table`'s current snapshot and loads the `needed` partitions. */
  async sync(table: LoadedTable, needed: ReadonlySet<string>): Promise<void> {
    const cur = currentSnapshot(table.metadata);
    if (!cur) {
      this.clear();
      for (const k of needed) this.ensure(k);
      return;
    }
    const curId = cur['snapshot-id'];
    if (this.snapshotId !== curId) {
      const fresh = new Set<Long>();
      let found = this.snapshotId === undefined && this.parts.size === 0;
      for (const s of ancestors(table.metadata)) {
        if (s['snapshot-id'] === this.snapshotId) {
          found = true;
          break;
        }
        if (s.summary.operation !== 'replace') fresh.add(s['snapshot-id']);
      }
      if (!found) this.clear();
      else if (fresh.size > 0 && this.parts.size > 0) {
        const files = await this.filesAddedBy(cur['manifest-list'], fresh);
        await this.addFiles(files.filter((f) => this.parts.has(dataFilePartitionKey(f))));
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
    this.evict(needed);
  }

  /** Ids just committed by us at `snapshotId` (saves re-reading our own files). */
  addCommitted(ids: Iterable<[string, string]>, snapshotId: Long, parentId: Long | undefined): void {
    for (const [pkey, id] of ids) {
      const set = this.parts.get(pkey);
      if (set && !set.has(id)) {
        set.add(id);
        this.total++;
      }
    }
    // Only advance when our snapshot directly follows the state we knew; otherwise the next sync walks the gap.
    if (parentId === this.snapshotId) this.snapshotId = snapshotId;
  }

  clear(): void {
    this.parts.clear();
    this.lastUsed.clear();
    this.total = 0;
    this.snapshotId = undefined;
  }

  private ensure(k: string): void {
    if (!this.parts.has(k)) this.parts.set(k, new Set());
  }

  private evict(keep: ReadonlySet<string>): void {
    if (this.total <= this.maxIds) return;
    const order = [...this.lastUsed.entries()].filter(([k]) => !keep.has(k)).sort((a, b) => a[1] - b[1]);
    for (const [k] of order) {
      if (this.total <= this.maxIds) break;
      this.total -= this.parts.get(k)?.size ?? 0;
      this.parts.delete(k);
      this.lastUsed.delete(k);
    }
  }

  /** One DuckDB scan per partition over all its files (many small files are common before compaction). */
  private async addFiles(files: DataFile[]): Promise<void> {
    const byPartition = new Map<string, string[]>();
    for (const f of files) {
      const k = dataFilePartitionKey(f);
      const list = byPartition.get(k) ?? [];
      list.push(await this.io.localPath(f['file-path']));
      byPartition.set(k, list);
    }
    for (const [k, paths] of byPartition) {
      const set = this.parts.get(k);
      if (!set) continue;
      for (const id of await this.parquet.readStringColumn(paths, 'message_id')) {
        if (!set.has(id)) {
          set.add(id);
          this.total++;
        }
      }
    }
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
