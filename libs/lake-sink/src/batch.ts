import type { OffsetMap } from '@k2/lake';

/** One consumed record as the sink hands it to a table: already encoded as a CSV line of its writer schema. */
export interface BatchRecord {
  /** CSV line in the column order of the writer schema `schemaId` (CsvLineEncoder). */
  line: string;
  id: string;
  /** Partition key (day|exchange); the partition's source values are the event time and the exchange. */
  pkey: string;
  exchange: string;
  schemaId: number;
  tp: string;
  offset: number;
  /** Event time in µs (exact as a double: < 2^53), or null for records without one. */
  eventUs: number | null;
  /** The partition incarnation (assignment) this record was consumed under; see dropStale. */
  owner: object;
}

/**
 * Records of one partition and writer schema, column-wise: the CSV line plus what the commit needs per record.
 * Strings are flat one-byte strings, numbers unboxed doubles: ~60 B of overhead per record instead of a decoded
 * object's ~1 KB.
 */
export class RecordGroup {
  lines: string[] = [];
  ids: string[] = [];
  tps: string[] = [];
  owners: object[] = [];
  offsets: number[] = [];
  events: number[] = [];

  constructor(
    readonly pkey: string,
    readonly schemaId: number,
    readonly source: Readonly<Record<string, unknown>>,
  ) {}

  get size(): number {
    return this.lines.length;
  }

  push(r: BatchRecord): void {
    this.lines.push(r.line);
    this.ids.push(r.id);
    this.tps.push(r.tp);
    this.owners.push(r.owner);
    this.offsets.push(r.offset);
    this.events.push(r.eventUs ?? NaN);
  }

  /** Keeps the records `keep(i)` accepts; returns how many were removed. */
  retain(keep: (i: number) => boolean): number {
    const n = this.lines.length;
    let w = 0;
    for (let i = 0; i < n; i++) {
      if (!keep(i)) continue;
      if (w !== i) {
        this.lines[w] = this.lines[i];
        this.ids[w] = this.ids[i];
        this.tps[w] = this.tps[i];
        this.owners[w] = this.owners[i];
        this.offsets[w] = this.offsets[i];
        this.events[w] = this.events[i];
      }
      w++;
    }
    for (const a of [this.lines, this.ids, this.tps, this.owners, this.offsets, this.events]) a.length = w;
    return n - w;
  }

  append(other: RecordGroup): void {
    this.lines.push(...other.lines);
    this.ids.push(...other.ids);
    this.tps.push(...other.tps);
    this.owners.push(...other.owners);
    this.offsets.push(...other.offsets);
    this.events.push(...other.events);
  }
}

/** Estimated heap bytes of one buffered record beyond its two strings (array slots, string headers). */
export const RECORD_OVERHEAD_BYTES = 80;

const recordBytes = (line: string, id: string): number => line.length + id.length + RECORD_OVERHEAD_BYTES;

/**
 * The records consumed for one table since the last swap, and the next offset per topic-partition they (and
 * dead-lettered records, which yield no row) reach: one batch becomes one snapshot.
 */
export class Batch {
  readonly groups = new Map<string, RecordGroup>();
  /** Next offset per topic-partition consumed into this batch, including records that went to the DLQ. */
  readonly consumed: OffsetMap = new Map();
  private readonly consumedOwner = new Map<string, object>();
  rows = 0;
  bytes = 0;
  firstAt: number | undefined;

  add(r: BatchRecord, now = Date.now()): void {
    const key = `${r.pkey}#${r.schemaId}`;
    let g = this.groups.get(key);
    if (!g) {
      const source = { timestamp: r.eventUs === null ? null : BigInt(r.eventUs), exchange: r.exchange };
      this.groups.set(key, (g = new RecordGroup(r.pkey, r.schemaId, source)));
    }
    g.push(r);
    this.rows++;
    this.bytes += recordBytes(r.line, r.id);
    this.note(r.tp, r.offset + 1, r.owner, now);
  }

  /** A consumed message that produced no row (dead-lettered): its offset still advances with the commit. */
  note(tp: string, nextOffset: number, owner: object, now = Date.now()): void {
    if (this.consumedOwner.get(tp) !== owner) {
      this.consumed.delete(tp);
      this.consumedOwner.set(tp, owner);
    }
    if ((this.consumed.get(tp) ?? -1) < nextOffset) this.consumed.set(tp, nextOffset);
    this.firstAt ??= now;
  }

  hasWork(): boolean {
    return this.consumed.size > 0;
  }

  /**
   * Forget work consumed under an assignment that is no longer current: partitions revoked (their new owner re-reads
   * them from the table's offsets) or revoked and assigned back (we re-read them ourselves from the table's
   * offsets). Records of the current incarnation are kept, however late the revoke is processed.
   */
  dropStale(isCurrent: (tp: string, owner: object) => boolean): number {
    let dropped = 0;
    for (const [k, g] of this.groups) {
      dropped += g.retain((i) => isCurrent(g.tps[i], g.owners[i]));
      if (g.size === 0) this.groups.delete(k);
    }
    if (dropped) this.recount();
    for (const [tp, owner] of this.consumedOwner) {
      if (!isCurrent(tp, owner)) {
        this.consumed.delete(tp);
        this.consumedOwner.delete(tp);
      }
    }
    if (!this.hasWork()) this.firstAt = undefined;
    return dropped;
  }

  /**
   * Puts `later` (consumed after this batch was swapped out) behind this one: a failed commit's batch goes back in
   * front of what arrived meanwhile, so offsets stay in order. Returns this batch.
   */
  absorb(later: Batch): Batch {
    for (const [k, g] of later.groups) {
      const mine = this.groups.get(k);
      if (mine) mine.append(g);
      else this.groups.set(k, g);
    }
    for (const [tp, o] of later.consumed) this.note(tp, o, later.consumedOwner.get(tp)!);
    this.rows += later.rows;
    this.bytes += later.bytes;
    this.firstAt = Math.min(this.firstAt ?? Infinity, later.firstAt ?? Infinity);
    if (this.firstAt === Infinity) this.firstAt = undefined;
    return this;
  }

  private recount(): void {
    let rows = 0;
    let bytes = 0;
    for (const g of this.groups.values()) {
      rows += g.size;
      for (let i = 0; i < g.size; i++) bytes += recordBytes(g.lines[i], g.ids[i]);
    }
    this.rows = rows;
    this.bytes = bytes;
  }
}
