import type { Response } from 'express';
import type { QueryMetrics } from './metrics';
import { tradeStreamJson } from './records';
import type { TailKind, TailRow, TailStore } from './tail-store';

export interface StreamHubOptions {
  store: TailStore;
  metrics: QueryMetrics;
  /** Open streams at most; more get 503 so a flood of tabs cannot exhaust the process. Default 500. */
  maxClients?: number;
  /** A client whose unsent bytes exceed this is cut off (it reconnects); protects memory from slow readers. Default 1 MiB. */
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  /** Trades sent on connect so a new chart is not empty. Default 100. */
  backfill?: number;
}

const tradeFrame = (row: TailRow): string => `event: trade\ndata: ${JSON.stringify(tradeStreamJson(row.rec))}\n\n`;

interface Client {
  symbol: string;
  exchange: string | undefined;
  res: Response;
}

/**
 * Server-sent events of live trades from the tail, per symbol. One listener on the TailStore dispatches to the
 * clients of that symbol, so the cost per record does not grow with the number of symbols being watched.
 * Frames: `event: trade` with the JSON of tradeStreamJson; `: ping` comments keep proxies from closing idle
 * streams (HTML Living Standard, "Server-sent events", §9.2.7 recommends a comment about every 15 s).
 */
export class StreamHub {
  private readonly clients = new Map<string, Set<Client>>();
  private readonly timer: NodeJS.Timeout;
  private count = 0;
  private readonly onRow = (kind: TailKind, row: TailRow) => {
    if (kind !== 'trades') return;
    const set = this.clients.get(row.symbol);
    if (!set) return;
    const frame = tradeFrame(row);
    for (const c of set) if (c.exchange === undefined || c.exchange === row.exchange) this.send(c, frame);
  };

  constructor(private readonly o: StreamHubOptions) {
    o.store.on('row', this.onRow);
    this.timer = setInterval(() => {
      for (const set of this.clients.values()) for (const c of set) this.send(c, ': ping\n\n');
    }, o.heartbeatMs ?? 15_000);
  }

  get size(): number {
    return this.count;
  }

  /** Takes over the response; returns false (and answers 503) when the client limit is reached. */
  open(res: Response, symbol: string, exchange: string | undefined): boolean {
    if (this.count >= (this.o.maxClients ?? 500)) {
      res.status(503).set('Retry-After', '5').json({ error: { code: 'K2_QUERY_STREAM_LIMIT', message: 'too many open streams; retry later' } });
      return false;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const client: Client = { symbol, exchange, res };
    let set = this.clients.get(symbol);
    if (!set) this.clients.set(symbol, (set = new Set()));
    set.add(client);
    this.count++;
    this.o.metrics.sseClients.set(this.count);
    res.write('retry: 2000\n\n');
    for (const r of this.o.store.latest('trades', symbol, exchange, this.o.backfill ?? 100)) {
      this.send(client, tradeFrame(r));
    }
    res.on('close', () => this.drop(client));
    return true;
  }

  close(): void {
    clearInterval(this.timer);
    this.o.store.off('row', this.onRow);
    for (const set of this.clients.values()) for (const c of set) c.res.end();
    this.clients.clear();
  }

  private send(c: Client, frame: string): void {
    if (c.res.writableLength > (this.o.maxBufferedBytes ?? 1 << 20)) {
      c.res.end();
      this.drop(c);
      return;
    }
    c.res.write(frame);
  }

  private drop(c: Client): void {
    const set = this.clients.get(c.symbol);
    if (!set?.delete(c)) return;
    if (set.size === 0) this.clients.delete(c.symbol);
    this.count--;
    this.o.metrics.sseClients.set(this.count);
  }
}
