import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Log } from './log';
import { type Batch, EV_TRADE, type Market, type SymbolState, nowMicros } from './market';
import { type ConnBase, ExchangeServer, queueFrame, sendJson } from './net';
import { floatText, padded, rfc3339Micros, secondsMicros, trimmed } from './numfmt';
import { krakenCanonical, krakenRestAliases, krakenRestKey } from './symbols';
import { F_BUYER_MAKER, F_MARKET } from './tape';

/**
 * Kraken spot WebSocket v2 (docs.kraken.com, "Spot WebSocket v2": status, trade, ticker, heartbeat, ping)
 * and REST "Get Recent Trades" (GET /0/public/Trades). Kraken writes prices and quantities as JSON numbers;
 * they are written here from exact integer units, so the raw text carries every digit (0.00000001 stays
 * 0.00000001, which a JSON.parse round trip turns into 1e-8).
 */

export const WRONG_TYPE_ID_BASE = 900000000000000;
const SNAPSHOT_TRADES = 50; // "The snapshot reflects the most recent 50 trades."
const TRADES_PER_MESSAGE = 100;

export interface KrakenConfig {
  heartbeatIntervalMs: number;
  maxBufferedBytes: number;
}

interface KSub {
  trade: boolean;
  tickerBbo: boolean;
  tickerTrades: boolean;
}

interface KConn extends ConnBase {
  connectionId: string;
  subs: Map<number, KSub>;
}

interface SymSubs {
  trade: Set<KConn>;
  tickerBbo: Set<KConn>;
  tickerTrades: Set<KConn>;
}

export class KrakenServer extends ExchangeServer<KConn> {
  private readonly subs: SymSubs[];
  private readonly byName = new Map<string, SymbolState>();
  private readonly restByAlias = new Map<string, SymbolState>();
  private heartbeat: NodeJS.Timeout | undefined;
  private gapRemaining = 0;
  private gapSymbol: number | undefined;
  private wrongTypeSeq = 0;
  private readonly statsCache: Array<{ count: number; text: string }>;

  constructor(
    readonly market: Market,
    private readonly cfg: KrakenConfig,
    log: Log,
  ) {
    super(log, cfg.maxBufferedBytes);
    this.subs = market.symbols.map(() => ({ trade: new Set(), tickerBbo: new Set(), tickerTrades: new Set() }));
    this.statsCache = market.symbols.map(() => ({ count: -1, text: '' }));
    for (const s of market.symbols) {
      this.byName.set(s.spec.name, s);
      for (const a of krakenRestAliases(s.spec.name)) this.restByAlias.set(a, s);
    }
    market.onBatch((b) => this.onBatch(b));
  }

  override async start(host: string, port: number): Promise<number> {
    this.heartbeat = setInterval(() => this.beat(), this.cfg.heartbeatIntervalMs);
    return super.start(host, port);
  }

