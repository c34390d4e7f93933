/**
 * Iceberg table-format v2 model, in the JSON shapes of the spec's "Table Metadata Fields" and "JSON serialization"
 * appendix (https://iceberg.apache.org/spec/#appendix-c-json-serialization), so metadata files and REST payloads
 * are these objects serialized as they are.
 */

/**
 * Iceberg longs that name things (snapshot ids) are often above 2^53 when another engine wrote them (Java and
 * PyIceberg draw 63-bit random ids): they are parsed as bigint then, as number otherwise, and written back exactly.
 */
export type Long = number | bigint;

export type PrimitiveType =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'uuid'
  | 'binary'
  | `decimal(${number}, ${number})`
  | `decimal(${number},${number})`
  | `fixed[${number}]`;

export interface ListType {
  type: 'list';
  'element-id': number;
  element: IcebergType;
  'element-required': boolean;
}

export interface MapType {
  type: 'map';
  'key-id': number;
  key: IcebergType;
  'value-id': number;
  value: IcebergType;
  'value-required': boolean;
}

export interface StructType {
  type: 'struct';
  fields: NestedField[];
}

export type IcebergType = PrimitiveType | ListType | MapType | StructType;

export interface NestedField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
}

export interface Schema extends StructType {
  'schema-id': number;
  'identifier-field-ids'?: number[];
}

export type Transform = 'identity' | 'year' | 'month' | 'day' | 'hour' | 'void' | `bucket[${number}]` | `truncate[${number}]`;

export interface PartitionField {
  'source-id': number;
  'field-id': number;
  name: string;
  transform: Transform;
}

export interface PartitionSpec {
  'spec-id': number;
  fields: PartitionField[];
}

export interface SortField {
  transform: Transform;
  'source-id': number;
  direction: 'asc' | 'desc';
  'null-order': 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  'order-id': number;
  fields: SortField[];
}

export type SnapshotOperation = 'append' | 'replace' | 'overwrite' | 'delete';

export interface Snapshot {
  'snapshot-id': Long;
  'parent-snapshot-id'?: Long | null;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: { operation: SnapshotOperation } & Record<string, string>;
  'schema-id'?: number;
}

export interface SnapshotRef {
  'snapshot-id': Long;
  type: 'branch' | 'tag';
  'max-ref-age-ms'?: number;
  'max-snapshot-age-ms'?: number;
  'min-snapshots-to-keep'?: number;
}

export interface TableMetadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: Schema[];
  'default-spec-id': number;
  'partition-specs': PartitionSpec[];
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': SortOrder[];
  properties?: Record<string, string>;
  'current-snapshot-id'?: Long | null;
  snapshots?: Snapshot[];
  'snapshot-log'?: Array<{ 'snapshot-id': Long; 'timestamp-ms': number }>;
  'metadata-log'?: Array<{ 'metadata-file': string; 'timestamp-ms': number }>;
  refs?: Record<string, SnapshotRef>;
  statistics?: unknown[];
  'partition-statistics'?: unknown[];
}

/** Table identifier: namespace levels + name. */
export interface TableIdent {
  namespace: string[];
  name: string;
}

export const identString = (t: TableIdent): string => [...t.namespace, t.name].join('.');

export function parseIdent(s: string): TableIdent {
  const parts = s.split('.');
  if (parts.length < 2 || parts.some((p) => p.length === 0)) throw new Error(`table identifier "${s}" must be <namespace>.<name>`);
  return { namespace: parts.slice(0, -1), name: parts[parts.length - 1] };
}

/** Manifest entry `status` (spec: Manifests). */
export const EntryStatus = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;
export type EntryStatus = (typeof EntryStatus)[keyof typeof EntryStatus];

/** Partition tuple values as stored in manifests: day transform → int days since epoch; identity → source value. */
export type PartitionValue = number | string | bigint | boolean | null;

export interface DataFile {
  content: 0;
  'file-path': string;
  'file-format': 'PARQUET';
  /** Values in partition-spec field order, keyed by partition field name. */
  partition: Record<string, PartitionValue>;
  'record-count': number;
  'file-size-in-bytes': number;
  'column-sizes'?: Map<number, number>;
  'value-counts'?: Map<number, number>;
  'null-value-counts'?: Map<number, number>;
  /** Single-value serialization (spec appendix D) of each column's lower/upper bound. */
  'lower-bounds'?: Map<number, Buffer>;
  'upper-bounds'?: Map<number, Buffer>;
  'split-offsets'?: number[];
  'sort-order-id'?: number;
}

export interface ManifestEntry {
  status: EntryStatus;
  'snapshot-id': Long | null;
  'sequence-number': number | null;
  'file-sequence-number': number | null;
  'data-file': DataFile;
}

/** One row of a manifest list (spec: Manifest Lists). */
export interface ManifestFile {
  'manifest-path': string;
  'manifest-length': number;
  'partition-spec-id': number;
  content: 0 | 1;
  'sequence-number': number;
  'min-sequence-number': number;
  'added-snapshot-id': Long;
  'added-files-count': number;
  'existing-files-count': number;
  'deleted-files-count': number;
  'added-rows-count': number;
  'existing-rows-count': number;
  'deleted-rows-count': number;
  partitions?: Array<{ 'contains-null': boolean; 'contains-nan'?: boolean | null; 'lower-bound'?: Buffer | null; 'upper-bound'?: Buffer | null }>;
}
