/**
 * Progress of a download on stderr: bytes, rows (newlines, for csv and ndjson; csv's header line not counted) and
 * the rate. On a terminal one line redrawn in place; otherwise (--progress into a log) a line every few seconds.
 */
export interface ProgressOptions {
  readonly write: (text: string) => void;
  /** Off: only counts (for the closing line). */
  readonly enabled: boolean;
  readonly tty: boolean;
  readonly countRows: boolean;
  readonly headerLines: number;
  readonly now?: () => number;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export class Progress {
  private bytes = 0;
  private newlines = 0;
  private readonly started: number;
  private lastShown = 0;
  private readonly now: () => number;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
    this.started = this.now();
  }

  get rows(): number {
    return Math.max(0, this.newlines - this.o.headerLines);
  }

  get totalBytes(): number {
    return this.bytes;
  }

  add(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.o.countRows) for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) this.newlines++;
    const t = this.now();
    if (this.o.enabled && t - this.lastShown >= (this.o.tty ? 200 : 5000)) {
      this.lastShown = t;
      this.show(false);
    }
  }

  line(): string {
    const s = Math.max((this.now() - this.started) / 1000, 0.001);
    const rows = this.o.countRows ? `, ${this.rows.toLocaleString('en-US')} rows` : '';
    return `${humanBytes(this.bytes)}${rows} in ${s.toFixed(1)} s (${humanBytes(Math.round(this.bytes / s))}/s)`;
  }

  show(final: boolean): void {
    const text = `${final ? 'done: ' : ''}${this.line()}`;
    if (this.o.tty) this.o.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
    else this.o.write(`${text}\n`);
  }
}
