import { EventEmitter } from 'node:events';

/** A decoded V2 record as avsc gives it: decimals as canonical text, µs and longs as bigint, maps as objects. */
export type V2Record = Record<string, unknown>;
export type TailKind = 'trades' | 'quotes';

export interface TailRow {
  tp: string;
  offset: number;
  rec: V2Record;
  ts: bigint;
  id: string;
  symbol: string;
  exchange: string;
}

export interface TailStoreOptions {
  /** Records held across both kinds; above it the oldest of the largest partition backlog are dropped. */
  maxRecords: number;
  /** Newest rows remembered per symbol for `latest` (the live stream's backfill on connect). Default 256. */
  recentPerSymbol?: number;
}

export interface TailStoreEvents {
  /** A new (not duplicate) record. */
  row: [kind: TailKind, row: TailRow];
}

/** The filters of a cross-source read (params.ts Selection, without the import cycle). */
export interface TailSelection {
  symbols: readonly string[] | undefined;
  exchange: string | undefined;
  assetClass: string | undefined;
}

/** Offsets per `topic/partition` (see tpKey): the next offset the Iceberg table does not yet hold. */
export type Offsets = ReadonlyMap<string, number>;

interface Partition {
  rows: TailRow[];
  head: number;
  /** Rows below this offset were dropped for memory, not because the table holds them. */
  floor: number;
  /** One past the newest offset added (replay-then-follow's hand-over position, issue 16). */
  next: number;
}

/**
 * The last `capacity` rows added for one symbol, overwritten in place: a stream that connects reads at most
 * `capacity` rows instead of copying and sorting the symbol's whole tail.
 */
class Ring {
  private readonly buf: TailRow[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(row: TailRow): void {
    if (this.buf.length < this.capacity) this.buf.push(row);
    else this.buf[this.next] = row;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest to newest by arrival. */
  *rows(): IterableIterator<TailRow> {
    const start = this.buf.length < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.buf.length; i++) yield this.buf[(start + i) % this.buf.length];
  }
}

class KindStore {
  readonly partitions = new Map<string, Partition>();
  readonly bySymbol = new Map<string, Set<TailRow>>();
  readonly byId = new Map<string, TailRow>();
  readonly recent = new Map<string, Ring>();
  size = 0;

  /** Still held (not evicted, not replaced by a later row with the same id). */
  holds(row: TailRow): boolean {
    return this.byId.get(row.id) === row;
  }

  partition(tp: string): Partition {
    let p = this.partitions.get(tp);
    if (!p) this.partitions.set(tp, (p = { rows: [], head: 0, floor: 0, next: 0 }));
    return p;
  }

  remove(row: TailRow): void {
    const set = this.bySymbol.get(row.symbol);
    if (set?.delete(row) && set.size === 0) {
      this.bySymbol.delete(row.symbol);
      this.recent.delete(row.symbol);
    }
    if (this.byId.get(row.id) === row) this.byId.delete(row.id);
    this.size--;
  }

  /** Drops consumed-from-the-front rows once they are a large share of the array (amortised O(1) shift). */
  compact(p: Partition): void {
    if (p.head > 1024 && p.head * 2 > p.rows.length) {
      p.rows = p.rows.slice(p.head);
      p.head = 0;
    }
  }
}

/**
 * The hybrid tail's memory: every V2 record read from Kafka that the Iceberg table does not hold yet, per kind,
 * indexed by symbol and by message_id. Rows leave when a table snapshot's offsets pass them (`evictCommitted`) or,
 * when `maxRecords` is reached, oldest first (`truncatedFor` then reports the hole, so answers can say so).
 * Duplicates (same message_id, e.g. a streamer's replay after a restart) are kept once, as the writer does.
 */
export class TailStore extends EventEmitter<TailStoreEvents> {
  private readonly kinds: Record<TailKind, KindStore> = { trades: new KindStore(), quotes: new KindStore() };
  readonly counters = { duplicates: 0, evictedCommitted: 0, evictedMemory: 0 };

  constructor(private readonly opts: TailStoreOptions) {
    super();
  }

  get size(): number {
    return this.kinds.trades.size + this.kinds.quotes.size;
  }

  sizeOf(kind: TailKind): number {
    return this.kinds[kind].size;
  }

  /** Returns false for a duplicate message_id. */
  add(kind: TailKind, row: TailRow): boolean {
    const k = this.kinds[kind];
    if (k.byId.has(row.id)) {
      this.counters.duplicates++;
      return false;
    }
    const part = k.partition(row.tp);
    part.rows.push(row);
    if (row.offset >= part.next) part.next = row.offset + 1;
    k.byId.set(row.id, row);
    let set = k.bySymbol.get(row.symbol);
    if (!set) k.bySymbol.set(row.symbol, (set = new Set()));
    set.add(row);
    let ring = k.recent.get(row.symbol);
    if (!ring) k.recent.set(row.symbol, (ring = new Ring(this.opts.recentPerSymbol ?? 256)));
    ring.push(row);
    k.size++;
    if (this.size > this.opts.maxRecords) this.shed();
    this.emit('row', kind, row);
    return true;
  }

