import { recordJson, tableRowToRecord } from './records';
import type { TailRow, V2Record } from './tail-store';

/** A table row of a page: its key and its JSON text as the API sends it. */
export interface TableRow {
  ts: bigint;
  id: string;
  text: string;
}

export interface PageRow extends TableRow {
  fromTail: boolean;
}

/**
 * JSON texts sent as they are inside an answer's body (routes.ts writes them between `[` and `]`): rows formatted
 * once, straight from the hot tier's columns or from a record, instead of building objects to stringify.
 */
export class RawJsonArray {
  constructor(readonly items: readonly string[]) {}
}

/** The JSON text of an answer body whose values may include RawJsonArray: byte for byte what JSON.stringify gives. */
export function renderBody(body: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${v instanceof RawJsonArray ? `[${v.items.join(',')}]` : JSON.stringify(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** A row of SQL.trades/SQL.quotes (or the across forms) as a page row. */
export function sqlTableRow(row: Record<string, unknown>): TableRow {
  const rec = tableRowToRecord(row);
  return { ts: rec['timestamp'] as bigint, id: String(rec['message_id']), text: JSON.stringify(recordJson(rec)) };
}

/** Newest first by (timestamp, message_id): the API's one row order, total because message ids are unique. */
export function newestFirst(a: { ts: bigint; id: string }, b: { ts: bigint; id: string }): number {
  return a.ts > b.ts ? -1 : a.ts < b.ts ? 1 : a.id > b.id ? -1 : a.id < b.id ? 1 : 0;
}

/**
 * The hybrid merge of ADR 0009: the table's page and the tail rows past the snapshot, a tail row dropped when the
 * table already holds its message_id (a replay), then the top `limit`. A replayed record has the same key as its
 * table twin, so the top `limit` of the deduplicated union only ever needs the table's top `limit`. Tail rows are
 * formatted only when they make the page.
 */
export function mergePage(table: readonly TableRow[], tail: readonly TailRow[], limit: number): { page: PageRow[]; fromTable: number } {
  const seen = new Set<string>();
  const merged: Array<PageRow | (TailRow & { fromTail: true })> = [];
  for (const r of table) {
    seen.add(r.id);
    merged.push({ ...r, fromTail: false });
  }
  for (const r of tail) if (!seen.has(r.id)) merged.push({ ...r, fromTail: true });
  merged.sort(newestFirst);
  const page = merged.slice(0, limit).map((r): PageRow => (r.fromTail ? { ts: r.ts, id: r.id, text: JSON.stringify(recordJson((r as TailRow).rec)), fromTail: true } : (r as PageRow)));
  let fromTable = 0;
  for (const r of page) if (!r.fromTail) fromTable++;
  return { page, fromTable };
}

export type { V2Record };
