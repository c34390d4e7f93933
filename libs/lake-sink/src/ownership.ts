import { retry, type RetryPolicy } from '@k2/resilience';
import type { TopicPartition, TopicPartitionOffset } from '@k2/kafka';
import { parseTpKey, tpKey, type OffsetMap } from '@k2/lake';

/** One assignment of a partition to this instance ("incarnation"); buffered work is tagged with it (see dropStale). */
export interface PartitionState {
  /** Next offset we accept; anything lower is a stale re-delivery. */
  next: number;
  /** Next offset durable in the table (lag is measured from here). */
  committed: number;
  /** Positioned at the earliest retained offset: the first message may be above 0 (retention). */
  fromEarliest: boolean;
  /** The position we last re-assigned to because of an offset jump (see IcebergSink.accept). */
  resyncedAt?: number;
  /** Last known high watermark (lag metric). */
  high?: number;
  /** Which table the partition's records go to (the sink's key for it). */
  table: string;
}

export interface OwnershipDeps {
  /** Table key of a topic, or undefined when the topic is not one we write. */
  tableOf: (topic: string) => string | undefined;
  /** The table's committed offsets for this consumer group (ADR 0008). */
  committedOffsets: (table: string) => Promise<OffsetMap>;
  /** Retry policy for reading the offsets (until the writer stops). */
  retryPolicy: (message: string) => RetryPolicy;
  log: (message: string, context: Record<string, unknown>) => void;
}

/**
 * Which partitions this instance owns and where each one stands. Positions come from the tables on every
 * assignment (`positionOnAssign`, ADR 0008), never from Kafka's committed offsets; a revoke forgets the partition,
 * and `takeChanged` tells the sink to drop buffered work of incarnations that are no longer current.
 */
export class PartitionOwnership {
  private readonly partitions = new Map<string, PartitionState>();
  private changed = false;

  constructor(private readonly deps: OwnershipDeps) {}

  get size(): number {
    return this.partitions.size;
  }

  get(key: string): PartitionState | undefined {
    return this.partitions.get(key);
  }

  has(key: string): boolean {
    return this.partitions.has(key);
  }

  entries(): IterableIterator<[string, PartitionState]> {
    return this.partitions.entries();
  }

  /** True when `owner` is still the current incarnation of `tp`. */
  isCurrent = (tp: string, owner: object): boolean => this.partitions.get(tp) === owner;

  /** True once after ownership changed (assign, revoke, reset). */
  takeChanged(): boolean {
    const c = this.changed;
    this.changed = false;
    return c;
  }

  /** Start offset of each newly assigned partition, from the tables (retried until it can be read). */
  async positionsFor(tps: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    const read = async (): Promise<TopicPartitionOffset[]> => {
      const offsets: TopicPartitionOffset[] = [];
      const byTable = new Map<string, TopicPartition[]>();
      for (const tp of tps) {
        const t = this.deps.tableOf(tp.topic);
        if (t) byTable.set(t, [...(byTable.get(t) ?? []), tp]);
      }
      for (const [t, list] of byTable) {
        const committed = await this.deps.committedOffsets(t);
        // No entry: this group never landed the partition in the table → from the earliest retained offset.
        for (const tp of list) offsets.push({ ...tp, offset: committed.get(tpKey(tp.topic, tp.partition)) ?? -2 });
      }
      return offsets;
    };
    return retry(read, this.deps.retryPolicy('cannot read table offsets for the new assignment; retrying'));
  }

  assigned(offsets: TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const table = this.deps.tableOf(o.topic);
      if (!table) continue;
      const start = o.offset < 0 ? 0 : o.offset;
      this.partitions.set(tpKey(o.topic, o.partition), { next: start, committed: start, table, fromEarliest: o.offset < 0 });
    }
    this.changed = true;
    this.deps.log('partitions positioned from iceberg snapshots', {
      assignments: offsets.map((o) => `${o.topic}/${o.partition}@${o.offset === -2 ? 'earliest' : o.offset}`),
    });
  }

  revoked(tps: TopicPartition[]): void {
    for (const tp of tps) this.partitions.delete(tpKey(tp.topic, tp.partition));
    this.changed = true;
  }

  /** Forget everything (the consumer is being replaced: every position is read from the tables again). */
  clear(): void {
    this.partitions.clear();
    this.changed = true;
  }

  /** Offsets durable in a table: the committed position (lag) of the partitions we still own. */
  committed(offsets: ReadonlyMap<string, number>): void {
    for (const [k, offset] of offsets) {
      const st = this.partitions.get(k);
      if (st && st.committed < offset) st.committed = offset;
    }
  }

  /** Where every owned partition continues (re-assign after a rewind). */
  positions(): TopicPartitionOffset[] {
    return [...this.partitions.entries()].map(([k, st]) => ({ ...parseTpKey(k), offset: st.next }));
  }
}
