import type { FeedTransport } from '@k2/feed';
import type { BinanceAdapterOptions } from './adapter';
import { binanceStreamName } from './symbols';

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
