/**
 * Where Iceberg files live. URIs are absolute: `file:///abs/path` or `s3://bucket/key` (`s3a://` accepted).
 * Data, manifest and metadata files are immutable once written: `write` never overwrites silently in the
 * metadata path (catalog CAS protects the pointer, unique names protect the files).
 */
export interface FileInfo {
  uri: string;
  size: number;
  lastModifiedMs: number;
}

export interface FileIO {
  /** Writes the whole object (S3: single PUT, or multipart above the part threshold). */
  write(uri: string, data: Buffer): Promise<void>;
  /** Uploads/copies a local file (DuckDB writes Parquet locally first). */
  writeFromLocal(uri: string, localPath: string): Promise<void>;
  read(uri: string): Promise<Buffer>;
  /**
   * A local filesystem path with the object's bytes, for DuckDB: the file itself for file://, a cached copy for
   * s3:// (objects are immutable, so the cache never goes stale).
   */
  localPath(uri: string): Promise<string>;
  exists(uri: string): Promise<boolean>;
  size(uri: string): Promise<number>;
  delete(uri: string): Promise<void>;
  /** Every object under a prefix (recursive). */
  list(prefixUri: string): AsyncIterable<FileInfo>;
}
