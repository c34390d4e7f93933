import WebSocket from 'ws';
import { type Logger } from '@k2/core';
import { Backoff, type BackoffOptions } from '@k2/resilience';
import type { FeedMetrics } from './metrics';
import { SendRateLimiter } from './rate-limiter';
import type { FeedTransport } from './types';

export interface ConnectedInfo {
  readonly url: string;
  readonly connectionId: number;
  /** Not the first connection of this feed: trades may have been missed meanwhile. */
  readonly reconnect: boolean;
  /** Opened to replace a connection the exchange is about to close (overlap, no gap). */
  readonly rotation: boolean;
}

export interface WebSocketFeedOptions {
  transport: FeedTransport;
  /** Base endpoints in failover order. */
  urls: readonly string[];
  onFrame: (raw: string, receivedAtMicros: bigint, connectionId: number) => void;
  onConnected?: (info: ConnectedInfo) => void;
  logger: Logger;
  metrics: FeedMetrics;
  backoff?: BackoffOptions;
  /** A connection that lived this long counts as healthy: its loss reconnects at once and resets the backoff. */
  stableAfterMs?: number;
  connectTimeoutMs?: number;
  /** Overrides of the transport's defaults. */
  staleTimeoutMs?: number;
  maxConnectionAgeMs?: number;
  /** How long old and new connection overlap during a rotation. Default 2000 ms. */
  rotationOverlapMs?: number;
  /** Largest frame accepted (FEED_WS_MAX_PAYLOAD_BYTES); a larger one closes the connection with 1009. Default 4 MiB. */
  maxPayloadBytes?: number;
}

/** Default frame limit instead of ws's 100 MiB; see feedConfigSpec's wsMaxPayloadBytes for the sizing. */
export const DEFAULT_WS_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

interface Conn {
  readonly id: number;
  readonly ws: WebSocket;
  readonly url: string;
  readonly limiter: SendRateLimiter;
  readonly openedAt: number;
  lastFrameAt: number;
  open: boolean;
  timers: NodeJS.Timeout[];
}

/**
 * One logical market-data feed over WebSocket, shared by every exchange: connect with failover across endpoints,
 * reconnect with exponential backoff and jitter, detect silent (stale) connections, keep control messages under
 * the exchange's rate limit, answer pings, and rotate connections before the exchange drops them (Binance closes
 * every connection after 24 h and announces maintenance with `serverShutdown`): the replacement is opened and
 * receiving before the old one closes, and the overlap is deduplicated downstream by trade id.
 */
export class WebSocketFeed {
  private readonly t: FeedTransport;
  private readonly backoff: Backoff;
  private readonly stableAfterMs: number;
  private readonly connectTimeoutMs: number;
  private readonly staleTimeoutMs: number;
  private readonly maxAgeMs: number | undefined;
  private readonly overlapMs: number;
  private readonly maxPayload: number;
  private active: Conn | undefined;
  private replacement: Conn | undefined;
  private urlIndex = 0;
  private failuresSinceSuccess = 0;
  private nextId = 1;
  private everConnected = false;
  private stopped = true;
  private paused = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private throttled = false;

  constructor(private readonly o: WebSocketFeedOptions) {
    if (o.urls.length === 0) throw new RangeError('a feed needs at least one endpoint');
    this.t = o.transport;
    this.backoff = new Backoff(o.backoff);
    this.stableAfterMs = o.stableAfterMs ?? 30_000;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
    this.staleTimeoutMs = o.staleTimeoutMs ?? this.t.staleTimeoutMs;
    this.maxAgeMs = o.maxConnectionAgeMs ?? this.t.maxConnectionAgeMs;
    this.overlapMs = o.rotationOverlapMs ?? 2000;
    this.maxPayload = o.maxPayloadBytes ?? DEFAULT_WS_MAX_PAYLOAD_BYTES;
  }

  get connected(): boolean {
    return this.active?.open === true;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get currentUrl(): string {
    return this.o.urls[this.urlIndex] as string;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const every = Math.max(50, Math.min(1000, Math.floor(this.staleTimeoutMs / 4)));
    this.staleTimer = setInterval(() => this.checkStale(), every);
    this.staleTimer.unref?.();
    this.connect(false);
  }

  stop(): void {
    this.stopped = true;
    if (this.staleTimer) clearInterval(this.staleTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const c of [this.active, this.replacement]) if (c) this.close(c, 1000, 'shutdown');
    this.active = this.replacement = undefined;
  }

  /** Stop reading (the journal is full): close the connection and do not reconnect until `resume`. */
  pause(): void {
    if (this.paused || this.stopped) return;
    this.paused = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const c of [this.active, this.replacement]) if (c) this.close(c, 1000, 'paused');
    this.active = this.replacement = undefined;
  }

