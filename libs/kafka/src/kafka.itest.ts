import Kafka from 'node-rdkafka';
import { infraEndpoints, removeScratchTopics, uniqueSuffix } from '@k2/testing';
import { ensureTopics } from './admin';
import { K2Consumer, type ConsumedMessage } from './consumer';
import { K2Producer } from './producer';
import { dlqTopic, topicName } from './topics';

const ep = infraEndpoints();
const topic = topicName({ assetClass: 'crypto', dataType: 'trades', exchange: `k2testkit${uniqueSuffix()}` });

function metadata(t: string): Promise<Kafka.Metadata> {
  const p = new Kafka.Producer({ 'metadata.broker.list': ep.kafkaBrokers });
  return new Promise((resolve, reject) =>
    p.connect({ topic: t, timeout: 10000 }, (err, md) => {
      p.disconnect();
      if (err) reject(err);
      else resolve(md);
    }),
  );
}

// A scratch topic (k2test…): no platform subscription names it, and it is deleted at the end.
afterAll(() => removeScratchTopics(ep.kafkaBrokers, undefined, [topic]));

describe('kafka wrappers against a real KRaft broker', () => {
  it('creates topics idempotently with 3 partitions and 7-day retention', async () => {
    expect(await ensureTopics(ep.kafkaBrokers, [{ topic }, { topic: dlqTopic(topic), partitions: 1 }])).toEqual([topic, dlqTopic(topic)]);
    expect(await ensureTopics(ep.kafkaBrokers, [{ topic }])).toEqual([]);
    const md = await metadata(topic);
    expect(md.topics.find((t) => t.name === topic)!.partitions).toHaveLength(3);
  });

  it('acknowledges every message and a consumer resumes after its last manual commit', async () => {
    const producer = await K2Producer.connect({ brokers: ep.kafkaBrokers, clientId: 'kafka-itest' });
    const n = 300;
    const reports = await Promise.all(
      Array.from({ length: n }, (_, i) => producer.send({ topic, partition: 0, key: 'BTCUSDT', value: Buffer.from(`m${i}`) })),
    );
    await producer.disconnect();
    const offsets = reports.map((r) => r.offset).sort((a, b) => a - b);
    expect(new Set(offsets).size).toBe(n); // no duplicates on the partition
    expect(offsets[n - 1]! - offsets[0]!).toBe(n - 1); // and no holes

    const group = `kit-${uniqueSuffix()}`;
    const c1 = await K2Consumer.connect({ brokers: ep.kafkaBrokers, groupId: group, clientId: 'c1', topics: [topic] });
    const got: ConsumedMessage[] = [];
    while (got.length < 100) got.push(...(await c1.consume(100 - got.length)));
    c1.commit(K2Consumer.nextOffsets(got));
    const first = got.map((m) => m.value!.toString());
    // Read more without committing: a restarted consumer must see these again.
    let extra = 0;
    while (extra === 0) extra = (await c1.consume(50)).length;
    await c1.disconnect();

    const c2 = await K2Consumer.connect({ brokers: ep.kafkaBrokers, groupId: group, clientId: 'c2', topics: [topic] });
    const rest: string[] = [];
    const deadline = Date.now() + 60000;
    while (rest.length < n - 100 && Date.now() < deadline) rest.push(...(await c2.consume(500)).map((m) => m.value!.toString()));
    await c2.disconnect();
    expect(first).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(rest).toEqual(Array.from({ length: n - 100 }, (_, i) => `m${i + 100}`));
  });

  it('reports an unreachable broker as a retriable error instead of hanging', async () => {
    const producer = await K2Producer.connect({ brokers: '127.0.0.1:1', clientId: 'dead', deliveryTimeoutMs: 1500 }, 3000).catch((e) => e);
    if (producer instanceof K2Producer) {
      await expect(producer.send({ topic, value: Buffer.from('x') })).rejects.toMatchObject({ retriable: true });
      await producer.disconnect(2000);
    } else {
      expect(producer).toMatchObject({ retriable: true });
    }
  });
});
