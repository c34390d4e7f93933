import type { FeedTransport } from '@k2/feed';
import type { KrakenAdapterOptions } from './adapter';

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
