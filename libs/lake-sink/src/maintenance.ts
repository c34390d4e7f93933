import fs from 'node:fs/promises';
import { ErrorCode, FatalError, toK2Error, type Logger } from '@k2/core';
import {
  ancestors,
  commitSnapshot,
  currentSchema,
  currentSnapshot,
  defaultSpec,
  partitionPathSegment,
  partitionType,
  readManifest,
  readManifestList,
  liveDataFiles,
  type Catalog,
  type DataFile,
  type FileIO,
  type LoadedTable,
  type Long,
  type ParquetWriter,
  type TableIdent,
  storeDataFile,
  ConfinedFileIO,
  isStoreRoot,
  isStrictlyWithin,
  tableFileIO,
} from '@k2/iceberg';
import { registryCounter } from '@k2/runtime';
import type { Registry } from 'prom-client';
import { OFFSETS_PREFIX } from '@k2/lake';

/**
 * Table maintenance, run as `iceberg-writer maintain` (a Kubernetes CronJob):
 *  1. compaction — per partition, small files are rewritten into target-size files in one `replace` snapshot
 *     (rows unchanged; the Kafka offsets map is carried over so exactly-once resumes still find it);
 *  2. snapshot expiry — snapshots older than the retention that are not among the newest `retainLast` go;
 *  3. orphan cleanup — files under the table's `data/` and `metadata/` that no retained snapshot or metadata file
 *     references and that are older than `orphanOlderThanMs` (so a commit in flight is never touched) are deleted.
 *
 * A table is maintained only when its location lies strictly under the configured warehouse root, and all its file
 * access is confined to that location (issue 18: a table whose metadata names a bucket root, another tool's prefix or
 * `file:///…` would otherwise have unrelated objects read, rewritten or deleted). A refused table is logged and
 * counted; the other tables are still maintained and the run fails at the end.
 */
export interface MaintenanceOptions {
  catalog: Catalog;
  io: FileIO;
  parquet: ParquetWriter;
  namespace: string[];
  /** The configured warehouse root (ICEBERG_WAREHOUSE). Without it (a REST catalog with no hint) no table is maintained. */
  warehouse?: string;
  logger: Logger;
  registry?: Registry;
  tables?: string[];
  targetFileBytes?: number;
  /** Files below this size are compaction candidates (default 3/4 of the target). */
  smallFileBytes?: number;
  expireOlderThanMs?: number;
  retainLast?: number;
  orphanOlderThanMs?: number;
  now?: () => number;
}

export interface TableMaintenanceReport {
  table: string;
  compactedPartitions: number;
  filesBefore: number;
  filesAfter: number;
  rowsBefore: number;
  rowsAfter: number;
  snapshotsExpired: number;
  orphansDeleted: number;
}

export async function runMaintenance(o: MaintenanceOptions): Promise<TableMaintenanceReport[]> {
  const idents = o.tables ? o.tables.map((name) => ({ namespace: o.namespace, name })) : await o.catalog.listTables(o.namespace);
  const runs = o.registry ? registryCounter(o.registry, 'k2_writer_maintenance_runs_total', 'Table maintenance runs', ['table', 'result']) : undefined;
  const reports: TableMaintenanceReport[] = [];
  let failed: unknown;
  for (const ident of idents) {
    try {
      const r = await maintainTable(o, ident);
      reports.push(r);
      runs?.inc({ table: ident.name, result: 'ok' });
      o.logger.info('table maintained', { ...r });
    } catch (e) {
      runs?.inc({ table: ident.name, result: 'error' });
      o.logger.error('table maintenance failed', { table: ident.name, error: toK2Error(e).toJSON() });
      failed ??= e;
    }
  }
  if (failed !== undefined) throw failed;
  return reports;
}

/**
 * Throws unless `location` is strictly under `warehouse` and not a filesystem or bucket root: maintenance rewrites
 * and deletes files there.
 */
export function assertMaintainable(location: string, warehouse: string | undefined): void {
  const refuse = (why: string) => new FatalError(ErrorCode.STORAGE_REJECTED, `maintenance refused for table location ${location}: ${why}`, { context: { location, warehouse } });
  if (warehouse === undefined) throw refuse('no warehouse root is configured (ICEBERG_WAREHOUSE)');
  if (isStoreRoot(location)) throw refuse('it is a filesystem or bucket root');
  if (!isStrictlyWithin(location, warehouse)) throw refuse(`it is not strictly under the warehouse root ${warehouse}`);
}

async function maintainTable(opts: MaintenanceOptions, ident: TableIdent): Promise<TableMaintenanceReport> {
  const loaded = await opts.catalog.loadTable(ident);
  assertMaintainable(loaded.metadata.location, opts.warehouse);
  const o = { ...opts, io: tableFileIO(opts.io, loaded.metadata.location) };
  const before = loaded;
  const filesBefore = await liveDataFiles(o.io, before);
  const compacted = await compactTable(o, ident);
  const afterCompact = await o.catalog.loadTable(ident);
  const filesAfter = await liveDataFiles(o.io, afterCompact);
  const snapshotsExpired = await expireSnapshots(o, ident);
  const orphansDeleted = await deleteOrphans(o, await o.catalog.loadTable(ident));
  return {
    table: ident.name,
    compactedPartitions: compacted,
    filesBefore: filesBefore.length,
    filesAfter: filesAfter.length,
    rowsBefore: filesBefore.reduce((s, e) => s + e['data-file']['record-count'], 0),
    rowsAfter: filesAfter.reduce((s, e) => s + e['data-file']['record-count'], 0),
    snapshotsExpired,
    orphansDeleted,
  };
}

