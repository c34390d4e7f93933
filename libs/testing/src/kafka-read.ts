import Kafka from 'node-rdkafka';

export type PartitionOffsets = Map<number, number>;

async function withConsumer<T>(brokers: string, fn: (c: Kafka.KafkaConsumer) => Promise<T>): Promise<T> {
  const c = new Kafka.KafkaConsumer(
    { 'metadata.broker.list': brokers, 'group.id': `k2-test-reader-${process.pid}-${Date.now()}`, 'enable.auto.commit': false } as Kafka.ConsumerGlobalConfig,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((res, rej) => c.connect({ timeout: 15000 }, (e) => (e ? rej(e) : res())));
  try {
    return await fn(c);
  } finally {
    await new Promise<void>((res) => c.disconnect(() => res()));
  }
}

async function partitionsOf(c: Kafka.KafkaConsumer, topic: string): Promise<number[]> {
  const meta = await new Promise<Kafka.Metadata>((res, rej) => c.getMetadata({ topic, timeout: 10000 }, (e, m) => (e ? rej(e) : res(m))));
  return meta.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
}

/** The end offset of every partition now: read from here later to see only what a test produced. */
export async function topicEndOffsets(brokers: string, topic: string): Promise<PartitionOffsets> {
  return withConsumer(brokers, async (c) => {
    const out: PartitionOffsets = new Map();
    for (const p of await partitionsOf(c, topic)) {
      const w = await new Promise<Kafka.WatermarkOffsets>((res, rej) => c.queryWatermarkOffsets(topic, p, 10000, (e, o) => (e ? rej(e) : res(o))));
      out.set(p, w.highOffset);
    }
    return out;
  });
}

/** Every message from `from` (missing partitions: from the start) up to the current end of each partition. */
export async function readTopicFrom(brokers: string, topic: string, from: PartitionOffsets = new Map()): Promise<Kafka.Message[]> {
  return withConsumer(brokers, async (c) => {
    const ends = new Map<number, number>();
    const assignments: Kafka.Assignment[] = [];
    for (const p of await partitionsOf(c, topic)) {
      const w = await new Promise<Kafka.WatermarkOffsets>((res, rej) => c.queryWatermarkOffsets(topic, p, 10000, (e, o) => (e ? rej(e) : res(o))));
      const start = Math.max(from.get(p) ?? w.lowOffset, w.lowOffset);
      if (w.highOffset > start) {
        ends.set(p, w.highOffset);
        assignments.push({ topic, partition: p, offset: start });
      }
    }
    if (assignments.length === 0) return [];
    c.assign(assignments);
    c.setDefaultConsumeTimeout(200);
    const out: Kafka.Message[] = [];
    const deadline = Date.now() + 60000;
    while (ends.size > 0 && Date.now() < deadline) {
      const batch = await new Promise<Kafka.Message[]>((res, rej) => c.consume(5000, (e, m) => (e ? rej(e) : res(m))));
      for (const m of batch) {
        out.push(m);
        if (m.offset >= (ends.get(m.partition) ?? Infinity) - 1) ends.delete(m.partition);
      }
    }
    return out;
  });
}
