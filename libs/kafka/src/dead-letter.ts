import { createHash } from 'node:crypto';
import { toK2Error } from '@k2/core';

/**
 * The one dead-letter record of K2, the JSON value of every message on a `<topic>.dlq` (see `dlqTopic`). Issue 18:
 * the streamers, the writer and the ASX loader each had their own shape; these fields are now common to all three
 * (each adds its own context: the streamers `symbol`/`encoding`, the loader `file`/`line`/`message_id`…).
 * Field names are the ones consumers already read, so nothing was renamed, only added.
 */
export interface DeadLetterRecord {
  /** Why it was refused: the error message (the ASX loader: its stable reject reason, with the message in `message`). */
  readonly reason: string;
  /** The K2 error code (`K2_VALIDATION_FAILED`, `K2_SERDE_FAILED`, …). */
  readonly code: string;
  /** At most `rawMaxBytes` of the input, cut at a character boundary (see raw_truncated); null when there was none. */
  readonly raw: string | null;
  /** `utf8`: `raw` is the input text; `base64`: `raw` is the input bytes (e.g. an Avro value) in base64. */
  readonly raw_encoding: 'utf8' | 'base64';
  /** Length in bytes and SHA-256 (hex) of the whole input, so a cut record still identifies it. */
  readonly raw_bytes: string;
  readonly raw_sha256: string;
  readonly raw_truncated: 'true' | 'false';
  /** Where a consumed message came from (the writer); absent for input that did not come from Kafka. */
  readonly source_topic?: string;
  readonly source_partition?: number;
  readonly source_offset?: number;
  /** The exchange, when the producer knows it. */
  readonly exchange?: string;
  /** The service that refused it (`binance-streamer`, `iceberg-writer`, `asx-batch-loader`, …). */
  readonly service: string;
  /** When it was refused, µs since the epoch, as a decimal string (a JS number cannot hold every µs value). */
  readonly received_at_us: string;
}

/** 64 KiB: a multi-MiB frame must not make a multi-MiB DLQ record (issue 18). */
export const DEFAULT_DLQ_RAW_MAX_BYTES = 64 * 1024;

export interface DeadLetterInput {
  /** The failure; its message and code become `reason` and `code` (toK2Error). */
  readonly error: unknown;
  /** The input as text (utf8) or bytes (base64); null/undefined for none (e.g. a tombstone). */
  readonly raw: string | Buffer | null | undefined;
  readonly service: string;
  readonly exchange?: string;
  /** Overrides the error message as `reason` (the ASX loader's reject reasons). */
  readonly reason?: string;
  readonly source?: { readonly topic: string; readonly partition: number; readonly offset: number };
  /** Default DEFAULT_DLQ_RAW_MAX_BYTES. */
  readonly rawMaxBytes?: number;
  /** Default now. */
  readonly receivedAtMicros?: bigint;
}

/** Builds the record; callers spread their own context fields next to it. */
export function deadLetterRecord(input: DeadLetterInput): DeadLetterRecord {
  const e = toK2Error(input.error);
  const max = input.rawMaxBytes ?? DEFAULT_DLQ_RAW_MAX_BYTES;
  const raw = input.raw ?? null;
  const kept = raw === null ? undefined : typeof raw === 'string' ? boundedRaw(raw, max) : boundedBytes(raw, max);
  return {
    reason: input.reason ?? e.message,
    code: e.code,
    raw: kept ? kept.text : null,
    raw_encoding: typeof raw === 'string' || raw === null ? 'utf8' : 'base64',
    raw_bytes: String(kept?.bytes ?? 0),
    raw_sha256: kept?.sha256 ?? '',
    raw_truncated: kept?.truncated ? 'true' : 'false',
    ...(input.source ? { source_topic: input.source.topic, source_partition: input.source.partition, source_offset: input.source.offset } : {}),
    ...(input.exchange !== undefined ? { exchange: input.exchange } : {}),
    service: input.service,
    received_at_us: (input.receivedAtMicros ?? BigInt(Date.now()) * 1000n).toString(),
  };
}

export interface BoundedRaw {
  /** The kept part: text, or base64 of the kept bytes. */
  readonly text: string;
  /** Length and SHA-256 of the whole input. */
  readonly bytes: number;
  readonly sha256: string;
  readonly truncated: boolean;
}

/** The raw text cut to at most maxBytes of UTF-8 at a character boundary, with the whole text's length and SHA-256. */
export function boundedRaw(raw: string, maxBytes: number): BoundedRaw {
  const buf = Buffer.from(raw, 'utf8');
  const sha256 = createHash('sha256').update(buf).digest('hex');
  if (buf.length <= maxBytes) return { text: raw, bytes: buf.length, sha256, truncated: false };
  let end = maxBytes;
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--; // never split a multi-byte character
  return { text: buf.subarray(0, end).toString('utf8'), bytes: buf.length, sha256, truncated: true };
}

/** Binary input: at most maxBytes of it, in base64, with the whole input's length and SHA-256. */
export function boundedBytes(raw: Buffer, maxBytes: number): BoundedRaw {
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const truncated = raw.length > maxBytes;
  return { text: (truncated ? raw.subarray(0, maxBytes) : raw).toString('base64'), bytes: raw.length, sha256, truncated };
}
