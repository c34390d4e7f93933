import { ErrorCode, toK2Error, ValidationError, type Logger } from '@k2/core';
import type { ConsumedMessage, K2Consumer } from '@k2/kafka';
import { partitionKey, partitionOf, tpKey, type DecodedRecord, type TranscodedRecord } from '@k2/lake';
import { HEADER_SIZE, readSchemaId, type AvroSerde } from '@k2/serde';
import type { SinkMetrics } from './metrics';
import type { PartitionOwnership, PartitionState } from './ownership';
import type { DeadLetters, EventTimeCheck } from './record-checks';
import type { TableSink } from './table-sink';

const MICROS_PER_DAY = 86_400_000_000;

export interface IntakeDeps {
  consumer: () => K2Consumer | undefined;
  owned: PartitionOwnership;
  table: (key: string) => TableSink;
  serde: AvroSerde;
  eventTime: EventTimeCheck;
  deadLetters: DeadLetters;
  metrics: SinkMetrics;
  logger: Logger;
}

/**
 * From a consumed message to a buffered row: the offset checks of its partition (stale fetches, rewinds,
 * retention), Avro → CSV line (transcoder, avsc as the fallback that reports bad records), the event-time window and
 * the dead-letter path for what cannot become a row.
 */
export class RecordIntake {
  constructor(private readonly d: IntakeDeps) {}

  /**
   * Whether `m` is the next record of its partition. Our producers are idempotent and not transactional, so offsets
   * are contiguous: a jump is either a message fetched before a rewind (dropped; the rewind re-delivers in order) or
   * retention having deleted the offsets we wanted (then the low watermark is above them and we go on from there).
   */
  private async accept(m: ConsumedMessage, st: PartitionState): Promise<boolean> {
    // Not positioned yet (assignment still being resolved) or a stale fetch from before the re-assign.
    if (m.offset < st.next) return false;
    if (m.offset > st.next && !st.fromEarliest) {
      const { low } = await this.d.consumer()!.watermarks(m.topic, m.partition, 5000).catch(() => ({ low: -1 }));
      if (low <= st.next) {
        if (st.resyncedAt !== st.next) {
          st.resyncedAt = st.next;
          this.d.logger.info('fetched past the expected offset; re-positioning every partition', { topic: m.topic, partition: m.partition, expected: st.next, got: m.offset });
          this.d.consumer()!.reassign(this.d.owned.positions());
        }
        return false;
      }
      this.d.logger.warn('offsets no longer in the log (retention); continuing from the oldest retained', { topic: m.topic, partition: m.partition, expected: st.next, got: m.offset });
    }
    return true;
  }

  /** Takes one consumed message into its table's batch (or the DLQ). */
  async handle(m: ConsumedMessage): Promise<void> {
    const key = tpKey(m.topic, m.partition);
    const st = this.d.owned.get(key);
    if (!st || !(await this.accept(m, st))) return;
    st.fromEarliest = false;
    st.next = m.offset + 1;
    this.d.metrics.recordsConsumed.inc({ topic: m.topic });
    const table = this.d.table(st.table);
    let r: { line: string; messageId: string; timestampUs: number | null; exchange: string };
    let schemaId: number;
    try {
      if (!m.value) throw new ValidationError('empty message value (tombstone) on a data topic', { code: ErrorCode.SERDE_FAILED });
      schemaId = readSchemaId(m.value);
      r = (this.d.serde.isLoaded(schemaId) && this.transcode(table, schemaId, m.value)) || (await this.decode(table, schemaId, m.value));
      this.d.eventTime.checkUs(r.timestampUs);
    } catch (e) {
      const err = toK2Error(e);
      if (err.retriable) {
        // Registry unreachable: the message is fine; re-read it once the registry is back.
        st.next = m.offset;
        this.d.consumer()!.reassign(this.d.owned.positions());
        throw err;
      }
      try {
        await this.d.deadLetters.send(m, err);
      } catch (dlqError) {
        // The dead-letter topic refused it (no ACL for it, issue 18's narrowed writer user; or the broker past the
        // delivery timeout): skipping it now would lose the record, so it is read again until its dead letter lands.
        st.next = m.offset;
        this.d.consumer()?.reassign(this.d.owned.positions());
        throw dlqError;
      }
      table.note(key, m.offset + 1, st);
      return;
    }
    const day = r.timestampUs === null ? null : Math.floor(r.timestampUs / MICROS_PER_DAY);
    table.add({
      line: r.line,
      id: r.messageId,
      pkey: partitionKey({ day, exchange: r.exchange }),
      exchange: r.exchange,
      tp: key,
      offset: m.offset,
      schemaId,
      eventUs: r.timestampUs,
      owner: st,
    });
  }

  /**
   * Avro bytes straight to the CSV line (AvroCsvTranscoder); undefined when the schema is not supported or the
   * bytes are anomalous — then avsc decodes the message and reports whatever is wrong with it.
   */
  private transcode(table: TableSink, schemaId: number, value: Buffer): TranscodedRecord | undefined {
    const tc = table.transcoder(schemaId);
    if (!tc) return undefined;
    try {
      return tc.transcode(value, HEADER_SIZE);
    } catch {
      return undefined;
    }
  }

  /** The general path: avsc decode, then the line from the decoded record. */
  private async decode(table: TableSink, schemaId: number, value: Buffer): Promise<TranscodedRecord> {
    const rec = this.d.serde.isLoaded(schemaId) ? this.d.serde.decodeLoaded<DecodedRecord>(value) : await this.d.serde.decode<DecodedRecord>(value);
    const ts = rec['timestamp'];
    // Beyond 2^53 µs (year 2255) a double is not exact: refused here as the event-time window would refuse it.
    this.d.eventTime.check(ts);
    return { line: table.encoder(schemaId).encode(rec), messageId: String(rec['message_id']), timestampUs: typeof ts === 'bigint' ? Number(ts) : null, exchange: partitionOf(rec).exchange };
  }
}