  override async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await super.close();
  }

  private sym(text: unknown): SymbolState | undefined {
    if (typeof text !== 'string') return undefined;
    const c = krakenCanonical(text);
    return c ? this.byName.get(c) : undefined;
  }

  // ---------------------------------------------------------------- WebSocket

  protected routeOk(url: URL): boolean {
    return url.pathname === '/v2' || url.pathname === '/v2/';
  }

  protected accept(_url: URL, ws: WebSocket, socket: Socket, id: number): KConn {
    // connection_id is a u64 that usually exceeds 2^53: written as raw digits, JSON.parse would round it.
    const cid = (randomBytes(8).readBigUInt64BE() | (1n << 63n)).toString();
    const c: KConn = { id, ws, socket, stalledUntil: 0, closed: false, out: [], outBytes: 0, connectionId: cid, subs: new Map() };
    ws.on('message', (data: Buffer) => this.onMessage(c, data.toString('utf8')));
    this.send(c, `{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":${cid},"system":"online","version":"2.0.10"}]}`);
    this.log.info('kraken connection opened', { conn: id, connectionId: cid });
    return c;
  }

  protected onClosed(c: KConn): void {
    for (const [si] of c.subs) {
      const s = this.subs[si];
      s.trade.delete(c);
      s.tickerBbo.delete(c);
      s.tickerTrades.delete(c);
    }
    c.subs.clear();
  }

  /** "heartbeat": about once a second on connections with at least one subscription. */
  private beat(): void {
    const now = Date.now();
    for (const c of this.conns) if (!c.closed && c.stalledUntil <= now && c.subs.size > 0) c.ws.send('{"channel":"heartbeat"}');
  }

  private ack(method: string, result: string | undefined, error: string | undefined, reqId: unknown, timeIn: string, extra = ''): string {
    const rid = typeof reqId === 'number' && Number.isInteger(reqId) ? `,"req_id":${reqId}` : '';
    const t = `"time_in":"${timeIn}","time_out":"${rfc3339Micros(nowMicros())}"`;
    if (error !== undefined) return `{"error":${JSON.stringify(error)},"method":"${method}"${extra},"success":false,${t}${rid}}`;
    return `{"method":"${method}","result":${result},"success":true,${t}${rid}}`;
  }

  private onMessage(c: KConn, text: string): void {
    const timeIn = rfc3339Micros(nowMicros());
    let msg: { method?: unknown; params?: unknown; req_id?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('not an object');
    } catch {
      this.send(c, `{"error":"Malformed request","success":false,"time_in":"${timeIn}","time_out":"${rfc3339Micros(nowMicros())}"}`);
      return;
    }
    const reqId = msg.req_id;
    switch (msg.method) {
      case 'ping': {
        const rid = typeof reqId === 'number' && Number.isInteger(reqId) ? `"req_id":${reqId},` : '';
        this.send(c, `{"method":"pong",${rid}"time_in":"${timeIn}","time_out":"${rfc3339Micros(nowMicros())}"}`);
        return;
      }
      case 'subscribe':
      case 'unsubscribe':
        this.onSubscribe(c, msg.method, msg.params, reqId, timeIn);
        return;
      default:
        this.send(c, this.ack(typeof msg.method === 'string' ? msg.method : 'unknown', undefined, 'Method not found', reqId, timeIn));
    }
  }

  private onSubscribe(c: KConn, method: 'subscribe' | 'unsubscribe', params: unknown, reqId: unknown, timeIn: string): void {
    const p = params as { channel?: unknown; symbol?: unknown; snapshot?: unknown; event_trigger?: unknown } | undefined;
    if (typeof p !== 'object' || p === null) {
      this.send(c, this.ack(method, undefined, 'Missing params', reqId, timeIn));
      return;
    }
    const channel = p.channel;
    if (channel !== 'trade' && channel !== 'ticker') {
      this.send(c, this.ack(method, undefined, `Channel not found: ${String(channel)}`, reqId, timeIn));
      return;
    }
    if (!Array.isArray(p.symbol) || p.symbol.length === 0) {
      this.send(c, this.ack(method, undefined, 'Missing symbol', reqId, timeIn));
      return;
    }
    const trigger = p.event_trigger === undefined ? 'trades' : p.event_trigger;
    if (channel === 'ticker' && trigger !== 'bbo' && trigger !== 'trades') {
      this.send(c, this.ack(method, undefined, 'Invalid event_trigger', reqId, timeIn));
      return;
    }
    // Defaults per the channel pages: trade snapshot false, ticker snapshot true.
    const snapshot = typeof p.snapshot === 'boolean' ? p.snapshot : channel === 'ticker';
    for (const raw of p.symbol as unknown[]) {
      const name = typeof raw === 'string' ? raw : JSON.stringify(raw);
      const s = this.sym(raw);
      const extra = `,"symbol":${JSON.stringify(name)}`;
      if (!s) {
        this.send(c, this.ack(method, undefined, `Currency pair not supported ${name}`, reqId, timeIn, extra));
        continue;
      }
      const set = this.subs[s.index];
      const cur = c.subs.get(s.index) ?? { trade: false, tickerBbo: false, tickerTrades: false };
      if (method === 'subscribe') {
        const already = channel === 'trade' ? cur.trade : cur.tickerBbo || cur.tickerTrades;
        if (already) {
          this.send(c, this.ack(method, undefined, 'Already subscribed', reqId, timeIn, extra));
          continue;
        }
        if (channel === 'trade') {
          cur.trade = true;
          set.trade.add(c);
        } else if (trigger === 'bbo') {
          cur.tickerBbo = true;
          set.tickerBbo.add(c);
        } else {
          cur.tickerTrades = true;
          set.tickerTrades.add(c);
        }
        c.subs.set(s.index, cur);
        const result =
          channel === 'trade'
            ? `{"channel":"trade","snapshot":${snapshot},"symbol":${JSON.stringify(name)}}`
            : `{"channel":"ticker","event_trigger":"${trigger}","snapshot":${snapshot},"symbol":${JSON.stringify(name)}}`;
        this.send(c, this.ack(method, result, undefined, reqId, timeIn));
        if (snapshot) this.send(c, channel === 'trade' ? this.tradeSnapshot(s) : this.ticker(s, 'snapshot', s.bid, s.bidQty, s.ask, s.askQty, Date.now() * 1000));
      } else {
        const had = channel === 'trade' ? cur.trade : cur.tickerBbo || cur.tickerTrades;
        if (!had) {
          this.send(c, this.ack(method, undefined, 'Subscription Not Found', reqId, timeIn, extra));
          continue;
        }
        if (channel === 'trade') {
          cur.trade = false;
          set.trade.delete(c);
        } else {
          cur.tickerBbo = cur.tickerTrades = false;
          set.tickerBbo.delete(c);
          set.tickerTrades.delete(c);
        }
        if (!cur.trade && !cur.tickerBbo && !cur.tickerTrades) c.subs.delete(s.index);
        this.send(c, this.ack(method, `{"channel":"${channel}","symbol":${JSON.stringify(name)}}`, undefined, reqId, timeIn));
      }
    }
  }

  private tradeJson(s: SymbolState, seq: number): string {
    const t = s.tape;
    const f = t.flagsAt(seq);
    // side is the taker's: a buyer-maker trade was a taker sell.
    return `{"symbol":"${s.spec.wire}","side":"${f & F_BUYER_MAKER ? 'sell' : 'buy'}","price":${trimmed(t.priceAt(seq))},"qty":${trimmed(t.qtyAt(seq))},"ord_type":"${f & F_MARKET ? 'market' : 'limit'}","trade_id":${t.idAt(seq)},"timestamp":"${rfc3339Micros(t.timeAt(seq))}"}`;
  }

  private tradeSnapshot(s: SymbolState): string {
    const t = s.tape;
    const parts: string[] = [];
    for (let k = Math.max(t.heldFirstSeq, t.count - SNAPSHOT_TRADES); k < t.count; k++) parts.push(this.tradeJson(s, k));
    return `{"channel":"trade","type":"snapshot","data":[${parts.join(',')}]}`;
  }

  /** The trade statistics part of a ticker, rebuilt only when the symbol has traded since (quotes outnumber trades). */
  private stats(s: SymbolState): string {
    const c = this.statsCache[s.index];
    if (c.count === s.tape.count) return c.text;
    const vol = s.volume / 1e8;
    const vwap = s.volume > 0 ? s.notional / s.volume : s.last / 1e8; // notional is price (whole) x qty (units)
    const change = (s.last - s.open) / 1e8;
    const pct = s.open > 0 ? ((s.last - s.open) / s.open) * 100 : 0;
    c.count = s.tape.count;
    c.text =
      `"last":${trimmed(s.last)},"volume":${floatText(vol, 8)},"vwap":${floatText(vwap, 8)},"low":${trimmed(s.low)},"high":${trimmed(s.high)},` +
      `"change":${floatText(change, 8)},"change_pct":${floatText(pct, 2)}`;
    return c.text;
  }

  private ticker(s: SymbolState, type: 'snapshot' | 'update', bid: number, bidQty: number, ask: number, askQty: number, timeUs: number): string {
    return (
      `{"channel":"ticker","type":"${type}","data":[{"symbol":"${s.spec.wire}","bid":${trimmed(bid)},"bid_qty":${trimmed(bidQty)},"ask":${trimmed(ask)},"ask_qty":${trimmed(askQty)},` +
      `${this.stats(s)},"timestamp":"${rfc3339Micros(timeUs)}"}]}`
    );
  }

  private onBatch(b: Batch): void {
    const now = Date.now();
    const syms = this.market.symbols;
    // Consecutive trades of one symbol go out as one update message ("Multiple trades may be batched in a
    // single message"); a quote or another symbol's trade closes the run so per-connection order is kept.
    let runSym = -1;
    let run: string[] = [];
    const flush = (): void => {
      if (runSym >= 0 && run.length > 0) this.broadcast(this.subs[runSym].trade, `{"channel":"trade","type":"update","data":[${run.join(',')}]}`, now);
      run = [];
      runSym = -1;
    };
    for (let i = 0; i < b.n; i++) {
      const si = b.sym[i];
      const s = syms[si];
      const subs = this.subs[si];
      if (b.kind[i] === EV_TRADE) {
        const seq = b.ref[i];
        if (this.gapRemaining > 0 && (this.gapSymbol === undefined || this.gapSymbol === si)) {
          this.gapRemaining--;
          continue;
        }
        if (subs.trade.size > 0) {
          if (runSym !== si || run.length >= TRADES_PER_MESSAGE) flush();
          runSym = si;
          run.push(this.tradeJson(s, seq));
        }
        if (subs.tickerTrades.size > 0) {
          flush();
          this.broadcast(subs.tickerTrades, this.ticker(s, 'update', s.bid, s.bidQty, s.ask, s.askQty, s.tape.timeAt(seq)), now);
        }
      } else if (subs.tickerBbo.size > 0) {
        flush();
        const q = b.ref[i];
        this.broadcast(subs.tickerBbo, this.ticker(s, 'update', b.bid[q], b.bidQty[q], b.ask[q], b.askQty[q], b.qtime[q]), now);
      }
    }
    flush();
    for (const c of this.conns) {
      if (c.out.length === 0) continue;
      this.flushOut(c);
      this.checkBackpressure(c);
    }
  }

  private broadcast(set: Set<KConn>, text: string, now: number): void {
    for (const c of set) if (!c.closed && c.stalledUntil <= now && queueFrame(c, text)) this.flushOut(c);
  }

  // ---------------------------------------------------------------- faults

  faultMalformed(count: number): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.closed || this.stalled(c)) continue;
      n++;
      const shapes = [
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":',
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","price":1.5,}]}',
        'not json at all',
        "{'channel':'heartbeat'}",
        '{"channel":"trade","type":"update","data":[',
      ];
      for (let k = 0; k < count; k++) c.ws.send(shapes[k % shapes.length]);
    }
    return n;
  }

  /** Extra trade updates with one bad field each; trade_id from WRONG_TYPE_ID_BASE, never in the tape. */
  faultWrongType(count: number): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.closed || this.stalled(c)) continue;
      const targets = [...c.subs].filter(([, v]) => v.trade).map(([si]) => this.market.symbols[si]);
      if (targets.length === 0) continue;
      n++;
      for (let k = 0; k < count; k++) {
        const s = targets[k % targets.length];
        const id = WRONG_TYPE_ID_BASE + this.wrongTypeSeq++;
        const ts = `"${rfc3339Micros(nowMicros())}"`;
        const price = trimmed(s.last);
        const fields: Array<[string, string]> = [
          ['symbol', `"${s.spec.wire}"`],
          ['side', '"buy"'],
          ['price', price],
          ['qty', '0.5'],
          ['ord_type', '"limit"'],
          ['trade_id', `${id}`],
          ['timestamp', ts],
        ];
        const variant = k % 6;
        const out: string[] = [];
        for (const [key, value] of fields) {
          let v: string | undefined = value;
          if (key === 'price' && variant === 0) v = 'true';
          else if (key === 'price' && variant === 1) v = `{"value":${price}}`;
          else if (key === 'qty' && variant === 2) v = '-0.5';
          else if (key === 'price' && variant === 3) v = undefined;
          else if (key === 'qty' && variant === 4) v = '"abc"';
          else if (key === 'timestamp' && variant === 5) v = `${Date.now()}`;
          if (v !== undefined) out.push(`"${key}":${v}`);
        }
        c.ws.send(`{"channel":"trade","type":"update","data":[{${out.join(',')}}]}`);
      }
    }
    return n;
  }

  faultGap(count: number, symbol?: string): number {
    if (symbol !== undefined) {
      const s = this.sym(symbol);
      if (!s) throw new Error(`unknown kraken symbol ${symbol}`);
      this.gapSymbol = s.index;
    } else this.gapSymbol = undefined;
    this.gapRemaining = count;
    return count;
  }

  /** Kraken has no shutdown notice: the server closes with 1001 (going away), as in a maintenance rotation. */
  faultRotate(): number {
    const victims = [...this.conns].filter((c) => !c.closed);
    for (const c of victims) {
      c.closed = true;
      c.ws.close(1001, 'Going away');
      setTimeout(() => c.ws.terminate(), 1000).unref();
    }
    return victims.length;
  }

  // ---------------------------------------------------------------- REST

  protected handleRest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Kraken reports request errors with HTTP 200 and an "error" array.
    const fail = (e: string): void => sendJson(res, 200, `{"error":[${JSON.stringify(e)}]}`);
    if (url.pathname === '/0/public/Time') {
      const now = Date.now();
      sendJson(res, 200, `{"error":[],"result":{"unixtime":${Math.floor(now / 1000)},"rfc1123":${JSON.stringify(new Date(now).toUTCString())}}}`);
      return;
    }
    if (url.pathname !== '/0/public/Trades') {
      sendJson(res, 404, '{"error":["EGeneral:Unknown method"]}');
      return;
    }
    const q = url.searchParams;
    const pair = q.get('pair');
    if (!pair) return fail('EGeneral:Invalid arguments');
    const s = this.restByAlias.get(pair.toUpperCase());
    if (!s) return fail('EQuery:Unknown asset pair');
    let count = 1000;
    const countText = q.get('count');
    if (countText !== null) {
      if (!/^\d{1,4}$/.test(countText) || Number(countText) < 1 || Number(countText) > 1000) return fail('EGeneral:Invalid arguments:count');
      count = Number(countText);
    }
    const sinceText = q.get('since');
    let sinceNs: bigint | undefined;
    if (sinceText !== null && sinceText !== '') {
      sinceNs = parseSince(sinceText);
      if (sinceNs === undefined) return fail('EGeneral:Invalid arguments:since');
    }
    const t = s.tape;
    let from: number;
    if (sinceNs === undefined) from = Math.max(t.restFirstSeq, t.count - count);
    else {
      // Trades strictly after `since`: trade time (whole µs) * 1000 > since  <=>  µs >= floor(since / 1000) + 1.
      from = t.seqForTime(Number(sinceNs / 1000n + 1n));
    }
    const to = Math.min(t.count, from + count);
    const rows: string[] = [];
    const dec = s.spec.restPriceDecimals;
    for (let k = from; k < to; k++) {
      const f = t.flagsAt(k);
      rows.push(`["${padded(t.priceAt(k), dec)}","${padded(t.qtyAt(k), 8)}",${secondsMicros(t.timeAt(k))},"${f & F_BUYER_MAKER ? 's' : 'b'}","${f & F_MARKET ? 'm' : 'l'}","",${t.idAt(k)}]`);
    }
    // "last": id to pass as `since` for the next page, the newest returned trade's time in nanoseconds.
    const last = to > from ? `${BigInt(t.timeAt(to - 1)) * 1000n}` : `${sinceNs ?? (t.count > 0 ? BigInt(t.timeAt(t.count - 1)) * 1000n : 0n)}`;
    sendJson(res, 200, `{"error":[],"result":{${JSON.stringify(krakenRestKey(s.spec.name))}:[${rows.join(',')}],"last":"${last}"}}`);
  }
}

/** `since` as Kraken accepts it: seconds (optionally fractional) or the nanosecond `last` of a previous page. */
export function parseSince(text: string): bigint | undefined {
  const m = /^(\d{1,20})(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) return undefined;
  const int = BigInt(m[1]);
  if (m[2] === undefined && int >= 100000000000000n) return int; // >= 1e14: already nanoseconds
  return int * 1000000000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
