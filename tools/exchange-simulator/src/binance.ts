import type http from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Log } from './log';
import { type Batch, EV_TRADE, type Market, type SymbolState } from './market';
import { type ConnBase, ExchangeServer, queueFrame, sendJson } from './net';
import { fixed8 } from './numfmt';
import { F_BUYER_MAKER, F_ORDER_FIRST, F_ORDER_LAST, type Tape } from './tape';

/**
 * Binance spot market-data streams and the public REST endpoints a streamer backfills from.
 * Wire shapes follow binance-spot-api-docs: web-socket-streams.md ("General WSS information", "Live
 * Subscribing/Unsubscribing to streams", "Trade Streams", "Aggregate Trade Streams", "Individual Symbol
 * Book Ticker Streams", "Server Shutdown") and rest-api.md ("Recent trades list", "Old trade lookup",
 * "Compressed/Aggregate trades list", errors.md for error codes).
 */

type Kind = 'trade' | 'aggTrade' | 'bookTicker';
const KINDS: Record<string, Kind> = { trade: 'trade', aggtrade: 'aggTrade', bookticker: 'bookTicker' };

/** Ids of wrong-type fault frames: far above any id the tape reaches, below 2^53, never in the tape. */
export const WRONG_TYPE_ID_BASE = 900000000000000;

export interface BinanceConfig {
  pingIntervalMs: number;
  pongTimeoutMs: number;
  maxIncomingPerSecond: number;
  maxBufferedBytes: number;
}

interface BConn extends ConnBase {
  combined: boolean;
  micros: boolean;
  streams: Set<string>;
  inTimes: number[];
  inCount: number;
  pings: Array<{ payload: string; at: number }>;
  pingSeq: number;
  pingTimer: NodeJS.Timeout | undefined;
  pongTimer: NodeJS.Timeout | undefined;
  resumeTimer: NodeJS.Timeout | undefined;
}

interface SymSubs {
  trade: Set<BConn>;
  aggTrade: Set<BConn>;
  bookTicker: Set<BConn>;
}

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    msg: string,
  ) {
    super(msg);
  }
}

/** Canonical stream name: lower-case symbol, documented case for the stream type (btcusdt@aggTrade). */
export function canonicalStream(name: string): string {
  const at = name.indexOf('@');
  if (at <= 0) return name.toLowerCase();
  const sym = name.slice(0, at).toLowerCase();
  const rest = name.slice(at + 1);
  const kind = KINDS[rest.toLowerCase()];
  return `${sym}@${kind ?? rest}`;
}

export class BinanceServer extends ExchangeServer<BConn> {
  private readonly subs: SymSubs[];
  private readonly lower: string[];
  private readonly bySymbol = new Map<string, SymbolState>();
  private readonly orderHidden: boolean[];
  private gapRemaining = 0;
  private gapSymbol: number | undefined;
  private wrongTypeSeq = 0;
  private readonly priceCache: Array<{ units: number; text: string }>;

  constructor(
    readonly market: Market,
    private readonly cfg: BinanceConfig,
    log: Log,
  ) {
    super(log, cfg.maxBufferedBytes);
    this.subs = market.symbols.map(() => ({ trade: new Set(), aggTrade: new Set(), bookTicker: new Set() }));
    this.lower = market.symbols.map((s) => s.spec.wire.toLowerCase());
    this.orderHidden = market.symbols.map(() => false);
    this.priceCache = market.symbols.map(() => ({ units: -1, text: '' }));
    for (const s of market.symbols) this.bySymbol.set(s.spec.wire, s);
    market.onBatch((b) => this.onBatch(b));
  }

  // ---------------------------------------------------------------- WebSocket

  protected routeOk(url: URL): boolean {
    const p = url.pathname;
    return p === '/ws' || p.startsWith('/ws/') || p === '/stream' || p === '/stream/';
  }

