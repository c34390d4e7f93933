import Kafka from 'node-rdkafka';
import type { Logger } from '@k2/core';
import { requireCodec, TOPIC_CODEC } from './codecs';
import { kafkaError } from './errors';
import { connectionConfig, type KafkaBrokers } from './security';

export interface ConsumerOptions {
  brokers: KafkaBrokers;
  groupId: string;
  clientId: string;
  /** Topic names, or RegExps (librdkafka regex subscription; new matching topics are picked up). */
  topics: Array<string | RegExp>;
  logger?: Logger;
  /** Where a group with no committed offset starts. */
  fromBeginning?: boolean;
  /** Called after partitions are assigned (e.g. to seek to offsets stored elsewhere) and before they are revoked. */
  onAssign?: (assignments: TopicPartition[], positions?: TopicPartitionOffset[]) => void | Promise<void>;
  /**
   * When set, a new assignment is not handed to librdkafka until this resolves with the start offset of every
   * partition (consumers whose position lives outside Kafka, e.g. in Iceberg snapshots). Nothing is fetched before,
   * so no message from Kafka's committed position can slip in ahead of the real one.
   */
  positionOnAssign?: (assignments: TopicPartition[]) => Promise<TopicPartitionOffset[]>;
  onRevoke?: (assignments: TopicPartition[]) => void | Promise<void>;
  extra?: Record<string, string | number | boolean>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The NEXT offset to read (Kafka's commit convention: last processed + 1). */
  offset: number;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number | undefined;
  size: number;
}

/**
 * node-rdkafka consumer with manual commits only: neither offsets nor their storage advance automatically, so
 * an offset is committed only after the caller has made the data durable (non-negotiable 4).
 */
/** node-rdkafka's message as K2 hands it out (key normalised to Buffer | null). */
export function toConsumedMessage(m: Kafka.Message): ConsumedMessage {
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: (m.key as Buffer | null | undefined) ?? null,
    value: m.value ?? null,
    timestamp: m.timestamp,
    size: m.size,
  };
}

/** Low and high watermark of one partition (the broker's, not the consumer's position). */
export function queryWatermarks(consumer: Kafka.KafkaConsumer, topic: string, partition: number, timeoutMs: number): Promise<{ low: number; high: number }> {
  return new Promise((resolve, reject) =>
    consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (err, o) =>
      err ? reject(kafkaError(err, 'watermarks', { topic, partition })) : resolve({ low: o.lowOffset, high: o.highOffset }),
    ),
  );
}

/** Settings K2Consumer and K2Reader share: offsets are committed explicitly, and a batch ends once caught up. */
export const CONSUMER_BASE_CONFIG = {
  'enable.auto.commit': false,
  'enable.auto.offset.store': false,
  // node-rdkafka's consume(n) waits up to the consume timeout for each message until it has n, so a steady trickle
  // (100 msg/s) kept a 2000-message batch open for 20 s. After a partition EOF it stops waiting once it holds
  // messages (workers.cc, KafkaConsumerConsumeNum); the EOF markers are not returned as messages.
  'enable.partition.eof': true,
  'socket.keepalive.enable': true,
} as const;

export class K2Consumer {
  private constructor(
    private readonly consumer: Kafka.KafkaConsumer,
    private readonly logger?: Logger,
  ) {}

