// Creates the V2 topics (and their dead-letter topics) and registers their schemas; safe to run at every start.
import { envDocs, handleCli, HELP_FLAG, loadConfig } from '@k2/core';
import { dlqTopic, ensureTopics, kafkaClientConfigSpec, kafkaClientProblems, kafkaConnection, schemaRegistryOptions, topicName, type DataType } from '@k2/kafka';
import type { AssetClass } from '@k2/schema';
import { AvroSerde } from '@k2/serde';

const SPEC = kafkaClientConfigSpec();

handleCli('bootstrap-topics', process.argv.slice(2), {
  help: () => ({
    usage: ['npm run topics:bootstrap', 'tsx --tsconfig tsconfig.base.json tools/scripts/bootstrap-topics.ts [-h|--help]'],
    summary:
      'Creates the platform V2 topics (Binance and Kraken trades and quotes; ASX trades, quotes and reference data) and ' +
      'their .dlq topics where missing, and registers each topic\'s V2 value schema. Idempotent: safe at every start.',
    flags: [HELP_FLAG],
    env: envDocs(SPEC),
    exitCodes: [
      { code: 0, when: 'topics exist and schemas are registered (or --help)' },
      { code: 1, when: 'invalid KAFKA_BROKERS/SCHEMA_REGISTRY_URL, or Kafka or the registry failed (one line on stderr)' },
      { code: 2, when: 'usage error: any argument other than --help' },
    ],
  }),
});
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
  const config = loadConfig({ service: 'bootstrap-topics', spec: SPEC, check: (c) => kafkaClientProblems(c) });
  const brokers = kafkaConnection(config);
  const topics = feeds.map(([assetClass, dataType, exchange]) => ({ dataType, topic: topicName({ assetClass, dataType, exchange }) }));
  const created = await ensureTopics(brokers, topics.flatMap(({ topic }) => [{ topic }, { topic: dlqTopic(topic), partitions: 1 }]));
  const serde = new AvroSerde(schemaRegistryOptions(config));
  for (const { topic, dataType } of topics) await serde.registerV2(topic, dataType);
  console.log(`topics ready (${created.length} created), ${topics.length} schemas registered`);
}

main().catch((err) => {
  console.error(`bootstrap failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
