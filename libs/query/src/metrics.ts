import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registryCounter, registryGauge, registryHistogram } from '@k2/runtime';
import { DEGRADATION_GAUGE } from '@k2/resilience';
import type { TailStore } from './tail-store';

/** query-api's metrics (k2_query_*), plus the platform-wide k2_degradation_level{component} gauge. */
export class QueryMetrics {
  readonly requests: Counter<'route' | 'status' | 'degraded'>;
  readonly duration: Histogram<'route'>;
  readonly rows: Counter<'route' | 'source'>;
  readonly tailRecords: Gauge<'kind'>;
  readonly tailEvicted: Counter<'reason'>;
  readonly tailDuplicates: Gauge;
  readonly tailDecodeErrors: Counter<'topic'>;
  readonly kafkaHealthy: Gauge;
  readonly degradation: Gauge<'service' | 'component'>;
  readonly snapshotAge: Gauge<'table'>;
  readonly storageFailures: Counter<'code'>;
  readonly sseClients: Gauge;
  readonly memory: Gauge<'part' | 'measure'>;
  readonly barsSource: Counter<'source'>;
  private lastEvicted = { committed: 0, memory: 0 };

  constructor(registry: Registry) {
    this.requests = registryCounter(registry, 'k2_query_requests_total', 'API requests by route, HTTP status and degradation (none|storage|kafka|tail-truncated)', ['route', 'status', 'degraded']);
    this.duration = registryHistogram(registry, 'k2_query_request_duration_seconds', 'API request latency by route', ['route'], [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10]);
    this.rows = registryCounter(registry, 'k2_query_rows_returned_total', 'Rows (or bars) answered, by where they came from (iceberg|tail)', ['route', 'source']);
    this.tailRecords = registryGauge(registry, 'k2_query_tail_records', 'Records held in memory by the hybrid Kafka tail', ['kind']);
    this.tailEvicted = registryCounter(registry, 'k2_query_tail_evicted_total', 'Tail records forgotten: committed = the table holds them now, memory = dropped at the size bound', ['reason']);
    this.tailDuplicates = registryGauge(registry, 'k2_query_tail_duplicates', 'Duplicate message_ids the tail has ignored since start', []);
    this.tailDecodeErrors = registryCounter(registry, 'k2_query_tail_decode_errors_total', 'Kafka records the tail could not decode (the writer dead-letters them)', ['topic']);
    this.kafkaHealthy = registryGauge(registry, 'k2_query_kafka_up', '1 while the Kafka tail reaches the brokers', []);
    this.degradation = registryGauge(registry, DEGRADATION_GAUGE, 'Degradation level per component (0 normal, 2 degraded)', ['service', 'component']);
    this.snapshotAge = registryGauge(registry, 'k2_query_table_refresh_age_seconds', 'Seconds since the table view was last refreshed from the catalog', ['table']);
    this.storageFailures = registryCounter(registry, 'k2_query_storage_failures_total', 'Failed reads of catalog, object store or Parquet files, by error code', ['code']);
    this.sseClients = registryGauge(registry, 'k2_query_stream_clients', 'Open server-sent-event streams', []);
    this.memory = registryGauge(registry, 'k2_query_memory_bytes', 'QUERY_MEMORY_BUDGET by part (duckdb|tail|hot|bars|sse|file_cache): measure=limit or used (estimated); hot_pending_loads counts slices waiting to load', ['part', 'measure']);
    this.barsSource = registryCounter(registry, 'k2_query_bars_source_total', 'Bar and summary requests by where their table part came from (bars_table = bars_1m_v2, trades = scanning trades_v2)', ['source']);
  }

  setKafkaHealthy(ok: boolean): void {
    this.kafkaHealthy.set(ok ? 1 : 0);
    this.degradation.set({ component: 'kafka' }, ok ? 0 : 2);
  }

  setStorageHealthy(ok: boolean): void {
    this.degradation.set({ component: 'storage' }, ok ? 0 : 2);
  }

  observeTail(store: TailStore): void {
    this.tailRecords.set({ kind: 'trades' }, store.sizeOf('trades'));
    this.tailRecords.set({ kind: 'quotes' }, store.sizeOf('quotes'));
    this.tailDuplicates.set(store.counters.duplicates);
    const c = store.counters;
    if (c.evictedCommitted > this.lastEvicted.committed) this.tailEvicted.inc({ reason: 'committed' }, c.evictedCommitted - this.lastEvicted.committed);
    if (c.evictedMemory > this.lastEvicted.memory) this.tailEvicted.inc({ reason: 'memory' }, c.evictedMemory - this.lastEvicted.memory);
    this.lastEvicted = { committed: c.evictedCommitted, memory: c.evictedMemory };
  }
}
