import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { DeadLetterRecord } from '@k2/kafka';
import type { RecordKind } from '@k2/schema';
import type { RejectReason } from './errors';

/**
 * A rejected row as it goes to `<topic>.dlq` (JSON value, key = symbol) and, one JSON object per line, to the
 * local reject file. `message_id` is deterministic like the data ids, so a reloaded file's rejects deduplicate too.
 * It is the platform's dead-letter record (@k2/kafka: `code`, `raw_bytes`, `raw_sha256`, `raw_truncated`,
 * `service`, `received_at_us`…) plus the loader's own fields; `reason` is the stable reject reason, and the error's
 * text is in `message`.
 */
export interface RejectRecord extends DeadLetterRecord {
  message_id: string;
  source: 'asx-batch-loader';
  exchange: 'ASX';
  kind: RecordKind;
  symbol: string | null;
  company_id: string | null;
  /** Topic the row was meant for. */
  topic: string;
  /** Where the file was read from, and its stable identity. */
  file: string;
  source_identity: string;
  line: number;
  /**
   * The line exactly as read (without its line ending; cut at 64 KiB for an overlong line, which is then
   * `raw_truncated` with `raw_bytes`/`raw_sha256` of the kept part: the reader never holds the whole line).
   */
  raw: string;
  reason: RejectReason;
  error_code: string;
  field: string | null;
  message: string;
  rejected_at: string;
}

/**
 * Append-only JSON Lines file of rejected rows. Lines are buffered and written at batch boundaries; `flush`
 * returns the file length, which the checkpoint records so a resumed load can cut the rows it is about to see again.
 */
export class RejectFile {
  private fd: number | undefined;
  private buffer: string[] = [];
  private length = 0;

  constructor(readonly file: string) {}

  /** Opens for appending after `keepBytes` (longer content is from an interrupted run and is cut). */
  open(keepBytes: number): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    // truncate would also extend a shorter file with zeros; only ever cut.
    if (existsSync(this.file) && statSync(this.file).size > keepBytes) truncateSync(this.file, keepBytes);
    this.fd = openSync(this.file, 'a');
    this.length = fstatSync(this.fd).size;
  }

  append(rec: RejectRecord): void {
    this.buffer.push(`${JSON.stringify(rec)}\n`);
  }

  /** Writes what is buffered; returns the file length afterwards. */
  flush(): number {
    if (this.fd === undefined || this.buffer.length === 0) return this.length;
    const data = Buffer.from(this.buffer.join(''), 'utf8');
    this.buffer = [];
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off);
    this.length += data.length;
    return this.length;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
