import { randomUUID } from 'node:crypto';
import { ErrorCode, FatalError, TransientError } from '@k2/core';
import type { IcebergType, Long, NestedField, PartitionSpec, Schema, Snapshot, SortOrder, TableMetadata } from './spec';

/**
 * Table requirements and updates in the REST catalog's JSON shapes (rest-catalog-open-api.yaml, TableRequirement
 * and TableUpdate). The REST catalog sends them as they are; the SQL catalog checks and applies them locally with
 * `checkRequirements` / `applyUpdates`, so both catalogs commit the same way.
 */
export type TableRequirement =
  | { type: 'assert-create' }
  | { type: 'assert-table-uuid'; uuid: string }
  | { type: 'assert-ref-snapshot-id'; ref: string; 'snapshot-id': Long | null }
  | { type: 'assert-current-schema-id'; 'current-schema-id': number }
  | { type: 'assert-last-assigned-field-id'; 'last-assigned-field-id': number }
  | { type: 'assert-default-spec-id'; 'default-spec-id': number };

export type TableUpdate =
  | { action: 'add-schema'; schema: Schema; 'last-column-id'?: number }
  | { action: 'set-current-schema'; 'schema-id': number }
  | { action: 'add-snapshot'; snapshot: Snapshot }
  | { action: 'set-snapshot-ref'; 'ref-name': string; type: 'branch' | 'tag'; 'snapshot-id': Long }
  | { action: 'remove-snapshots'; 'snapshot-ids': Long[] }
  | { action: 'set-properties'; updates: Record<string, string> }
  | { action: 'remove-properties'; removals: string[] };

export const MAIN_BRANCH = 'main';

export function maxFieldId(t: IcebergType | NestedField[]): number {
  if (Array.isArray(t)) return t.reduce((m, f) => Math.max(m, f.id, maxFieldId(f.type)), 0);
  if (typeof t === 'string') return 0;
  switch (t.type) {
    case 'struct':
      return maxFieldId(t.fields);
    case 'list':
      return Math.max(t['element-id'], maxFieldId(t.element));
    case 'map':
      return Math.max(t['key-id'], t['value-id'], maxFieldId(t.key), maxFieldId(t.value));
  }
}

export interface NewTable {
  location: string;
  schema: Schema;
  spec: PartitionSpec;
  sortOrder: SortOrder;
  properties?: Record<string, string>;
  nowMs?: number;
}

export function newTableMetadata(t: NewTable): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location: t.location.replace(/\/+$/, ''),
    'last-sequence-number': 0,
    'last-updated-ms': t.nowMs ?? Date.now(),
    'last-column-id': maxFieldId(t.schema.fields),
    'current-schema-id': t.schema['schema-id'],
    schemas: [t.schema],
    'default-spec-id': t.spec['spec-id'],
    'partition-specs': [t.spec],
    'last-partition-id': t.spec.fields.reduce((m, f) => Math.max(m, f['field-id']), 999),
    'default-sort-order-id': t.sortOrder['order-id'],
    'sort-orders': [t.sortOrder],
    properties: { ...(t.properties ?? {}) },
    'current-snapshot-id': null,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
  };
}

export function currentSchema(m: TableMetadata): Schema {
  const s = m.schemas.find((x) => x['schema-id'] === m['current-schema-id']);
  if (!s) throw new FatalError(ErrorCode.ICEBERG_INVALID, `table ${m.location}: current schema ${m['current-schema-id']} is missing`);
  return s;
}

export function defaultSpec(m: TableMetadata): PartitionSpec {
  const s = m['partition-specs'].find((x) => x['spec-id'] === m['default-spec-id']);
  if (!s) throw new FatalError(ErrorCode.ICEBERG_INVALID, `table ${m.location}: default spec ${m['default-spec-id']} is missing`);
  return s;
}

/** Snapshot the `main` branch points at (refs win over the legacy current-snapshot-id field). */
export function currentSnapshot(m: TableMetadata): Snapshot | undefined {
  const id = m.refs?.[MAIN_BRANCH]?.['snapshot-id'] ?? m['current-snapshot-id'] ?? undefined;
  if (id === undefined || id === null || id === -1 || id === -1n) return undefined;
  return m.snapshots?.find((s) => s['snapshot-id'] === id);
}

export function snapshotById(m: TableMetadata, id: Long): Snapshot | undefined {
  return m.snapshots?.find((s) => s['snapshot-id'] === id);
}

/** Current snapshot, then its parents, newest first (stops where expired history ends). */
export function* ancestors(m: TableMetadata, from = currentSnapshot(m)): Generator<Snapshot> {
  const byId = new Map((m.snapshots ?? []).map((s) => [s['snapshot-id'], s]));
  let s = from;
  while (s) {
    yield s;
    const parent = s['parent-snapshot-id'];
    s = parent === undefined || parent === null ? undefined : byId.get(parent);
  }
}

/** A conflict means "someone else committed first": retriable after reloading the table. */
export function commitConflict(message: string): TransientError {
  return new TransientError(ErrorCode.ICEBERG_COMMIT_CONFLICT, message);
}

