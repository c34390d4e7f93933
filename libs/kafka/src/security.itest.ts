import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import Kafka from 'node-rdkafka';
import { infraEndpoints, removeScratchTopics, secureKafkaEndpoint, uniqueSuffix, writerDlqAcl, type SecureKafkaUser } from '@k2/testing';
import { ensureTopics } from './admin';
import { kafkaClientConfigSpec, kafkaClientProblems, kafkaConnection } from './config';
import { K2Consumer, type ConsumedMessage } from './consumer';
import { K2Producer } from './producer';
import type { KafkaBrokers, KafkaConnection } from './security';
import { dlqTopic, topicName } from './topics';
import { loadConfig } from '@k2/core';

/**
 * Issue 18 item 1 against the real broker's SASL_SSL listener (`infra.sh up --secure`; the integration global setup
 * starts Kafka that way): SCRAM-SHA-512 over TLS with the local CA, refusal of a client without credentials, and
 * the ACLs that keep the query-api's user from producing.
 */
const plain = infraEndpoints().kafkaBrokers;
const secure = secureKafkaEndpoint();
const topic = topicName({ assetClass: 'crypto', dataType: 'trades', exchange: `k2testsec${uniqueSuffix()}` });
/** A second data topic whose dead-letter topic the writer is not given. */
const ungranted = topicName({ assetClass: 'crypto', dataType: 'quotes', exchange: `k2testsec${uniqueSuffix()}` });
/** A data topic that does not exist: the writer may not create its dead-letter topic either. */
const uncreated = topicName({ assetClass: 'crypto', dataType: 'reference', exchange: `k2testsec${uniqueSuffix()}` });

/** The connection a service builds from its environment (the same path as the services' config). */
function as(user: SecureKafkaUser, overrides: Record<string, string> = {}): KafkaConnection {
  const c = loadConfig({ service: 'security-itest', spec: kafkaClientConfigSpec(), env: { ...secure.serviceEnv(user), ...overrides }, check: (c) => kafkaClientProblems(c) });
  return kafkaConnection(c);
}