  protected accept(url: URL, ws: WebSocket, socket: Socket, id: number): BConn {
    const p = url.pathname;
    const combined = p.startsWith('/stream');
    // Raw streams: /ws/<stream>[/<stream>...]; combined: /stream?streams=a/b/c.
    const names = combined ? (url.searchParams.get('streams') ?? '').split('/') : p.slice(4).split('/');
    const tu = url.searchParams.get('timeUnit');
    const c: BConn = {
      id,
      ws,
      socket,
      stalledUntil: 0,
      closed: false,
      out: [],
      outBytes: 0,
      combined,
      micros: tu !== null && tu.toUpperCase() === 'MICROSECOND',
      streams: new Set(),
      inTimes: new Array<number>(this.cfg.maxIncomingPerSecond + 1).fill(0),
      inCount: 0,
      pings: [],
      pingSeq: 0,
      pingTimer: undefined,
      pongTimer: undefined,
      resumeTimer: undefined,
    };
    for (const n of names) if (n.length > 0) this.subscribe(c, decodeURIComponent(n));
    ws.on('message', (data: Buffer) => {
      if (this.countIncoming(c)) return;
      this.onControl(c, data.toString('utf8'));
    });
    ws.on('ping', () => this.countIncoming(c));
    ws.on('pong', (data: Buffer) => {
      if (this.countIncoming(c)) return;
      this.onPong(c, data.toString('utf8'));
    });
    this.startPings(c);
    this.log.info('binance connection opened', { conn: id, path: p, streams: [...c.streams], combined, timeUnit: c.micros ? 'MICROSECOND' : 'MILLISECOND' });
    return c;
  }

  protected onClosed(c: BConn): void {
    this.clearTimers(c);
    for (const s of c.streams) this.unsubscribe(c, s);
  }

  private clearTimers(c: BConn): void {
    clearInterval(c.pingTimer);
    clearTimeout(c.pongTimer);
    clearTimeout(c.resumeTimer);
    c.pingTimer = c.pongTimer = c.resumeTimer = undefined;
  }

  private closeWith(c: BConn, code: number, reason: string): void {
    if (c.closed) return;
    c.closed = true;
    this.clearTimers(c);
    c.ws.close(code, reason);
    setTimeout(() => c.ws.terminate(), 1000).unref();
  }

  /**
   * "WebSocket connections have a limit of 5 incoming messages per second. A message is considered: a PING
   * frame, a PONG frame, a JSON controlled message (e.g. subscribe, unsubscribe). A connection that goes beyond
   * the limit will be disconnected." Returns true when this message broke the limit.
   */
  private countIncoming(c: BConn): boolean {
    if (c.closed) return true;
    const now = Date.now();
    const max = this.cfg.maxIncomingPerSecond;
    const slots = c.inTimes.length;
    c.inTimes[c.inCount % slots] = now;
    c.inCount++;
    if (c.inCount > max && now - c.inTimes[c.inCount % slots] < 1000) {
      this.log.warn('binance client exceeded the incoming message limit; disconnecting', { conn: c.id, limitPerSecond: max });
      this.closeWith(c, 1008, 'Too many requests');
      return true;
    }
    return false;
  }

  /** Server ping every --ping-interval-ms with a payload the pong must echo ("General WSS information"). */
  private startPings(c: BConn): void {
    clearInterval(c.pingTimer);
    c.pingTimer = setInterval(() => this.ping(c), this.cfg.pingIntervalMs);
  }

  private ping(c: BConn): void {
    if (c.closed || this.stalled(c)) return;
    const payload = `${Date.now()}:${++c.pingSeq}`;
    c.pings.push({ payload, at: Date.now() });
    c.ws.ping(payload);
    if (!c.pongTimer) this.armPongDeadline(c);
  }

  private armPongDeadline(c: BConn): void {
    const first = c.pings[0];
    if (!first || c.closed) return;
    const wait = Math.max(0, first.at + this.cfg.pongTimeoutMs - Date.now());
    c.pongTimer = setTimeout(() => {
      c.pongTimer = undefined;
      if (c.pings[0] !== first || c.closed) return;
      this.log.warn('binance client did not pong in time; disconnecting', { conn: c.id, pongTimeoutMs: this.cfg.pongTimeoutMs });
      this.closeWith(c, 1008, 'Pong timeout');
    }, wait);
  }

  /** Only a pong echoing an outstanding ping's payload counts; "unsolicited pong frames ... will not prevent disconnection". */
  private onPong(c: BConn, payload: string): void {
    const i = c.pings.findIndex((p) => p.payload === payload);
    if (i < 0) return;
    c.pings.splice(0, i + 1);
    clearTimeout(c.pongTimer);
    c.pongTimer = undefined;
    this.armPongDeadline(c);
  }

