import type { Exchange } from './options';
import { Rng, deriveSeed } from './rng';
import type { SymbolSpec } from './symbols';
import { F_BUYER_MAKER, F_MARKET, F_ORDER_FIRST, F_ORDER_LAST, Tape } from './tape';

export const EV_TRADE = 0;
export const EV_QUOTE = 1;

/**
 * Generation never puts more than this many trades in one tick (100 ms at 200k/s): a tick's trades are then
 * always still held by the tape, and a late tick does not turn into a flood that makes the next one later.
 */
export const MAX_TRADES_PER_TICK = 20000;

/** Best bid/offer after the latest quote event, plus the running statistics Kraken's ticker reports. */
export interface SymbolState {
  index: number;
  spec: SymbolSpec;
  tape: Tape;
  bid: number;
  bidQty: number;
  ask: number;
  askQty: number;
  bookUpdateId: number;
  /** Ticker statistics over everything generated (the simulator's stand-in for Kraken's 24 h window). */
  open: number;
  last: number;
  low: number;
  high: number;
  volume: number;
  notional: number;
}

/**
 * One tick's events in generation order. Trade events point at a tape seq; quote events at a slot of the
 * quote lanes. Arrays are reused between ticks, so consumers must not keep them past the callback.
 */
export class Batch {
  n = 0;
  nowUs = 0;
  kind = new Uint8Array(1024);
  sym = new Uint16Array(1024);
  ref = new Float64Array(1024);
  qn = 0;
  bid = new Float64Array(256);
  bidQty = new Float64Array(256);
  ask = new Float64Array(256);
  askQty = new Float64Array(256);
  updateId = new Float64Array(256);
  qtime = new Float64Array(256);

  reset(nowUs: number): void {
    this.n = 0;
    this.qn = 0;
    this.nowUs = nowUs;
  }

  private growEvents(): void {
    const cap = this.kind.length * 2;
    const k = new Uint8Array(cap);
    k.set(this.kind);
    const s = new Uint16Array(cap);
    s.set(this.sym);
    const r = new Float64Array(cap);
    r.set(this.ref);
    this.kind = k;
    this.sym = s;
    this.ref = r;
  }

  private growQuotes(): void {
    const cap = this.bid.length * 2;
    const g = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.bid = g(this.bid);
    this.bidQty = g(this.bidQty);
    this.ask = g(this.ask);
    this.askQty = g(this.askQty);
    this.updateId = g(this.updateId);
    this.qtime = g(this.qtime);
  }

  pushTrade(sym: number, seq: number): void {
    if (this.n === this.kind.length) this.growEvents();
    this.kind[this.n] = EV_TRADE;
    this.sym[this.n] = sym;
    this.ref[this.n++] = seq;
  }

  pushQuote(s: SymbolState, timeUs: number): void {
    if (this.qn === this.bid.length) this.growQuotes();
    const q = this.qn++;
    this.bid[q] = s.bid;
    this.bidQty[q] = s.bidQty;
    this.ask[q] = s.ask;
    this.askQty[q] = s.askQty;
    this.updateId[q] = s.bookUpdateId;
    this.qtime[q] = timeUs;
    if (this.n === this.kind.length) this.growEvents();
    this.kind[this.n] = EV_QUOTE;
    this.sym[this.n] = s.index;
    this.ref[this.n++] = q;
  }
}

export interface Source {
  /** Fills `batch` with what is due by `nowUs`. */
  generate(m: Market, batch: Batch, nowUs: number): void;
  /** False once the source can produce nothing more (replay finished, every symbol at --max-trades). */
  active(m: Market): boolean;
}