function portOpen(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = createConnection({ host: host!, port: Number(port) }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(3000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function consumeAll(brokers: KafkaBrokers, groupId: string, n: number, timeoutMs = 60000): Promise<ConsumedMessage[]> {
  const consumer = await K2Consumer.connect({ brokers, groupId, clientId: 'security-itest-writer', topics: [topic], fromBeginning: true });
  const got: ConsumedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    while (got.length < n && Date.now() < deadline) got.push(...(await consumer.consume(100)));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

beforeAll(async () => {
  // Not a skip: without the secure listener this suite fails with the command that provides it.
  const hint = 'the SASL_SSL listener is not running; start Kafka with it: tools/infra/infra.sh down kafka && tools/infra/infra.sh up --secure kafka';
  expect({ listener: await portOpen(secure.brokers), ca: existsSync(secure.caLocation), hint }).toEqual({ listener: true, ca: true, hint });
});

afterAll(async () => {
  writerDlqAcl('remove', [topic]);
  await removeScratchTopics(plain, undefined, [topic, ungranted, uncreated]);
});

/** What the broker answers one produce request (no idempotence, so the refusal is TOPIC_AUTHORIZATION_FAILED). */
async function produceOnce(brokers: KafkaConnection, to: string, value: string): Promise<string> {
  const raw = new Kafka.Producer({ ...brokers.security, 'metadata.broker.list': brokers.brokers, dr_cb: true, 'enable.idempotence': false, 'message.timeout.ms': 15000 } as Kafka.ProducerGlobalConfig);
  await new Promise<void>((resolve, reject) => raw.connect({ timeout: 15000 }, (err) => (err ? reject(err) : resolve())));
  raw.setPollInterval(10);
  try {
    // node-rdkafka rebuilds delivery errors from the message text (code -1), so the broker's answer is matched by text.
    return await new Promise<string>((resolve) => {
      raw.on('delivery-report', (err) => resolve(err ? `${err.code} ${err.message}` : 'delivered'));
      raw.produce(to, null, Buffer.from(value), 'BTCUSD');
    });
  } finally {
    raw.disconnect();
  }
}

describe('Kafka over SASL_SSL with SCRAM users and ACLs (issue 18)', () => {
  it('the streamer user creates the topic and produces, the writer user consumes it, all over TLS + SCRAM', async () => {
    await ensureTopics(as('streamer'), [{ topic, partitions: 1 }]);
    const producer = await K2Producer.connect({ brokers: as('streamer'), clientId: 'security-itest-streamer' }, 20000);
    const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic, key: 'BTCUSD', value: Buffer.from(`trade-${i}`) })));
    await producer.disconnect();
    expect(sent).toHaveLength(20);
    const got = await consumeAll(as('writer'), `k2-iceberg-writer-itest-${uniqueSuffix()}`, 20);
    expect(got.map((m) => m.value!.toString()).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `trade-${i}`).sort());
  });

  it('refuses a client without credentials within a bounded wait (no hang)', async () => {
    const started = Date.now();
    // TLS to the SASL_SSL port but no SASL: the broker never authenticates it, so it never gets metadata.
    await expect(K2Producer.connect({ brokers: { brokers: secure.brokers, security: { 'security.protocol': 'ssl', 'ssl.ca.location': secure.caLocation } }, clientId: 'security-itest-anon' }, 8000)).rejects.toThrow(/kafka: connect/);
    expect(Date.now() - started).toBeLessThan(20000);
  });

  it('refuses a wrong password within a bounded wait', async () => {
    const started = Date.now();
    const wrong = { brokers: secure.brokers, security: { ...as('streamer').security, 'sasl.password': 'not-the-password' } };
    await expect(K2Producer.connect({ brokers: wrong, clientId: 'security-itest-wrong-password' }, 8000)).rejects.toThrow(/kafka: connect/);
    expect(Date.now() - started).toBeLessThan(20000);
  });

  it('stops the query user from producing: the ACLs give it read only', async () => {
    // Reading is allowed (the query-api tail)…
    const read = await consumeAll(as('query'), `query-api-itest-${uniqueSuffix()}`, 1, 30000);
    expect(read.length).toBeGreaterThanOrEqual(1);
    // …producing is not: without idempotence the broker answers the produce request with TOPIC_AUTHORIZATION_FAILED.
    expect(await produceOnce(as('query'), topic, 'forged')).toMatch(/topic authorization failed/i);
    // K2Producer (idempotent, as the services run it) is refused too, and says so instead of retrying forever.
    const producer = await K2Producer.connect({ brokers: as('query'), clientId: 'security-itest-query', deliveryTimeoutMs: 15000 }, 15000);
    await expect(producer.send({ topic, key: 'BTCUSD', value: Buffer.from('forged') })).rejects.toMatchObject({ message: expect.stringMatching(/authorization failed/i), retriable: false });
    await producer.disconnect(5000);
    // Nothing forged landed.
    const all = await consumeAll(plain, `k2-itest-check-${uniqueSuffix()}`, 21, 8000);
    expect(all.map((m) => m.value!.toString())).not.toContain('forged');
  });

  it('lets the writer user produce to its dead-letter topic only, never to a data topic (deploy/kafka/acls.sh)', async () => {
    // The ACL infra.sh gives the platform's data topics, here for this suite's own topic.
    writerDlqAcl('add', [topic]);
    // The sink creates its dead-letter topic on the first dead letter (libs/lake-sink), as this user.
    expect(await ensureTopics(as('writer'), [{ topic: dlqTopic(topic), partitions: 1 }])).toEqual([dlqTopic(topic)]);
    const producer = await K2Producer.connect({ brokers: as('writer'), clientId: 'security-itest-writer-dlq', deliveryTimeoutMs: 15000 }, 15000);
    await expect(producer.send({ topic: dlqTopic(topic), key: 'BTCUSD', value: Buffer.from('dead-letter') })).resolves.toBeDefined();
    await producer.disconnect(5000);
    // Its data topic, and the dead-letter topic of a data topic it was not given, are refused.
    expect(await produceOnce(as('writer'), topic, 'forged-by-writer')).toMatch(/topic authorization failed/i);
    await ensureTopics(plain, [{ topic: ungranted, partitions: 1 }, { topic: dlqTopic(ungranted), partitions: 1 }]);
    expect(await produceOnce(as('writer'), ungranted, 'forged-by-writer')).toMatch(/topic authorization failed/i);
    expect(await produceOnce(as('writer'), dlqTopic(ungranted), 'forged-by-writer')).toMatch(/topic authorization failed/i);
    await expect(ensureTopics(as('writer'), [{ topic: dlqTopic(uncreated), partitions: 1 }])).rejects.toThrow(/authoriz/i);
    // Nothing forged landed on the data topic.
    const all = await consumeAll(plain, `k2-itest-check-${uniqueSuffix()}`, 21, 8000);
    expect(all.map((m) => m.value!.toString())).not.toContain('forged-by-writer');
  });
});
