import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

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

/** A journal line that is not replayed: where it is and why. */
export interface CorruptLine {
  readonly segment: string;
  /** Byte offset of the line in the segment file. */
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
  /** The line as read (for the dead-letter record). */
  readonly text: string;
}

export interface JournalSegment {
  readonly name: string;
  readonly entries: readonly JournalEntry[];
  /** Torn or garbled lines of this segment, left out of `entries`; gone from the file after remove/retain. */
  readonly corrupt: readonly CorruptLine[];
  /** Deletes the segment once every entry in it is durable elsewhere. */
  remove(): void;
  /** Keeps only these entries (the ones not yet acknowledged), in order. */
  retain(entries: readonly JournalEntry[]): void;
}

const SEGMENT = /^segment-(\d{12})\.log$/;

/**
 * The trade spill file used while Kafka is unavailable: append-only segments of
 * `topic \t key \t base64(value) \t crc32 \n` lines (crc32: 8 hex digits, CRC-32 of the text before its tab),
 * replayed oldest first. Lines without the checksum (the format before issue 18) are still read. A line that is
 * torn (no newline: a crash mid-write) or garbled (bad checksum, bad base64) is left out and listed in the
 * segment's `corrupt`, never replayed: a torn line with both tabs used to be replayed as truncated Avro. It survives restarts, so a streamer killed during an outage replays the journal
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
  /** Segments found at open with corrupt lines and no entry: still to be read (reported) and removed. */
  private readonly corruptOnly = new Set<number>();

  constructor(private readonly o: JournalOptions) {
    this.segmentBytes = o.segmentBytes ?? 8 * 1024 * 1024;
    this.flushIntervalMs = o.flushIntervalMs ?? 20;
    fs.mkdirSync(o.dir, { recursive: true });
    const seqs = this.segmentSeqs();
    for (const seq of seqs) {
      const file = this.file(seq);
      this.closedBytes += fs.statSync(file).size;
      const { entries, corrupt } = readSegment(file);
      this.count += entries.length;
      if (entries.length === 0 && corrupt.length > 0) this.corruptOnly.add(seq);
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
    return this.count === 0 && this.corruptOnly.size === 0;
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
    const { entries, corrupt } = readSegment(file);
    return {
      name: path.basename(file),
      entries,
      corrupt,
      remove: () => {
        const size = fs.statSync(file).size;
        fs.rmSync(file);
        this.corruptOnly.delete(seq);
        this.closedBytes -= size;
        this.count -= entries.length;
      },
      retain: (keep) => {
        const before = fs.statSync(file).size;
        const tmp = `${file}.tmp`;
        fs.writeFileSync(tmp, keep.map(line).join(''));
        fs.renameSync(tmp, file);
        this.corruptOnly.delete(seq);
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
  const text = `${e.topic}\t${e.key}\t${e.value.toString('base64')}`;
  return `${text}\t${checksum(text)}\n`;
}

const checksum = (text: string): string => crc32(text).toString(16).padStart(8, '0');
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The segment's entries in order, and its torn and garbled lines. */
function readSegment(file: string): { entries: JournalEntry[]; corrupt: CorruptLine[] } {
  const buf = fs.readFileSync(file);
  const out: JournalEntry[] = [];
  const corrupt: CorruptLine[] = [];
  for (let start = 0; start < buf.length; ) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl;
    const text = buf.toString('utf8', start, end);
    // Every append ends with a newline, so a last line without one was cut by a crash before fdatasync.
    const parsed = nl < 0 ? 'torn line (no newline at the end of the segment)' : parseLine(text);
    if (typeof parsed !== 'string') out.push(parsed);
    else if (text !== '') corrupt.push({ segment: path.basename(file), offset: start, bytes: end - start, reason: parsed, text });
    start = end + 1;
  }
  return { entries: out, corrupt };
}

/** One line as an entry, or why it is not one. */
function parseLine(text: string): JournalEntry | string {
  const f = text.split('\t');
  if (f.length === 4) {
    const body = text.slice(0, text.lastIndexOf('\t'));
    if (f[3] !== checksum(body)) return 'checksum mismatch';
  } else if (f.length !== 3) {
    return `${f.length} fields, expected 4 (or 3 before the checksum was added)`;
  }
  const [topic, key, b64] = f as [string, string, string];
  if (topic === '' || b64 === '' || !BASE64.test(b64)) return 'value is not base64';
  return { topic, key, value: Buffer.from(b64, 'base64') };
}
