import type { Logger } from '@k2/core';
import { avroToIcebergSchema, type AvroField, type ColumnSource } from './avro-schema';
import { storeDataFile } from './data-file';
import type { FileIO } from './io/file-io';
import { partitionType } from './manifest';
import { currentSchema, defaultSpec, type TableUpdate } from './metadata';
import type { CsvRows, ParquetWriter, RowValue } from './parquet-writer';
import type { DataFile, Schema, TableMetadata } from './spec';
import { applyTransform, partitionPathSegment } from './values';

/**
 * Writing rows into a table: the two steps a table library owns between "rows arrived" and "snapshot committed"
 * (pyiceberg keeps the same pair as `_dataframe_to_data_files` and `UpdateSchema`):
 * - `evolveSchema`: the table's current schema, extended with the columns newer writer schemas added
 *   (spec: "Schema Evolution" — new columns get fresh ids above `last-column-id`);
 * - `writeDataFiles`: one sorted Parquet file per partition, stored under the table's data directory and described
 *   as manifest `data_file`s.
 */

export interface EvolvedSchema {
  schema: Schema;
  /** Per top-level field id: how the writer's values become the Iceberg value. */
  sources: Map<number, ColumnSource>;
  /** add-schema + set-current-schema when the schema changed, else empty; commit them with the snapshot. */
  updates: TableUpdate[];
  /** Names of the columns added (empty when unchanged). */
  added: string[];
}

/** Current schema of `metadata`, evolved with every field of `writerSchemas` it does not have yet. */
export function evolveSchema(metadata: TableMetadata, writerSchemas: Iterable<readonly AvroField[]>): EvolvedSchema {
  let schema = currentSchema(metadata);
  let last = metadata['last-column-id'];
  const sources = new Map<number, ColumnSource>();
  const nextSchemaId = Math.max(...metadata.schemas.map((s) => s['schema-id'])) + 1;
  let changed = false;
  for (const fields of writerSchemas) {
    const mapped = avroToIcebergSchema(fields, schema, last);
    for (const [k, v] of mapped.sources) sources.set(k, v);
    if (mapped.changed) {
      changed = true;
      schema = { ...mapped.schema, 'schema-id': nextSchemaId };
      last = mapped.lastColumnId;
    }
  }
  if (!changed) return { schema, sources, updates: [], added: [] };
  return {
    schema,
    sources,
    updates: [
      { action: 'add-schema', schema, 'last-column-id': last },
      { action: 'set-current-schema', 'schema-id': schema['schema-id'] },
    ],
    added: schema.fields.filter((f) => f.id > metadata['last-column-id']).map((f) => f.name),
  };
}

/** The rows of one partition. */
export interface PartitionRows {
  /** Source-column values the partition transforms read (any row of the group: they all share the partition). */
  source: Readonly<Record<string, unknown>>;
  /** Values in `schema` field order, or CSV lines whose columns are named (see ParquetWriter.writeCsv). */
  rows: readonly RowValue[][] | CsvRows;
}

export interface WriteDataFilesOptions {
  /** Sort columns within each file (those missing from the schema are ignored). */
  sortBy?: readonly string[];
  logger?: Logger;
}

/** One Parquet data file per partition group, stored in the table's data directory. */
export async function writeDataFiles(
  io: FileIO,
  parquet: ParquetWriter,
  metadata: TableMetadata,
  schema: Schema,
  groups: Iterable<PartitionRows>,
  opts: WriteDataFilesOptions = {},
): Promise<DataFile[]> {
  const spec = defaultSpec(metadata);
  const pt = partitionType(spec, schema);
  const sortBy = (opts.sortBy ?? []).filter((c) => schema.fields.some((f) => f.name === c));
  const files: DataFile[] = [];
  for (const group of groups) {
    const partition: DataFile['partition'] = {};
    const segments: string[] = [];
    spec.fields.forEach((pf, i) => {
      const src = schema.fields.find((f) => f.id === pf['source-id'])!;
      const v = applyTransform(pf.transform, src.type, group.source[src.name]);
      partition[pf.name] = v;
      segments.push(partitionPathSegment(pf, pt[i].type, v));
    });
    const local = Array.isArray(group.rows)
      ? await parquet.write(schema, group.rows as readonly RowValue[][], sortBy)
      : await parquet.writeCsv(schema, group.rows as CsvRows, sortBy);
    files.push(await storeDataFile(io, metadata, partition, segments, local));
  }
  return files;
}
