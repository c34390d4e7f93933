import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}
function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}
function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
  return (registry.getSingleMetric(name) as Histogram<L> | undefined) ?? new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

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

  constructor(registry: Registry) {
    this.recordsConsumed = counter(registry, 'k2_writer_records_consumed_total', 'Kafka records consumed by the Iceberg writer', ['topic']);
    this.recordsWritten = counter(registry, 'k2_writer_records_written_total', 'Rows committed to Iceberg', ['table']);
    this.filesWritten = counter(registry, 'k2_writer_files_written_total', 'Parquet data files committed', ['table']);
    this.bytesWritten = counter(registry, 'k2_writer_bytes_written_total', 'Bytes of Parquet data files committed', ['table']);
    this.commitDuration = histogram(registry, 'k2_writer_commit_duration_seconds', 'Duration of one Iceberg commit (write files + snapshot + catalog swap)', ['table'], [
      0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30,
    ]);
    this.commitFailures = counter(registry, 'k2_writer_commit_failures_total', 'Failed commit attempts (retried later)', ['table', 'code']);
    this.casRetries = counter(registry, 'k2_writer_cas_retries_total', 'Catalog compare-and-swap conflicts retried on fresh metadata', ['table']);
    this.dedupDropped = counter(registry, 'k2_writer_dedup_dropped_total', 'Records not written because their message_id is already in the table', ['table']);
    this.dlq = counter(registry, 'k2_dlq_messages_total', 'Messages sent to a dead-letter topic, by reason code', ['topic', 'code']);
    this.consumerLag = gauge(registry, 'k2_writer_consumer_lag', 'Records behind the partition high watermark (not yet committed to Iceberg)', ['topic', 'partition']);
    this.freshness = gauge(registry, 'k2_writer_freshness_seconds', 'Now minus the newest event time committed to the table', ['table']);
    this.buffered = gauge(registry, 'k2_writer_buffered_records', 'Records waiting for the next commit', ['table']);
    this.dedupIndexIds = gauge(registry, 'k2_writer_dedup_index_ids', 'message_ids held in memory for dedup', ['table']);
    this.paused = gauge(registry, 'k2_writer_consumption_paused', '1 while consumption is paused because storage or the catalog is failing', []);
  }
}