  resume(): void {
    if (!this.paused || this.stopped) return;
    this.paused = false;
    this.o.metrics.reconnects.labels('resume').inc();
    this.connect(false);
  }

  /**
   * Backpressure: stop reading frames (TCP flow control pushes back to the exchange) while the sink is behind,
   * so acknowledgements are not starved of event-loop time by a flood of input. Not a disconnect: the exchange
   * only drops us if we stay behind for long (Binance: slow-consumer disconnect).
   */
  throttle(on: boolean): void {
    if (on === this.throttled) return;
    this.throttled = on;
    for (const c of [this.active, this.replacement]) {
      if (!c?.open) continue;
      if (on) c.ws.pause();
      else {
        c.lastFrameAt = Date.now();
        c.ws.resume();
      }
    }
  }

  get isThrottled(): boolean {
    return this.throttled;
  }

  /** Open a replacement connection, then close the current one once the replacement is receiving. */
  rotate(reason: string): void {
    if (this.stopped || this.paused || this.replacement || !this.active) return;
    this.o.logger.info('rotating connection', { exchange: this.t.exchange, reason, endpoint: this.active.url });
    this.o.metrics.reconnects.labels(`rotate_${reason}`).inc();
    this.connect(true);
  }

  /** Sends a control message on the active connection through the rate limiter. */
  send(message: string): void {
    const c = this.active;
    if (c?.open) c.limiter.submit(() => c.ws.readyState === WebSocket.OPEN && c.ws.send(message));
  }

  private connect(rotation: boolean): void {
    if (this.stopped || this.paused) return;
    const base = this.o.urls[this.urlIndex] as string;
    const url = this.t.connectUrl(base);
    const id = this.nextId++;
    const ws = new WebSocket(url, { handshakeTimeout: this.connectTimeoutMs, perMessageDeflate: false, maxPayload: this.maxPayload });
    const c: Conn = {
      id,
      ws,
      url: base,
      limiter: new SendRateLimiter(this.t.maxMessagesPerSecond),
      openedAt: Date.now(),
      lastFrameAt: Date.now(),
      open: false,
      timers: [],
    };
    if (rotation) this.replacement = c;
    else this.active = c;
    let rotationClosing = false;

    ws.on('open', () => {
      c.open = true;
      if (this.throttled) ws.pause();
      c.lastFrameAt = Date.now();
      this.o.metrics.connectionStatus.labels(base).set(1);
      this.o.logger.info('connected', { exchange: this.t.exchange, endpoint: base, connection: id, rotation });
      for (const m of this.t.subscribeMessages()) c.limiter.submit(() => ws.readyState === WebSocket.OPEN && ws.send(m));
      const ping = this.t.appPing;
      if (ping) {
        const timer = setInterval(() => c.limiter.submit(() => ws.readyState === WebSocket.OPEN && ws.send(ping.message())), ping.intervalMs);
        c.timers.push(timer);
      }
      if (this.maxAgeMs !== undefined) {
        const timer = setTimeout(() => this.active === c && this.rotate('max_age'), this.maxAgeMs);
        c.timers.push(timer);
      }
      const reconnect = this.everConnected && !rotation;
      this.everConnected = true;
      this.o.onConnected?.({ url: base, connectionId: id, reconnect, rotation });
    });
    ws.on('message', (data: WebSocket.RawData) => {
      c.lastFrameAt = Date.now();
      const receivedAt = BigInt(Date.now()) * 1000n;
      if (rotation && this.replacement === c && !rotationClosing) {
        rotationClosing = true;
        c.timers.push(setTimeout(() => this.promote(c), this.overlapMs));
      }
      this.o.onFrame(typeof data === 'string' ? data : data.toString(), receivedAt, id);
    });
    // ws answers protocol pings with a pong carrying the same payload (RFC 6455 §5.5.2), as Binance requires.
    ws.on('ping', () => (c.lastFrameAt = Date.now()));
    ws.on('pong', () => (c.lastFrameAt = Date.now()));
    ws.on('unexpected-response', (_req, res) => {
      this.o.metrics.errors.labels('handshake_rejected').inc();
      this.o.logger.warn('connection refused', { exchange: this.t.exchange, endpoint: base, status: res.statusCode });
      ws.terminate();
    });
    ws.on('error', (err) => this.onError(c, err));
    ws.on('close', (code, reason) => this.onClose(c, code, reason.toString()));
  }

