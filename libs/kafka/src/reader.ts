import Kafka from 'node-rdkafka';
import type { Logger } from '@k2/core';
import { requireCodec, TOPIC_CODEC } from './codecs';
import { kafkaError } from './errors';
import { connectionConfig, type KafkaBrokers } from './security';
import { CONSUMER_BASE_CONFIG, queryWatermarks, toConsumedMessage, type ConsumedMessage, type TopicPartition, type TopicPartitionOffset } from './consumer';

export interface ReaderOptions {
  brokers: KafkaBrokers;
  clientId: string;
  logger?: Logger;
  /** librdkafka settings on top of the defaults (e.g. fetch sizes). */
  extra?: Record<string, string | number | boolean>;
  /** Called for every librdkafka error event (broker down, transport failure), for health tracking. */
  onError?: (err: { message: string; code?: number }) => void;
}

/**
 * A consumer without a consumer group: partitions are assigned explicitly with start offsets and nothing is ever
 * committed. For readers whose position lives outside Kafka, e.g. query-api's tail, which starts where the
 * Iceberg table's snapshot says the writer stopped. librdkafka still needs a `group.id`; a per-process one is
 * never joined because `subscribe` is never called.
 */
export class K2Reader {
  private constructor(
    private readonly consumer: Kafka.KafkaConsumer,
    private readonly logger?: Logger,
  ) {}

  static async connect(o: ReaderOptions, connectTimeoutMs = 15000): Promise<K2Reader> {
    requireCodec(TOPIC_CODEC, 'consumer', o.clientId);
    const consumer = new Kafka.KafkaConsumer(
      {
        ...(o.extra ?? {}),
        ...connectionConfig(o.brokers),
        'group.id': `${o.clientId}-${process.pid}`,
        'client.id': o.clientId,
        ...CONSUMER_BASE_CONFIG,
      } as Kafka.ConsumerGlobalConfig,
      { 'auto.offset.reset': 'earliest' },
    );
    consumer.on('event.error', (err) => {
      o.logger?.warn('kafka reader error', { error: err.message, code: err.code });
      o.onError?.(err);
    });
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: connectTimeoutMs }, (err) => (err ? reject(kafkaError(err, 'reader connect')) : resolve())),
    );
    consumer.setDefaultConsumeTimeout(100);
    return new K2Reader(consumer, o.logger);
  }

  /** Names and partition ids of every topic the broker knows, as of now. */
  topics(timeoutMs = 5000): Promise<Array<{ name: string; partitions: number[] }>> {
    return new Promise((resolve, reject) =>
      this.consumer.getMetadata({ timeout: timeoutMs }, (err, m) =>
        err ? reject(kafkaError(err, 'metadata')) : resolve(m.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.id) }))),
      ),
    );
  }

  watermarks(topic: string, partition: number, timeoutMs = 5000): Promise<{ low: number; high: number }> {
    return queryWatermarks(this.consumer, topic, partition, timeoutMs);
  }

  /** Replaces the whole assignment; each partition starts at its `offset` (the next offset to read). */
  assign(offsets: readonly TopicPartitionOffset[]): void {
    try {
      this.consumer.assign(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
    } catch (err) {
      throw kafkaError(err, 'assign', { count: offsets.length });
    }
  }

  assignments(): TopicPartition[] {
    try {
      return this.consumer.assignments().map((a) => ({ topic: a.topic, partition: a.partition }));
    } catch {
      return [];
    }
  }

  /** Up to `max` messages; empty after the consume timeout when nothing arrived. */
  consume(max = 5000): Promise<ConsumedMessage[]> {
    return new Promise((resolve, reject) =>
      this.consumer.consume(max, (err, messages) => {
        if (err) reject(kafkaError(err, 'consume'));
        else resolve(messages.map(toConsumedMessage));
      }),
    );
  }

  async disconnect(): Promise<void> {
    if (!this.consumer.isConnected()) return;
    try {
      this.consumer.unassign();
    } catch (err) {
      this.logger?.warn('kafka unassign failed', { error: String(err) });
    }
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }
}