  static async connect(o: ConsumerOptions, connectTimeoutMs = 30000): Promise<K2Consumer> {
    requireCodec(TOPIC_CODEC, 'consumer', o.clientId);
    let generation = 0;
    const consumer = new Kafka.KafkaConsumer(
      {
        ...(o.extra ?? {}),
        ...connectionConfig(o.brokers),
        'group.id': o.groupId,
        'client.id': o.clientId,
        ...CONSUMER_BASE_CONFIG,
        rebalance_cb: (err: Kafka.LibrdKafkaError, assignments: Kafka.Assignment[]) => {
          const tps = assignments.map((a) => ({ topic: a.topic, partition: a.partition }));
          if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS && o.positionOnAssign) {
            const gen = ++generation;
            o.logger?.info('kafka partitions assigned; resolving start positions', { assignments: tps });
            void o.positionOnAssign(tps).then(
              (positions) => {
                if (gen !== generation) return;
                consumer.assign(positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })));
                void Promise.resolve(o.onAssign?.(tps, positions)).catch((e) => o.logger?.error('onAssign failed', { error: String(e) }));
              },
              (e) => o.logger?.error('resolving start positions failed; partitions stay unassigned until the next rebalance', { error: String(e) }),
            );
          } else if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
            consumer.assign(assignments);
            o.logger?.info('kafka partitions assigned', { assignments: tps });
            void Promise.resolve(o.onAssign?.(tps)).catch((e) => o.logger?.error('onAssign failed', { error: String(e) }));
          } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
            generation++;
            void Promise.resolve(o.onRevoke?.(tps)).catch((e) => o.logger?.error('onRevoke failed', { error: String(e) }));
            consumer.unassign();
            o.logger?.info('kafka partitions revoked', { assignments: tps });
          } else {
            o.logger?.error('kafka rebalance error', { error: err.message });
          }
        },
      } as Kafka.ConsumerGlobalConfig,
      { 'auto.offset.reset': o.fromBeginning === false ? 'latest' : 'earliest' },
    );
    consumer.on('event.error', (err) => o.logger?.warn('kafka consumer error', { error: err.message, code: err.code }));
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: connectTimeoutMs }, (err) => (err ? reject(kafkaError(err, 'consumer connect')) : resolve())),
    );
    const self = new K2Consumer(consumer, o.logger);
    consumer.setDefaultConsumeTimeout(500);
    consumer.subscribe(o.topics as Kafka.SubscribeTopicList);
    return self;
  }

  /** Up to `max` messages; an empty array after the consume timeout when nothing arrived. */
  consume(max = 1000): Promise<ConsumedMessage[]> {
    return new Promise((resolve, reject) =>
      this.consumer.consume(max, (err, messages) => {
        if (err) reject(kafkaError(err, 'consume'));
        else resolve(messages.map(toConsumedMessage));
      }),
    );
  }

  /** Synchronously commits the given next-offsets to the group coordinator. */
  commit(offsets: TopicPartitionOffset[]): void {
    if (offsets.length === 0) return;
    try {
      this.consumer.commitSync(offsets);
    } catch (err) {
      throw kafkaError(err, 'commit', { offsets });
    }
  }

  /**
   * Queues an offset commit and returns at once. commit() (commitSync) holds the event loop until the coordinator
   * answers, which during a broker outage froze a whole service: no /metrics, no /healthz. For commits that are
   * advisory (the writer's positions live in its tables) this is the one to use.
   */
  commitAsync(offsets: TopicPartitionOffset[]): void {
    if (offsets.length === 0) return;
    try {
      this.consumer.commit(offsets);
    } catch (err) {
      throw kafkaError(err, 'commit', { offsets });
    }
  }

  /** Next offsets of the last processed messages per partition. */
  static nextOffsets(messages: ConsumedMessage[]): TopicPartitionOffset[] {
    const m = new Map<string, TopicPartitionOffset>();
    for (const msg of messages) {
      const k = `${msg.topic}\u0000${msg.partition}`;
      const cur = m.get(k);
      if (!cur || msg.offset + 1 > cur.offset) m.set(k, { topic: msg.topic, partition: msg.partition, offset: msg.offset + 1 });
    }
    return [...m.values()];
  }

  seek(tpo: TopicPartitionOffset, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) =>
      this.consumer.seek(tpo, timeoutMs, (err) => (err ? reject(kafkaError(err, 'seek', { ...tpo })) : resolve())),
    );
  }

  committed(partitions: TopicPartition[], timeoutMs = 5000): Promise<TopicPartitionOffset[]> {
    return new Promise((resolve, reject) =>
      this.consumer.committed(partitions, timeoutMs, (err, tps) =>
        err ? reject(kafkaError(err, 'committed')) : resolve(tps.map((t) => ({ topic: t.topic, partition: t.partition, offset: t.offset ?? -1 }))),
      ),
    );
  }

  /**
   * Replaces the whole assignment with explicit start offsets (`offset` = next to read). Used after a rebalance
   * by consumers whose real position lives outside Kafka (the Iceberg writer's table snapshots): librdkafka
   * starts fetching exactly there and drops anything prefetched from the old position.
   */
  reassign(offsets: TopicPartitionOffset[]): void {
    try {
      this.consumer.assign(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
    } catch (err) {
      throw kafkaError(err, 'assign', { count: offsets.length });
    }
  }

  /** Stops fetching these partitions (consume() keeps the group membership alive meanwhile). */
  pause(partitions: TopicPartition[]): void {
    if (partitions.length) this.consumer.pause(partitions);
  }

  resume(partitions: TopicPartition[]): void {
    if (partitions.length) this.consumer.resume(partitions);
  }

  /** Current assignment; empty while a rebalance is in progress (node-rdkafka throws ERR__STATE then). */
  assignments(): TopicPartition[] {
    try {
      return this.consumer.assignments().map((a) => ({ topic: a.topic, partition: a.partition }));
    } catch {
      return [];
    }
  }

  /** High watermark per partition, for lag metrics. */
  watermarks(topic: string, partition: number, timeoutMs = 5000): Promise<{ low: number; high: number }> {
    return queryWatermarks(this.consumer, topic, partition, timeoutMs);
  }

  isConnected(): boolean {
    return this.consumer.isConnected();
  }

  async disconnect(): Promise<void> {
    if (!this.consumer.isConnected()) return;
    try {
      this.consumer.unsubscribe();
    } catch (err) {
      this.logger?.warn('kafka unsubscribe failed', { error: String(err) });
    }
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }
}
