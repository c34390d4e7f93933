import { readFileSync } from 'node:fs';
import { type Batch, MAX_TRADES_PER_TICK, type Market, type Source } from './market';
import type { Exchange } from './options';
import { parseRfc3339Micros, parseUnits } from './numfmt';
import { krakenCanonical } from './symbols';
import { F_BUYER_MAKER, F_MARKET, F_ORDER_FIRST, F_ORDER_LAST } from './tape';

/**
 * Replay recordings: JSON Lines, one received frame per line, the frame kept as its exact text so number
 * spellings and ids above 2^53 survive:
 *
 *   {"ts":1695628116925,"exchange":"kraken","raw":"{\"channel\":\"trade\",\"type\":\"update\",\"data\":[...]}"}
 *
 * `ts` is the receipt time in epoch milliseconds and sets the replay pace (per exchange); other fields
 * (`note`) are ignored; lines without `raw` (comments,
 * `{"comment":"..."}`) and blank lines are skipped. Binance `trade` events (raw or combined) and `bookTicker`
 * updates, and Kraken v2 `trade` snapshot/update and `ticker` messages become the replayed tape and quotes;
 * everything else in the file (status, heartbeats, acks, aggTrade) is ignored because the simulator derives
 * it. Replayed trades keep their recorded ids, prices, quantities, sides and times and are re-serialised in
 * the simulator's own format, so timeUnit, the combined wrapper, faults and REST all work on them.
 */

export interface ReplayTrade {
  kind: 'trade';
  dueMs: number;
  symbol: string;
  id: number;
  agg: number;
  price: number;
  qty: number;
  timeUs: number;
  lagUs: number;
  flags: number;
}

export interface ReplayQuote {
  kind: 'quote';
  dueMs: number;
  symbol: string;
  bid: number;
  bidQty: number;
  ask: number;
  askQty: number;
  updateId?: number;
}

export type ReplayEvent = ReplayTrade | ReplayQuote;

export interface Recording {
  events: Record<Exchange, ReplayEvent[]>;
  symbols: Record<Exchange, string[]>;
  skipped: number;
}

function units(v: unknown): number | undefined {
  return typeof v === 'string' ? parseUnits(v) : undefined;
}

