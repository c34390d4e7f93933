import { planScan } from '@k2/iceberg';
import { loadConfig } from '@k2/core';
import { dlqTopic, K2Producer, kafkaClientConfigSpec, kafkaClientProblems, kafkaConnection } from '@k2/kafka';
import { makeTrades, produce, sinkTestEnv, startSink, waitUntil, type RunningSink, type SinkTestEnv } from '@k2/lake-testing';
import { readTopicFrom, secureKafkaEndpoint, writerDlqAcl } from '@k2/testing';

/**
 * Issue 18: the writer's Kafka user may write only the dead-letter topics it was given (deploy/kafka/acls.sh). When
 * the dead-letter topic refuses a record (no ACL yet, or the broker past the delivery timeout), the record must not
 * be skipped: the writer re-reads it until its dead letter lands. Before, the partition's position had already moved
 * past it, so the bad record was neither in the lake nor in the DLQ. Real broker over SASL_SSL as the `writer` user.
 */
const secure = secureKafkaEndpoint();
let env: SinkTestEnv;
let run: RunningSink | undefined;
let dlqProducer: K2Producer | undefined;

beforeAll(async () => {
  env = await sinkTestEnv();
});

afterAll(async () => {
  await run?.stop();
  await dlqProducer?.disconnect();
  if (env) writerDlqAcl('remove', [env.topics.trades]);
  await env?.close();
});

it('keeps re-reading a bad record whose dead-letter topic refuses it, and dead-letters it once allowed', async () => {
  const trades = makeTrades(env.exchange, 1, 300);
  await produce(env, 'trades', trades);
  await env.producer.send({ topic: env.topics.trades, key: 'BTCUSDT', value: Buffer.from('{"not":"avro"}') });

  const config = loadConfig({ service: 'writer-dlq-itest', spec: kafkaClientConfigSpec(), env: secure.serviceEnv('writer'), check: (c) => kafkaClientProblems(c) });
  const asWriter = kafkaConnection(config);
  dlqProducer = await K2Producer.connect({ brokers: asWriter, clientId: `itest-dlq-writer-${env.suffix}`, deliveryTimeoutMs: 5000, logger: env.logger });
  // The writer user's consumer groups are k2-iceberg-writer* (acls.sh).
  run = await startSink(env, { brokers: asWriter, dlqProducer, groupId: `k2-iceberg-writer-itest-${env.suffix}`, topics: [env.topics.trades] });
  const consumed = async () => Number(/k2_writer_records_consumed_total\{[^}]*\} (\d+)/.exec(await run!.registry.getSingleMetricAsString('k2_writer_records_consumed_total'))?.[1] ?? 0);
  // The dead-letter topic is refused (not created, no ACL): the bad record is consumed again and again, not dropped.
  await waitUntil('the refused record re-read', async () => ((await consumed()) > trades.length + 1 ? true : undefined), 60_000);
  await expect(readTopicFrom(env.brokers, dlqTopic(env.topics.trades)).catch(() => [])).resolves.toEqual([]);

  writerDlqAcl('add', [env.topics.trades]);
  await waitUntil('the dead letter written', async () => ((await readTopicFrom(env.brokers, dlqTopic(env.topics.trades)).catch(() => [])).length > 0 ? true : undefined));
  const total = async () => {
    const t = await run!.catalog.loadTable({ namespace: env.namespace, name: 'trades_v2' }).catch(() => undefined);
    return (t ? await planScan(run!.io, t) : undefined)?.files.reduce((s, f) => s + f.file['record-count'], 0) ?? 0;
  };
  await waitUntil('every good trade committed', async () => ((await total()) === trades.length ? true : undefined));
  const dead = await readTopicFrom(env.brokers, dlqTopic(env.topics.trades));
  expect(dead.map((m) => (JSON.parse(m.value!.toString()) as { code: string }).code)).toEqual(['K2_SERDE_FAILED']);
});
