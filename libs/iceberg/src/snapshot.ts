import { randomUUID } from 'node:crypto';
import { ErrorCode, K2Error, type Logger } from '@k2/core';
import { retry, type RetryContext } from '@k2/resilience';
import type { Catalog, LoadedTable } from './catalog/catalog';
import type { FileIO } from './io/file-io';
import { readManifest, readManifestList, writeManifest, writeManifestList, partitionType } from './manifest';
import { currentSchema, currentSnapshot, defaultSpec, MAIN_BRANCH, newSnapshotId, type TableRequirement, type TableUpdate } from './metadata';
import type { DataFile, ManifestEntry, ManifestFile, PartitionSpec, Schema, Snapshot, SnapshotOperation, TableIdent } from './spec';
import { compareValues, serializeValue, type BoundValue } from './values';

/**
 * Snapshot producer: the optimistic commit loop of the spec ("Optimistic Concurrency"). Each attempt starts from
 * freshly loaded metadata, writes a manifest for the new files and a manifest list that reuses the parent's
 * manifests, and commits with `assert-ref-snapshot-id` on main; a lost race reloads and tries again.
 */

export interface SnapshotChanges {
  operation: SnapshotOperation;
  added: DataFile[];
  /** Paths of data files this snapshot removes (replace/overwrite/delete). */
  deleted?: ReadonlySet<string>;
  /** Extra summary properties (e.g. the Kafka offsets this commit covers). */
  summary?: Record<string, string>;
  /** Schema changes to commit atomically with the snapshot (add-schema / set-current-schema). */
  schemaUpdates?: TableUpdate[];
  /**
   * Table properties set in the same commit (a `set-properties` update). Unlike the summary they outlive the
   * snapshot: other engines' snapshots and snapshot expiry keep a table's properties.
   */
  properties?: Record<string, string>;
}

