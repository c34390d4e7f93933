import { ErrorCode } from '@k2/core';
import { ancestors, currentSnapshot, type Snapshot, type TableMetadata } from '@k2/iceberg';
import { isoFromMicros } from '@k2/schema';
import { QueryRejectedError } from './admission';
import { encodeSnapshotsCursor, type AsOf, type SnapshotsRequest } from './params';
import type { Answer, Provenance } from './query-service';
import type { TableState, TableView } from './table-view';

/**
 * Time travel (issue 16 part 3): `as_of=<snapshot id | RFC 3339 time>` pins a read to one retained Iceberg
 * snapshot. Snapshots and the data files they reference are immutable, so the same `as_of` gives the same answer
 * whatever is committed or compacted later, until snapshot expiry (`iceberg-writer maintain`) removes the snapshot.
 */

/**
 * What `iceberg-writer maintain` keeps by default (libs/lake-sink maintenance.ts, expireSnapshots): snapshots younger
 * than 5 days, and always the newest 10 of the main branch. Orphan cleanup then deletes the expired snapshots' files
 * (unreferenced and older than 3 days).
 */
export const SNAPSHOT_RETENTION = { maxAgeDays: 5, minSnapshots: 10 } as const;

/** 404 (the table never had this snapshot) or 410 (expired): `{ error: { code, parameter: 'as_of', message } }`. */
export class SnapshotUnavailableError extends QueryRejectedError {
  constructor(code: typeof ErrorCode.QUERY_SNAPSHOT_NOT_FOUND | typeof ErrorCode.QUERY_SNAPSHOT_EXPIRED, message: string) {
    super(code, message, code === ErrorCode.QUERY_SNAPSHOT_EXPIRED ? 410 : 404, 'as_of');
  }
}

/** A resolved `as_of`: the state to read, and what the answer says about it. */
export interface AsOfRead {
  /** The `as_of` value as sent, echoed in `meta.as_of`. */
  requested: string;
  state: TableState;
  /** Undefined when the time precedes the table's first snapshot (an empty answer). */
  snapshot: Snapshot | undefined;
  /** The instant the answer describes (the time given, or the snapshot's commit time): windows default to end here. */
  instantUs: bigint;
}

/**
 * Resolves `asOf` against the view's latest metadata (undefined → undefined: a live read). An id must name a
 * retained snapshot; a time takes the snapshot that was current then (the `snapshot-log` of the main branch, as
 * Iceberg's "as of timestamp" reads do). Throws SnapshotUnavailableError: 404 unknown id, 410 expired.
 */
export function resolveAsOf(view: TableView, asOf: AsOf | undefined): AsOfRead | undefined {
  if (asOf === undefined) return undefined;
  const meta = view.state.table?.metadata;
  const table = view.kind;
  if ('snapshotId' in asOf) {
    const s = (meta?.snapshots ?? []).find((x) => String(x['snapshot-id']) === asOf.snapshotId);
    if (s) return { requested: asOf.raw, state: view.at(s), snapshot: s, instantUs: BigInt(s['timestamp-ms']) * 1000n };
    if (meta && !historyComplete(meta)) throw expired(table, meta, `snapshot ${asOf.snapshotId} is not retained`);
    throw new SnapshotUnavailableError(ErrorCode.QUERY_SNAPSHOT_NOT_FOUND, `the ${table} table has no snapshot ${asOf.snapshotId}; GET /v1/snapshots?table=${table} lists the retained ones`);
  }
  const s = meta ? snapshotAt(meta, Number(asOf.timeUs / 1000n)) : undefined;
  if (s) return { requested: asOf.raw, state: view.at(s), snapshot: s, instantUs: asOf.timeUs };
  // Nothing at or before the time: either the table had no commit yet (an empty answer, stable forever) or the
  // snapshot current then has been expired.
  if (meta && !historyComplete(meta)) throw expired(table, meta, `${isoFromMicros(asOf.timeUs)} is before the oldest retained snapshot`);
  return { requested: asOf.raw, state: view.empty(), snapshot: undefined, instantUs: asOf.timeUs };
}

/** The main branch's snapshot current at `ms`: the last snapshot-log entry at or before it (ancestors when no log). */
export function snapshotAt(meta: TableMetadata, ms: number): Snapshot | undefined {
  const byId = new Map((meta.snapshots ?? []).map((s) => [String(s['snapshot-id']), s]));
  const log = (meta['snapshot-log'] ?? []).filter((e) => byId.has(String(e['snapshot-id'])));
  if (log.length > 0) {
    let found: Snapshot | undefined;
    for (const e of log) if (e['timestamp-ms'] <= ms) found = byId.get(String(e['snapshot-id']));
    return found;
  }
  for (const s of ancestors(meta)) if (s['timestamp-ms'] <= ms) return s;
  return undefined;
}

