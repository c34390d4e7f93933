import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import WebSocket, { WebSocketServer } from 'ws';
import { createLogger } from '@k2/core';
import { waitFor } from '@k2/testing';
import { FeedMetrics } from './metrics';
import type { FeedTransport } from './types';
import { DEFAULT_WS_MAX_PAYLOAD_BYTES, WebSocketFeed, type ConnectedInfo } from './ws-feed';

// A loopback server standing in for an exchange endpoint: it records what clients send and lets the test drop,
// silence or refuse them. Exchange protocol details are tested against the exchange simulator elsewhere.
class Endpoint {
  readonly server: WebSocketServer;
  readonly received: string[] = [];
  readonly clients = new Set<WebSocket>();
  connections = 0;
  constructor() {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.server.on('connection', (ws) => {
      this.connections++;
      this.clients.add(ws);
      ws.on('message', (m) => this.received.push(m.toString()));
      ws.on('close', () => this.clients.delete(ws));
    });
  }
  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  broadcast(text: string): void {
    for (const c of this.clients) c.send(text);
  }
  async close(): Promise<void> {
    for (const c of this.clients) c.terminate();
    await new Promise((r) => this.server.close(r));
  }
}

const transport = (over: Partial<FeedTransport> = {}): FeedTransport => ({
  exchange: 'binance',
  connectUrl: (base) => `${base}/stream?timeUnit=MICROSECOND`,
  subscribeMessages: () => ['{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}'],
  maxMessagesPerSecond: 5,
  staleTimeoutMs: 60_000,
  ...over,
});

function feedFor(urls: string[], over: Partial<FeedTransport> = {}, extra: Partial<ConstructorParameters<typeof WebSocketFeed>[0]> = {}) {
  const frames: string[] = [];
  const connected: ConnectedInfo[] = [];
  const registry = new Registry();
  const metrics = new FeedMetrics(registry, 'binance');
  const feed = new WebSocketFeed({
    transport: transport(over),
    urls,
    logger: createLogger({ service: 'test', level: 'error' }),
    metrics,
    backoff: { initialMs: 50, maxMs: 200 },
    stableAfterMs: 0,
    onFrame: (raw) => frames.push(raw),
    onConnected: (i) => connected.push(i),
    ...extra,
  });
  return { feed, frames, connected, registry };
}

