import { ErrorCode, FatalError } from '@k2/core';
import type { S3Config } from '@k2/storage';
import type { FileInfo, FileIO } from './file-io';
import { LocalFileIO } from './local-file-io';
import type { DownloadCacheStats } from './download-cache';
import { S3FileIO, type S3FileIOOptions } from './s3-file-io';

export type FileScheme = 'file' | 's3';

/**
 * The scheme family of a location: `file:` and bare absolute paths are local, `s3:` and `s3a:` are S3. URI schemes
 * are case-insensitive (RFC 3986, section 3.1).
 */
export function schemeOf(uri: string): FileScheme {
  if (uri.startsWith('/')) return 'file';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'file') return 'file';
  if (scheme === 's3' || scheme === 's3a') return 's3';
  throw new FatalError(ErrorCode.STORAGE_REJECTED, `unsupported storage location (expected file://, s3:// or s3a://): ${uri}`, { context: { uri } });
}

/**
 * One FileIO for a catalog whose tables may live in either store, as Iceberg's own ResolvingFileIO: each call goes
 * to the FileIO of its URI's scheme. The S3 client is built on the first s3:// location, so a purely local
 * warehouse never needs S3 settings or credentials.
 */
export class ResolvingFileIO implements FileIO {
  readonly local = new LocalFileIO();
  private s3io: S3FileIO | undefined;

  constructor(
    private readonly s3Config: S3Config,
    private readonly s3Options: S3FileIOOptions = {},
  ) {}

  /** The FileIO that serves `uri`. */
  ioFor(uri: string): LocalFileIO | S3FileIO {
    return schemeOf(uri) === 'file' ? this.local : this.s3();
  }

  write(uri: string, data: Buffer): Promise<void> {
    return this.call(uri, (io) => io.write(uri, data));
  }

  writeFromLocal(uri: string, localPath: string): Promise<void> {
    return this.call(uri, (io) => io.writeFromLocal(uri, localPath));
  }

  read(uri: string): Promise<Buffer> {
    return this.call(uri, (io) => io.read(uri));
  }

  localPath(uri: string): Promise<string> {
    return this.call(uri, (io) => io.localPath(uri));
  }

  exists(uri: string): Promise<boolean> {
    return this.call(uri, (io) => io.exists(uri));
  }

  size(uri: string): Promise<number> {
    return this.call(uri, (io) => io.size(uri));
  }

  delete(uri: string): Promise<void> {
    return this.call(uri, (io) => io.delete(uri));
  }

  async *list(prefixUri: string): AsyncIterable<FileInfo> {
    yield* this.ioFor(prefixUri).list(prefixUri);
  }

  /** The S3 download cache's files and bytes (zero before the first s3:// read). */
  cacheStats(): DownloadCacheStats {
    return this.s3io?.cacheStats() ?? { files: 0, bytes: 0, maxBytes: this.s3Options.cacheMaxBytes ?? 0, evictedFiles: 0, evictedBytes: 0 };
  }

  /** Closes the S3 client's sockets if one was created. */
  close(): void {
    this.s3io?.close();
    this.s3io = undefined;
  }

  private s3(): S3FileIO {
    this.s3io ??= new S3FileIO(this.s3Config, this.s3Options);
    return this.s3io;
  }

  /** Resolution errors (an unknown scheme) reject the returned promise instead of throwing synchronously. */
  private async call<T>(uri: string, fn: (io: FileIO) => Promise<T>): Promise<T> {
    return fn(this.ioFor(uri));
  }
}

/** The FileIO for a K2 warehouse: file:// through LocalFileIO, s3:// and s3a:// through S3FileIO. */
export function createFileIO(s3: S3Config, opts: S3FileIOOptions = {}): ResolvingFileIO {
  return new ResolvingFileIO(s3, opts);
}
