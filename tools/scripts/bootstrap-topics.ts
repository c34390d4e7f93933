// Creates the V2 topics (and their dead-letter topics) and registers their schemas; safe to run at every start.
import { dlqTopic, ensureTopics, topicName, type DataType } from '@k2/kafka';
import type { AssetClass } from '@k2/schema';
import { AvroSerde } from '@k2/serde';

const brokers = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const registryUrl = process.env['SCHEMA_REGISTRY_URL'] ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const feeds: Array<[AssetClass, DataType, string]> = [
  ['crypto', 'trades', 'binance'],
  ['crypto', 'quotes', 'binance'],
  ['crypto', 'trades', 'kraken'],
  ['crypto', 'quotes', 'kraken'],
  ['equities', 'trades', 'asx'],
  ['equities', 'quotes', 'asx'],
  ['equities', 'reference', 'asx'],
];

async function main(): Promise<void> {
  const topics = feeds.map(([assetClass, dataType, exchange]) => ({ dataType, topic: topicName({ assetClass, dataType, exchange }) }));
  const created = await ensureTopics(brokers, topics.flatMap(({ topic }) => [{ topic }, { topic: dlqTopic(topic), partitions: 1 }]));
  const serde = new AvroSerde({ registryUrl });
  for (const { topic, dataType } of topics) await serde.registerV2(topic, dataType);
  console.log(`topics ready (${created.length} created), ${topics.length} schemas registered`);
}

main().catch((err) => {
  console.error(`bootstrap failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