describe('WebSocketFeed', () => {
  const endpoints: Endpoint[] = [];
  const feeds: WebSocketFeed[] = [];
  const endpoint = async () => {
    const e = new Endpoint();
    endpoints.push(e);
    await new Promise((r) => e.server.once('listening', r));
    return e;
  };
  afterEach(async () => {
    for (const f of feeds.splice(0)) f.stop();
    await Promise.all(endpoints.splice(0).map((e) => e.close()));
  });

  it('subscribes on open, delivers frames and reports the connection in metrics', async () => {
    const ex = await endpoint();
    const { feed, frames, registry } = feedFor([ex.url]);
    feeds.push(feed);
    feed.start();
    await waitFor('subscribe', () => ex.received.length === 1 || undefined);
    expect(ex.received[0]).toBe('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}');
    ex.broadcast('{"result":null,"id":1}');
    await waitFor('frame', () => frames.length === 1 || undefined);
    expect(feed.connected).toBe(true);
    expect(await registry.getSingleMetricAsString('k2_binance_connection_status')).toContain(`k2_binance_connection_status{endpoint="${ex.url}"} 1`);
  });

  it('reconnects after a drop and says it was a reconnect', async () => {
    const ex = await endpoint();
    const { feed, connected } = feedFor([ex.url]);
    feeds.push(feed);
    feed.start();
    await waitFor('first connection', () => connected.length === 1 || undefined);
    for (const c of ex.clients) c.terminate();
    await waitFor('second connection', () => connected.length === 2 || undefined);
    expect(connected.map((c) => c.reconnect)).toEqual([false, true]);
    expect(ex.received).toHaveLength(2);
  });

  it('treats a silent connection as dead, but not one that only receives pings', async () => {
    const ex = await endpoint();
    const { feed, connected } = feedFor([ex.url], { staleTimeoutMs: 300 });
    feeds.push(feed);
    feed.start();
    await waitFor('connected', () => connected.length === 1 || undefined);
    // Pings alone keep a quiet symbol's connection alive (Binance sends one every 20 s).
    const pinger = setInterval(() => ex.clients.forEach((c) => c.ping('keepalive')), 100);
    await new Promise((r) => setTimeout(r, 900));
    clearInterval(pinger);
    expect(connected).toHaveLength(1);
    await waitFor('stale reconnect', () => connected.length === 2 || undefined, 5000);
  });

  it('fails over to the next endpoint when the first refuses connections', async () => {
    const good = await endpoint();
    const { feed, connected } = feedFor(['ws://127.0.0.1:1', good.url]);
    feeds.push(feed);
    feed.start();
    await waitFor('failover', () => connected.length === 1 || undefined, 5000);
    expect(connected[0]?.url).toBe(good.url);
    expect(feed.currentUrl).toBe(good.url);
  });

  it('rotates by opening the replacement before closing the old connection', async () => {
    const ex = await endpoint();
    const { feed, connected, registry } = feedFor([ex.url], {}, { rotationOverlapMs: 100 });
    feeds.push(feed);
    feed.start();
    await waitFor('connected', () => connected.length === 1 || undefined);
    feed.rotate('server_shutdown');
    await waitFor('replacement open', () => ex.clients.size === 2 || undefined);
    expect(connected[1]).toMatchObject({ rotation: true, reconnect: false });
    ex.broadcast('{"e":"trade"}');
    await waitFor('old closed', () => ex.clients.size === 1 || undefined);
    expect(feed.connected).toBe(true);
    // The old connection closing must not report the endpoint down while the replacement is up.
    expect(await registry.getSingleMetricAsString('k2_binance_connection_status')).toContain(`k2_binance_connection_status{endpoint="${ex.url}"} 1`);
  });

  it('refuses a frame above the 4 MiB default (not ws\'s 100 MiB): closes, counts it and reconnects', async () => {
    const ex = await endpoint();
    const { feed, frames, connected, registry } = feedFor([ex.url]);
    feeds.push(feed);
    feed.start();
    await waitFor('connected', () => connected.length === 1 || undefined);
    // A trade frame padded past the limit, as a broken or hostile endpoint could send.
    const trade = '{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true';
    ex.broadcast(`${trade},"pad":"${'x'.repeat(DEFAULT_WS_MAX_PAYLOAD_BYTES)}"}`);
    await waitFor('reconnected', () => connected.length === 2 || undefined, 5000);
    expect(frames).toEqual([]);
    expect(await registry.getSingleMetricAsString('k2_binance_errors_total')).toContain('k2_binance_errors_total{kind="frame_too_large"} 1');
    ex.broadcast(`${trade}}`);
    await waitFor('normal frame', () => frames.length === 1 || undefined);
  });

  it('takes the frame limit from its options', async () => {
    const ex = await endpoint();
    const { feed, frames, connected } = feedFor([ex.url], {}, { maxPayloadBytes: 1024 });
    feeds.push(feed);
    feed.start();
    await waitFor('connected', () => connected.length === 1 || undefined);
    ex.broadcast(`{"pad":"${'x'.repeat(1024)}"}`);
    await waitFor('reconnected', () => connected.length === 2 || undefined, 5000);
    ex.broadcast(`{"pad":"${'x'.repeat(1000)}"}`);
    await waitFor('frame under the limit', () => frames.length === 1 || undefined);
    expect(frames[0]).toHaveLength(1000 + 10);
  });

  it('stays disconnected while paused and reconnects on resume', async () => {
    const ex = await endpoint();
    const { feed, connected } = feedFor([ex.url]);
    feeds.push(feed);
    feed.start();
    await waitFor('connected', () => connected.length === 1 || undefined);
    feed.pause();
    await waitFor('closed', () => ex.clients.size === 0 || undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(ex.connections).toBe(1);
    feed.resume();
    await waitFor('reconnected', () => connected.length === 2 || undefined);
  });
});
