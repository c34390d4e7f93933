import type { Logger } from '@k2/core';
import { DATA_TOPIC_PATTERN, K2Reader, parseTopic, requireCodec, TOPIC_CODEC, type KafkaBrokers, type TopicPartitionOffset } from '@k2/kafka';
import { tpKey } from '@k2/lake';
import type { AvroSerde } from '@k2/serde';
import type { QueryMetrics } from './metrics';
import type { Offsets, TailKind, TailStore } from './tail-store';

export interface KafkaTailOptions {
  brokers: KafkaBrokers;
  clientId: string;
  serde: AvroSerde;
  store: TailStore;
  /** The table offsets to start each partition from (the latest snapshot's), per kind. */
  startOffsets: (kind: TailKind) => Offsets;
  logger: Logger;
  metrics: QueryMetrics;
  /**
   * The topics to read, by name (only V2 trades and quotes topics are ever taken). No pattern: a topic that merely
   * fits the naming rule, a benchmark's or a test's, is never read. A listed topic created later is picked up by
   * the metadata probe.
   */
  topics: readonly string[];
  /** How often new topics/partitions are looked for; doubles as the broker health probe. Default 2000 ms. */
  probeIntervalMs?: number;
}

function kindOf(topic: string): TailKind | undefined {
  if (!DATA_TOPIC_PATTERN.test(topic)) return undefined;
  const t = parseTopic(topic).dataType;
  return t === 'trades' || t === 'quotes' ? t : undefined;
}

/**
 * Reads the configured trades and quotes topics from where the Iceberg table stops (the offsets in its latest snapshot)
 * into the TailStore. No consumer group: the position is the table's, and nothing is committed. New topics and
 * partitions are picked up by a periodic metadata probe, whose failures also mark Kafka unhealthy (librdkafka's
 * consume just returns nothing while all brokers are down).
 */
export class KafkaTail {
  private reader: K2Reader | undefined;
  /** Next offset to read per assigned topic/partition. */
  private readonly next = new Map<string, TopicPartitionOffset>();
  private running = false;
  private loop: Promise<void> | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private healthy = false;
  private lastError: string | undefined;
  private readonly probeIntervalMs: number;
  private readonly topics: ReadonlySet<string>;

  /** Throws the one-line ConfigError of `requireCodec` when librdkafka cannot decode the topics: a start failure, not a retry loop. */
  constructor(private readonly o: KafkaTailOptions) {
    requireCodec(TOPIC_CODEC, 'consumer', o.clientId);
    this.probeIntervalMs = o.probeIntervalMs ?? 2000;
    this.topics = new Set(o.topics);
  }

  get isHealthy(): boolean {
    return this.healthy;
  }

  get problem(): string | undefined {
    return this.healthy ? undefined : (this.lastError ?? 'not connected yet');
  }

  async start(): Promise<void> {
    this.reader = await K2Reader.connect({
      brokers: this.o.brokers,
      clientId: this.o.clientId,
      logger: this.o.logger,
      extra: { 'fetch.wait.max.ms': 50, 'topic.metadata.refresh.interval.ms': 10_000 },
      onError: (err) => this.setHealth(false, err.message),
    });
    this.running = true;
    await this.probe();
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.probeTimer) clearInterval(this.probeTimer);
    await this.loop;
    await this.reader?.disconnect();
  }

  private setHealth(ok: boolean, error?: string): void {
    if (ok !== this.healthy) this.o.logger[ok ? 'info' : 'warn'](ok ? 'kafka tail healthy' : 'kafka tail unhealthy', { error });
    this.healthy = ok;
    if (!ok) this.lastError = error;
    this.o.metrics.setKafkaHealthy(ok);
  }

  /** Metadata round trip: health, and assignment of topics/partitions that appeared since. */
  private async probe(): Promise<void> {
    const reader = this.reader;
    if (!reader || !this.running) return;
    try {
      const topics = await reader.topics(Math.max(1000, this.probeIntervalMs));
      const fresh: string[] = [];
      for (const t of topics) {
        const kind = kindOf(t.name);
        if (!kind || !this.topics.has(t.name)) continue;
        for (const partition of t.partitions) {
          const key = tpKey(t.name, partition);
          if (this.next.has(key)) continue;
          const w = await reader.watermarks(t.name, partition, 5000);
          const fromTable = this.o.startOffsets(kind).get(key);
          let offset = fromTable ?? w.low;
          if (offset < w.low) {
            this.o.logger.warn('kafka retention passed the table offset; records in between are in neither', { topic: t.name, partition, tableOffset: offset, low: w.low });
            offset = w.low;
          }
          this.next.set(key, { topic: t.name, partition, offset });
          fresh.push(key);
        }
      }
      if (fresh.length > 0) {
        reader.assign([...this.next.values()]);
        this.o.logger.info('kafka tail assigned partitions', { added: fresh, total: this.next.size });
      }
      this.setHealth(true);
    } catch (e) {
      this.setHealth(false, e instanceof Error ? e.message : String(e));
    }
  }

  private async run(): Promise<void> {
    const { serde, store, metrics, logger } = this.o;
    while (this.running) {
      let batch;
      try {
        batch = await this.reader!.consume(5000);
      } catch (e) {
        this.setHealth(false, e instanceof Error ? e.message : String(e));
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (batch.length === 0) await new Promise((r) => setImmediate(r));
      for (const m of batch) {
        const key = tpKey(m.topic, m.partition);
        const pos = this.next.get(key);
        if (pos) pos.offset = m.offset + 1;
        const kind = kindOf(m.topic);
        if (!kind || !m.value) continue;
        let rec: Record<string, unknown>;
        try {
          rec = await serde.decode(m.value);
        } catch (e) {
          // The writer dead-letters this message; the tail only counts it (it never reaches the table either).
          metrics.tailDecodeErrors.inc({ topic: m.topic });
          logger.warn('tail message not decodable; skipped (the writer dead-letters it)', { topic: m.topic, partition: m.partition, offset: m.offset, error: e instanceof Error ? e.message : String(e) });
          continue;
        }
        const ts = rec['timestamp'];
        if (typeof ts !== 'bigint') continue;
        store.add(kind, { tp: key, offset: m.offset, rec, ts, id: String(rec['message_id']), symbol: String(rec['symbol']), exchange: String(rec['exchange']) });
      }
      metrics.observeTail(store);
    }
  }
}
