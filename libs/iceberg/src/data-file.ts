import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import type { FileIO } from './io/file-io';
import type { WrittenFile } from './parquet-writer';
import type { DataFile, TableMetadata } from './spec';

/**
 * Moves a Parquet file DuckDB wrote locally into the table's data directory, `<location>/data/<partition path>/`,
 * under a fresh unique name (data files are never overwritten), removes the local copy whatever happens, and
 * describes it as the manifest entry's data_file (spec: "Manifests", data_file struct) with its column metrics.
 */
export async function storeDataFile(
  io: FileIO,
  table: TableMetadata,
  partition: DataFile['partition'],
  partitionPath: readonly string[],
  local: WrittenFile,
  nameSuffix = '',
): Promise<DataFile> {
  const uri = `${table.location}/data/${partitionPath.join('/')}/${randomUUID()}${nameSuffix}.parquet`;
  try {
    await io.writeFromLocal(uri, local.localPath);
  } finally {
    await fs.rm(local.localPath, { force: true });
  }
  return {
    content: 0,
    'file-path': uri,
    'file-format': 'PARQUET',
    partition,
    'record-count': local.recordCount,
    'file-size-in-bytes': local.fileSizeInBytes,
    'column-sizes': local.columnSizes,
    'value-counts': local.valueCounts,
    'null-value-counts': local.nullValueCounts,
    'lower-bounds': local.lowerBounds,
    'upper-bounds': local.upperBounds,
    'sort-order-id': table['default-sort-order-id'],
  };
}
