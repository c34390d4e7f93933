import { readAvroFile, writeAvroFile } from './avro-file';
import type { DataFile, Long, ManifestEntry, ManifestFile, NestedField, PartitionSpec, PrimitiveType, Schema } from './spec';
import { stringifyIcebergJson } from './json';
import { transformResultType } from './values';

/**
 * Manifest and manifest-list Avro schemas of format v2, with the field ids the spec assigns
 * (https://iceberg.apache.org/spec/#manifests, #manifest-lists). Iceberg readers resolve these files by field id,
 * so the ids are part of the contract; names follow the spec too.
 */

const optional = (name: string, type: unknown, id: number, doc?: string) => ({ name, type: ['null', type], default: null, 'field-id': id, ...(doc ? { doc } : {}) });
const mapOf = (name: string, keyId: number, valueId: number, valueType: string) => ({
  type: 'array',
  logicalType: 'map',
  items: {
    type: 'record',
    name: `k${keyId}_v${valueId}`,
    fields: [
      { name: 'key', type: 'int', 'field-id': keyId },
      { name: 'value', type: valueType, 'field-id': valueId },
    ],
  },
  ...(name ? {} : {}),
});

function avroPrimitive(t: PrimitiveType): unknown {
  if (t.startsWith('decimal')) throw new Error('decimal partition values are not supported');
  switch (t) {
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'int':
      return 'int';
    case 'long':
      return 'long';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'timestamp':
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': t === 'timestamptz' };
    default:
      throw new Error(`partition type ${t} is not supported`);
  }
}

export interface PartitionFieldType {
  name: string;
  fieldId: number;
  type: PrimitiveType;
}

export function partitionType(spec: PartitionSpec, schema: Schema): PartitionFieldType[] {
  return spec.fields.map((f) => {
    const source = schema.fields.find((x: NestedField) => x.id === f['source-id']);
    if (!source) throw new Error(`partition field ${f.name}: source column ${f['source-id']} is not in schema ${schema['schema-id']}`);
    return { name: f.name, fieldId: f['field-id'], type: transformResultType(f.transform, source.type) };
  });
}

export function manifestEntrySchema(partition: PartitionFieldType[]): object {
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      optional('snapshot_id', 'long', 1),
      optional('sequence_number', 'long', 3),
      optional('file_sequence_number', 'long', 4),
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            { name: 'content', type: 'int', 'field-id': 134, doc: 'Contents of the file: 0=data, 1=position deletes, 2=equality deletes' },
            { name: 'file_path', type: 'string', 'field-id': 100, doc: 'Location URI with FS scheme' },
            { name: 'file_format', type: 'string', 'field-id': 101, doc: 'File format name: avro, orc, or parquet' },
            {
              name: 'partition',
              'field-id': 102,
              doc: 'Partition data tuple, schema based on the partition spec',
              type: {
                type: 'record',
                name: 'r102',
                fields: partition.map((p) => ({ name: p.name, type: ['null', avroPrimitive(p.type)], default: null, 'field-id': p.fieldId })),
              },
            },
            { name: 'record_count', type: 'long', 'field-id': 103, doc: 'Number of records in the file' },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104, doc: 'Total file size in bytes' },
            optional('column_sizes', mapOf('column_sizes', 117, 118, 'long'), 108, 'Map of column id to total size on disk'),
            optional('value_counts', mapOf('value_counts', 119, 120, 'long'), 109, 'Map of column id to total count, including null and NaN'),
            optional('null_value_counts', mapOf('null_value_counts', 121, 122, 'long'), 110, 'Map of column id to null value count'),
            optional('nan_value_counts', mapOf('nan_value_counts', 138, 139, 'long'), 137, 'Map of column id to number of NaN values in the column'),
            optional('lower_bounds', mapOf('lower_bounds', 126, 127, 'bytes'), 125, 'Map of column id to lower bound'),
            optional('upper_bounds', mapOf('upper_bounds', 129, 130, 'bytes'), 128, 'Map of column id to upper bound'),
            optional('key_metadata', 'bytes', 131, 'Encryption key metadata blob'),
            optional('split_offsets', { type: 'array', items: 'long', 'element-id': 133 }, 132, 'Splittable offsets'),
            optional('equality_ids', { type: 'array', items: 'int', 'element-id': 136 }, 135, 'Equality comparison field IDs'),
            optional('sort_order_id', 'int', 140, 'Sort order ID'),
          ],
        },
      },
    ],
  };
}