export function checkRequirements(m: TableMetadata | undefined, reqs: readonly TableRequirement[]): void {
  for (const r of reqs) {
    switch (r.type) {
      case 'assert-create':
        if (m) throw commitConflict('requirement failed: table already exists');
        break;
      case 'assert-table-uuid':
        if (!m || m['table-uuid'] !== r.uuid) throw commitConflict(`requirement failed: table uuid is not ${r.uuid}`);
        break;
      case 'assert-ref-snapshot-id': {
        const cur = m?.refs?.[r.ref]?.['snapshot-id'] ?? (r.ref === MAIN_BRANCH ? (m?.['current-snapshot-id'] ?? null) : null);
        const curN = cur === -1 || cur === -1n ? null : cur;
        if (curN !== r['snapshot-id']) throw commitConflict(`requirement failed: ref ${r.ref} is at ${curN}, expected ${r['snapshot-id']}`);
        break;
      }
      case 'assert-current-schema-id':
        if (m?.['current-schema-id'] !== r['current-schema-id']) throw commitConflict(`requirement failed: current schema changed`);
        break;
      case 'assert-last-assigned-field-id':
        if (m?.['last-column-id'] !== r['last-assigned-field-id']) throw commitConflict(`requirement failed: last column id changed`);
        break;
      case 'assert-default-spec-id':
        if (m?.['default-spec-id'] !== r['default-spec-id']) throw commitConflict(`requirement failed: default spec changed`);
        break;
    }
  }
}

/** Applies REST-style updates to a copy of `base` (spec: "Table Metadata" rules for sequence numbers and logs). */
export function applyUpdates(base: TableMetadata, updates: readonly TableUpdate[], nowMs = Date.now()): TableMetadata {
  const m: TableMetadata = structuredClone(base);
  m.snapshots ??= [];
  m['snapshot-log'] ??= [];
  m.refs ??= {};
  m.properties ??= {};
  for (const u of updates) {
    switch (u.action) {
      case 'add-schema': {
        if (m.schemas.some((s) => s['schema-id'] === u.schema['schema-id'])) {
          throw new FatalError(ErrorCode.ICEBERG_INVALID, `schema id ${u.schema['schema-id']} already exists`);
        }
        m.schemas.push(u.schema);
        m['last-column-id'] = Math.max(m['last-column-id'], u['last-column-id'] ?? 0, maxFieldId(u.schema.fields));
        break;
      }
      case 'set-current-schema': {
        const id = u['schema-id'] === -1 ? m.schemas[m.schemas.length - 1]['schema-id'] : u['schema-id'];
        if (!m.schemas.some((s) => s['schema-id'] === id)) throw new FatalError(ErrorCode.ICEBERG_INVALID, `unknown schema id ${id}`);
        m['current-schema-id'] = id;
        break;
      }
      case 'add-snapshot': {
        const s = u.snapshot;
        if (m.snapshots.some((x) => x['snapshot-id'] === s['snapshot-id'])) throw commitConflict(`snapshot ${s['snapshot-id']} already exists`);
        if (s['sequence-number'] <= m['last-sequence-number']) {
          throw commitConflict(`snapshot sequence number ${s['sequence-number']} is not above ${m['last-sequence-number']}`);
        }
        m.snapshots.push(s);
        m['last-sequence-number'] = s['sequence-number'];
        break;
      }
      case 'set-snapshot-ref': {
        const s = m.snapshots.find((x) => x['snapshot-id'] === u['snapshot-id']);
        if (!s) throw new FatalError(ErrorCode.ICEBERG_INVALID, `ref ${u['ref-name']} points at unknown snapshot ${u['snapshot-id']}`);
        m.refs[u['ref-name']] = { 'snapshot-id': u['snapshot-id'], type: u.type };
        if (u['ref-name'] === MAIN_BRANCH) {
          m['current-snapshot-id'] = u['snapshot-id'];
          m['snapshot-log'].push({ 'snapshot-id': u['snapshot-id'], 'timestamp-ms': s['timestamp-ms'] });
        }
        break;
      }
      case 'remove-snapshots': {
        const drop = new Set(u['snapshot-ids']);
        m.snapshots = m.snapshots.filter((s) => !drop.has(s['snapshot-id']));
        m['snapshot-log'] = m['snapshot-log'].filter((e) => !drop.has(e['snapshot-id']));
        for (const [name, ref] of Object.entries(m.refs)) if (drop.has(ref['snapshot-id'])) delete m.refs[name];
        break;
      }
      case 'set-properties':
        Object.assign(m.properties, u.updates);
        break;
      case 'remove-properties':
        for (const k of u.removals) delete m.properties[k];
        break;
    }
  }
  m['last-updated-ms'] = Math.max(nowMs, base['last-updated-ms']);
  return m;
}

/** `<location>/metadata/00001-<uuid>.metadata.json`, the Java and PyIceberg naming; the number is the version. */
export function nextMetadataLocation(m: TableMetadata, previous: string | undefined): string {
  const prev = previous ? /\/(\d+)-[^/]+\.metadata\.json$/.exec(previous) : null;
  const version = prev ? Number(prev[1]) + 1 : 0;
  return `${m.location}/metadata/${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`;
}

/**
 * Adds the previous metadata file to `metadata-log` and trims it to `write.metadata.previous-versions-max`
 * (default 100, as in Java), so metadata files do not grow without bound.
 */
export function withMetadataLog(m: TableMetadata, previousLocation: string | undefined, previousUpdatedMs: number): TableMetadata {
  if (!previousLocation) return m;
  const max = Number(m.properties?.['write.metadata.previous-versions-max'] ?? 100);
  const log = [...(m['metadata-log'] ?? []), { 'metadata-file': previousLocation, 'timestamp-ms': previousUpdatedMs }];
  return { ...m, 'metadata-log': log.slice(Math.max(0, log.length - max)) };
}

/** Snapshot ids are positive longs; we keep them below 2^53 so JSON numbers survive every parser unrounded. */
export function newSnapshotId(): number {
  const hi = Math.floor(Math.random() * 2 ** 21);
  const lo = Math.floor(Math.random() * 2 ** 32);
  return hi * 2 ** 32 + lo || 1;
}
