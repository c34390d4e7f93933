import type { Response } from 'express';
import type { ReplaySpeed } from '../params';
import { recordJson } from '../records';
import type { TailKind, TailRow } from '../tail-store';
import { historyCursor, liveCursor } from './cursor';
import type { ReplayItem } from './merge';

export type ReplayFormat = 'ndjson' | 'sse';

/** Paced replays sleep at most this long for one event-time gap (a night or a weekend plays in a second). */
export const MAX_GAP_MS = 1000;
/** Frames are written in blocks of about this many characters (one write call per block, not per event). */
const BLOCK_CHARS = 64 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TYPE: Record<TailKind, string> = { trades: 'trade', quotes: 'quote' };

/**
 * One replay's HTTP response (issue 16): frames in NDJSON (`{"type":"trade"|"quote","id","data"}` and
 * `{"type":"control","event",…}`) or server-sent events (`id:`, `event: trade|quote|handover|end|error`, `data:`),
 * written in blocks. Backpressure: when `res.write` returns false the writer waits for 'drain', so a slow reader
 * holds at most one block plus the socket's buffer here. Pacing (speed 1 or 10) sleeps the event-time gaps divided by
 * the speed, each capped at MAX_GAP_MS; gaps under a millisecond are summed until they reach one.
 */
export class ReplayWriter {
  private buf = '';
  private closedFlag = false;
  private prevTs: bigint | undefined;
  private debtMs = 0;
  /** Id of the last event framed (the position an error event tells the client to resume from). */
  lastId: string | undefined;
  events = 0;

  constructor(
    private readonly res: Response,
    readonly format: ReplayFormat,
    private readonly speed: ReplaySpeed,
  ) {
    res.on('close', () => {
      this.closedFlag = true;
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  start(): void {
    this.res.writeHead(200, {
      'Content-Type': this.format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    if (this.format === 'sse') this.buf += 'retry: 2000\n\n';
  }

  /** History events, paced by event time unless speed is max. */
  async history(items: readonly ReplayItem[]): Promise<void> {
    for (const it of items) {
      if (this.closedFlag) return;
      if (this.speed !== 'max') await this.pace(it.ts);
      this.frame(it.kind, it.json ?? JSON.stringify(recordJson(it.rec ?? {})), historyCursor(it.ts, it.id));
      if (this.buf.length >= BLOCK_CHARS) await this.flush();
    }
    await this.flush();
  }

  /** Live events in arrival order; `offsets` (the live position) advances past each one. */
  async live(rows: ReadonlyArray<{ kind: TailKind; row: TailRow }>, offsets: Map<string, number>): Promise<void> {
    for (const { kind, row } of rows) {
      if (this.closedFlag) return;
      if ((offsets.get(row.tp) ?? 0) <= row.offset) offsets.set(row.tp, row.offset + 1);
      this.frame(kind, JSON.stringify(recordJson(row.rec)), liveCursor(offsets));
      if (this.buf.length >= BLOCK_CHARS) await this.flush();
    }
    await this.flush();
  }

  /** A control event (handover, end, error); `id` when it marks a position. */
  async control(event: string, payload: Record<string, unknown>, id?: string): Promise<void> {
    if (id !== undefined) this.lastId = id;
    if (this.format === 'sse') this.buf += `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    else this.buf += `${JSON.stringify({ type: 'control', event, ...(id !== undefined ? { id } : {}), ...payload })}\n`;
    await this.flush();
  }

  /** Keeps proxies from closing an idle live stream (SSE comment; an NDJSON heartbeat line). */
  async heartbeat(): Promise<void> {
    this.buf += this.format === 'sse' ? ': ping\n\n' : '{"type":"control","event":"heartbeat"}\n';
    await this.flush();
  }

  end(): void {
    if (this.buf && !this.closedFlag) this.res.write(this.buf);
    this.buf = '';
    this.res.end();
  }

  /** `fn` runs when the client goes away (or at once if it has). */
  onClose(fn: () => void): void {
    if (this.closedFlag) fn();
    else this.res.once('close', fn);
  }

  private frame(kind: TailKind, data: string, id: string): void {
    this.lastId = id;
    this.events++;
    this.buf += this.format === 'sse' ? `id: ${id}\nevent: ${TYPE[kind]}\ndata: ${data}\n\n` : `{"type":"${TYPE[kind]}","id":"${id}","data":${data}}\n`;
  }

  private async pace(ts: bigint): Promise<void> {
    const prev = this.prevTs;
    this.prevTs = ts;
    if (prev === undefined || ts <= prev) return;
    this.debtMs += Math.min(MAX_GAP_MS, Number(ts - prev) / 1000 / (this.speed as number));
    if (this.debtMs < 1) return;
    await this.flush();
    const ms = Math.floor(this.debtMs);
    this.debtMs -= ms;
    await sleep(ms);
  }

  async flush(): Promise<void> {
    if (!this.buf || this.closedFlag) return;
    const ok = this.res.write(this.buf);
    this.buf = '';
    if (ok) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}