export interface CommitOptions {
  maxAttempts?: number;
  logger?: Logger;
  /** Called on each lost race before re-preparing; lets callers count CAS retries. */
  onConflict?: (attempt: number, err: K2Error) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface CommitResult {
  table: LoadedTable;
  snapshot: Snapshot;
  attempts: number;
}

/**
 * `prepare(base)` is called on every attempt with the fresh table and returns the changes to commit, or null to
 * commit nothing (e.g. everything turned out to be a duplicate after reloading).
 */
export async function commitSnapshot(
  catalog: Catalog,
  io: FileIO,
  ident: TableIdent,
  prepare: (base: LoadedTable, attempt: number) => Promise<SnapshotChanges | null>,
  opts: CommitOptions = {},
): Promise<CommitResult | null> {
  const commit = async ({ attempt }: RetryContext): Promise<CommitResult | null> => {
    const base = await catalog.loadTable(ident);
    const changes = await prepare(base, attempt);
    if (!changes) return null;
    const written: string[] = [];
    try {
      const { snapshot, updates, requirements } = await buildSnapshot(io, base, changes, written);
      const table = await catalog.commitTable(ident, requirements, updates);
      return { table, snapshot, attempts: attempt };
    } catch (e) {
      await Promise.all(written.map((p) => io.delete(p).catch(() => undefined)));
      throw e;
    }
  };
  return retry(commit, {
    maxAttempts: opts.maxAttempts ?? 20,
    // Only a lost race is retried here; anything else (storage down, bad metadata) is the caller's to handle.
    retriable: (e) => e instanceof K2Error && e.code === ErrorCode.ICEBERG_COMMIT_CONFLICT,
    // min(1000, 10·2^attempt) ms × [0.5, 1.5) as before; in Backoff's terms (delay ∈ [nominal·(1−jitter), nominal])
    // that is a nominal 30 ms doubling up to 1.5 s with jitter 2/3.
    initialMs: 30,
    factor: 2,
    maxMs: 1500,
    jitter: 2 / 3,
    onRetry: ({ error, attempt }) => {
      opts.onConflict?.(attempt, error as K2Error);
      opts.logger?.info('iceberg commit lost a race; retrying on fresh metadata', { table: ident.name, attempt });
    },
    sleep: opts.sleep,
  });
}

async function buildSnapshot(
  io: FileIO,
  base: LoadedTable,
  changes: SnapshotChanges,
  written: string[],
): Promise<{ snapshot: Snapshot; updates: TableUpdate[]; requirements: TableRequirement[] }> {
  const meta = base.metadata;
  const parent = currentSnapshot(meta);
  const snapshotId = newSnapshotId();
  const seq = meta['last-sequence-number'] + 1;
  const spec = defaultSpec(meta);
  // A schema added in the same commit is the one new files are written with.
  const added = changes.schemaUpdates?.find((u): u is Extract<TableUpdate, { action: 'add-schema' }> => u.action === 'add-schema');
  const schema = added?.schema ?? currentSchema(meta);
  const location = meta.location;
  const uuid = randomUUID();

  const parentManifests = parent ? readManifestList(await io.read(parent['manifest-list']), parent['manifest-list']) : [];
  const manifests: ManifestFile[] = [];
  let deletedFiles = 0;
  let deletedRows = 0;
  let deletedBytes = 0;
  const toDelete = changes.deleted ?? new Set<string>();
  let mIndex = 0;
  for (const m of parentManifests) {
    if (toDelete.size === 0 || m.content !== 0) {
      manifests.push(m);
      continue;
    }
    const entries = readManifest(await io.read(m['manifest-path']), m);
    const live = entries.filter((e) => e.status !== 2);
    if (!live.some((e) => toDelete.has(e['data-file']['file-path']))) {
      manifests.push(m);
      continue;
    }
    // Rewrite this manifest: removed files become DELETED in this snapshot, the rest stay EXISTING with their
    // original snapshot id and sequence numbers written out explicitly (inheritance only applies to ADDED).
    const rewritten: ManifestEntry[] = live.map((e) => {
      const gone = toDelete.has(e['data-file']['file-path']);
      if (gone) {
        deletedFiles++;
        deletedRows += e['data-file']['record-count'];
        deletedBytes += e['data-file']['file-size-in-bytes'];
      }
      return { ...e, status: gone ? 2 : 0, 'snapshot-id': gone ? snapshotId : e['snapshot-id'] };
    });
    const mPath = `${location}/metadata/${uuid}-m${mIndex++}.avro`;
    const specOf = meta['partition-specs'].find((s) => s['spec-id'] === m['partition-spec-id']) ?? spec;
    const buf = writeManifest({ schema, spec: specOf }, rewritten);
    await io.write(mPath, buf);
    written.push(mPath);
    manifests.push(manifestFileFor(mPath, buf.length, specOf, schema, rewritten, snapshotId, seq));
  }
  if (toDelete.size > 0 && deletedFiles !== toDelete.size) {
    throw new K2Error(ErrorCode.ICEBERG_COMMIT_CONFLICT, `only ${deletedFiles} of ${toDelete.size} files to replace are still live`, { retriable: true });
  }

  // Fast appends add one manifest per commit; like Java's MergeAppend (commit.manifest.min-count-to-merge, default
  // 100), once that many small data manifests of the current spec pile up they are merged into one, so planning
  // and commits do not slow down with the number of commits.
  const minToMerge = Number(meta.properties?.['commit.manifest.min-count-to-merge'] ?? 100);
  const targetManifestBytes = Number(meta.properties?.['commit.manifest.target-size-bytes'] ?? 8 * 1024 * 1024);
  const mergeable = manifests.filter((m) => m.content === 0 && m['partition-spec-id'] === spec['spec-id'] && m['manifest-length'] < targetManifestBytes);
  if (mergeable.length + 1 >= minToMerge && (meta.properties?.['commit.manifest-merge.enabled'] ?? 'true') === 'true') {
    const merged: ManifestEntry[] = [];
    for (const m of mergeable) {
      for (const e of readManifest(await io.read(m['manifest-path']), m)) {
        if (e.status === 2) continue;
        merged.push({ ...e, status: 0 });
      }
    }
    const mPath = `${location}/metadata/${uuid}-m${mIndex++}.avro`;
    const buf = writeManifest({ schema, spec }, merged);
    await io.write(mPath, buf);
    written.push(mPath);
    const keep = manifests.filter((m) => !mergeable.includes(m));
    manifests.length = 0;
    manifests.push(...keep, manifestFileFor(mPath, buf.length, spec, schema, merged, snapshotId, seq));
  }

  if (changes.added.length > 0) {
    const entries: ManifestEntry[] = changes.added.map((f) => ({ status: 1, 'snapshot-id': snapshotId, 'sequence-number': null, 'file-sequence-number': null, 'data-file': f }));
    const mPath = `${location}/metadata/${uuid}-m${mIndex++}.avro`;
    const buf = writeManifest({ schema, spec }, entries);
    await io.write(mPath, buf);
    written.push(mPath);
    manifests.unshift(manifestFileFor(mPath, buf.length, spec, schema, entries, snapshotId, seq));
  }

  const listPath = `${location}/metadata/snap-${snapshotId}-1-${uuid}.avro`;
  await io.write(listPath, writeManifestList({ snapshotId, parentSnapshotId: parent?.['snapshot-id'] ?? null, sequenceNumber: seq }, manifests));
  written.push(listPath);

  const addedRows = changes.added.reduce((s, f) => s + f['record-count'], 0);
  const addedBytes = changes.added.reduce((s, f) => s + f['file-size-in-bytes'], 0);
  const ps: Record<string, string> = parent?.summary ?? {};
  const total = (k: string) => Number(ps[k] ?? 0);
  const summary: Snapshot['summary'] = {
    operation: changes.operation,
    'added-data-files': String(changes.added.length),
    'added-records': String(addedRows),
    'added-files-size': String(addedBytes),
    'changed-partition-count': String(new Set(changes.added.map((f) => JSON.stringify(f.partition))).size),
    'total-data-files': String(total('total-data-files') + changes.added.length - deletedFiles),
    'total-records': String(total('total-records') + addedRows - deletedRows),
    'total-files-size': String(total('total-files-size') + addedBytes - deletedBytes),
    'total-delete-files': '0',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
    ...(deletedFiles ? { 'deleted-data-files': String(deletedFiles), 'deleted-records': String(deletedRows), 'removed-files-size': String(deletedBytes) } : {}),
    ...(changes.summary ?? {}),
  };
  const snapshot: Snapshot = {
    'snapshot-id': snapshotId,
    ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
    'sequence-number': seq,
    'timestamp-ms': Math.max(Date.now(), meta['last-updated-ms']),
    'manifest-list': listPath,
    summary,
    'schema-id': schema['schema-id'],
  };
  const requirements: TableRequirement[] = [
    { type: 'assert-table-uuid', uuid: meta['table-uuid'] },
    { type: 'assert-ref-snapshot-id', ref: MAIN_BRANCH, 'snapshot-id': parent?.['snapshot-id'] ?? null },
  ];
  if (changes.schemaUpdates?.length) {
    requirements.push({ type: 'assert-current-schema-id', 'current-schema-id': meta['current-schema-id'] });
    requirements.push({ type: 'assert-last-assigned-field-id', 'last-assigned-field-id': meta['last-column-id'] });
  }
  const updates: TableUpdate[] = [
    ...(changes.schemaUpdates ?? []),
    ...(changes.properties && Object.keys(changes.properties).length ? [{ action: 'set-properties' as const, updates: changes.properties }] : []),
    { action: 'add-snapshot', snapshot },
    { action: 'set-snapshot-ref', 'ref-name': MAIN_BRANCH, type: 'branch', 'snapshot-id': snapshotId },
  ];
  return { snapshot, updates, requirements };
}

function manifestFileFor(
  manifestPath: string,
  length: number,
  spec: PartitionSpec,
  schema: Schema,
  entries: readonly ManifestEntry[],
  snapshotId: number,
  seq: number,
): ManifestFile {
  const count = (status: number) => entries.filter((e) => e.status === status);
  const rows = (es: ManifestEntry[]) => es.reduce((s, e) => s + e['data-file']['record-count'], 0);
  const added = count(1);
  const existing = count(0);
  const deleted = count(2);
  const seqs = entries.map((e) => (e.status === 1 ? seq : (e['sequence-number'] ?? seq)));
  return {
    'manifest-path': manifestPath,
    'manifest-length': length,
    'partition-spec-id': spec['spec-id'],
    content: 0,
    'sequence-number': seq,
    'min-sequence-number': seqs.length ? Math.min(...seqs) : seq,
    'added-snapshot-id': snapshotId,
    'added-files-count': added.length,
    'existing-files-count': existing.length,
    'deleted-files-count': deleted.length,
    'added-rows-count': rows(added),
    'existing-rows-count': rows(existing),
    'deleted-rows-count': rows(deleted),
    partitions: partitionSummaries(spec, schema, entries),
  };
}

/** Per partition field: null presence and bounds over every file in the manifest (manifest-level pruning). */
function partitionSummaries(spec: PartitionSpec, schema: Schema, entries: readonly ManifestEntry[]): ManifestFile['partitions'] {
  const pt = partitionType(spec, schema);
  return pt.map((p) => {
    let containsNull = false;
    let lo: BoundValue | undefined;
    let hi: BoundValue | undefined;
    for (const e of entries) {
      const v = e['data-file'].partition[p.name];
      if (v === null || v === undefined) {
        containsNull = true;
        continue;
      }
      const bv = v as BoundValue;
      if (lo === undefined || compareValues(bv, lo) < 0) lo = bv;
      if (hi === undefined || compareValues(bv, hi) > 0) hi = bv;
    }
    return {
      'contains-null': containsNull,
      'contains-nan': false,
      'lower-bound': lo === undefined ? null : serializeValue(p.type, lo),
      'upper-bound': hi === undefined ? null : serializeValue(p.type, hi),
    };
  });
}

/** Every live data file of the current snapshot (or of `snapshot`), with its manifest row. */
export async function liveDataFiles(io: FileIO, table: LoadedTable, snapshot = currentSnapshot(table.metadata)): Promise<Array<ManifestEntry & { manifest: ManifestFile }>> {
  if (!snapshot) return [];
  const out: Array<ManifestEntry & { manifest: ManifestFile }> = [];
  for (const m of readManifestList(await io.read(snapshot['manifest-list']), snapshot['manifest-list'])) {
    if (m.content !== 0) continue;
    for (const e of readManifest(await io.read(m['manifest-path']), m)) if (e.status !== 2) out.push({ ...e, manifest: m });
  }
  return out;
}