export const MANIFEST_LIST_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500, doc: 'Location URI with FS scheme' },
    { name: 'manifest_length', type: 'long', 'field-id': 501, doc: 'Total file size in bytes' },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502, doc: 'Spec ID used to write' },
    { name: 'content', type: 'int', 'field-id': 517, doc: 'Contents of the manifest: 0=data, 1=deletes' },
    { name: 'sequence_number', type: 'long', 'field-id': 515, doc: 'Sequence number when the manifest was added' },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516, doc: 'Lowest sequence number in the manifest' },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503, doc: 'Snapshot ID that added the manifest' },
    { name: 'added_files_count', type: 'int', 'field-id': 504, doc: 'Added entry count' },
    { name: 'existing_files_count', type: 'int', 'field-id': 505, doc: 'Existing entry count' },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506, doc: 'Deleted entry count' },
    { name: 'added_rows_count', type: 'long', 'field-id': 512, doc: 'Added rows count' },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513, doc: 'Existing rows count' },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514, doc: 'Deleted rows count' },
    optional(
      'partitions',
      {
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509, doc: 'True if any file has a null partition value' },
            optional('contains_nan', 'boolean', 518, 'True if any file has a nan partition value'),
            optional('lower_bound', 'bytes', 510, 'Partition lower bound for all files'),
            optional('upper_bound', 'bytes', 511, 'Partition upper bound for all files'),
          ],
        },
      },
      507,
      'Summary for each partition',
    ),
    optional('key_metadata', 'bytes', 519, 'Encryption key metadata blob'),
  ],
};

type KV<V> = Array<{ key: number; value: V }> | null;
const toKV = <V>(m: Map<number, V> | undefined): KV<V> => (m ? [...m.entries()].map(([key, value]) => ({ key, value })) : null);
const fromKV = <V>(a: KV<V> | undefined): Map<number, V> | undefined => (a ? new Map(a.map((e) => [e.key, e.value])) : undefined);

interface AvroDataFile {
  content: number;
  file_path: string;
  file_format: string;
  partition: Record<string, unknown>;
  record_count: number;
  file_size_in_bytes: number;
  column_sizes?: KV<number>;
  value_counts?: KV<number>;
  null_value_counts?: KV<number>;
  nan_value_counts?: KV<number>;
  lower_bounds?: KV<Buffer>;
  upper_bounds?: KV<Buffer>;
  key_metadata?: Buffer | null;
  split_offsets?: number[] | null;
  equality_ids?: number[] | null;
  sort_order_id?: number | null;
}

interface AvroEntry {
  status: number;
  snapshot_id: Long | null;
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: AvroDataFile;
}

export interface ManifestContext {
  schema: Schema;
  spec: PartitionSpec;
}

export function writeManifest(ctx: ManifestContext, entries: readonly ManifestEntry[]): Buffer {
  const pt = partitionType(ctx.spec, ctx.schema);
  const records: AvroEntry[] = entries.map((e) => {
    const f = e['data-file'];
    return {
      status: e.status,
      snapshot_id: e['snapshot-id'],
      sequence_number: e['sequence-number'],
      file_sequence_number: e['file-sequence-number'],
      data_file: {
        content: 0,
        file_path: f['file-path'],
        file_format: f['file-format'],
        partition: Object.fromEntries(pt.map((p) => [p.name, f.partition[p.name] ?? null])),
        record_count: f['record-count'],
        file_size_in_bytes: f['file-size-in-bytes'],
        column_sizes: toKV(f['column-sizes']),
        value_counts: toKV(f['value-counts']),
        null_value_counts: toKV(f['null-value-counts']),
        nan_value_counts: null,
        lower_bounds: toKV(f['lower-bounds']),
        upper_bounds: toKV(f['upper-bounds']),
        key_metadata: null,
        split_offsets: f['split-offsets'] ?? null,
        equality_ids: null,
        sort_order_id: f['sort-order-id'] ?? null,
      },
    };
  });
  return writeAvroFile(manifestEntrySchema(pt), records, {
    metadata: {
      schema: stringifyIcebergJson(ctx.schema),
      'schema-id': String(ctx.schema['schema-id']),
      'partition-spec': stringifyIcebergJson(ctx.spec.fields),
      'partition-spec-id': String(ctx.spec['spec-id']),
      'format-version': '2',
      content: 'data',
    },
  });
}

/**
 * Reads a manifest, applying v2 sequence-number and snapshot-id inheritance from its manifest-list row
 * (spec: "Sequence Number Inheritance"): null values in ADDED entries take the manifest's values.
 */
