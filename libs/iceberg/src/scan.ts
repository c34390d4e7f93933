import type { LoadedTable } from './catalog/catalog';
import { tableFileIO } from './io/confined-file-io';
import type { FileIO } from './io/file-io';
import { readManifest, readManifestList, partitionType } from './manifest';
import { currentSchema, currentSnapshot, snapshotById } from './metadata';
import type { DataFile, Long, ManifestEntry, ManifestFile, PartitionSpec, PrimitiveType, Schema, Snapshot } from './spec';
import { applyTransform, compareValues, decimalScale, deserializeValue, unscaledDecimal, type BoundValue } from './values';

/**
 * Read planning (spec: "Scan Planning"): snapshot → manifest list → manifests → data files, pruned first by the
 * manifest-list partition summaries, then by each file's partition tuple, then by its column bounds. Pruning is
 * conservative: a file is dropped only when its metadata proves no row can match.
 */
export type PredicateOp = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';

export interface Predicate {
  /** Column name in the table schema. */
  column: string;
  op: PredicateOp;
  /** string, bigint µs for timestamps, decimal text for decimals, number for int/date, boolean. */
  value: string | bigint | number | boolean;
}

export interface ScanOptions {
  predicates?: readonly Predicate[];
  snapshotId?: Long;
  /**
   * Decoded manifest lists and manifests by path. They are immutable, so a long-lived reader (query-api) plans
   * from memory after the first scan of a snapshot; the caller bounds the cache (see ManifestCache).
   */
  cache?: ManifestCache;
  /**
   * Locations besides the table's own that its manifests may name (e.g. the configured warehouse). Anything else, a
   * manifest list, a manifest or a data file, is refused (issue 18: an s3:// table naming file:///etc/passwd).
   */
  allowedRoots?: readonly string[];
}

/** What planScan may keep between scans: both kinds of file never change once written. */
export interface ManifestCache {
  lists: Map<string, ManifestFile[]>;
  manifests: Map<string, ManifestEntry[]>;
}

async function cached<T>(map: Map<string, T> | undefined, key: string, load: () => Promise<T>): Promise<T> {
  const hit = map?.get(key);
  if (hit !== undefined) return hit;
  const v = await load();
  map?.set(key, v);
  return v;
}

export interface PlannedFile {
  file: DataFile;
  specId: number;
  sequenceNumber: number | null;
}

export interface ScanPlan {
  snapshot: Snapshot | undefined;
  schema: Schema;
  files: PlannedFile[];
  manifestsTotal: number;
  manifestsScanned: number;
  filesTotal: number;
}

function holds(op: PredicateOp, cmpLowerOrValue: number): boolean {
  switch (op) {
    case 'eq':
      return cmpLowerOrValue === 0;
    case 'lt':
      return cmpLowerOrValue < 0;
    case 'lte':
      return cmpLowerOrValue <= 0;
    case 'gt':
      return cmpLowerOrValue > 0;
    case 'gte':
      return cmpLowerOrValue >= 0;
  }
}

/** Could any value in [lo, hi] satisfy `x op v`? Missing bounds mean "unknown" → true. */
export function rangeMayMatch(op: PredicateOp, v: BoundValue, lo: BoundValue | undefined, hi: BoundValue | undefined): boolean {
  switch (op) {
    case 'eq':
      return (lo === undefined || compareValues(lo, v) <= 0) && (hi === undefined || compareValues(hi, v) >= 0);
    case 'lt':
      return lo === undefined || compareValues(lo, v) < 0;
    case 'lte':
      return lo === undefined || compareValues(lo, v) <= 0;
    case 'gt':
      return hi === undefined || compareValues(hi, v) > 0;
    case 'gte':
      return hi === undefined || compareValues(hi, v) >= 0;
  }
}

function boundValue(t: PrimitiveType, v: Predicate['value']): BoundValue {
  if (decimalScale(t) !== undefined) return unscaledDecimal(String(v), decimalScale(t)!);
  if (t === 'long' || t === 'timestamptz' || t === 'timestamp') return BigInt(v as bigint);
  return v;
}

interface PartitionPredicate {
  name: string;
  op: PredicateOp;
  value: BoundValue;
}

