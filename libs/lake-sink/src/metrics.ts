import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { registryCounter, registryGauge, registryHistogram } from '@k2/runtime';

/**
 * iceberg-writer metrics. `k2_dlq_messages_total` has the streamers' name and labels so one alert covers every
 * DLQ; freshness is "now − newest event time committed", the number a reader of the table experiences.
 */
export class SinkMetrics {
  readonly recordsConsumed: Counter<'topic'>;
  readonly recordsWritten: Counter<'table'>;
  readonly filesWritten: Counter<'table'>;
  readonly bytesWritten: Counter<'table'>;
  readonly commitDuration: Histogram<'table'>;
  readonly commitFailures: Counter<'table' | 'code'>;
  readonly casRetries: Counter<'table'>;
  readonly dedupDropped: Counter<'table'>;
  readonly dlq: Counter<'topic' | 'code'>;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly freshness: Gauge<'table'>;
  readonly buffered: Gauge<'table'>;
  readonly dedupIndexIds: Gauge<'table'>;
  readonly paused: Gauge;
  readonly pausedBy: Gauge<'reason'>;
  readonly bufferBytes: Gauge<'table'>;
  readonly dedupBytes: Gauge<'table'>;

  constructor(registry: Registry) {
    this.recordsConsumed = registryCounter(registry, 'k2_writer_records_consumed_total', 'Kafka records consumed by the Iceberg writer', ['topic']);
    this.recordsWritten = registryCounter(registry, 'k2_writer_records_written_total', 'Rows committed to Iceberg', ['table']);
    this.filesWritten = registryCounter(registry, 'k2_writer_files_written_total', 'Parquet data files committed', ['table']);
    this.bytesWritten = registryCounter(registry, 'k2_writer_bytes_written_total', 'Bytes of Parquet data files committed', ['table']);
    this.commitDuration = registryHistogram(registry, 'k2_writer_commit_duration_seconds', 'Duration of one Iceberg commit (write files + snapshot + catalog swap)', ['table'], [
      0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30,
    ]);
    this.commitFailures = registryCounter(registry, 'k2_writer_commit_failures_total', 'Failed commit attempts (retried later)', ['table', 'code']);
    this.casRetries = registryCounter(registry, 'k2_writer_cas_retries_total', 'Catalog compare-and-swap conflicts retried on fresh metadata', ['table']);
    this.dedupDropped = registryCounter(registry, 'k2_writer_dedup_dropped_total', 'Records not written because their message_id is already in the table', ['table']);
    this.dlq = registryCounter(registry, 'k2_dlq_messages_total', 'Messages sent to a dead-letter topic, by reason code', ['topic', 'code']);
    this.consumerLag = registryGauge(registry, 'k2_writer_consumer_lag', 'Records behind the partition high watermark (not yet committed to Iceberg)', ['topic', 'partition']);
    this.freshness = registryGauge(registry, 'k2_writer_freshness_seconds', 'Now minus the newest event time committed to the table', ['table']);
    this.buffered = registryGauge(registry, 'k2_writer_buffered_records', 'Records waiting for the next commit', ['table']);
    this.dedupIndexIds = registryGauge(registry, 'k2_writer_dedup_index_ids', 'message_ids held in memory for dedup', ['table']);
    this.paused = registryGauge(registry, 'k2_writer_consumption_paused', '1 while consumption is paused (storage or catalog failing, or the buffer share of the memory budget full)', []);
    this.pausedBy = registryGauge(registry, 'k2_writer_consumption_paused_by', '1 while consumption is paused for this reason (commit-failing, buffer-full)', ['reason']);
    this.bufferBytes = registryGauge(registry, 'k2_writer_buffer_bytes', 'Estimated bytes of buffered rows, the in-flight commit included (memory budget: buffers)', ['table']);
    this.dedupBytes = registryGauge(registry, 'k2_writer_dedup_bytes', 'Bytes of the in-memory dedup filters (memory budget: dedup)', ['table']);
  }
}
