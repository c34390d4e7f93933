import { topicName } from '@k2/kafka';
import { RestClient, type BackfillSource, type ExchangeAdapter, type FeedEvent, type FeedTransport } from '@k2/feed';
import { mapKrakenMessage } from './mapper';
import { mapKrakenRestTrades } from './rest-mapper';
import { canonicalKrakenSymbol, krakenRestPair } from './symbols';

export interface KrakenAdapterOptions {
  /** WebSocket v2 symbols, e.g. BTC/USD. */
  symbols: readonly string[];
  /** Subscribe to `ticker` with event_trigger bbo as well. */
  quotes: boolean;
  /** REST base for backfill, e.g. https://api.kraken.com. */
  restUrl: string;
  /** Spacing of backfill requests; Kraken's public endpoints allow about one per second. Default 1000 ms. */
  restMinIntervalMs?: number;
}

/**
 * Kraken WebSocket v2 (https://docs.kraken.com/api/docs/websocket-v2/trade). Kraken sends a heartbeat every
 * second once subscribed, so 10 s of silence is a dead connection even on a quiet pair; an application-level
 * ping every 30 s keeps intermediaries from idling the connection out.
 */
export class KrakenTransport implements FeedTransport {
  readonly exchange = 'kraken';
  readonly maxMessagesPerSecond = 5;
  readonly staleTimeoutMs = 10_000;
  readonly appPing = { intervalMs: 30_000, message: () => JSON.stringify({ method: 'ping', req_id: ++this.reqId }) };
  private reqId = 0;

  constructor(private readonly o: KrakenAdapterOptions) {}

  connectUrl(baseUrl: string): string {
    return baseUrl;
  }

  subscribeMessages(): string[] {
    const symbol = [...this.o.symbols];
    const out = [JSON.stringify({ method: 'subscribe', params: { channel: 'trade', symbol, snapshot: true }, req_id: ++this.reqId })];
    if (this.o.quotes) {
      out.push(JSON.stringify({ method: 'subscribe', params: { channel: 'ticker', symbol, event_trigger: 'bbo', snapshot: true }, req_id: ++this.reqId }));
    }
    return out;
  }
}

/**
 * Missing trades from REST `/0/public/Trades`, which pages by time (`since`), not by id: ask from just before the
 * last known trade's time and let the sequencer drop what it already has by trade_id.
 */
export class KrakenBackfill implements BackfillSource {
  private readonly rest: RestClient;
  private readonly wsSymbols = new Map<string, string>();

  constructor(private readonly o: KrakenAdapterOptions) {
    this.rest = new RestClient({ exchange: 'kraken', minIntervalMs: o.restMinIntervalMs ?? 1000 });
    for (const s of o.symbols) this.wsSymbols.set(canonicalKrakenSymbol(s), s);
  }

  async fetchAfter(symbol: string, after: { tradeId: bigint; timestampMicros: bigint }, ctx: { receivedAtMicros: bigint }) {
    const ws = this.wsSymbols.get(symbol) ?? symbol;
    const since = after.timestampMicros > 0n ? secondsText(after.timestampMicros - 1n) : '0';
    const base = this.o.restUrl.replace(/\/+$/, '');
    const body = await this.rest.get(`${base}/0/public/Trades?pair=${encodeURIComponent(krakenRestPair(ws))}&since=${since}&count=1000`);
    return mapKrakenRestTrades(body, ws, ctx).trades;
  }
}

/** µs since the epoch as decimal seconds, exactly (no float). */
function secondsText(us: bigint): string {
  const s = us / 1_000_000n;
  const frac = (us % 1_000_000n).toString().padStart(6, '0');
  return `${s}.${frac}`;
}

export function decodeKrakenFrame(raw: string, ctx: { receivedAtMicros: bigint }): FeedEvent {
  const m = mapKrakenMessage(raw, ctx);
  switch (m.kind) {
    case 'trades':
      return { type: 'trades', trades: m.trades };
    case 'quotes':
      return { type: 'quotes', quotes: m.quotes };
    case 'ack':
      return m.success
        ? { type: 'control', detail: `${m.method} ${m.channel ?? ''} ${m.symbol ?? ''}`.trim() }
        : { type: 'exchange-error', detail: `${m.method} ${m.channel ?? ''} ${m.symbol ?? ''}: ${m.error ?? 'failed'}` };
    case 'heartbeat':
      return { type: 'control', detail: 'heartbeat' };
    case 'pong':
      return { type: 'control', detail: 'pong' };
    case 'status':
      // connection_id exceeds 2^53; the mapper keeps its exact digits as text.
      return { type: 'control', detail: `status ${m.system} connection ${m.connectionId}`, notable: true };
  }
}

export function krakenAdapter(o: KrakenAdapterOptions): ExchangeAdapter {
  return {
    exchange: 'kraken',
    transport: new KrakenTransport(o),
    decode: decodeKrakenFrame,
    backfill: new KrakenBackfill(o),
    topics: {
      trades: topicName({ assetClass: 'crypto', dataType: 'trades', exchange: 'kraken' }),
      quotes: topicName({ assetClass: 'crypto', dataType: 'quotes', exchange: 'kraken' }),
    },
    symbols: o.symbols.map(canonicalKrakenSymbol),
  };
}
