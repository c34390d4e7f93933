import Kafka from 'node-rdkafka';
import { uniqueSuffix } from './infra';

/**
 * Benchmarks and tests put their records in scratch topics whose exchange segment starts with `k2bench` or
 * `k2test` (e.g. `market.crypto.trades.k2benchmh3x9q1`). The platform's subscription lists (PLATFORM_DATA_TOPICS,
 * WRITER_TOPICS, QUERY_TAIL_TOPICS) name their topics explicitly and never contain one, and whoever creates a
 * scratch topic deletes it when done (removeScratchTopics), so a user's `npm start` never sees bench or test data.
 */
export const SCRATCH_PREFIXES = ['k2bench', 'k2test'] as const;
export type ScratchKind = 'bench' | 'test';

/** A fresh exchange name for scratch topics: `k2<kind><label><unique>` (lowercase, <= 32 chars). */
export function scratchExchange(kind: ScratchKind, label = ''): string {
  const name = `k2${kind}${label}${uniqueSuffix()}`.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (name.length > 32) throw new Error(`scratch exchange ${name} is longer than 32 characters; shorten the label`);
  return name;
}

/** True for a scratch topic (or its `.dlq`): its fourth segment starts with a scratch prefix. */
export function isScratchTopic(topic: string): boolean {
  const exchange = topic.split('.')[3] ?? '';
  return SCRATCH_PREFIXES.some((p) => exchange.startsWith(p));
}

function admin(brokers: string): Kafka.IAdminClient {
  return Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': `k2-scratch-${process.pid}` });
}

/** Every topic name in the broker (internal ones included). */
export async function listTopics(brokers: string): Promise<string[]> {
  const p = new Kafka.Producer({ 'metadata.broker.list': brokers, 'client.id': `k2-topics-${process.pid}` });
  await new Promise<void>((res, rej) => p.connect({ timeout: 15000 }, (e) => (e ? rej(e) : res())));
  try {
    const meta = await new Promise<Kafka.Metadata>((res, rej) => p.getMetadata({ timeout: 15000 }, (e, m) => (e ? rej(e) : res(m))));
    return meta.topics.map((t) => t.name);
  } finally {
    await new Promise<void>((res) => p.disconnect(() => res()));
  }
}

async function deleteTopic(client: Kafka.IAdminClient, topic: string): Promise<boolean> {
  return new Promise((resolve, reject) =>
    client.deleteTopic(topic, 15000, (err) => {
      if (!err) resolve(true);
      else if (err.code === Kafka.CODES.ERRORS.ERR_UNKNOWN_TOPIC_OR_PART) resolve(false);
      else reject(new Error(`delete topic ${topic}: ${err.message}`));
    }),
  );
}

/** Soft then hard delete of a value subject; a missing subject is fine. */
async function deleteSubject(registryUrl: string, subject: string): Promise<void> {
  for (const q of ['', '?permanent=true']) {
    const res = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}${q}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
    if (!res.ok && res.status !== 404) throw new Error(`delete subject ${subject}: HTTP ${res.status}`);
  }
}

/**
 * Deletes scratch topics, their `.dlq` topics and their `<topic>-value` subjects (whatever of that exists). Refuses
 * any topic that is not a scratch topic, so a bench can never delete the platform's. Returns the topics deleted.
 */
export async function removeScratchTopics(brokers: string, registryUrl: string | undefined, topics: readonly string[]): Promise<string[]> {
  const foreign = topics.filter((t) => !isScratchTopic(t));
  if (foreign.length) throw new Error(`refusing to delete topics that are not scratch topics: ${foreign.join(',')}`);
  const all = [...new Set(topics.flatMap((t) => (t.endsWith('.dlq') ? [t] : [t, `${t}.dlq`])))];
  const client = admin(brokers);
  const deleted: string[] = [];
  try {
    for (const t of all) if (await deleteTopic(client, t)) deleted.push(t);
  } finally {
    client.disconnect();
  }
  if (registryUrl) for (const t of all) await deleteSubject(registryUrl, `${t}-value`);
  return deleted;
}