  /**
   * A frame above maxPayload is not buffered: ws fails the connection with 1009 and it reconnects like any drop,
   * after which the sequencer backfills whatever that frame carried (issue 18: ws's 100 MiB default).
   */
  private onError(c: Conn, err: Error): void {
    if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.o.metrics.errors.labels('frame_too_large').inc();
      this.o.logger.warn('frame larger than the limit, connection closed', {
        exchange: this.t.exchange,
        endpoint: c.url,
        connection: c.id,
        max_payload_bytes: this.maxPayload,
        error: err.message,
      });
      return;
    }
    this.o.metrics.errors.labels('connection').inc();
    this.o.logger.warn('websocket error', { exchange: this.t.exchange, endpoint: c.url, connection: c.id, error: err.message });
  }

  private promote(c: Conn): void {
    if (this.replacement !== c) return;
    const old = this.active;
    this.active = c;
    this.replacement = undefined;
    if (old) this.close(old, 1000, 'rotated');
  }

  private onClose(c: Conn, code: number, reason: string): void {
    for (const t of c.timers) clearTimeout(t);
    c.limiter.clear();
    const wasOpen = c.open;
    c.open = false;
    if (this.active !== c && this.replacement !== c) return; // closed on purpose (rotation, pause, stop)
    this.markDown(c);
    if (this.replacement === c) {
      // The replacement failed; keep the old connection and try again shortly.
      this.replacement = undefined;
      if (!this.stopped && !this.paused) setTimeout(() => this.rotate('retry'), this.backoff.nominal()).unref?.();
      return;
    }
    this.active = undefined;
    if (this.replacement) {
      // The exchange closed the old one first: the replacement takes over at once.
      this.promote(this.replacement);
      return;
    }
    if (this.stopped || this.paused) return;
    const healthy = wasOpen && Date.now() - c.openedAt >= this.stableAfterMs;
    let delay: number;
    if (healthy) {
      this.failuresSinceSuccess = 0;
      this.backoff.reset();
      delay = 0;
    } else {
      this.failuresSinceSuccess++;
      // Try every endpoint once in a row before backing off; then back off between rounds.
      this.urlIndex = (this.urlIndex + 1) % this.o.urls.length;
      delay = this.failuresSinceSuccess < this.o.urls.length ? 0 : this.backoff.next();
    }
    this.o.metrics.reconnects.labels(wasOpen ? 'closed' : 'connect_failed').inc();
    this.o.logger.warn('disconnected, reconnecting', {
      exchange: this.t.exchange,
      endpoint: c.url,
      connection: c.id,
      code,
      reason,
      next_endpoint: this.currentUrl,
      delay_ms: delay,
    });
    this.scheduleReconnect(delay);
  }

  private scheduleReconnect(delay: number): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect(false);
    }, delay);
  }

  private checkStale(): void {
    const now = Date.now();
    for (const c of [this.active, this.replacement]) {
      if (!c || !c.open) continue;
      if (this.throttled) {
        c.lastFrameAt = now; // silence is ours while reading is paused
        continue;
      }
      if (now - c.lastFrameAt > this.staleTimeoutMs) {
        this.o.metrics.reconnects.labels('stale').inc();
        this.o.logger.warn('connection stale, no frame or heartbeat', {
          exchange: this.t.exchange,
          endpoint: c.url,
          connection: c.id,
          silent_ms: now - c.lastFrameAt,
        });
        // terminate(): a stalled peer would never complete a closing handshake.
        c.ws.terminate();
      }
    }
  }

  /**
   * connection_status of c's endpoint goes to 0 unless another open connection to the same endpoint remains: a
   * rotation overlaps the old and the new connection, and closing the old one must not report the feed down.
   */
  private markDown(c: Conn): void {
    const stillUp = [this.active, this.replacement].some((x) => x !== undefined && x !== c && x.open && x.url === c.url);
    if (!stillUp) this.o.metrics.connectionStatus.labels(c.url).set(0);
  }

  private close(c: Conn, code: number, reason: string): void {
    for (const t of c.timers) clearTimeout(t);
    c.limiter.clear();
    if (c.open) this.markDown(c);
    c.open = false;
    if (c.ws.readyState === WebSocket.CONNECTING) c.ws.terminate();
    else if (c.ws.readyState === WebSocket.OPEN) {
      c.ws.close(code, reason);
      // Do not wait for a peer that never answers the close frame.
      setTimeout(() => c.ws.terminate(), 2000).unref?.();
    }
  }
}
