import Kafka from 'node-rdkafka';
import { ErrorCode, TransientError, type K2Error, type Logger } from '@k2/core';
import { K2Producer, kafkaError, requireCodec, type Compression, type KafkaBrokers } from '@k2/kafka';

/**
 * Messages sent together and acknowledged together. The loader checkpoints a batch once every message in it (and in
 * every earlier batch) has a delivery report, so the batch carries counts and the highest acknowledged offset per
 * topic partition instead of a promise per message.
 */
export class AckBatch {
  sent = 0;
  acked = 0;
  failed = 0;
  error: K2Error | undefined;
  sealed = false;
  /** topic -> highest acknowledged offset per partition (index), -1 where none. */
  readonly offsets = new Map<string, number[]>();
  private waiters: Array<() => void> = [];

  get settled(): boolean {
    return this.sealed && this.acked + this.failed === this.sent;
  }

  seal(): void {
    this.sealed = true;
    this.notify();
  }

  /** Resolves once every message of the sealed batch has a delivery report (success or failure). */
  whenSettled(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  ack(topic: string, partition: number, offset: number): void {
    this.acked++;
    let parts = this.offsets.get(topic);
    if (!parts) {
      parts = [];
      this.offsets.set(topic, parts);
    }
    if ((parts[partition] ?? -1) < offset) parts[partition] = offset;
    if (this.sealed && this.acked + this.failed === this.sent) this.notify();
  }

  fail(err: K2Error): void {
    this.failed++;
    this.error ??= err;
    if (this.sealed && this.acked + this.failed === this.sent) this.notify();
  }

  private notify(): void {
    if (!this.settled) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export interface BatchProducerOptions {
  brokers: KafkaBrokers;
  clientId: string;
  logger?: Logger;
  /** Defaults to zstd when this librdkafka build has it, else lz4. */
  compression?: Compression;
  lingerMs?: number;
  extra?: Record<string, string | number | boolean>;
}

/**
 * A thin node-rdkafka producer for bulk loads, configured exactly like K2Producer (idempotence, acks=all, delivery
 * reports; K2Producer.librdkafkaConfig) but reporting deliveries per AckBatch. K2Producer's promise per message
 * halves throughput at the rates a file load reaches; here a message costs one produce call and one counter update.
 */
export class BatchProducer {
  private outstanding = 0;
  private lowWaiters: Array<{ level: number; resolve: () => void }> = [];
  private fatal: K2Error | undefined;
  private closed = false;

  private constructor(
    private readonly producer: Kafka.Producer,
    private readonly logger?: Logger,
  ) {}

  static defaultCompression(): Compression {
    return (Kafka.features as string[]).includes('zstd') ? 'zstd' : 'lz4';
  }

  static async connect(o: BatchProducerOptions, timeoutMs = 30000): Promise<BatchProducer> {
    const compression = o.compression ?? BatchProducer.defaultCompression();
    requireCodec(compression, 'producer', o.clientId);
    const config = K2Producer.librdkafkaConfig({
      brokers: o.brokers,
      clientId: o.clientId,
      compression,
      lingerMs: o.lingerMs ?? 20,
      batchNumMessages: 10000,
      queueMaxMessages: 1_000_000,
      extra: { 'batch.size': 4_000_000, ...(o.extra ?? {}) },
    });
    const producer = new Kafka.Producer(config, {});
    const self = new BatchProducer(producer, o.logger);
    producer.on('delivery-report', (err, report) => self.onDelivery(err, report));
    producer.on('event.error', (err) => self.onError(err));
    await new Promise<void>((resolve, reject) =>
      producer.connect({ timeout: timeoutMs }, (err) => (err ? reject(kafkaError(err, 'connect')) : resolve())),
    );
    producer.setPollInterval(5);
    return self;
  }

  /** Messages handed to librdkafka and not yet reported. */
  get inFlight(): number {
    return this.outstanding;
  }

  /** Queues one message; its delivery report lands in `batch`. Throws if the producer cannot take it. */
  send(topic: string, key: Buffer, value: Buffer, batch: AckBatch): void {
    if (this.fatal) throw this.fatal;
    if (this.closed) throw new TransientError(ErrorCode.SHUTTING_DOWN, 'producer is closed');
    try {
      this.producer.produce(topic, null, value, key, null, batch);
    } catch (err) {
      throw kafkaError(err, `produce to ${topic}`, { topic });
    }
    batch.sent++;
    this.outstanding++;
  }

  /** Resolves once at most `level` messages are in flight: the loader's back-pressure. */
  waitInFlightAtMost(level: number): Promise<void> {
    if (this.outstanding <= level) return Promise.resolve();
    return new Promise((resolve) => this.lowWaiters.push({ level, resolve }));
  }

  get fatalError(): K2Error | undefined {
    return this.fatal;
  }

  private onDelivery(err: Kafka.LibrdKafkaError | null, report: Kafka.DeliveryReport): void {
    this.outstanding--;
    const batch = report.opaque as AckBatch | undefined;
    if (batch) {
      if (err) batch.fail(kafkaError(err, `delivery to ${report.topic}`, { topic: report.topic, partition: report.partition }));
      else batch.ack(report.topic, report.partition, report.offset);
    }
    if (this.lowWaiters.length) {
      const ready = this.lowWaiters.filter((w) => this.outstanding <= w.level);
      if (ready.length) {
        this.lowWaiters = this.lowWaiters.filter((w) => this.outstanding > w.level);
        for (const w of ready) w.resolve();
      }
    }
  }

  private onError(err: Kafka.LibrdKafkaError): void {
    if ((err as { isFatal?: boolean }).isFatal) {
      // With idempotence a fatal error means ordering and no-duplicates can no longer be guaranteed: stop.
      this.fatal = kafkaError(err, 'producer fatal error');
      this.logger?.error('kafka producer fatal error', { error: err.message, code: err.code });
    } else {
      this.logger?.warn('kafka producer error', { error: err.message, code: err.code });
    }
  }

  /** Partition count and high watermark (next offset) of every partition of `topic`. */
  async highWatermarks(topic: string, timeoutMs = 10000): Promise<number[]> {
    const md = await new Promise<Kafka.Metadata>((resolve, reject) =>
      this.producer.getMetadata({ topic, timeout: timeoutMs }, (err, m) => (err ? reject(kafkaError(err, 'metadata', { topic })) : resolve(m))),
    );
    const partitions = md.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    const out: number[] = [];
    for (const p of partitions) {
      out[p] = await new Promise<number>((resolve, reject) =>
        this.producer.queryWatermarkOffsets(topic, p, timeoutMs, (err, o) =>
          err ? reject(kafkaError(err, 'watermarks', { topic, partition: p })) : resolve(o.highOffset),
        ),
      );
    }
    return out;
  }

  async ping(timeoutMs = 5000): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.producer.getMetadata({ timeout: timeoutMs }, (err) => (err ? reject(kafkaError(err, 'metadata')) : resolve())),
    );
  }

  async flush(timeoutMs = 60000): Promise<void> {
    await new Promise<void>((resolve, reject) => this.producer.flush(timeoutMs, (err) => (err ? reject(kafkaError(err, 'flush')) : resolve())));
  }

  async disconnect(timeoutMs = 30000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.producer.isConnected()) await this.flush(timeoutMs);
    } finally {
      this.producer.setPollInterval(0);
      await new Promise<void>((resolve) => this.producer.disconnect(timeoutMs, () => resolve()));
    }
  }
}
