import { AdminServer } from './admin';
import { BinanceServer } from './binance';
import { KrakenServer } from './kraken';
import { type Log, createLog } from './log';
import { Market, SyntheticSource, nowMicros } from './market';
import { DEFAULT_OPTIONS, type Exchange, MAX_RATE, type SimulatorOptions, validateOptions } from './options';
import { loadRecording, ReplaySource } from './replay';
import { binanceSpec, krakenCanonical, krakenSpec } from './symbols';

export type FaultType = 'drop' | 'stall' | 'malformed' | 'wrong-type' | 'gap' | 'rotate' | 'reject-connections';
export const FAULT_TYPES: readonly FaultType[] = ['drop', 'stall', 'malformed', 'wrong-type', 'gap', 'rotate', 'reject-connections'];

export interface FaultRequest {
  exchange: Exchange;
  type: FaultType;
  /** stall, reject-connections */
  durationMs?: number;
  /** malformed, wrong-type (frames per connection), gap (trades hidden) */
  count?: number;
  /** gap: only this symbol's trades (default: the next trades of any symbol) */
  symbol?: string;
  /** rotate (Binance): delay between serverShutdown and the close, default 1000 */
  graceMs?: number;
  /** rotate (Binance): send serverShutdown first (default true); false closes unannounced, like the 24 h cut */
  notify?: boolean;
}

export interface FaultResult {
  ok: true;
  exchange: Exchange;
  type: FaultType;
  /** Connections affected (drop, stall, malformed, wrong-type, rotate), trades to hide (gap), 0 (reject-connections). */
  affected: number;
  /** reject-connections, stall: epoch ms when the fault ends. */
  until?: number;
}

export interface SymbolTapeState {
  firstTradeId: string | null;
  lastTradeId: string | null;
  count: number;
  /** Oldest id REST still serves (the tape keeps the newest --history trades). */
  oldestRestTradeId: string | null;
  /** Binance only: aggregate trade id range. */
  firstAggTradeId?: string | null;
  lastAggTradeId?: string | null;
}

export interface ExchangeState {
  symbols: Record<string, SymbolTapeState>;
  connections: number;
  generating: boolean;
  paused: boolean;
  rate: number;
  rejectingConnections: boolean;
}

export interface SimulatorState {
  mode: 'synthetic' | 'replay';
  seed: number;
  binance?: ExchangeState;
  kraken?: ExchangeState;
}

export interface SimulatorUrls {
  binance?: { ws: string; rest: string };
  kraken?: { ws: string; rest: string };
  admin: string;
}

export class RequestError extends Error {}

function nonNegInt(v: unknown, name: string, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RequestError(`${name} must be a non-negative integer`);
  return v;
}

export class Simulator {
  readonly markets: Partial<Record<Exchange, Market>> = {};
  binance?: BinanceServer;
  kraken?: KrakenServer;
  admin!: AdminServer;
  urls!: SimulatorUrls;
  private timer: NodeJS.Timeout | undefined;
  readonly seed: number;

  constructor(
    readonly options: SimulatorOptions,
    readonly log: Log,
  ) {
    this.seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
  }

