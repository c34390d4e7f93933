import { ancestors, parseIcebergJson, type Snapshot, type TableMetadata } from '@k2/iceberg';

/**
 * Exactly-once bookkeeping: every commit stores, in its snapshot summary, the next Kafka offset of each
 * topic-partition the writer's consumer group has landed in this table. The map is cumulative (merged with the
 * parent's), so the current snapshot alone answers "where do I resume?", and offsets never move backwards even
 * when a writer that lost a partition in a rebalance commits late.
 */
export const OFFSETS_PREFIX = 'k2.kafka.offsets.';

export const offsetsKey = (groupId: string): string => `${OFFSETS_PREFIX}${groupId}`;
export const tpKey = (topic: string, partition: number): string => `${topic}/${partition}`;

/** Inverse of tpKey (topic names never contain '/'). */
export function parseTpKey(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf('/');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

export type OffsetMap = Map<string, number>;

export function parseOffsets(summary: Snapshot['summary'] | Readonly<Record<string, string>> | undefined, groupId: string): OffsetMap | undefined {
  const raw = summary?.[offsetsKey(groupId)];
  if (raw === undefined) return undefined;
  const obj = parseIcebergJson<Record<string, number>>(raw);
  return new Map(Object.entries(obj).map(([k, v]) => [k, Number(v)]));
}

/**
 * Offsets of the newest snapshot in the current lineage that has them (maintenance snapshots may not carry the map),
 * else the table property the writer sets in the same commit. The property matters once no retained ancestor is a
 * writer's: another engine's compaction (Spark's rewrite_data_files writes a `replace` snapshot with its own summary)
 * followed by expiry down to that one snapshot (expire_snapshots retain_last => 1) leaves no summary to read, and an
 * empty map would make a restarted writer re-read its topics from the start and the query-api's hybrid read merge the
 * whole Kafka tail again (issue 19). Summaries stay first: after a rollback the property may be ahead of the lineage.
 */
export function tableOffsets(meta: TableMetadata, groupId: string): OffsetMap {
  return lineageOffsets(meta, groupId) ?? parseOffsets(meta.properties, groupId) ?? new Map();
}

/**
 * Offsets of the newest snapshot in the current snapshot's lineage that carries them, without the property: what a
 * historical snapshot knew (the property is the table's newest map, ahead of any older snapshot).
 */
export function lineageOffsets(meta: TableMetadata, groupId: string): OffsetMap | undefined {
  for (const s of ancestors(meta)) {
    const m = parseOffsets(s.summary, groupId);
    if (m) return m;
  }
  return undefined;
}

export function mergeOffsets(parent: OffsetMap, mine: OffsetMap): OffsetMap {
  const out = new Map(parent);
  for (const [k, v] of mine) out.set(k, Math.max(v, out.get(k) ?? -1));
  return out;
}

export function serializeOffsets(m: OffsetMap): string {
  return JSON.stringify(Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}
