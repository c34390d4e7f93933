import Kafka from 'node-rdkafka';
import { ErrorCode, TransientError } from '@k2/core';
import { connectionConfig, kafkaError, requireCodec, TOPIC_CODEC, type KafkaBrokers } from '@k2/kafka';

export interface ScanStart {
  topic: string;
  partition: number;
  /** First offset to read. */
  offset: number;
}

/**
 * Reads every message from the given offsets up to the high watermark at call time, by direct assignment (no group,
 * nothing committed). A resumed load uses it to see what a killed run had already sent after its last checkpoint.
 * It never returns a partial result: a scan that cannot finish in time throws, because missing a message here
 * would mean sending it twice.
 */
export async function scanFrom(
  brokers: KafkaBrokers,
  starts: readonly ScanStart[],
  onMessage: (topic: string, value: Buffer | null) => void,
  timeoutMs = 120000,
): Promise<number> {
  if (starts.length === 0) return 0;
  requireCodec(TOPIC_CODEC, 'consumer', 'asx resume scan');
  const consumer = new Kafka.KafkaConsumer(
    {
      ...connectionConfig(brokers),
      'group.id': `k2-asx-resume-scan-${process.pid}-${Date.now()}`,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'enable.partition.eof': false,
    } as Kafka.ConsumerGlobalConfig,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30000 }, (err) => (err ? reject(kafkaError(err, 'resume scan connect')) : resolve())),
  );
  let count = 0;
  try {
    const ends = new Map<string, number>();
    const assignments: Kafka.Assignment[] = [];
    for (const s of starts) {
      const w = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) =>
        consumer.queryWatermarkOffsets(s.topic, s.partition, 10000, (err, o) =>
          err ? reject(kafkaError(err, 'watermarks', { topic: s.topic, partition: s.partition })) : resolve(o),
        ),
      );
      const from = Math.max(s.offset, w.lowOffset);
      if (w.highOffset > from) {
        ends.set(`${s.topic}\u0000${s.partition}`, w.highOffset);
        assignments.push({ topic: s.topic, partition: s.partition, offset: from });
      }
    }
    if (assignments.length === 0) return 0;
    consumer.assign(assignments);
    consumer.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + timeoutMs;
    while (ends.size > 0) {
      if (Date.now() > deadline) {
        throw new TransientError(ErrorCode.TIMEOUT, `resume scan did not reach the end of ${[...ends.keys()].map((k) => k.replace('\u0000', '/')).join(', ')} within ${timeoutMs} ms`);
      }
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) =>
        consumer.consume(5000, (err, m) => (err ? reject(kafkaError(err, 'resume scan consume')) : resolve(m))),
      );
      for (const m of batch) {
        onMessage(m.topic, m.value ?? null);
        count++;
        const k = `${m.topic}\u0000${m.partition}`;
        const end = ends.get(k);
        if (end !== undefined && m.offset >= end - 1) ends.delete(k);
      }
      if (batch.length === 0) {
        // Control records (transaction markers) are never delivered; the position tells whether the end was passed.
        for (const p of consumer.position(assignments.map((a) => ({ topic: a.topic, partition: a.partition })))) {
          const k = `${p.topic}\u0000${p.partition}`;
          const end = ends.get(k);
          if (end !== undefined && p.offset !== undefined && p.offset >= end) ends.delete(k);
        }
      }
    }
    return count;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
