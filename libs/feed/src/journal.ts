import * as fs from 'node:fs';
import * as path from 'node:path';

export interface JournalEntry {
  readonly topic: string;
  readonly key: string;
  /** The Confluent-framed Avro value, exactly as it would have been produced. */
  readonly value: Buffer;
}

export interface JournalOptions {
  dir: string;
  /** Journal size (on disk + buffered) at which `append` refuses; the feed then stops reading. */
  maxBytes: number;
  /** A segment is closed (and becomes replayable) at this size. Default 8 MiB. */
  segmentBytes?: number;
  /** Buffered lines are written and fdatasync'ed at least this often. Default 20 ms. */
  flushIntervalMs?: number;
}

export interface JournalSegment {
  readonly name: string;
  readonly entries: readonly JournalEntry[];
  /** Deletes the segment once every entry in it is durable elsewhere. */
  remove(): void;
  /** Keeps only these entries (the ones not yet acknowledged), in order. */
  retain(entries: readonly JournalEntry[]): void;
}

const SEGMENT = /^segment-(\d{12})\.log$/;

/**
 * The trade spill file used while Kafka is unavailable: append-only segments of `topic \t key \t base64(value)`
 * lines, replayed oldest first. It survives restarts, so a streamer killed during an outage replays the journal
 * when it comes back. Bounded by `maxBytes`; when full the caller stops reading the exchange and relies on REST
 * backfill instead (see ADR 0007).
 */
export class DiskJournal {
  private readonly segmentBytes: number;
  private readonly flushIntervalMs: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private closedBytes = 0;
  private currentBytes = 0;
  private current: { seq: number; fd: number } | undefined;
  private nextSeq: number;
  private timer: NodeJS.Timeout | undefined;
  private count = 0;

  constructor(private readonly o: JournalOptions) {
    this.segmentBytes = o.segmentBytes ?? 8 * 1024 * 1024;
    this.flushIntervalMs = o.flushIntervalMs ?? 20;
    fs.mkdirSync(o.dir, { recursive: true });
    const seqs = this.segmentSeqs();
    for (const seq of seqs) {
      const file = this.file(seq);
      this.closedBytes += fs.statSync(file).size;
      this.count += countLines(file);
    }
    this.nextSeq = (seqs.at(-1) ?? 0) + 1;
  }

  get bytes(): number {
    return this.closedBytes + this.currentBytes + this.pendingBytes;
  }

  /** Entries appended and not yet removed. */
  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.bytes >= this.o.maxBytes;
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  get maxBytes(): number {
    return this.o.maxBytes;
  }

  /**
   * Buffers one entry; false (and nothing written) when the journal is full. `force` ignores the limit, for
   * records already accepted upstream whose delivery failed: those must never be dropped.
   */
  append(e: JournalEntry, force = false): boolean {
    if (this.full && !force) return false;
    const text = line(e);
    this.pending.push(text);
    this.pendingBytes += text.length;
    this.count++;
    if (this.pendingBytes >= 256 * 1024) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushIntervalMs);
      this.timer.unref?.();
    }
    return true;
  }

  /** Writes buffered entries and syncs them to disk. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    if (!this.current) this.current = { seq: this.nextSeq++, fd: fs.openSync(this.file(this.nextSeq - 1), 'a') };
    const text = this.pending.join('');
    fs.writeSync(this.current.fd, text);
    fs.fdatasyncSync(this.current.fd);
    this.currentBytes += text.length;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.currentBytes >= this.segmentBytes) this.closeCurrent();
  }

  /** The oldest segment's entries (closing the segment being written if it is the only one). */
  oldest(): JournalSegment | undefined {
    this.flush();
    let seqs = this.segmentSeqs();
    if (seqs.length === 0) return undefined;
    if (this.current && seqs[0] === this.current.seq) {
      this.closeCurrent();
      seqs = this.segmentSeqs();
    }
    const seq = seqs[0] as number;
    const file = this.file(seq);
    const entries = readEntries(file);
    return {
      name: path.basename(file),
      entries,
      remove: () => {
        const size = fs.statSync(file).size;
        fs.rmSync(file);
        this.closedBytes -= size;
        this.count -= entries.length;
      },
      retain: (keep) => {
        const before = fs.statSync(file).size;
        const tmp = `${file}.tmp`;
        fs.writeFileSync(tmp, keep.map(line).join(''));
        fs.renameSync(tmp, file);
        this.closedBytes += fs.statSync(file).size - before;
        this.count -= entries.length - keep.length;
      },
    };
  }

  close(): void {
    this.flush();
    if (this.current) {
      fs.closeSync(this.current.fd);
      this.closedBytes += this.currentBytes;
      this.currentBytes = 0;
      this.current = undefined;
    }
  }

  private closeCurrent(): void {
    if (!this.current) return;
    fs.closeSync(this.current.fd);
    this.closedBytes += this.currentBytes;
    this.currentBytes = 0;
    this.current = undefined;
  }

  private segmentSeqs(): number[] {
    return fs
      .readdirSync(this.o.dir)
      .map((f) => SEGMENT.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private file(seq: number): string {
    return path.join(this.o.dir, `segment-${String(seq).padStart(12, '0')}.log`);
  }
}

function line(e: JournalEntry): string {
  return `${e.topic}\t${e.key}\t${e.value.toString('base64')}\n`;
}

function readEntries(file: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const a = line.indexOf('\t');
    const b = line.indexOf('\t', a + 1);
    // A torn last line (crash mid-write before fdatasync) has no second tab or a truncated payload: skip it.
    if (a < 0 || b < 0) continue;
    out.push({ topic: line.slice(0, a), key: line.slice(a + 1, b), value: Buffer.from(line.slice(b + 1), 'base64') });
  }
  return out;
}

function countLines(file: string): number {
  return readEntries(file).length;
}