export function nowMicros(): number {
  // performance.timeOrigin + now() is a monotonic-ish wall clock with sub-ms resolution.
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export class Market {
  readonly symbols: SymbolState[] = [];
  private readonly byName = new Map<string, SymbolState>();
  private readonly listeners: Array<(b: Batch) => void> = [];
  private readonly batch = new Batch();
  paused = false;
  rate: number;

  constructor(
    readonly exchange: Exchange,
    specs: SymbolSpec[],
    history: number,
    rate: number,
    readonly maxTrades: number | undefined,
    private source: Source | undefined,
  ) {
    this.rate = rate;
    for (const spec of specs) this.addSymbol(spec, history);
  }

  setSource(source: Source): void {
    this.source = source;
  }

  addSymbol(spec: SymbolSpec, history: number): SymbolState {
    const existing = this.byName.get(spec.name);
    if (existing) return existing;
    const p = spec.startPriceUnits;
    const s: SymbolState = {
      index: this.symbols.length,
      spec,
      tape: new Tape(history),
      bid: p - spec.tickUnits,
      bidQty: spec.medianQtyUnits,
      ask: p + spec.tickUnits,
      askQty: spec.medianQtyUnits,
      bookUpdateId: 400900217,
      open: p,
      last: p,
      low: p,
      high: p,
      volume: 0,
      notional: 0,
    };
    this.symbols.push(s);
    this.byName.set(spec.name, s);
    if (spec.wire !== spec.name) this.byName.set(spec.wire, s);
    return s;
  }

  symbol(name: string): SymbolState | undefined {
    return this.byName.get(name);
  }

  onBatch(fn: (b: Batch) => void): void {
    this.listeners.push(fn);
  }

  get generating(): boolean {
    return !this.paused && this.source !== undefined && this.source.active(this);
  }

  /** Records a trade's effect on the ticker statistics. */
  noteTrade(s: SymbolState, priceUnits: number, qtyUnits: number): void {
    if (s.tape.count === 1) s.open = s.low = s.high = priceUnits;
    s.last = priceUnits;
    if (priceUnits < s.low) s.low = priceUnits;
    if (priceUnits > s.high) s.high = priceUnits;
    s.volume += qtyUnits;
    s.notional += (priceUnits / 1e8) * qtyUnits;
  }

  tick(nowUs = nowMicros()): void {
    if (this.paused || !this.source) return;
    const b = this.batch;
    b.reset(nowUs);
    this.source.generate(this, b, nowUs);
    if (b.n === 0) return;
    for (const fn of this.listeners) fn(b);
  }
}

/**
 * Synthetic market: a random walk per symbol, taker orders of 1..6 fills at one price (so aggregate trades
 * mean something), bursty arrivals at --rate on average, and --quotes-per-trade best-bid/offer changes.
 * Trade content comes from one seeded stream and arrival timing from another, so with --seed the tape's
 * prices, sizes and sides are reproducible whatever the machine's speed.
 */
export class SyntheticSource implements Source {
  private readonly rnd: Rng;
  private readonly arrivals: Rng;
  private readonly quotes: Rng;
  private credit = 0;
  private quoteCredit = 0;
  private lastUs = 0;
  private readonly nextId: number[] = [];
  private readonly nextAgg: number[] = [];
  private readonly lastTime: number[] = [];
  private readonly lastEvent: number[] = [];

  constructor(
    m: Market,
    seed: number,
    startId: number,
    aggStartId: number,
    private readonly quotesPerTrade: number,
    bookStartId?: number,
  ) {
    this.rnd = new Rng(deriveSeed(seed, `${m.exchange}:trades`));
    this.arrivals = new Rng(deriveSeed(seed, `${m.exchange}:arrivals`));
    this.quotes = new Rng(deriveSeed(seed, `${m.exchange}:quotes`));
    for (let i = 0; i < m.symbols.length; i++) {
      this.nextId.push(startId);
      this.nextAgg.push(aggStartId);
      this.lastTime.push(0);
      this.lastEvent.push(0);
      if (bookStartId !== undefined) (m.symbols[i] as SymbolState).bookUpdateId = bookStartId;
    }
  }

  active(m: Market): boolean {
    const max = m.maxTrades;
    return max === undefined || m.symbols.some((s) => s.tape.count < max);
  }

  generate(m: Market, b: Batch, nowUs: number): void {
    if (this.lastUs === 0) this.lastUs = nowUs;
    const dt = Math.max(0, (nowUs - this.lastUs) / 1e6);
    const prevUs = this.lastUs;
    this.lastUs = nowUs;
    // Credit accrues at --rate and is spent in bursts: some ticks are quiet, others catch up, so arrivals
    // are uneven but average out to the rate. Capped at half a second so a pause or a blocked loop does not
    // release a flood.
    this.credit = Math.min(this.credit + m.rate * dt, Math.max(1, m.rate * 0.5));
    if (this.credit < 1) return;
    const u = this.arrivals.next();
    if (u < 0.25 && this.credit < m.rate * 0.1) return;
    const want = Math.min(MAX_TRADES_PER_TICK, Math.floor(this.credit * (u < 0.25 ? 1 : 0.5 + 0.5 * this.arrivals.next())));
    if (want < 1) return;
    const max = m.maxTrades ?? Infinity;
    const syms = m.symbols;
    let made = 0;
    const span = Math.max(1, nowUs - prevUs);
    while (made < want) {
      // Pick from the full list and re-pick past symbols at --max-trades: the draws then depend only on the
      // sequence so far, never on where tick boundaries fell.
      const s = syms.length === 1 ? syms[0] : syms[Math.floor(this.rnd.next() * syms.length)];
      const room = max - s.tape.count;
      if (room <= 0) {
        if (syms.every((a) => a.tape.count >= max)) break;
        continue;
      }
      // Orders land in time order across the tick interval; per symbol, trade times strictly increase by at
      // least 1 µs, which keeps Kraken's `since` paging (by nanosecond time) exact.
      const t = Math.max(prevUs + Math.floor((span * (made + 1)) / want), this.lastTime[s.index] + 1);
      // Orders are never cut to fit the tick (only --max-trades cuts them), so the content stays seed-determined.
      made += this.order(m, b, s, t, room);
    }
    this.credit -= made;
  }

  private order(m: Market, b: Batch, s: SymbolState, t0: number, maxFills: number): number {
    const r = this.rnd;
    const spec = s.spec;
    const sell = r.next() < 0.5;
    const market = r.next() < 0.6;
    // Random walk: about 2 bp per order, in whole ticks, never below ten ticks.
    const sigmaTicks = (s.last * 0.0002) / spec.tickUnits;
    const step = Math.round(r.normal() * sigmaTicks);
    const price = Math.max(spec.tickUnits * 10, s.last + step * spec.tickUnits);
    let fills = 1;
    while (fills < 6 && r.next() < 0.45) fills++;
    fills = Math.min(fills, maxFills);
    const agg = this.nextAgg[s.index];
    this.nextAgg[s.index] = agg + 1;
    let t = t0;
    for (let f = 0; f < fills; f++) {
      let qty: number;
      if (r.next() < 0.02) qty = spec.lotUnits * r.int(1, 9); // dust: exercises 0.00000001-style numbers
      else qty = Math.max(spec.lotUnits, Math.round((spec.medianQtyUnits * Math.exp(r.normal() * 0.9)) / spec.lotUnits) * spec.lotUnits);
      if (qty > 5e15) qty = Math.floor(5e15 / spec.lotUnits) * spec.lotUnits;
      const flags = (sell ? F_BUYER_MAKER : 0) | (market ? F_MARKET : 0) | (f === 0 ? F_ORDER_FIRST : 0) | (f === fills - 1 ? F_ORDER_LAST : 0);
      const id = this.nextId[s.index];
      this.nextId[s.index] = id + 1;
      // Event time (Binance E) trails the trade by 0.2-3 ms of publication delay and never goes backwards.
      const ev = Math.max(t + 200 + Math.floor(this.arrivals.next() * 2800), this.lastEvent[s.index]);
      this.lastEvent[s.index] = ev;
      const lag = ev - t;
      const seq = s.tape.append(id, agg, price, qty, t, lag, flags);
      this.lastTime[s.index] = t;
      m.noteTrade(s, price, qty);
      b.pushTrade(s.index, seq);
      this.quoteCredit += this.quotesPerTrade;
      while (this.quoteCredit >= 1) {
        this.quoteCredit -= 1;
        this.moveBook(s, price, sell);
        b.pushQuote(s, t);
      }
      t++;
    }
    return fills;
  }

  /** New best bid/offer around the last trade: the side the taker hit sits at the trade price. */
  private moveBook(s: SymbolState, price: number, sell: boolean): void {
    const q = this.quotes;
    const tick = s.spec.tickUnits;
    const spread = tick * (1 + Math.floor(q.next() * 3));
    if (sell) {
      s.bid = price;
      s.ask = price + spread;
    } else {
      s.ask = price;
      s.bid = Math.max(tick, price - spread);
    }
    const lot = s.spec.lotUnits;
    s.bidQty = Math.max(lot, Math.round((s.spec.medianQtyUnits * Math.exp(q.normal())) / lot) * lot);
    s.askQty = Math.max(lot, Math.round((s.spec.medianQtyUnits * Math.exp(q.normal())) / lot) * lot);
    s.bookUpdateId += 1 + Math.floor(q.next() * 5);
  }
}