  /** A stalled connection sends nothing, pings included, and cannot be faulted for missing pongs. */
  protected override onStall(c: BConn, durationMs: number): void {
    this.clearTimers(c);
    c.pings = [];
    c.resumeTimer = setTimeout(() => {
      c.resumeTimer = undefined;
      if (!c.closed) this.startPings(c);
    }, durationMs);
  }

  private subscribe(c: BConn, name: string): void {
    const stream = canonicalStream(name);
    if (c.streams.has(stream)) return;
    c.streams.add(stream);
    const set = this.subSet(stream);
    if (set) set.add(c);
  }

  private unsubscribe(c: BConn, name: string): void {
    const stream = canonicalStream(name);
    c.streams.delete(stream);
    this.subSet(stream)?.delete(c);
  }

  /** Subscriber set of a stream this simulator produces; unknown symbols and stream types are accepted and stay quiet. */
  private subSet(stream: string): Set<BConn> | undefined {
    const at = stream.indexOf('@');
    if (at <= 0) return undefined;
    const s = this.bySymbol.get(stream.slice(0, at).toUpperCase());
    const kind = stream.slice(at + 1) as Kind;
    if (!s || !(kind in this.subs[s.index])) return undefined;
    return this.subs[s.index][kind];
  }

  private reply(c: BConn, text: string): void {
    this.send(c, text);
  }

  private error(c: BConn, code: number, msg: string, id: unknown): void {
    this.reply(c, `{"code":${code},"msg":${JSON.stringify(msg)},"id":${id === undefined ? 'null' : JSON.stringify(id)}}`);
  }