/** Kraken numbers are quoted before JSON.parse so their digits are read from the text, not from a double. */
function quoteKrakenNumbers(raw: string): string {
  return raw.replace(/"(price|qty|bid|bid_qty|ask|ask_qty|last|connection_id)":(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, '"$1":"$2"');
}

export function parseRecording(text: string, aggStartId: number): Recording {
  const events: Record<Exchange, ReplayEvent[]> = { binance: [], kraken: [] };
  const lastId = new Map<string, number>();
  let skipped = 0;
  const t0: Partial<Record<Exchange, number>> = {};
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === '' || line.startsWith('#')) continue;
    let rec: { ts?: unknown; exchange?: unknown; raw?: unknown };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      throw new Error(`replay file line ${n + 1}: not JSON`);
    }
    if (typeof rec.raw !== 'string') continue;
    if (rec.exchange !== 'binance' && rec.exchange !== 'kraken') throw new Error(`replay file line ${n + 1}: exchange must be binance or kraken`);
    const ex: Exchange = rec.exchange;
    // Each exchange is paced from its own first line, so recordings of the two can be concatenated.
    const ts = typeof rec.ts === 'number' ? rec.ts : (t0[ex] ?? 0);
    t0[ex] ??= ts;
    const dueMs = ts - (t0[ex] ?? ts);
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(ex === 'kraken' ? quoteKrakenNumbers(rec.raw) : rec.raw) as Record<string, unknown>;
    } catch {
      skipped++;
      continue;
    }
    const push = (e: ReplayEvent): void => {
      if (e.kind === 'trade') {
        const key = `${ex}:${e.symbol}`;
        const prev = lastId.get(key);
        if (prev !== undefined && e.id <= prev) return; // overlap (snapshot after updates, duplicate frames)
        lastId.set(key, e.id);
      }
      events[ex].push(e);
    };
    if (ex === 'binance') {
      const d = (typeof frame['stream'] === 'string' && typeof frame['data'] === 'object' ? frame['data'] : frame) as Record<string, unknown>;
      if (d['e'] === 'trade') {
        const price = units(d['p']);
        const qty = units(d['q']);
        const T = Number(d['T']);
        const E = Number(d['E'] ?? d['T']);
        if (typeof d['s'] !== 'string' || !Number.isSafeInteger(d['t']) || price === undefined || qty === undefined || !Number.isFinite(T)) {
          skipped++;
          continue;
        }
        const scale = T > 1e14 ? 1 : 1000; // µs when recorded with timeUnit=MICROSECOND
        push({ kind: 'trade', dueMs, symbol: d['s'], id: d['t'] as number, agg: 0, price, qty, timeUs: T * scale, lagUs: Math.max(0, (E - T) * scale), flags: d['m'] === true ? F_BUYER_MAKER : 0 });
      } else if (d['e'] === undefined && typeof d['s'] === 'string' && 'u' in d && 'b' in d) {
        const q = { bid: units(d['b']), bidQty: units(d['B']), ask: units(d['a']), askQty: units(d['A']) };
        if (q.bid === undefined || q.bidQty === undefined || q.ask === undefined || q.askQty === undefined) {
          skipped++;
          continue;
        }
        push({ kind: 'quote', dueMs, symbol: d['s'], bid: q.bid, bidQty: q.bidQty, ask: q.ask, askQty: q.askQty, updateId: Number(d['u']) });
      }
    } else if (frame['channel'] === 'trade' && Array.isArray(frame['data'])) {
      for (const t of frame['data'] as Array<Record<string, unknown>>) {
        const symbol = typeof t['symbol'] === 'string' ? krakenCanonical(t['symbol']) : undefined;
        const price = units(t['price']);
        const qty = units(t['qty']);
        const timeUs = typeof t['timestamp'] === 'string' ? parseRfc3339Micros(t['timestamp']) : undefined;
        if (!symbol || price === undefined || qty === undefined || timeUs === undefined || !Number.isSafeInteger(t['trade_id'])) {
          skipped++;
          continue;
        }
        push({
          kind: 'trade',
          dueMs,
          symbol,
          id: t['trade_id'] as number,
          agg: 0,
          price,
          qty,
          timeUs,
          lagUs: 0,
          flags: (t['side'] === 'sell' ? F_BUYER_MAKER : 0) | (t['ord_type'] === 'market' ? F_MARKET : 0),
        });
      }
    } else if (frame['channel'] === 'ticker' && Array.isArray(frame['data'])) {
      for (const t of frame['data'] as Array<Record<string, unknown>>) {
        const symbol = typeof t['symbol'] === 'string' ? krakenCanonical(t['symbol']) : undefined;
        const q = { bid: units(t['bid']), bidQty: units(t['bid_qty']), ask: units(t['ask']), askQty: units(t['ask_qty']) };
        if (!symbol || q.bid === undefined || q.bidQty === undefined || q.ask === undefined || q.askQty === undefined) {
          skipped++;
          continue;
        }
        push({ kind: 'quote', dueMs, symbol, bid: q.bid, bidQty: q.bidQty, ask: q.ask, askQty: q.askQty });
      }
    }
  }
  // Taker orders (and so aggregate trades): consecutive trades of a symbol at the same price, side and
  // millisecond, which is how Binance aggregates ("fill at the time, from the same order, with the same price").
  const symbols: Record<Exchange, string[]> = { binance: [], kraken: [] };
  for (const ex of ['binance', 'kraken'] as Exchange[]) {
    const bySym = new Map<string, ReplayTrade[]>();
    for (const e of events[ex]) {
      if (!symbols[ex].includes(e.symbol)) symbols[ex].push(e.symbol);
      if (e.kind === 'trade') {
        const list = bySym.get(e.symbol) ?? [];
        list.push(e);
        bySym.set(e.symbol, list);
      }
    }
    for (const list of bySym.values()) {
      let agg = aggStartId - 1;
      for (let i = 0; i < list.length; i++) {
        const t = list[i];
        const prev = list[i - 1];
        const next = list[i + 1];
        const same = (a: ReplayTrade | undefined, b: ReplayTrade | undefined): boolean =>
          !!a && !!b && a.price === b.price && (a.flags & F_BUYER_MAKER) === (b.flags & F_BUYER_MAKER) && Math.floor(a.timeUs / 1000) === Math.floor(b.timeUs / 1000);
        if (!same(prev, t)) {
          t.flags |= F_ORDER_FIRST;
          agg++;
        }
        if (!same(t, next)) t.flags |= F_ORDER_LAST;
        t.agg = agg;
      }
    }
  }
  return { events, symbols, skipped };
}

export function loadRecording(path: string, aggStartId: number): Recording {
  return parseRecording(readFileSync(path, 'utf8'), aggStartId);
}

/** Plays one exchange's recorded events at the recorded pace times --replay-speed (0: as fast as ticks allow). */
export class ReplaySource implements Source {
  private pos = 0;
  private elapsedMs = 0;
  private lastUs = 0;

  constructor(
    private readonly events: ReplayEvent[],
    private readonly speed: number,
  ) {}

  active(): boolean {
    return this.pos < this.events.length;
  }

  generate(m: Market, b: Batch, nowUs: number): void {
    if (this.lastUs === 0) this.lastUs = nowUs;
    // Time only advances while generating: a pause longer than a second does not release a burst afterwards.
    if (this.speed === 0) this.elapsedMs = Infinity;
    else this.elapsedMs += Math.min(1000, (nowUs - this.lastUs) / 1000) * this.speed;
    this.lastUs = nowUs;
    let made = 0;
    while (this.pos < this.events.length && this.events[this.pos].dueMs <= this.elapsedMs && made < MAX_TRADES_PER_TICK) {
      const e = this.events[this.pos++];
      const s = m.symbol(e.symbol);
      if (!s) continue;
      if (e.kind === 'trade') {
        const seq = s.tape.append(e.id, e.agg, e.price, e.qty, e.timeUs, Math.min(e.lagUs, 0xffffffff), e.flags);
        m.noteTrade(s, e.price, e.qty);
        b.pushTrade(s.index, seq);
        made++;
      } else {
        s.bid = e.bid;
        s.bidQty = e.bidQty;
        s.ask = e.ask;
        s.askQty = e.askQty;
        s.bookUpdateId = e.updateId ?? s.bookUpdateId + 1;
        b.pushQuote(s, nowUs);
      }
    }
  }
}