export function readManifest(buf: Buffer, file?: Pick<ManifestFile, 'sequence-number' | 'added-snapshot-id' | 'manifest-path'>): ManifestEntry[] {
  const { records } = readAvroFile<AvroEntry>(buf, file ? `manifest ${file['manifest-path']}` : 'manifest');
  return records.map((r) => {
    const d = r.data_file;
    const inheritSeq = r.status === 1 && file ? file['sequence-number'] : null;
    return {
      status: r.status as 0 | 1 | 2,
      'snapshot-id': r.snapshot_id ?? file?.['added-snapshot-id'] ?? null,
      'sequence-number': r.sequence_number ?? inheritSeq,
      'file-sequence-number': r.file_sequence_number ?? inheritSeq,
      'data-file': {
        content: 0,
        'file-path': d.file_path,
        'file-format': 'PARQUET',
        partition: d.partition as DataFile['partition'],
        'record-count': Number(d.record_count),
        'file-size-in-bytes': Number(d.file_size_in_bytes),
        'column-sizes': fromKV(d.column_sizes),
        'value-counts': fromKV(d.value_counts),
        'null-value-counts': fromKV(d.null_value_counts),
        'lower-bounds': fromKV(d.lower_bounds),
        'upper-bounds': fromKV(d.upper_bounds),
        'split-offsets': d.split_offsets ?? undefined,
        'sort-order-id': d.sort_order_id ?? undefined,
      },
    };
  });
}

interface AvroManifestFile {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: number;
  sequence_number: number;
  min_sequence_number: number;
  added_snapshot_id: Long;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: Array<{ contains_null: boolean; contains_nan: boolean | null; lower_bound: Buffer | null; upper_bound: Buffer | null }> | null;
  key_metadata: Buffer | null;
}

export interface ManifestListHeader {
  snapshotId: Long;
  parentSnapshotId: Long | null;
  sequenceNumber: number;
}

export function writeManifestList(h: ManifestListHeader, files: readonly ManifestFile[]): Buffer {
  const records: AvroManifestFile[] = files.map((m) => ({
    manifest_path: m['manifest-path'],
    manifest_length: m['manifest-length'],
    partition_spec_id: m['partition-spec-id'],
    content: m.content,
    sequence_number: m['sequence-number'],
    min_sequence_number: m['min-sequence-number'],
    added_snapshot_id: m['added-snapshot-id'],
    added_files_count: m['added-files-count'],
    existing_files_count: m['existing-files-count'],
    deleted_files_count: m['deleted-files-count'],
    added_rows_count: m['added-rows-count'],
    existing_rows_count: m['existing-rows-count'],
    deleted_rows_count: m['deleted-rows-count'],
    partitions: m.partitions
      ? m.partitions.map((p) => ({ contains_null: p['contains-null'], contains_nan: p['contains-nan'] ?? null, lower_bound: p['lower-bound'] ?? null, upper_bound: p['upper-bound'] ?? null }))
      : null,
    key_metadata: null,
  }));
  return writeAvroFile(MANIFEST_LIST_SCHEMA, records, {
    metadata: {
      'snapshot-id': String(h.snapshotId),
      'parent-snapshot-id': h.parentSnapshotId === null ? 'null' : String(h.parentSnapshotId),
      'sequence-number': String(h.sequenceNumber),
      'format-version': '2',
    },
  });
}

export function readManifestList(buf: Buffer, path = 'manifest list'): ManifestFile[] {
  const { records } = readAvroFile<Partial<AvroManifestFile> & Record<string, unknown>>(buf, path);
  return records.map((r) => ({
    'manifest-path': r.manifest_path!,
    'manifest-length': Number(r.manifest_length),
    'partition-spec-id': r.partition_spec_id!,
    content: (r.content ?? 0) as 0 | 1,
    'sequence-number': Number(r.sequence_number ?? 0),
    'min-sequence-number': Number(r.min_sequence_number ?? 0),
    'added-snapshot-id': r.added_snapshot_id!,
    // v1 names (added_data_files_count…) appear in lists an older writer produced.
    'added-files-count': Number(r.added_files_count ?? r['added_data_files_count'] ?? 0),
    'existing-files-count': Number(r.existing_files_count ?? r['existing_data_files_count'] ?? 0),
    'deleted-files-count': Number(r.deleted_files_count ?? r['deleted_data_files_count'] ?? 0),
    'added-rows-count': Number(r.added_rows_count ?? 0),
    'existing-rows-count': Number(r.existing_rows_count ?? 0),
    'deleted-rows-count': Number(r.deleted_rows_count ?? 0),
    partitions: r.partitions
      ? r.partitions.map((p) => ({ 'contains-null': p.contains_null, 'contains-nan': p.contains_nan, 'lower-bound': p.lower_bound, 'upper-bound': p.upper_bound }))
      : undefined,
  }));
}
