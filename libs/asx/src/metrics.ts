import { Counter, Gauge, type Registry } from 'prom-client';
import { registryCounter, registryGauge } from '@k2/runtime';

/**
 * Load metrics, served on /metrics while the job runs (and after it with ASX_STAY_ALIVE). Counters are updated per
 * acknowledged batch and per progress tick, not per row: a labelled inc() per row would cost more than parsing it.
 * `k2_dlq_messages_total` has the same name and labels as the streamers' so one alert covers every DLQ.
 */
export class AsxMetrics {
  readonly rowsRead: Counter<'kind'>;
  readonly rowsProduced: Counter<'kind' | 'symbol'>;
  readonly rowsRejected: Counter<'kind' | 'reason'>;
  readonly rowsAlreadyInKafka: Counter<'kind'>;
  readonly dlq: Counter<'topic' | 'code'>;
  readonly files: Counter<'status'>;
  readonly bytesRead: Counter;
  readonly progress: Gauge;
  readonly rowsPerSecond: Gauge;
  readonly inFlight: Gauge;

  constructor(registry: Registry) {
    this.rowsRead = registryCounter(registry, 'k2_asx_rows_read_total', 'Lines read from ASX files (including rejected and blank lines)', ['kind']);
    this.rowsProduced = registryCounter(registry, 'k2_asx_rows_produced_total', 'Records acknowledged by Kafka', ['kind', 'symbol']);
    this.rowsRejected = registryCounter(registry, 'k2_asx_rows_rejected_total', 'Rows rejected to the DLQ and the reject file, by reason', ['kind', 'reason']);
    this.rowsAlreadyInKafka = registryCounter(registry, 'k2_asx_rows_already_in_kafka_total', 'Rows a resumed load found already produced and did not send again', ['kind']);
    this.dlq = registryCounter(registry, 'k2_dlq_messages_total', 'Messages sent to a dead-letter topic, by reason code', ['topic', 'code']);
    this.files = registryCounter(registry, 'k2_asx_files_total', 'Input files by outcome: loaded, skipped (already loaded), failed', ['status']);
    this.bytesRead = registryCounter(registry, 'k2_asx_bytes_read_total', 'Stored (possibly compressed) bytes read', []);
    this.progress = registryGauge(registry, 'k2_asx_load_progress_ratio', 'Share of the stored input bytes read so far (0..1); 1 once a load has read everything', []);
    this.rowsPerSecond = registryGauge(registry, 'k2_asx_load_rows_per_second', 'Rows read per second over the last progress interval; the whole-run average once the load is over', []);
    this.inFlight = registryGauge(registry, 'k2_asx_inflight_messages', 'Messages handed to Kafka and not yet acknowledged', []);
  }
}