  /** Forgets rows the table now holds: offset < offsets[tp]. */
  evictCommitted(kind: TailKind, offsets: Offsets): number {
    const k = this.kinds[kind];
    let n = 0;
    for (const [tp, p] of k.partitions) {
      const upTo = offsets.get(tp);
      if (upTo === undefined) continue;
      while (p.head < p.rows.length && p.rows[p.head].offset < upTo) {
        k.remove(p.rows[p.head]);
        p.head++;
        n++;
      }
      k.compact(p);
    }
    this.counters.evictedCommitted += n;
    return n;
  }

  /**
   * The rows a table snapshot with `offsets` does not hold, in [startUs, endUs), of every selected symbol (all when
   * `symbols` is undefined), optionally of one exchange and one asset class. Synchronous, so the caller captures
   * table view and tail rows at the same instant.
   */
  select(kind: TailKind, sel: TailSelection, startUs: bigint, endUs: bigint, offsets: Offsets): TailRow[] {
    const k = this.kinds[kind];
    const sets = sel.symbols ? sel.symbols.map((s) => k.bySymbol.get(s)).filter((x): x is Set<TailRow> => x !== undefined) : [...k.bySymbol.values()];
    const out: TailRow[] = [];
    for (const set of sets) {
      for (const r of set) {
        if (r.ts < startUs || r.ts >= endUs) continue;
        if (sel.exchange !== undefined && r.exchange !== sel.exchange) continue;
        if (sel.assetClass !== undefined && r.rec['asset_class'] !== sel.assetClass) continue;
        if (r.offset < (offsets.get(r.tp) ?? 0)) continue;
        out.push(r);
      }
    }
    return out;
  }

  /** Every symbol currently in the tail, with its rows (for /v1/symbols). */
  symbols(kind: TailKind): IterableIterator<[string, Set<TailRow>]> {
    return this.kinds[kind].bySymbol.entries();
  }

  /**
   * The newest `n` rows of a symbol by event time that the tail still holds, oldest first, taken from the symbol's
   * ring of recent rows (so at most `recentPerSymbol`): the cost does not grow with the symbol's tail.
   */
  latest(kind: TailKind, symbol: string, exchange: string | undefined, n: number): TailRow[] {
    const k = this.kinds[kind];
    const ring = k.recent.get(symbol);
    if (!ring || n <= 0) return [];
    const rows: TailRow[] = [];
    for (const r of ring.rows()) if ((exchange === undefined || r.exchange === exchange) && k.holds(r)) rows.push(r);
    rows.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    return rows.slice(-n);
  }

  /**
   * True when rows a snapshot with `offsets` does not hold were dropped for memory: the answer would miss them
   * (the caller flags it as degraded).
   */
  truncatedFor(kind: TailKind, offsets: Offsets): boolean {
    for (const [tp, p] of this.kinds[kind].partitions) {
      if (p.floor > (offsets.get(tp) ?? 0)) return true;
    }
    return false;
  }

  /**
   * Replay-then-follow (issue 16): per partition, one past the newest offset this store has added. Duplicates
   * (not added) do not move it; the hand-over takes the larger of this and the table's offset.
   */
  positions(kind: TailKind): Map<string, number> {
    const out = new Map<string, number>();
    for (const [tp, p] of this.kinds[kind].partitions) out.set(tp, p.next);
    return out;
  }

  private shed(): void {
    while (this.size > this.opts.maxRecords) {
      let worst: { k: KindStore; p: Partition } | undefined;
      for (const k of Object.values(this.kinds)) {
        for (const p of k.partitions.values()) {
          if (!worst || p.rows.length - p.head > worst.p.rows.length - worst.p.head) worst = { k, p };
        }
      }
      if (!worst || worst.p.head >= worst.p.rows.length) return;
      // Drop a tenth of that backlog at once so a full store does not rescan partitions per record.
      const drop = Math.max(1, Math.floor((worst.p.rows.length - worst.p.head) / 10));
      for (let i = 0; i < drop && worst.p.head < worst.p.rows.length; i++) {
        const r = worst.p.rows[worst.p.head++];
        worst.k.remove(r);
        worst.p.floor = r.offset + 1;
        this.counters.evictedMemory++;
      }
      worst.k.compact(worst.p);
    }
  }
}
