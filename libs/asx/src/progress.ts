import type { Logger } from '@k2/core';

export interface ProgressState {
  storedBytes: number;
  totalBytes: number;
  rowsRead: number;
  rowsProduced: number;
  rowsRejected: number;
  file: string | undefined;
}

export interface ProgressOptions {
  logger: Logger;
  /** A TTY gets a redrawn bar; anything else (CI, Kubernetes logs) a JSON log line per interval. */
  tty: boolean;
  stream: NodeJS.WritableStream;
  /** Redraw interval for the bar; the plain log line uses `logIntervalMs`. */
  barIntervalMs?: number;
  logIntervalMs?: number;
  onTick?: (rowsPerSecond: number, ratio: number) => void;
}

const BAR_WIDTH = 28;

/** Rows/s, percentage and ETA while a load runs: a bar on a terminal, a periodic structured log line otherwise. */
export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private last = { at: Date.now(), rows: 0, bytes: 0 };
  private drawn = false;

  constructor(
    private readonly opts: ProgressOptions,
    private readonly state: () => ProgressState,
  ) {}

  start(): void {
    const every = this.opts.tty ? (this.opts.barIntervalMs ?? 250) : (this.opts.logIntervalMs ?? 5000);
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.opts.tty && this.drawn) {
      this.tick();
      this.opts.stream.write('\n');
    }
  }

  tick(): void {
    const s = this.state();
    const now = Date.now();
    const dt = (now - this.last.at) / 1000;
    const rate = dt > 0 ? (s.rowsRead - this.last.rows) / dt : 0;
    const byteRate = dt > 0 ? (s.storedBytes - this.last.bytes) / dt : 0;
    this.last = { at: now, rows: s.rowsRead, bytes: s.storedBytes };
    const ratio = s.totalBytes > 0 ? Math.min(1, s.storedBytes / s.totalBytes) : 0;
    const etaSeconds = byteRate > 0 ? Math.max(0, (s.totalBytes - s.storedBytes) / byteRate) : undefined;
    this.opts.onTick?.(rate, ratio);
    if (this.opts.tty) {
      const filled = Math.round(ratio * BAR_WIDTH);
      const line =
        `\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(ratio * 100).toFixed(1).padStart(5)}%  ` +
        `${fmt(s.rowsRead)} rows  ${fmt(Math.round(rate))} rows/s  ${s.rowsRejected ? `${fmt(s.rowsRejected)} rejected  ` : ''}` +
        `ETA ${etaSeconds === undefined ? '--:--' : clock(etaSeconds)}  ${s.file ?? ''}`;
      this.opts.stream.write(`${line}\u001b[K`);
      this.drawn = true;
    } else {
      this.opts.logger.info('asx load progress', {
        percent: Number((ratio * 100).toFixed(1)),
        rowsRead: s.rowsRead,
        rowsProduced: s.rowsProduced,
        rowsRejected: s.rowsRejected,
        rowsPerSecond: Math.round(rate),
        etaSeconds: etaSeconds === undefined ? null : Math.round(etaSeconds),
        elapsedSeconds: Math.round((now - this.started) / 1000),
        file: s.file,
      });
    }
  }
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h > 0 ? `${h}:` : ''}${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
}
