import { topicName } from '@k2/kafka';
import { RestClient, type BackfillSource, type ExchangeAdapter, type FeedEvent, type FeedTransport } from '@k2/feed';
import { mapBinanceMessage } from './mapper';
import { mapBinanceRestAggTrades, mapBinanceRestTrades } from './rest-mapper';
import { binanceStreamName, canonicalBinanceSymbol } from './symbols';

export interface BinanceAdapterOptions {
  /** Spot symbols, e.g. BTCUSDT. */
  symbols: readonly string[];
  stream: 'trade' | 'aggTrade';
  /** Subscribe to `<symbol>@bookTicker` as well. */
  quotes: boolean;
  /** REST base for backfill, e.g. https://api.binance.com. */
  restUrl: string;
  /** Spacing of backfill requests. historicalTrades weighs 25 of 6000 per minute. Default 250 ms. */
  restMinIntervalMs?: number;
}

/** Streams per SUBSCRIBE message; Binance allows 1024 streams per connection. */
const STREAMS_PER_MESSAGE = 200;
/** Binance closes a connection at 24 h; rotate five minutes earlier (web-socket-streams.md, "General WSS information"). */
const MAX_CONNECTION_AGE_MS = 24 * 3600_000 - 5 * 60_000;

/**
 * Binance spot market streams. Connects to the combined endpoint with µs timestamps
 * (`/stream?timeUnit=MICROSECOND`) and subscribes live, so the symbol list is not limited by URL length.
 * Binance pings every 20 s and drops clients silent for a minute; `ws` answers the pings, so silence beyond
 * 50 s is a dead connection. Control messages are limited to 5 per second; we keep one in reserve for pongs.
 */
export class BinanceTransport implements FeedTransport {
  readonly exchange = 'binance';
  readonly maxMessagesPerSecond = 4;
  readonly staleTimeoutMs = 50_000;
  readonly maxConnectionAgeMs = MAX_CONNECTION_AGE_MS;
  private id = 0;

  constructor(private readonly o: BinanceAdapterOptions) {}

  connectUrl(baseUrl: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/stream?timeUnit=MICROSECOND`;
  }

  streams(): string[] {
    const kinds: Array<'trade' | 'aggTrade' | 'bookTicker'> = this.o.quotes ? [this.o.stream, 'bookTicker'] : [this.o.stream];
    return this.o.symbols.flatMap((s) => kinds.map((k) => binanceStreamName(s, k)));
  }

  subscribeMessages(): string[] {
    const streams = this.streams();
    const out: string[] = [];
    for (let i = 0; i < streams.length; i += STREAMS_PER_MESSAGE) {
      out.push(JSON.stringify({ method: 'SUBSCRIBE', params: streams.slice(i, i + STREAMS_PER_MESSAGE), id: ++this.id }));
    }
    return out;
  }
}

/** Missing trade ids from `/api/v3/historicalTrades` (or `/api/v3/aggTrades` for the aggTrade stream) by `fromId`. */
export class BinanceBackfill implements BackfillSource {
  private readonly rest: RestClient;

  constructor(private readonly o: BinanceAdapterOptions) {
    // X-MBX-TIME-UNIT asks for µs times, as the WebSocket side does (rest-api.md, "General API Information").
    this.rest = new RestClient({ exchange: 'binance', minIntervalMs: o.restMinIntervalMs ?? 250, headers: { 'X-MBX-TIME-UNIT': 'MICROSECOND' } });
  }

  async fetchAfter(symbol: string, after: { tradeId: bigint }, ctx: { receivedAtMicros: bigint }) {
    const base = this.o.restUrl.replace(/\/+$/, '');
    const path = this.o.stream === 'trade' ? '/api/v3/historicalTrades' : '/api/v3/aggTrades';
    const body = await this.rest.get(`${base}${path}?symbol=${encodeURIComponent(symbol)}&fromId=${after.tradeId + 1n}&limit=1000`);
    return this.o.stream === 'trade' ? mapBinanceRestTrades(body, symbol, ctx, 'us') : mapBinanceRestAggTrades(body, symbol, ctx, 'us');
  }
}

export function decodeBinanceFrame(raw: string, ctx: { receivedAtMicros: bigint }): FeedEvent {
  const m = mapBinanceMessage(raw, ctx);
  switch (m.kind) {
    case 'trade':
      return { type: 'trades', trades: [m.trade] };
    case 'quote':
      return { type: 'quotes', quotes: [m.quote] };
    case 'result':
      return { type: 'control', detail: `result of request ${String(m.id)}` };
    case 'error':
      return { type: 'exchange-error', detail: `request ${String(m.id)}: code ${m.code} ${m.msg}` };
    case 'server-shutdown':
      return { type: 'rotate', detail: 'serverShutdown' };
  }
}

export function binanceAdapter(o: BinanceAdapterOptions): ExchangeAdapter {
  return {
    exchange: 'binance',
    transport: new BinanceTransport(o),
    decode: decodeBinanceFrame,
    backfill: new BinanceBackfill(o),
    topics: {
      trades: topicName({ assetClass: 'crypto', dataType: 'trades', exchange: 'binance' }),
      quotes: topicName({ assetClass: 'crypto', dataType: 'quotes', exchange: 'binance' }),
    },
    symbols: o.symbols.map(canonicalBinanceSymbol),
  };
}
