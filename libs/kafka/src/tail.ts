import Kafka from 'node-rdkafka';
import { requireCodec, TOPIC_CODEC } from './codecs';
import { kafkaError } from './errors';
import { connectionConfig, type KafkaBrokers } from './security';
import { queryWatermarks, toConsumedMessage, type ConsumedMessage } from './consumer';

/**
 * The last `perPartition` messages of every partition of a topic, read by direct assignment (no consumer group,
 * nothing committed). Producers use it at start-up to learn what they last wrote, e.g. a streamer's last trade id
 * per symbol, so that a restart backfills from there instead of leaving a hole.
 */
export async function readTopicTail(brokers: KafkaBrokers, topic: string, perPartition: number, timeoutMs = 15000): Promise<ConsumedMessage[]> {
  requireCodec(TOPIC_CODEC, 'consumer', `tail reader of ${topic}`);
  const consumer = new Kafka.KafkaConsumer(
    {
      ...connectionConfig(brokers),
      'group.id': `k2-tail-reader-${process.pid}`,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'enable.partition.eof': false,
    } as Kafka.ConsumerGlobalConfig,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: timeoutMs }, (err) => (err ? reject(kafkaError(err, 'tail reader connect')) : resolve())),
  );
  try {
    const meta = await new Promise<Kafka.Metadata>((resolve, reject) =>
      consumer.getMetadata({ topic, timeout: timeoutMs }, (err, m) => (err ? reject(kafkaError(err, 'metadata', { topic })) : resolve(m))),
    );
    const partitions = meta.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    const ends = new Map<number, number>();
    const assignments: Kafka.Assignment[] = [];
    for (const partition of partitions) {
      const w = await queryWatermarks(consumer, topic, partition, timeoutMs);
      if (w.high > w.low) {
        ends.set(partition, w.high);
        assignments.push({ topic, partition, offset: Math.max(w.low, w.high - perPartition) });
      }
    }
    if (assignments.length === 0) return [];
    consumer.assign(assignments);
    consumer.setDefaultConsumeTimeout(200);
    const out: ConsumedMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (ends.size > 0 && Date.now() < deadline) {
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) =>
        consumer.consume(1000, (err, m) => (err ? reject(kafkaError(err, 'consume', { topic })) : resolve(m))),
      );
      for (const m of batch) {
        out.push(toConsumedMessage(m));
        // Transaction markers and compacted gaps mean the last offset may never be delivered; >= end-1 ends it.
        if (m.offset >= (ends.get(m.partition) ?? Infinity) - 1) ends.delete(m.partition);
      }
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