/** Returns the number of partitions rewritten. */
export async function compactTable(o: MaintenanceOptions, ident: TableIdent): Promise<number> {
  const target = o.targetFileBytes ?? 128 * 1024 * 1024;
  const small = o.smallFileBytes ?? Math.floor(target * 0.75);
  let partitions = 0;
  const result = await commitSnapshot(
    o.catalog,
    o.io,
    ident,
    async (base) => {
      const schema = currentSchema(base.metadata);
      const spec = defaultSpec(base.metadata);
      const byPartition = new Map<string, DataFile[]>();
      for (const e of await liveDataFiles(o.io, base)) {
        const f = e['data-file'];
        if (f['file-size-in-bytes'] >= small || e.manifest['partition-spec-id'] !== spec['spec-id']) continue;
        const k = JSON.stringify(f.partition);
        byPartition.set(k, [...(byPartition.get(k) ?? []), f]);
      }
      const groups = [...byPartition.values()].filter((g) => g.length >= 2);
      if (groups.length === 0) return null;
      const pt = partitionType(spec, schema);
      const sortBy = ['symbol', 'timestamp'].filter((c) => schema.fields.some((f) => f.name === c));
      const added: DataFile[] = [];
      const deleted = new Set<string>();
      partitions = 0;
      for (const files of groups) {
        // Bins of about the target size (by input bytes; zstd output is similar or smaller).
        const bins: DataFile[][] = [[]];
        let size = 0;
        for (const f of files) {
          if (size + f['file-size-in-bytes'] > target && bins[bins.length - 1].length) {
            bins.push([]);
            size = 0;
          }
          bins[bins.length - 1].push(f);
          size += f['file-size-in-bytes'];
        }
        for (const bin of bins.filter((b) => b.length >= 2)) {
          const locals = await Promise.all(bin.map((f) => o.io.localPath(f['file-path'])));
          const out = await o.parquet.rewrite(schema, locals, sortBy);
          const segments = spec.fields.map((pf, i) => partitionPathSegment(pf, pt[i].type, bin[0].partition[pf.name]));
          const inputRows = bin.reduce((s, f) => s + f['record-count'], 0);
          if (out.recordCount !== inputRows) {
            await fs.rm(out.localPath, { force: true });
            throw new Error(`compaction of ${bin.length} files read ${out.recordCount} rows, expected ${inputRows}`);
          }
          added.push(await storeDataFile(o.io, base.metadata, { ...bin[0].partition }, segments, out, '-compacted'));
          for (const f of bin) deleted.add(f['file-path']);
        }
        partitions++;
      }
      const parentSummary: Record<string, string> = currentSnapshot(base.metadata)?.summary ?? {};
      const carried = Object.fromEntries(Object.entries(parentSummary).filter(([k]) => k.startsWith(OFFSETS_PREFIX) || k === 'k2.max-event-time-us'));
      return { operation: 'replace', added, deleted, summary: { ...carried, 'k2.maintenance': 'compaction' } };
    },
    { logger: o.logger },
  );
  return result ? partitions : 0;
}

export async function expireSnapshots(o: MaintenanceOptions, ident: TableIdent): Promise<number> {
  const now = (o.now ?? Date.now)();
  const cutoff = now - (o.expireOlderThanMs ?? 5 * 86_400_000);
  const retainLast = o.retainLast ?? 10;
  const t = await o.catalog.loadTable(ident);
  const keep = new Set<Long>();
  let i = 0;
  for (const s of ancestors(t.metadata)) if (i++ < retainLast) keep.add(s['snapshot-id']);
  for (const ref of Object.values(t.metadata.refs ?? {})) keep.add(ref['snapshot-id']);
  const expire = (t.metadata.snapshots ?? []).filter((s) => !keep.has(s['snapshot-id']) && s['timestamp-ms'] < cutoff).map((s) => s['snapshot-id']);
  if (expire.length === 0) return 0;
  const cur = currentSnapshot(t.metadata);
  await o.catalog.commitTable(
    ident,
    [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': cur?.['snapshot-id'] ?? null }],
    [{ action: 'remove-snapshots', 'snapshot-ids': expire }],
  );
  return expire.length;
}

export async function deleteOrphans(o: MaintenanceOptions, t: LoadedTable): Promise<number> {
  assertMaintainable(t.metadata.location, o.warehouse);
  const now = (o.now ?? Date.now)();
  const olderThan = o.orphanOlderThanMs ?? 3 * 86_400_000;
  const referenced = new Set<string>([t.metadataLocation, ...(t.metadata['metadata-log'] ?? []).map((e) => e['metadata-file'])]);
  for (const s of t.metadata.snapshots ?? []) {
    referenced.add(s['manifest-list']);
    for (const m of readManifestList(await o.io.read(s['manifest-list']), s['manifest-list'])) {
      if (referenced.has(m['manifest-path'])) continue;
      referenced.add(m['manifest-path']);
      for (const e of readManifest(await o.io.read(m['manifest-path']), m)) referenced.add(e['data-file']['file-path']);
    }
  }
  const norm = (u: string) => u.replace(/^s3a:/, 's3:').replace(/^file:\/\/\//, 'file:/');
  const refs = new Set([...referenced].map(norm));
  let deleted = 0;
  // Only the table's own data and metadata directories: whatever else shares its location is not the table's.
  const dirs = ['data', 'metadata'].map((d) => `${t.metadata.location.replace(/\/+$/, '')}/${d}`);
  const io = new ConfinedFileIO(o.io, dirs);
  for (const dir of dirs) {
    for await (const f of io.list(`${dir}/`)) {
      if (refs.has(norm(f.uri)) || now - f.lastModifiedMs < olderThan) continue;
      await io.delete(f.uri);
      deleted++;
    }
  }
  if (deleted) o.logger.info('orphan files deleted', { table: t.ident.name, deleted });
  return deleted;
}
