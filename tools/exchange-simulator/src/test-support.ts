import { type ClientOptions, WebSocket } from 'ws';

/** A recording WebSocket client for the specs: every text frame, ping and the close are kept in order. */
export class TestClient {
  readonly frames: string[] = [];
  readonly pings: string[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  closeInfo: { code: number; reason: string } | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.frames.push(d.toString('utf8'));
      this.wake();
    });
    ws.on('ping', (d: Buffer) => {
      this.pings.push(d.toString('utf8'));
      this.wake();
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closeInfo);
      }),
    );
  }

  static open(url: string, opts: ClientOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts);
      const c = new TestClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private changed(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Next frame (after the previous `next`) matching `pred`; frames skipped over are consumed. */
  async next(pred: (text: string) => boolean = () => true, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const f = this.frames[this.cursor++];
        if (pred(f)) return f;
      }
      if (this.closeInfo) throw new Error(`connection closed (${this.closeInfo.code}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.changed(left))) throw new Error(`timed out after ${timeoutMs} ms waiting for a frame`);
    }
  }

  async nextJson<T = Record<string, unknown>>(pred: (v: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    const text = await this.next((t) => {
      try {
        return pred(JSON.parse(t) as T);
      } catch {
        return false;
      }
    }, timeoutMs);
    return JSON.parse(text) as T;
  }

  /** Waits until `n` frames in total have arrived. */
  async waitFrames(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.changed(left))) throw new Error(`timed out with ${this.frames.length}/${n} frames`);
    }
  }

  async waitPings(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pings.length < n) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.changed(left))) throw new Error(`timed out with ${this.pings.length}/${n} pings`);
    }
  }

  send(v: unknown): void {
    this.ws.send(typeof v === 'string' ? v : JSON.stringify(v));
  }

  close(): void {
    this.ws.terminate();
  }
}

export async function getJson<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as T, text };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns something other than undefined. */
export async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