/** True while no snapshot has been expired: the oldest retained one has no parent. */
export function historyComplete(meta: TableMetadata): boolean {
  const oldest = oldestSnapshot(meta);
  if (!oldest) return true;
  const parent = oldest['parent-snapshot-id'];
  return parent === undefined || parent === null || parent === -1 || parent === -1n;
}

function oldestSnapshot(meta: TableMetadata): Snapshot | undefined {
  let oldest: Snapshot | undefined;
  for (const s of meta.snapshots ?? []) if (!oldest || s['sequence-number'] < oldest['sequence-number']) oldest = s;
  return oldest;
}

function expired(table: string, meta: TableMetadata, what: string): SnapshotUnavailableError {
  const o = oldestSnapshot(meta);
  const oldest = o ? `snapshot ${String(o['snapshot-id'])} at ${isoMs(o['timestamp-ms'])}` : 'none';
  return new SnapshotUnavailableError(
    ErrorCode.QUERY_SNAPSHOT_EXPIRED,
    `${what}: snapshot expiry (iceberg-writer maintain) keeps ${SNAPSHOT_RETENTION.maxAgeDays} days and at least the newest ` +
      `${SNAPSHOT_RETENTION.minSnapshots} snapshots of the ${table} table; the oldest retained is ${oldest} (GET /v1/snapshots?table=${table})`,
  );
}

/** Provenance of a time-travel answer: the snapshot read, no tail, nothing taken from the wall clock. */
export function historicalProvenance(at: AsOfRead): Provenance {
  const snapshotId = at.state.snapshotId === undefined ? null : String(at.state.snapshotId);
  const snapshotTime = at.snapshot ? isoMs(at.snapshot['timestamp-ms']) : null;
  return { snapshotId, icebergRows: 0, tailRows: 0, tail: false, degraded: [], asOf: { requested: at.requested, snapshotTime } };
}

const isoMs = (ms: number): string => isoFromMicros(BigInt(ms) * 1000n);

/** One entry of GET /v1/snapshots. */
export interface SnapshotJson {
  snapshot_id: string;
  parent_id: string | null;
  sequence_number: number;
  time: string;
  operation: string;
  current: boolean;
  /** The summary as committed, every value a string (K2's `k2.kafka.offsets.<group>` is its JSON text). */
  summary: Record<string, string>;
}

/** The retained snapshots of the view's table, newest first (by sequence number), one page, with the retention facts. */
export function listSnapshots(view: TableView, req: Pick<SnapshotsRequest, 'limit' | 'beforeSequence'>): Answer<Record<string, unknown>> {
  const state = view.state;
  const meta = state.table?.metadata;
  const current = meta ? currentSnapshot(meta) : undefined;
  const all = [...(meta?.snapshots ?? [])].sort((a, b) => b['sequence-number'] - a['sequence-number']);
  const before = req.beforeSequence;
  const from = before === undefined ? all : all.filter((s) => s['sequence-number'] < before);
  const page = from.slice(0, req.limit);
  const oldest = meta ? oldestSnapshot(meta) : undefined;
  const last = page[page.length - 1];
  return {
    body: {
      table: view.kind,
      current_snapshot_id: current ? String(current['snapshot-id']) : null,
      retained: all.length,
      oldest_retained: oldest ? { snapshot_id: String(oldest['snapshot-id']), time: isoMs(oldest['timestamp-ms']) } : null,
      history_complete: meta ? historyComplete(meta) : true,
      retention: { max_age_days: SNAPSHOT_RETENTION.maxAgeDays, min_snapshots: SNAPSHOT_RETENTION.minSnapshots },
      data: page.map((s) => snapshotJson(s, current)),
      next_cursor: from.length > page.length && last ? encodeSnapshotsCursor(last['sequence-number']) : null,
    },
    provenance: { snapshotId: current ? String(current['snapshot-id']) : null, icebergRows: 0, tailRows: 0, tail: false, degraded: [] },
  };
}

function snapshotJson(s: Snapshot, current: Snapshot | undefined): SnapshotJson {
  const parent = s['parent-snapshot-id'];
  const summary: Record<string, string> = {};
  for (const k of Object.keys(s.summary).sort()) summary[k] = String(s.summary[k]);
  return {
    snapshot_id: String(s['snapshot-id']),
    parent_id: parent === undefined || parent === null ? null : String(parent),
    sequence_number: s['sequence-number'],
    time: isoMs(s['timestamp-ms']),
    operation: s.summary.operation,
    current: current !== undefined && String(current['snapshot-id']) === String(s['snapshot-id']),
    summary,
  };
}
