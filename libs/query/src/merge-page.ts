import type { TailRow, V2Record } from './tail-store';

export interface PageRow {
  rec: V2Record;
  ts: bigint;
  id: string;
  fromTail: boolean;
}

/** Newest first by (timestamp, message_id): the API's one row order, total because message ids are unique. */
export function newestFirst(a: { ts: bigint; id: string }, b: { ts: bigint; id: string }): number {
  return a.ts > b.ts ? -1 : a.ts < b.ts ? 1 : a.id > b.id ? -1 : a.id < b.id ? 1 : 0;
}

/**
 * The hybrid merge of ADR 0009: the table's page and the tail rows past the snapshot, a tail row dropped when the
 * table already holds its message_id (a replay), then the top `limit`. A replayed record has the same key as its
 * table twin, so the top `limit` of the deduplicated union only ever needs the table's top `limit`.
 */
export function mergePage(table: readonly V2Record[], tail: readonly TailRow[], limit: number): { page: PageRow[]; fromTable: number } {
  const seen = new Set<string>();
  const merged: PageRow[] = [];
  for (const rec of table) {
    const id = String(rec['message_id']);
    seen.add(id);
    merged.push({ rec, ts: rec['timestamp'] as bigint, id, fromTail: false });
  }
  for (const r of tail) if (!seen.has(r.id)) merged.push({ rec: r.rec, ts: r.ts, id: r.id, fromTail: true });
  merged.sort(newestFirst);
  const page = merged.slice(0, limit);
  let fromTable = 0;
  for (const r of page) if (!r.fromTail) fromTable++;
  return { page, fromTable };
}