  /** SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY ("Live Subscribing/Unsubscribing to streams"). */
  private onControl(c: BConn, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.error(c, 3, 'Invalid JSON: expected value at line 1 column 1', undefined);
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.error(c, 2, 'Invalid request: expected an object', undefined);
      return;
    }
    const req = msg as { method?: unknown; params?: unknown; id?: unknown };
    const id = req.id;
    // "The id ... accepted formats: 64-bit signed integer, alphanumeric string; max length 36, null".
    const idOk = id === null || (typeof id === 'number' && Number.isInteger(id)) || (typeof id === 'string' && /^[A-Za-z0-9-]{1,36}$/.test(id));
    if (!('id' in req) || !idOk) {
      this.error(c, 2, 'Invalid request: request ID must be an unsigned integer', undefined);
      return;
    }
    if (typeof req.method !== 'string') {
      this.error(c, 2, 'Invalid request: missing field `method`', id);
      return;
    }
    const idText = JSON.stringify(id);
    switch (req.method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (!Array.isArray(req.params) || req.params.some((p) => typeof p !== 'string' || p.length === 0)) {
          this.error(c, 2, 'Invalid request: params must be a list of stream names', id);
          return;
        }
        if (req.method === 'SUBSCRIBE' && c.streams.size + req.params.length > 1024) {
          this.error(c, 2, 'Invalid request: a single connection can listen to a maximum of 1024 streams', id);
          return;
        }
        for (const p of req.params as string[]) {
          if (req.method === 'SUBSCRIBE') this.subscribe(c, p);
          else this.unsubscribe(c, p);
        }
        this.reply(c, `{"result":null,"id":${idText}}`);
        return;
      }
      case 'LIST_SUBSCRIPTIONS':
        this.reply(c, `{"result":${JSON.stringify([...c.streams])},"id":${idText}}`);
        return;
      case 'SET_PROPERTY': {
        const p = req.params;
        if (!Array.isArray(p) || typeof p[0] !== 'string') {
          this.error(c, 2, 'Invalid request: property name must be a string', id);
          return;
        }
        if (p[0] !== 'combined') {
          this.error(c, 0, 'Unknown property', id);
          return;
        }
        if (typeof p[1] !== 'boolean') {
          this.error(c, 1, 'Invalid value type: expected Boolean', id);
          return;
        }
        c.combined = p[1];
        this.reply(c, `{"result":null,"id":${idText}}`);
        return;
      }
      case 'GET_PROPERTY': {
        const p = req.params;
        if (!Array.isArray(p) || p[0] !== 'combined') {
          this.error(c, 0, 'Unknown property', id);
          return;
        }
        this.reply(c, `{"result":${c.combined},"id":${idText}}`);
        return;
      }
      default:
        this.error(c, 2, `Invalid request: unknown variant \`${req.method}\`, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\``, id);
    }
  }

  // ---------------------------------------------------------------- streaming

  private price(s: SymbolState, units: number): string {
    const pc = this.priceCache[s.index];
    if (pc.units !== units) {
      pc.units = units;
      pc.text = fixed8(units);
    }
    return pc.text;
  }

  private onBatch(b: Batch): void {
    const now = Date.now();
    const syms = this.market.symbols;
    for (let i = 0; i < b.n; i++) {
      const si = b.sym[i];
      const s = syms[si];
      const subs = this.subs[si];
      if (b.kind[i] === EV_TRADE) {
        const seq = b.ref[i];
        const flags = s.tape.flagsAt(seq);
        if (flags & F_ORDER_FIRST) this.orderHidden[si] = false;
        if (this.gapRemaining > 0 && (this.gapSymbol === undefined || this.gapSymbol === si)) {
          // The gap fault hides trades from every WebSocket client; the tape (REST) keeps them.
          this.gapRemaining--;
          this.orderHidden[si] = true;
          continue;
        }
        if (subs.trade.size > 0) this.sendTrade(s, subs.trade, seq, flags, now);
        if (flags & F_ORDER_LAST && subs.aggTrade.size > 0 && !this.orderHidden[si]) this.sendAgg(s, subs.aggTrade, seq, now);
      } else if (subs.bookTicker.size > 0) {
        this.sendBook(s, subs.bookTicker, b, b.ref[i], now);
      }
    }
    for (const c of this.conns) {
      if (c.out.length === 0) continue;
      this.flushOut(c);
      this.checkBackpressure(c);
    }
  }

  /**
   * Frame text for each connection flavour is built at most once per event: data in ms or µs, raw or wrapped
   * in the combined {"stream","data"} envelope.
   */
  private sendTrade(s: SymbolState, subs: Set<BConn>, seq: number, flags: number, now: number): void {
    const t = s.tape;
    const sym = s.spec.wire;
    const id = t.idAt(seq);
    const p = this.price(s, t.priceAt(seq));
    const q = fixed8(t.qtyAt(seq));
    const tUs = t.timeAt(seq);
    const eUs = t.eventAt(seq);
    const m = flags & F_BUYER_MAKER ? 'true' : 'false';
    let dMs: string | undefined;
    let dUs: string | undefined;
    const wire: Array<string | undefined> = [undefined, undefined, undefined, undefined];
    for (const c of subs) {
      if (c.closed || c.stalledUntil > now) continue;
      const v = (c.combined ? 2 : 0) + (c.micros ? 1 : 0);
      let w = wire[v];
      if (w === undefined) {
        let d: string;
        if (c.micros) d = dUs ??= `{"e":"trade","E":${eUs},"s":"${sym}","t":${id},"p":"${p}","q":"${q}","T":${tUs},"m":${m},"M":true}`;
        else d = dMs ??= `{"e":"trade","E":${Math.floor(eUs / 1000)},"s":"${sym}","t":${id},"p":"${p}","q":"${q}","T":${Math.floor(tUs / 1000)},"m":${m},"M":true}`;
        w = wire[v] = c.combined ? `{"stream":"${this.lower[s.index]}@trade","data":${d}}` : d;
      }
      if (queueFrame(c, w)) this.flushOut(c);
    }
  }

  /** First seq of the taker order that ends at `lastSeq`. */
  private orderStart(t: Tape, lastSeq: number): number {
    let f = lastSeq;
    while (f > t.heldFirstSeq && !(t.flagsAt(f) & F_ORDER_FIRST)) f--;
    return f;
  }

  private sendAgg(s: SymbolState, subs: Set<BConn>, lastSeq: number, now: number): void {
    const t = s.tape;
    const first = this.orderStart(t, lastSeq);
    let qty = 0;
    for (let k = first; k <= lastSeq; k++) qty += t.qtyAt(k);
    const sym = s.spec.wire;
    const a = t.aggAt(lastSeq);
    const p = this.price(s, t.priceAt(lastSeq));
    const q = fixed8(qty);
    const f = t.idAt(first);
    const l = t.idAt(lastSeq);
    const tUs = t.timeAt(first);
    const eUs = t.eventAt(lastSeq);
    const m = t.flagsAt(lastSeq) & F_BUYER_MAKER ? 'true' : 'false';
    let dMs: string | undefined;
    let dUs: string | undefined;
    const wire: Array<string | undefined> = [undefined, undefined, undefined, undefined];
    for (const c of subs) {
      if (c.closed || c.stalledUntil > now) continue;
      const v = (c.combined ? 2 : 0) + (c.micros ? 1 : 0);
      let w = wire[v];
      if (w === undefined) {
        let d: string;
        if (c.micros) d = dUs ??= `{"e":"aggTrade","E":${eUs},"s":"${sym}","a":${a},"p":"${p}","q":"${q}","f":${f},"l":${l},"T":${tUs},"m":${m},"M":true}`;
        else d = dMs ??= `{"e":"aggTrade","E":${Math.floor(eUs / 1000)},"s":"${sym}","a":${a},"p":"${p}","q":"${q}","f":${f},"l":${l},"T":${Math.floor(tUs / 1000)},"m":${m},"M":true}`;
        w = wire[v] = c.combined ? `{"stream":"${this.lower[s.index]}@aggTrade","data":${d}}` : d;
      }
      if (queueFrame(c, w)) this.flushOut(c);
    }
  }

  /** bookTicker carries no timestamp at all, so the time unit does not change it. */
  private sendBook(s: SymbolState, subs: Set<BConn>, b: Batch, q: number, now: number): void {
    const d = `{"u":${b.updateId[q]},"s":"${s.spec.wire}","b":"${fixed8(b.bid[q])}","B":"${fixed8(b.bidQty[q])}","a":"${fixed8(b.ask[q])}","A":"${fixed8(b.askQty[q])}"}`;
    let wrapped: string | undefined;
    for (const c of subs) {
      if (c.closed || c.stalledUntil > now) continue;
      if (queueFrame(c, c.combined ? (wrapped ??= `{"stream":"${this.lower[s.index]}@bookTicker","data":${d}}`) : d)) this.flushOut(c);
    }
  }

  // ---------------------------------------------------------------- faults

  /** Sends `count` frames that are not JSON to every open connection. */
  faultMalformed(count: number): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.closed || this.stalled(c)) continue;
      n++;
      const sym = [...c.streams][0]?.split('@')[0] ?? 'btcusdt';
      const shapes = [
        `{"e":"trade","E":${Date.now()},"s":"${sym.toUpperCase()}","t":`,
        `{"stream":"${sym}@trade","data":{"e":"trade","E":${Date.now()}`,
        `{"e":"trade","E":${Date.now()},"s":"${sym.toUpperCase()}","p":"1.00000000",}`,
        'not json at all',
        `{"e":'trade',"s":"${sym.toUpperCase()}"}`,
      ];
      for (let k = 0; k < count; k++) c.ws.send(shapes[k % shapes.length]);
    }
    return n;
  }

  /**
   * Sends `count` extra trade/aggTrade frames per connection with a wrong-typed, negative or missing field.
   * Their ids start at WRONG_TYPE_ID_BASE and are never part of the tape, so they must be dead-lettered, not
   * published; the tape's trades are unaffected.
   */
  faultWrongType(count: number): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.closed || this.stalled(c)) continue;
      const targets: Array<{ s: SymbolState; kind: 'trade' | 'aggTrade' }> = [];
      for (const st of c.streams) {
        const at = st.indexOf('@');
        const s = this.bySymbol.get(st.slice(0, at).toUpperCase());
        const kind = st.slice(at + 1);
        if (s && (kind === 'trade' || kind === 'aggTrade')) targets.push({ s, kind });
      }
      if (targets.length === 0) continue;
      n++;
      for (let k = 0; k < count; k++) {
        const { s, kind } = targets[k % targets.length];
        const id = WRONG_TYPE_ID_BASE + this.wrongTypeSeq++;
        const nowUs = Date.now() * 1000;
        const tm = c.micros ? nowUs : Math.floor(nowUs / 1000);
        const p = `"${fixed8(s.last)}"`;
        const fields: Array<[string, string]> =
          kind === 'trade'
            ? [['e', '"trade"'], ['E', `${tm}`], ['s', `"${s.spec.wire}"`], ['t', `${id}`], ['p', p], ['q', '"1.00000000"'], ['T', `${tm}`], ['m', 'true'], ['M', 'true']]
            : [['e', '"aggTrade"'], ['E', `${tm}`], ['s', `"${s.spec.wire}"`], ['a', `${id}`], ['p', p], ['q', '"1.00000000"'], ['f', `${id}`], ['l', `${id}`], ['T', `${tm}`], ['m', 'true'], ['M', 'true']];
        const variant = k % 6;
        const out: string[] = [];
        for (const [key, value] of fields) {
          let v: string | undefined = value;
          if (key === 'p' && variant === 0) v = 'true';
          else if (key === 'p' && variant === 1) v = `{"value":${p}}`;
          else if (key === 'q' && variant === 2) v = '"-1.00000000"';
          else if (key === 'p' && variant === 3) v = undefined;
          else if (key === 'q' && variant === 4) v = '"abc"';
          else if (key === 'T' && variant === 5) v = '"2024-01-01T00:00:00Z"';
          if (v !== undefined) out.push(`"${key}":${v}`);
        }
        const d = `{${out.join(',')}}`;
        c.ws.send(c.combined ? `{"stream":"${this.lower[s.index]}@${kind}","data":${d}}` : d);
      }
    }
    return n;
  }

  /** Hides the next `count` generated trades (of one symbol, or of any) from every WebSocket client. */
  faultGap(count: number, symbol?: string): number {
    if (symbol !== undefined) {
      const s = this.bySymbol.get(symbol.toUpperCase());
      if (!s) throw new Error(`unknown binance symbol ${symbol}`);
      this.gapSymbol = s.index;
    } else this.gapSymbol = undefined;
    this.gapRemaining = count;
    return count;
  }

  /**
   * The 24 h rotation: a serverShutdown event ("Server Shutdown" in web-socket-streams.md), data continues
   * for the grace period, then the server closes the connection. Connections opened after the fault (the
   * replacements) are unaffected. With notify=false the close comes unannounced, as at the 24 h mark.
   */
  faultRotate(graceMs: number, notify: boolean): number {
    const victims = [...this.conns].filter((c) => !c.closed);
    for (const c of victims) {
      if (notify && !this.stalled(c)) {
        const e = c.micros ? Date.now() * 1000 : Date.now();
        const d = `{"e":"serverShutdown","E":${e}}`;
        c.ws.send(c.combined ? `{"stream":"!serverShutdown","data":${d}}` : d);
      }
      setTimeout(() => this.closeWith(c, 1001, 'Server shutdown'), graceMs).unref();
    }
    return victims.length;
  }

  // ---------------------------------------------------------------- REST

  protected handleRest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const unit = req.headers['x-mbx-time-unit'];
    const micros = typeof unit === 'string' && unit.toUpperCase() === 'MICROSECOND';
    try {
      if (req.method !== 'GET') throw new RestError(405, -1000, 'Only GET is simulated.');
      let body: string;
      switch (url.pathname) {
        case '/api/v3/ping':
          body = '{}';
          break;
        case '/api/v3/time':
          body = `{"serverTime":${micros ? Date.now() * 1000 : Date.now()}}`;
          break;
        case '/api/v3/trades':
          body = this.restTrades(url.searchParams, micros, false);
          break;
        case '/api/v3/historicalTrades':
          body = this.restTrades(url.searchParams, micros, true);
          break;
        case '/api/v3/aggTrades':
          body = this.restAggTrades(url.searchParams, micros);
          break;
        default:
          throw new RestError(404, -1000, `Unknown endpoint ${url.pathname}`);
      }
      sendJson(res, 200, body);
    } catch (e) {
      if (e instanceof RestError) sendJson(res, e.status, `{"code":${e.code},"msg":${JSON.stringify(e.message)}}`);
      else throw e;
    }
  }

  private symbolParam(q: URLSearchParams): SymbolState {
    const v = q.get('symbol');
    if (v === null || v === '') throw new RestError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    if (!/^[A-Z0-9-_.]{1,20}$/.test(v)) throw new RestError(400, -1100, "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.");
    const s = this.bySymbol.get(v);
    if (!s) throw new RestError(400, -1121, 'Invalid symbol.');
    return s;
  }

  private longParam(q: URLSearchParams, name: string): number | undefined {
    const v = q.get(name);
    if (v === null) return undefined;
    if (!/^[0-9]{1,20}$/.test(v)) throw new RestError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);
    return Number(v);
  }

  /** "limit: Default 500; max 1000." Larger values are cut to 1000. */
  private limitParam(q: URLSearchParams): number {
    const l = this.longParam(q, 'limit');
    if (l === undefined) return 500;
    if (l < 1) throw new RestError(400, -1130, "Data sent for parameter 'limit' is not valid.");
    return Math.min(l, 1000);
  }

  /** GET /api/v3/trades (newest `limit`) and /api/v3/historicalTrades (from `fromId`, else newest). */
  private restTrades(q: URLSearchParams, micros: boolean, historical: boolean): string {
    const s = this.symbolParam(q);
    const limit = this.limitParam(q);
    const fromId = historical ? this.longParam(q, 'fromId') : undefined;
    const t = s.tape;
    const from = fromId === undefined ? Math.max(t.restFirstSeq, t.count - limit) : t.seqForId(fromId);
    const to = Math.min(t.count, from + limit);
    const rows: string[] = [];
    for (let k = from; k < to; k++) {
      const price = t.priceAt(k);
      const qty = t.qtyAt(k);
      const quote = fixed8(Number((BigInt(price) * BigInt(qty)) / 100000000n));
      const time = micros ? t.timeAt(k) : Math.floor(t.timeAt(k) / 1000);
      rows.push(
        `{"id":${t.idAt(k)},"price":"${fixed8(price)}","qty":"${fixed8(qty)}","quoteQty":"${quote}","time":${time},"isBuyerMaker":${t.flagsAt(k) & F_BUYER_MAKER ? 'true' : 'false'},"isBestMatch":true}`,
      );
    }
    return `[${rows.join(',')}]`;
  }

  /** GET /api/v3/aggTrades: by aggregate id (`fromId`), by time window, or the newest `limit`. */
  private restAggTrades(q: URLSearchParams, micros: boolean): string {
    const s = this.symbolParam(q);
    const limit = this.limitParam(q);
    const fromId = this.longParam(q, 'fromId');
    const startTime = this.longParam(q, 'startTime');
    const endTime = this.longParam(q, 'endTime');
    const t = s.tape;
    const toUs = (v: number): number => (micros ? v : v * 1000);
    let from: number;
    if (fromId !== undefined) from = t.seqForAgg(fromId);
    else if (startTime !== undefined) from = t.seqForTime(toUs(startTime));
    else {
      // Newest `limit` aggregates: walk back over order starts.
      from = t.count;
      let n = 0;
      while (from > t.restFirstSeq && n < limit) {
        from--;
        if (t.flagsAt(from) & F_ORDER_FIRST) n++;
      }
    }
    // Never start inside an aggregate whose first fills have left the history.
    while (from < t.count && !(t.flagsAt(from) & F_ORDER_FIRST)) from++;
    const endUs = endTime === undefined ? Infinity : toUs(endTime) + (micros ? 0 : 999);
    const rows: string[] = [];
    let k = from;
    while (k < t.count && rows.length < limit) {
      const first = k;
      let qty = 0;
      while (k < t.count) {
        qty += t.qtyAt(k);
        if (t.flagsAt(k++) & F_ORDER_LAST) break;
      }
      const last = k - 1;
      const tUs = t.timeAt(first);
      if (tUs > endUs) break;
      rows.push(
        `{"a":${t.aggAt(first)},"p":"${fixed8(t.priceAt(first))}","q":"${fixed8(qty)}","f":${t.idAt(first)},"l":${t.idAt(last)},"T":${micros ? tUs : Math.floor(tUs / 1000)},"m":${t.flagsAt(first) & F_BUYER_MAKER ? 'true' : 'false'},"M":true}`,
      );
    }
    return `[${rows.join(',')}]`;
  }

  stateConnections(): number {
    return this.conns.size;
  }
}
