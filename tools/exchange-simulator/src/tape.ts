/** Trade flag bits. */
export const F_BUYER_MAKER = 1; // Binance m=true: the buyer was the maker, the taker (aggressor) sold
export const F_MARKET = 2; // Kraken ord_type "market" (taker order type)
export const F_ORDER_FIRST = 4; // first fill of a taker order (starts an aggregate trade)
export const F_ORDER_LAST = 8; // last fill of a taker order (closes an aggregate trade)

const MIN_RING = 65536;

/**
 * Every trade generated for one symbol, in id order: the truth that REST serves and the admin API reports,
 * whatever the WebSocket side hid. A ring of parallel typed arrays (about 45 bytes a trade) that grows on
 * demand up to max(--history, 65536) entries; REST sees the newest --history of them. `seq` numbers every
 * trade ever appended (0, 1, 2, ...) so callers can address a trade without knowing where the ring wrapped.
 */
export class Tape {
  private cap = 1024;
  private readonly maxCap: number;
  private start = 0; // ring index of seq `base`
  private base = 0; // oldest retained seq
  private size = 0;
  count = 0; // trades ever appended (next seq)
  firstId: number | undefined;
  lastId: number | undefined;
  firstAgg: number | undefined;
  lastAgg: number | undefined;
  /** Runs of consecutive ids ([from, to] pairs): the complete id list without storing every id. */
  readonly runs: number[] = [];

  private id = new Float64Array(this.cap);
  private agg = new Float64Array(this.cap);
  private price = new Float64Array(this.cap);
  private qty = new Float64Array(this.cap);
  private time = new Float64Array(this.cap);
  private lag = new Uint32Array(this.cap);
  private flag = new Uint8Array(this.cap);

  constructor(readonly history: number) {
    this.maxCap = Math.max(history, MIN_RING);
  }

  private grow(): void {
    const next = Math.min(this.maxCap, this.cap * 2);
    // The ring is full when it grows: oldest entries run from `start` to the end, then wrap to 0.
    const move = <T extends Float64Array | Uint32Array | Uint8Array>(src: T, dst: T): T => {
      const head = src.subarray(this.start, this.cap);
      dst.set(head, 0);
      dst.set(src.subarray(0, this.start), head.length);
      return dst;
    };
    this.id = move(this.id, new Float64Array(next));
    this.agg = move(this.agg, new Float64Array(next));
    this.price = move(this.price, new Float64Array(next));
    this.qty = move(this.qty, new Float64Array(next));
    this.time = move(this.time, new Float64Array(next));
    this.lag = move(this.lag, new Uint32Array(next));
    this.flag = move(this.flag, new Uint8Array(next));
    this.start = 0;
    this.cap = next;
  }

  /** Appends one trade; returns its seq. Ids must increase. */
  append(id: number, agg: number, priceUnits: number, qtyUnits: number, timeUs: number, lagUs: number, flags: number): number {
    if (this.size === this.cap) {
      if (this.cap < this.maxCap) this.grow();
      else {
        this.start = (this.start + 1) % this.cap;
        this.base++;
        this.size--;
      }
    }
    const i = (this.start + this.size) % this.cap;
    this.id[i] = id;
    this.agg[i] = agg;
    this.price[i] = priceUnits;
    this.qty[i] = qtyUnits;
    this.time[i] = timeUs;
    this.lag[i] = lagUs;
    this.flag[i] = flags;
    this.size++;
    if (this.firstId === undefined) this.firstId = id;
    if (this.firstAgg === undefined) this.firstAgg = agg;
    const n = this.runs.length;
    if (n > 0 && this.runs[n - 1] === id - 1) this.runs[n - 1] = id;
    else this.runs.push(id, id);
    this.lastId = id;
    this.lastAgg = agg;
    return this.count++;
  }

  private idx(seq: number): number {
    return (this.start + (seq - this.base)) % this.cap;
  }

  /** Oldest seq REST may serve (the newest --history trades). */
  get restFirstSeq(): number {
    return Math.max(this.base, this.count - this.history);
  }

  /** Oldest seq still held (the WebSocket side may need a little more than --history within one tick). */
  get heldFirstSeq(): number {
    return this.base;
  }

  idAt(seq: number): number {
    return this.id[this.idx(seq)];
  }
  aggAt(seq: number): number {
    return this.agg[this.idx(seq)];
  }
  priceAt(seq: number): number {
    return this.price[this.idx(seq)];
  }
  qtyAt(seq: number): number {
    return this.qty[this.idx(seq)];
  }
  timeAt(seq: number): number {
    return this.time[this.idx(seq)];
  }
  /** Event time (Binance `E`): trade time plus the simulated publication lag. */
  eventAt(seq: number): number {
    const i = this.idx(seq);
    return this.time[i] + this.lag[i];
  }
  flagsAt(seq: number): number {
    return this.flag[this.idx(seq)];
  }

  /** First REST-visible seq whose lane value is >= v (ids, aggregate ids and times all increase with seq). */
  private lowerBound(lane: 'id' | 'agg' | 'time', v: number): number {
    const arr = this[lane];
    let lo = this.restFirstSeq;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (arr[this.idx(mid)] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  seqForId(id: number): number {
    return this.lowerBound('id', id);
  }
  seqForAgg(agg: number): number {
    return this.lowerBound('agg', agg);
  }
  seqForTime(us: number): number {
    return this.lowerBound('time', us);
  }

  /** Every id ever appended, as decimal strings. */
  allIds(): string[] {
    const out: string[] = [];
    for (let r = 0; r < this.runs.length; r += 2) for (let id = this.runs[r]; id <= this.runs[r + 1]; id++) out.push(String(id));
    return out;
  }
}
