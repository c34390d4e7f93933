import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Log } from './log';

/** State every simulated WebSocket connection carries, whatever the exchange. */
export interface ConnBase {
  id: number;
  ws: WebSocket;
  socket: Socket;
  /** Until this epoch-ms time the connection sends nothing at all (stall fault). */
  stalledUntil: number;
  closed: boolean;
  /** Payloads of the text frames queued during one generation tick (written together by flushOut). */
  out: string[];
  /** Bytes the queued frames take on the wire, headers included. */
  outBytes: number;
}

type Latin1Writer = (this: Buffer, text: string, offset: number, length: number) => number;
// Buffer.prototype.latin1Write is the native routine behind buf.write(..., 'latin1') without its argument
// normalisation, which costs more than the copy for short frames; fall back where it is absent.
const nativeLatin1 = (Buffer.prototype as unknown as { latin1Write?: Latin1Writer }).latin1Write;
function latin1Write(buf: Buffer, text: string, offset: number, length: number): number {
  return nativeLatin1 ? nativeLatin1.call(buf, text, offset, length) : buf.write(text, offset, length, 'latin1');
}

/** Header size of an unmasked server-to-client frame with this payload length (RFC 6455 section 5.2). */
function headerBytes(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

/** Above this many queued bytes a connection is written out mid-tick (see ExchangeServer.flushOut). */
export const FLUSH_BYTES = 128 * 1024;

/** Queues one text frame; market-data payloads are ASCII, so string length is the byte length. */
export function queueFrame(c: ConnBase, text: string): boolean {
  c.out.push(text);
  c.outBytes += text.length + headerBytes(text.length);
  return c.outBytes >= FLUSH_BYTES;
}

export function sendJson(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${status} ${reason}`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

export function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * One exchange's port: REST on plain HTTP, WebSocket upgrades routed by the subclass, and the connection
 * faults common to both exchanges (drop, stall, reject-connections, slow-consumer cut-off).
 */
export abstract class ExchangeServer<C extends ConnBase> {
  readonly http: http.Server;
  // Pongs are sent by hand (below) so that a stalled connection does not answer pings either.
  protected readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024, clientTracking: false, autoPong: false });
  readonly conns = new Set<C>();
  private rejectUntil = 0;
  private nextConnId = 1;
  private readonly maxBufferedBytes: number;

  protected constructor(
    protected readonly log: Log,
    maxBufferedBytes: number,
  ) {
    this.maxBufferedBytes = maxBufferedBytes;
    this.http = http.createServer({ keepAliveTimeout: 65000 }, (req, res) => {
      try {
        this.handleRest(req, res);
      } catch (e) {
        this.log.error('REST handler failed', { err: String(e) });
        if (!res.headersSent) sendJson(res, 500, '{"error":"internal"}');
      }
    });
    this.http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => socket.destroy());
  }

  protected abstract handleRest(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Returns the connection state for an accepted path, or an HTTP status to refuse the upgrade with. */
  protected abstract accept(url: URL, ws: WebSocket, socket: Socket, id: number): C;
  protected abstract routeOk(url: URL): boolean;
  protected abstract onClosed(c: C): void;

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (Date.now() < this.rejectUntil) {
      rejectUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.routeOk(url)) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const c = this.accept(url, ws, req.socket, this.nextConnId++);
      this.conns.add(c);
      ws.on('error', () => undefined);
      ws.on('ping', (data: Buffer) => {
        if (!c.closed && c.stalledUntil <= Date.now()) ws.pong(data);
      });
      ws.on('close', (code: number) => {
        c.closed = true;
        this.conns.delete(c);
        this.onClosed(c);
        this.log.debug('connection closed', { conn: c.id, code });
      });
    });
  }

  protected stalled(c: C, now = Date.now()): boolean {
    return c.stalledUntil > now;
  }

  /** Sends unless the connection is stalled or gone. */
  protected send(c: C, text: string): void {
    if (c.closed || c.stalledUntil > Date.now()) return;
    c.ws.send(text);
  }

  /**
   * Writes the frames queued for `c` as one buffer: header bytes (FIN + text opcode, 7/16/64-bit length) and
   * payloads copied into memory outside the JS heap. One write per tick instead of one ws.send per frame,
   * and no large strings for the garbage collector to promote while a socket drains, is what makes 200k
   * trades/s affordable. Frames bypass ws's sender, which is safe because permessage-deflate is off and every
   * write is whole frames; nothing is written once a close has started. Queues are flushed every
   * FLUSH_BYTES as well as at the end of a tick, so a large burst never keeps megabytes of frame strings
   * alive in the young generation (where scavenges would copy them, slowing the next tick and growing it).
   */
  protected flushOut(c: C): void {
    const n = c.out.length;
    if (n === 0) return;
    if (!c.closed && c.ws.readyState === WebSocket.OPEN) {
      const buf = Buffer.allocUnsafe(c.outBytes);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const text = c.out[i];
        const len = text.length;
        buf[off++] = 0x81;
        if (len < 126) buf[off++] = len;
        else if (len < 65536) {
          buf[off++] = 126;
          buf[off++] = len >> 8;
          buf[off++] = len & 255;
        } else {
          buf[off++] = 127;
          buf.writeUInt32BE(0, off);
          buf.writeUInt32BE(len, off + 4);
          off += 8;
        }
        off += latin1Write(buf, text, off, len);
      }
      c.socket.write(buf);
    }
    c.out.length = 0;
    c.outBytes = 0;
  }

  /**
   * Real exchanges drop consumers that cannot keep up instead of buffering without bound; do the same once
   * the socket's unsent bytes pass --max-buffered-bytes.
   */
  protected checkBackpressure(c: C): void {
    if (!c.closed && c.ws.bufferedAmount > this.maxBufferedBytes) {
      this.log.warn('slow consumer disconnected', { conn: c.id, bufferedBytes: c.ws.bufferedAmount });
      this.terminate(c);
    }
  }

  protected terminate(c: C): void {
    c.closed = true;
    c.ws.terminate();
  }

  // ---- faults shared by both exchanges ----

  faultDrop(): number {
    const n = this.conns.size;
    for (const c of [...this.conns]) this.terminate(c);
    return n;
  }

  faultStall(durationMs: number): number {
    const until = Date.now() + durationMs;
    for (const c of this.conns) {
      c.stalledUntil = until;
      this.onStall(c, durationMs);
    }
    return this.conns.size;
  }

  /** Hook: suspend timers (pings, pong deadlines) for the stall and restore them afterwards. */
  protected onStall(_c: C, _durationMs: number): void {
    return;
  }

  faultReject(durationMs: number): number {
    this.rejectUntil = Date.now() + durationMs;
    return this.rejectUntil;
  }

  get rejecting(): boolean {
    return Date.now() < this.rejectUntil;
  }

  async start(host: string, port: number): Promise<number> {
    return listen(this.http, host, port);
  }

  async close(): Promise<void> {
    // Close frames first (1001 going away), then cut whatever has not finished the handshake.
    await Promise.all(
      [...this.conns].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            const t = setTimeout(() => {
              c.ws.terminate();
              resolve();
            }, 300);
            c.ws.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            if (c.ws.readyState === WebSocket.OPEN) c.ws.close(1001, 'Simulator shutting down');
          }),
      ),
    );
    this.conns.clear();
    await closeServer(this.http);
  }
}
