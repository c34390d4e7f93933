import { cfg } from '@k2/core';

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/** KAFKA_BROKERS and SCHEMA_REGISTRY_URL, shared by every service that produces or consumes V2 topics. */
export function kafkaClientConfigSpec() {
  return {
    kafkaBrokers: cfg.list({ env: 'KAFKA_BROKERS', default: ['127.0.0.1:9092'], item: BROKER, doc: 'Kafka bootstrap servers, host:port' }),
    schemaRegistryUrl: cfg.url({ env: 'SCHEMA_REGISTRY_URL', default: 'http://127.0.0.1:8081/apis/ccompat/v7', doc: 'Confluent-compatible schema registry base URL' }),
  };
}
