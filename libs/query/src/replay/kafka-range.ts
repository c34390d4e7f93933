import { ErrorCode, TransientError, type Logger } from '@k2/core';
import { K2Reader, type KafkaBrokers } from '@k2/kafka';
import { parseTpKey, tpKey } from '@k2/lake';
import type { AvroSerde } from '@k2/serde';
import type { TailKind, TailRow } from '../tail-store';

export interface KafkaRangeOptions {
  brokers: KafkaBrokers;
  clientId: string;
  serde: AvroSerde;
  logger: Logger;
  /** No new record for this long while a range is unfinished → fail (the replay ends with an error event). Default 15 s. */
  stallMs?: number;
}

/** Offsets [from, to) of one partition. */
export interface KafkaRange {
  kind: TailKind;
  tp: string;
  from: number;
  to: number;
}

export type RangeRows = Array<{ kind: TailKind; row: TailRow }>;

/**
 * Reads exact offset ranges back from Kafka with a group-less reader (replay-then-follow, issue 16): the records a
 * live cursor has not delivered but the table has since committed. The table cannot give them back by offset (its
 * rows carry no offsets, ADR 0009), Kafka can. Records arrive per partition in offset order; `onRows` is awaited
 * (the stream's backpressure), so memory is one consumed batch.
 */
export async function readKafkaRange(o: KafkaRangeOptions, ranges: readonly KafkaRange[], onRows: (rows: RangeRows) => Promise<boolean>): Promise<void> {
  const todo = ranges.filter((r) => r.from < r.to);
  if (todo.length === 0) return;
  const reader = await K2Reader.connect({ brokers: o.brokers, clientId: o.clientId, logger: o.logger });
  try {
    const left = new Map<string, KafkaRange>();
    const starts = [];
    for (const r of todo) {
      const { topic, partition } = parseTpKey(r.tp);
      const w = await reader.watermarks(topic, partition, 5000);
      // Retention may have passed `from`: what is gone is gone (logged), the rest is still exact.
      if (r.from < w.low) o.logger.warn('replay resume: kafka retention passed the cursor', { tp: r.tp, from: r.from, low: w.low });
      const range = { ...r, from: Math.max(r.from, w.low), to: Math.min(r.to, w.high) };
      if (range.from >= range.to) continue;
      left.set(r.tp, range);
      starts.push({ topic, partition, offset: range.from });
    }
    if (starts.length === 0) return;
    reader.assign(starts);
    let progressAt = Date.now();
    while (left.size > 0) {
      if (Date.now() - progressAt > (o.stallMs ?? 15_000)) throw new TransientError(ErrorCode.KAFKA_UNAVAILABLE, `replay resume: kafka returned nothing for ${o.stallMs ?? 15_000} ms`);
      const batch = await reader.consume(2000);
      if (batch.length > 0) progressAt = Date.now();
      const rows: RangeRows = [];
      for (const m of batch) {
        const tp = tpKey(m.topic, m.partition);
        const r = left.get(tp);
        if (!r || m.offset >= r.to) continue;
        if (m.offset + 1 >= r.to) left.delete(tp);
        if (!m.value) continue;
        const row = await decodeRow(o, tp, m.offset, m.value);
        if (row) rows.push({ kind: r.kind, row });
      }
      if (rows.length > 0 && !(await onRows(rows))) return;
    }
  } finally {
    await reader.disconnect();
  }
}

async function decodeRow(o: KafkaRangeOptions, tp: string, offset: number, value: Buffer): Promise<TailRow | undefined> {
  let rec: Record<string, unknown>;
  try {
    rec = await o.serde.decode(value);
  } catch {
    return undefined; // dead-lettered by the writer, skipped by the tail: never part of the data
  }
  const ts = rec['timestamp'];
  if (typeof ts !== 'bigint') return undefined;
  return { tp, offset, rec, ts, id: String(rec['message_id']), symbol: String(rec['symbol']), exchange: String(rec['exchange']) };
}
