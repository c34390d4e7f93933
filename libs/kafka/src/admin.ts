import Kafka from 'node-rdkafka';
import { kafkaError } from './errors';
import type { Compression } from './producer';
import { connectionConfig, type KafkaBrokers } from './security';

export interface TopicSpec {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  retentionMs?: number;
  compression?: Compression | 'producer';
  config?: Record<string, string>;
}

export const DEFAULT_PARTITIONS = 3;
export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * Creates topics that do not exist yet; existing ones are left alone (idempotent, safe at every start).
 * Defaults: 3 partitions, 7-day retention, zstd at rest, replication 1 (local) — production passes 3.
 */
export async function ensureTopics(brokers: KafkaBrokers, specs: TopicSpec[], timeoutMs = 15000): Promise<string[]> {
  const admin = Kafka.AdminClient.create({ ...connectionConfig(brokers), 'client.id': 'k2-admin' });
  const created: string[] = [];
  try {
    for (const s of specs) {
      const config: Record<string, string> = {
        'retention.ms': String(s.retentionMs ?? DEFAULT_RETENTION_MS),
        'compression.type': s.compression === 'none' ? 'uncompressed' : (s.compression ?? 'zstd'),
        ...(s.config ?? {}),
      };
      await new Promise<void>((resolve, reject) => {
        admin.createTopic(
          {
            topic: s.topic,
            num_partitions: s.partitions ?? DEFAULT_PARTITIONS,
            replication_factor: s.replicationFactor ?? 1,
            config,
          },
          timeoutMs,
          (err) => {
            if (!err) {
              created.push(s.topic);
              resolve();
            } else if (err.code === Kafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve();
            else reject(kafkaError(err, `create topic ${s.topic}`, { topic: s.topic }));
          },
        );
      });
    }
  } finally {
    admin.disconnect();
  }
  return created;
}