  /** Builds markets and servers and listens; the generation tick starts last. */
  async start(): Promise<void> {
    const o = this.options;
    const on = (e: Exchange): boolean => o.exchanges.includes(e);
    if (o.mode === 'replay') {
      const rec = loadRecording(o.replayFile ?? '', o.binanceAggStartId);
      if (rec.skipped > 0) this.log.warn('replay lines skipped (unparseable trades/quotes)', { skipped: rec.skipped });
      if (on('binance')) {
        const m = new Market('binance', rec.symbols.binance.map(binanceSpec), o.history, o.rate, undefined, undefined);
        m.setSource(new ReplaySource(rec.events.binance, o.replaySpeed));
        this.markets.binance = m;
      }
      if (on('kraken')) {
        const m = new Market('kraken', rec.symbols.kraken.map((s) => krakenSpec(s, o.krakenLegacySymbols)), o.history, o.rate, undefined, undefined);
        m.setSource(new ReplaySource(rec.events.kraken, o.replaySpeed));
        this.markets.kraken = m;
      }
      this.log.info('replay loaded', { file: o.replayFile, binanceEvents: rec.events.binance.length, krakenEvents: rec.events.kraken.length });
    } else {
      if (on('binance')) {
        const m = new Market('binance', [...new Set(o.binanceSymbols.map((s) => s.toUpperCase()))].map(binanceSpec), o.history, o.rate, o.maxTrades, undefined);
        m.setSource(new SyntheticSource(m, this.seed, o.binanceStartId, o.binanceAggStartId, o.quotesPerTrade, o.binanceBookStartId));
        this.markets.binance = m;
      }
      if (on('kraken')) {
        const m = new Market('kraken', dedupKraken(o.krakenSymbols).map((s) => krakenSpec(s, o.krakenLegacySymbols)), o.history, o.rate, o.maxTrades, undefined);
        // Kraken trade ids are a per-book sequence (from 1 on the exchange); Kraken has no aggregate ids (they stay
        // internal). --kraken-start-id lets a test keep its ids apart from earlier runs' in the same topic.
        m.setSource(new SyntheticSource(m, this.seed, o.krakenStartId, 1, o.quotesPerTrade));
        this.markets.kraken = m;
      }
    }
    const urls: SimulatorUrls = { admin: '' };
    const host = o.host.includes(':') ? `[${o.host}]` : o.host;
    if (this.markets.binance) {
      this.binance = new BinanceServer(
        this.markets.binance,
        { pingIntervalMs: o.pingIntervalMs, pongTimeoutMs: o.pongTimeoutMs, maxIncomingPerSecond: o.maxIncomingPerSecond, maxBufferedBytes: o.maxBufferedBytes },
        this.log,
      );
      const port = await this.binance.start(o.host, o.binancePort);
      urls.binance = { ws: `ws://${host}:${port}`, rest: `http://${host}:${port}` };
    }
    if (this.markets.kraken) {
      this.kraken = new KrakenServer(this.markets.kraken, { heartbeatIntervalMs: o.heartbeatIntervalMs, maxBufferedBytes: o.maxBufferedBytes }, this.log);
      const port = await this.kraken.start(o.host, o.krakenPort);
      urls.kraken = { ws: `ws://${host}:${port}/v2`, rest: `http://${host}:${port}` };
    }
    this.admin = new AdminServer(this, this.log);
    urls.admin = `http://${host}:${await this.admin.start(o.host, o.adminPort)}`;
    this.urls = urls;
    this.timer = setInterval(() => {
      const now = nowMicros();
      for (const m of Object.values(this.markets)) m.tick(now);
    }, o.tickMs);
  }

  private server(ex: Exchange): BinanceServer | KrakenServer {
    const s = ex === 'binance' ? this.binance : this.kraken;
    if (!s) throw new RequestError(`${ex} is not simulated`);
    return s;
  }

  private market(ex: unknown): Market {
    const m = typeof ex === 'string' ? this.markets[ex as Exchange] : undefined;
    if (!m) throw new RequestError(`exchange must be one of: ${Object.keys(this.markets).join(', ')}`);
    return m;
  }

  private symbolOf(ex: Exchange, symbol: string): string | undefined {
    const m = this.markets[ex];
    if (!m) return undefined;
    const name = ex === 'binance' ? symbol.toUpperCase() : (krakenCanonical(symbol) ?? symbol);
    return m.symbol(name)?.spec.name;
  }

  state(): SimulatorState {
    const out: SimulatorState = { mode: this.options.mode, seed: this.seed };
    for (const [ex, m] of Object.entries(this.markets) as Array<[Exchange, Market]>) {
      const symbols: Record<string, SymbolTapeState> = {};
      for (const s of m.symbols) {
        const t = s.tape;
        const st: SymbolTapeState = {
          firstTradeId: t.firstId === undefined ? null : String(t.firstId),
          lastTradeId: t.lastId === undefined ? null : String(t.lastId),
          count: t.count,
          oldestRestTradeId: t.count > t.restFirstSeq ? String(t.idAt(t.restFirstSeq)) : null,
        };
        if (ex === 'binance') {
          st.firstAggTradeId = t.firstAgg === undefined ? null : String(t.firstAgg);
          st.lastAggTradeId = t.lastAgg === undefined ? null : String(t.lastAgg);
        }
        symbols[s.spec.name] = st;
      }
      const server = this.server(ex);
      out[ex] = { symbols, connections: server.conns.size, generating: m.generating, paused: m.paused, rate: m.rate, rejectingConnections: server.rejecting };
    }
    return out;
  }