/** Predicates on source columns → predicates on partition fields (identity keeps op; day loosens to inclusive). */
function partitionPredicates(spec: PartitionSpec, schema: Schema, preds: readonly Predicate[]): PartitionPredicate[] {
  const out: PartitionPredicate[] = [];
  for (const pf of spec.fields) {
    const src = schema.fields.find((f) => f.id === pf['source-id']);
    if (!src) continue;
    for (const p of preds.filter((x) => x.column === src.name)) {
      if (pf.transform === 'identity') out.push({ name: pf.name, op: p.op, value: boundValue(src.type as PrimitiveType, p.value) });
      else if (pf.transform === 'day') {
        const day = applyTransform('day', src.type, boundValue(src.type as PrimitiveType, p.value)) as number;
        const op: PredicateOp = p.op === 'lt' ? 'lte' : p.op === 'gt' ? 'gte' : p.op;
        out.push({ name: pf.name, op, value: day });
      }
    }
  }
  return out;
}

function manifestMayMatch(m: ManifestFile, spec: PartitionSpec, schema: Schema, preds: PartitionPredicate[]): boolean {
  if (!m.partitions || preds.length === 0) return true;
  const pt = partitionType(spec, schema);
  return preds.every((p) => {
    const i = pt.findIndex((x) => x.name === p.name);
    const s = i >= 0 ? m.partitions![i] : undefined;
    if (!s) return true;
    const lo = s['lower-bound'] ? deserializeValue(pt[i].type, s['lower-bound']) : undefined;
    const hi = s['upper-bound'] ? deserializeValue(pt[i].type, s['upper-bound']) : undefined;
    if (lo === undefined && hi === undefined) return !s['contains-null'];
    return rangeMayMatch(p.op, p.value, lo, hi);
  });
}

function fileMayMatch(f: DataFile, schema: Schema, partPreds: PartitionPredicate[], preds: readonly Predicate[]): boolean {
  for (const p of partPreds) {
    const v = f.partition[p.name];
    if (v === null || v === undefined) return false;
    if (!holds(p.op, compareValues(v as BoundValue, p.value))) return false;
  }
  for (const p of preds) {
    const col = schema.fields.find((x) => x.name === p.column);
    if (!col || typeof col.type !== 'string') continue;
    const t = col.type;
    const nulls = f['null-value-counts']?.get(col.id);
    const values = f['value-counts']?.get(col.id);
    if (values !== undefined && nulls !== undefined && nulls === values) return false; // all null: no comparison holds
    const lo = f['lower-bounds']?.get(col.id);
    const hi = f['upper-bounds']?.get(col.id);
    if (!rangeMayMatch(p.op, boundValue(t, p.value), lo ? deserializeValue(t, lo) : undefined, hi ? deserializeValue(t, hi) : undefined)) return false;
  }
  return true;
}

export async function planScan(io: FileIO, table: LoadedTable, opts: ScanOptions = {}): Promise<ScanPlan> {
  const meta = table.metadata;
  const snapshot = opts.snapshotId !== undefined ? snapshotById(meta, opts.snapshotId) : currentSnapshot(meta);
  const schema = currentSchema(meta);
  const preds = opts.predicates ?? [];
  const plan: ScanPlan = { snapshot, schema, files: [], manifestsTotal: 0, manifestsScanned: 0, filesTotal: 0 };
  if (!snapshot) return plan;
  const confined = tableFileIO(io, meta.location, opts.allowedRoots);
  const listPath = confined.check(snapshot['manifest-list']);
  const manifests = await cached(opts.cache?.lists, listPath, async () => readManifestList(await confined.read(listPath), listPath));
  plan.manifestsTotal = manifests.length;
  for (const m of manifests) {
    if (m.content !== 0) continue;
    const spec = meta['partition-specs'].find((s) => s['spec-id'] === m['partition-spec-id']);
    if (!spec) continue;
    const partPreds = partitionPredicates(spec, schema, preds);
    if (!manifestMayMatch(m, spec, schema, partPreds)) continue;
    plan.manifestsScanned++;
    const entries = await cached(opts.cache?.manifests, confined.check(m['manifest-path']), async () => readManifest(await confined.read(m['manifest-path']), m));
    for (const e of entries) {
      if (e.status === 2) continue;
      plan.filesTotal++;
      if (fileMayMatch(e['data-file'], schema, partPreds, preds)) {
        confined.check(e['data-file']['file-path']);
        plan.files.push({ file: e['data-file'], specId: spec['spec-id'], sequenceNumber: e['sequence-number'] });
      }
    }
  }
  return plan;
}