  /** Every trade id generated for a symbol (the tape's truth, whatever the WebSocket side hid). */
  tradeIds(exchange: string, symbol: string): string[] {
    const m = this.market(exchange);
    const name = this.symbolOf(m.exchange, symbol);
    if (!name) throw new RequestError(`unknown ${m.exchange} symbol ${symbol}`);
    return m.symbol(name)?.tape.allIds() ?? [];
  }

  fault(req: FaultRequest): FaultResult {
    if (typeof req !== 'object' || req === null) throw new RequestError('fault must be a JSON object');
    const m = this.market(req.exchange);
    const ex = m.exchange;
    const server = this.server(ex);
    if (!FAULT_TYPES.includes(req.type)) throw new RequestError(`type must be one of: ${FAULT_TYPES.join(', ')}`);
    if (req.symbol !== undefined && (typeof req.symbol !== 'string' || !this.symbolOf(ex, req.symbol))) throw new RequestError(`unknown ${ex} symbol ${String(req.symbol)}`);
    let affected: number;
    let until: number | undefined;
    switch (req.type) {
      case 'drop':
        affected = server.faultDrop();
        break;
      case 'stall': {
        const d = nonNegInt(req.durationMs, 'durationMs');
        affected = server.faultStall(d);
        until = Date.now() + d;
        break;
      }
      case 'malformed':
        affected = server.faultMalformed(nonNegInt(req.count, 'count', 1));
        break;
      case 'wrong-type':
        affected = server.faultWrongType(nonNegInt(req.count, 'count', 1));
        break;
      case 'gap':
        affected = server.faultGap(nonNegInt(req.count, 'count'), req.symbol);
        break;
      case 'rotate':
        if (req.notify !== undefined && typeof req.notify !== 'boolean') throw new RequestError('notify must be a boolean');
        affected = server instanceof BinanceServer ? server.faultRotate(nonNegInt(req.graceMs, 'graceMs', 1000), req.notify ?? true) : server.faultRotate();
        break;
      case 'reject-connections':
        until = server.faultReject(nonNegInt(req.durationMs, 'durationMs'));
        affected = 0;
        break;
    }
    this.log.info('fault injected', { exchange: ex, type: req.type, affected, ...(until ? { until } : {}), ...(req.count !== undefined ? { count: req.count } : {}) });
    return { ok: true, exchange: ex, type: req.type, affected, ...(until !== undefined ? { until } : {}) };
  }

  private targets(exchange?: unknown): Market[] {
    if (exchange === undefined || exchange === null) return Object.values(this.markets);
    return [this.market(exchange)];
  }

  setRate(rate: unknown, exchange?: unknown): void {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > MAX_RATE) throw new RequestError(`rate must be a number in 0..${MAX_RATE}`);
    for (const m of this.targets(exchange)) m.rate = rate;
    this.log.info('rate changed', { rate, exchange: exchange ?? 'all' });
  }

  pause(exchange?: unknown): void {
    for (const m of this.targets(exchange)) m.paused = true;
  }

  resume(exchange?: unknown): void {
    for (const m of this.targets(exchange)) m.paused = false;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.binance?.close(), this.kraken?.close(), this.admin?.close()]);
  }
}

function dedupKraken(list: string[]): string[] {
  const out: string[] = [];
  for (const s of list) {
    const c = krakenCanonical(s);
    if (!c) throw new Error(`Kraken symbol must look like BTC/USD: ${s}`);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** Starts a simulator in this process (the tool's own tests, benches); options default as on the CLI. */
export async function startSimulator(options: Partial<SimulatorOptions> = {}, log?: Log): Promise<Simulator> {
  const o: SimulatorOptions = { ...DEFAULT_OPTIONS, ...options };
  validateOptions(o);
  const sim = new Simulator(o, log ?? createLog(o.logLevel));
  try {
    await sim.start();
  } catch (e) {
    await sim.close().catch(() => undefined);
    throw e;
  }
  return sim;
}
