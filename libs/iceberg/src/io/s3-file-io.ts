import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { ConfigError, ErrorCode, FatalError, K2Error, TransientError } from '@k2/core';
import type { S3Config } from '@k2/storage';
import { DownloadCache, type DownloadCacheStats } from './download-cache';
import type { FileInfo, FileIO } from './file-io';

const MiB = 1024 * 1024;
/** S3 multipart limits (Amazon S3 User Guide, "Amazon S3 multipart upload limits"). */
const MIN_PART_SIZE = 5 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;

export interface S3FileIOOptions {
  /** Objects of at least this many bytes are uploaded with multipart upload; smaller ones with one PutObject. Default 16 MiB. */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads, 5 MiB to 5 GiB. Default: the threshold (at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts uploaded in parallel; memory use of one upload is about this times the part size. Default 4. */
  partConcurrency?: number;
  /** Where `localPath` keeps downloaded copies. Default `os.tmpdir()/k2-s3-cache`. */
  cacheDir?: string;
  /** Bytes of local copies kept; least recently used ones are deleted past it (DownloadCache). Default 2 GiB. */
  cacheMaxBytes?: number;
  /** A copy used this recently is never deleted (a reader may be opening it). Default 60 s. */
  cacheMinAgeMs?: number;
  /** ListObjectsV2 MaxKeys per page (S3 caps it at 1000). Default 1000. */
  listPageSize?: number;
  /** Attempts per request, including the SDK's own retries of transient failures. Default 3 (the SDK's). */
  maxAttempts?: number;
  /** Connection timeout per attempt. Default 5000 ms. */
  connectTimeoutMs?: number;
}

export interface S3Location {
  /** `s3` or `s3a`, as written in the URI; `list` answers with the same scheme. */
  scheme: string;
  bucket: string;
  /** Raw key: Iceberg locations are not percent-encoded, so neither is the key. Empty for a bucket root. */
  key: string;
}

/** Parses `s3://bucket/key` and `s3a://bucket/key` (Hadoop's name for the same store). */
export function parseS3Uri(uri: string): S3Location {
  const m = /^(s3a?):\/\/([^/]+)(?:\/(.*))?$/i.exec(uri);
  if (!m) throw new FatalError(ErrorCode.STORAGE_REJECTED, `not an s3:// URI: ${uri}`, { context: { uri } });
  return { scheme: m[1].toLowerCase(), bucket: m[2], key: m[3] ?? '' };
}

/** Where `localPath` keeps downloads when no cacheDir is given (readers that sandbox file access need to know). */
export function defaultS3CacheDir(): string {
  return path.join(os.tmpdir(), 'k2-s3-cache');
}

/**
 * s3:// warehouse over any S3-compatible store (AWS, MinIO, s3proxy). Every request sends a Buffer, so the SigV4
 * signature covers the payload's SHA-256 (x-amz-content-sha256): the store verifies each body, and the SDK can replay
 * a body when it retries.
 */
export class S3FileIO implements FileIO {
  readonly client: S3Client;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly cacheDir: string;
  private readonly pageSize: number;
  /** One download per cache file at a time within this process. */
  private readonly downloads = new Map<string, Promise<string>>();
  private readonly cache: DownloadCache;

  constructor(config: S3Config, opts: S3FileIOOptions = {}) {
    this.threshold = positive(opts.multipartThresholdBytes ?? 16 * MiB, 'multipartThresholdBytes');
    this.partSize = positive(opts.partSizeBytes ?? Math.max(this.threshold, MIN_PART_SIZE), 'partSizeBytes');
    if (this.partSize < MIN_PART_SIZE || this.partSize > MAX_PART_SIZE) {
      throw new ConfigError('S3FileIO', [`partSizeBytes must be between 5 MiB and 5 GiB (S3 multipart limits), got ${this.partSize}`]);
    }
    this.concurrency = positive(opts.partConcurrency ?? 4, 'partConcurrency');
    this.pageSize = Math.min(positive(opts.listPageSize ?? 1000, 'listPageSize'), 1000);
    this.cacheDir = path.resolve(opts.cacheDir ?? defaultS3CacheDir());
    this.cache = new DownloadCache(this.cacheDir, { maxBytes: opts.cacheMaxBytes, minAgeMs: opts.cacheMinAgeMs });
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      // Without static keys the SDK's default provider chain applies (env, profile, SSO, instance/pod role).
      credentials:
        config.accessKeyId && config.secretAccessKey ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } : undefined,
      maxAttempts: opts.maxAttempts ?? 3,
      // The default is no connect timeout at all: a blackholed endpoint would hang the caller.
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 5000 },
      // S3-compatible stores (MinIO, s3proxy) do not all implement the newer flexible checksums; SigV4's payload
      // hash already protects each body.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  write(uri: string, data: Buffer): Promise<void> {
    return this.guard('write', uri, async () => {
      const loc = objectLocation(uri);
      if (data.length < this.threshold) {
        await this.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: data, ContentLength: data.length }));
        return;
      }
      await this.multipart(loc, data.length, async (offset, length) => data.subarray(offset, offset + length));
    });
  }

  /** Multipart parts are read from disk one at a time per worker: memory stays at `partConcurrency` parts. */
  writeFromLocal(uri: string, localPath: string): Promise<void> {
    return this.guard('write', uri, async () => {
      const loc = objectLocation(uri);
      const fh = await fs.open(localPath, 'r');
      try {
        const { size } = await fh.stat();
        if (size < this.threshold) {
          const body = await fh.readFile();
          await this.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentLength: body.length }));
          return;
        }
        await this.multipart(loc, size, async (offset, length) => {
          const buf = Buffer.allocUnsafe(length);
          let done = 0;
          while (done < length) {
            const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
            if (bytesRead === 0) throw new FatalError(ErrorCode.STORAGE_REJECTED, `${localPath} shrank while being uploaded to ${uri}`);
            done += bytesRead;
          }
          return buf;
        });
      } finally {
        await fh.close();
      }
    });
  }

  read(uri: string): Promise<Buffer> {
    return this.guard('read', uri, async () => {
      const loc = objectLocation(uri);
      const out = await this.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      if (!out.Body) throw new FatalError(ErrorCode.STORAGE_REJECTED, `s3 read ${uri}: response without a body`);
      const bytes = await out.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
  }

  /**
   * Downloads into the cache dir once and reuses the copy while its size matches the object's (objects are
   * immutable, so a matching copy is the object): a copy this process wrote or checked needs no HEAD request. The
   * copy is written under a temp name and renamed: a concurrent reader, in this process or another, sees either no
   * file or the complete one. The copies are bounded by `cacheMaxBytes` (least recently used deleted first).
   */
  async localPath(uri: string): Promise<string> {
    const loc = objectLocation(uri);
    const target = this.cachePath(loc);
    const pending = this.downloads.get(target);
    if (pending) return pending;
    const job = this.guard('localPath', uri, async () => {
      const known = await this.cache.lookup(target);
      const onDisk = await fs.stat(target).catch(() => undefined);
      if (known !== undefined && onDisk?.isFile() && onDisk.size === known) return target;
      this.cache.forget(target);
      const head = await this.client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      const expected = head.ContentLength ?? -1;
      if (!(onDisk?.isFile() && onDisk.size === expected)) await this.download(uri, loc, target);
      await this.cache.add(target, expected);
      return target;
    }).finally(() => this.downloads.delete(target));
    this.downloads.set(target, job);
    return job;
  }

  /** Files, bytes and evictions of the local copies `localPath` keeps. */
  cacheStats(): DownloadCacheStats {
    return this.cache.stats();
  }

  private async download(uri: string, loc: S3Location, target: string): Promise<void> {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      if (!(out.Body instanceof Readable)) throw new FatalError(ErrorCode.STORAGE_REJECTED, `s3 localPath ${uri}: response body is not a stream`);
      await pipeline(out.Body, createWriteStream(tmp));
      const got = (await fs.stat(tmp)).size;
      // A connection cut mid-body can end the stream early without an error; never publish a short copy.
      if (got !== (out.ContentLength ?? got)) {
        throw new TransientError(ErrorCode.STORAGE_UNAVAILABLE, `s3 localPath ${uri}: got ${got} of ${out.ContentLength} bytes`);
      }
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  /** HeadObject; only a 404 means "no": a 403 or an outage must not look like a missing file. */
  async exists(uri: string): Promise<boolean> {
    try {
      await this.size(uri);
      return true;
    } catch (e) {
      if (e instanceof K2Error && e.code === ErrorCode.ICEBERG_NOT_FOUND) return false;
      throw e;
    }
  }

  size(uri: string): Promise<number> {
    return this.guard('head', uri, async () => {
      const loc = objectLocation(uri);
      const out = await this.client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      return out.ContentLength ?? 0;
    });
  }

  /** DeleteObject answers 204 for a missing key too, so deleting twice is fine (like LocalFileIO's rm --force). */
  delete(uri: string): Promise<void> {
    return this.guard('delete', uri, async () => {
      const loc = objectLocation(uri);
      await this.client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    });
  }

  /**
   * Objects under the prefix as a directory: `s3://b/t` lists `t/...` but not `t2/...`, as LocalFileIO lists a
   * directory (a table's orphan-file sweep must never see a sibling table's files). ListObjectsV2 pages are
   * followed with ContinuationToken until IsTruncated is false.
   */
  async *list(prefixUri: string): AsyncIterable<FileInfo> {
    const loc = parseS3Uri(prefixUri);
    const prefix = loc.key === '' || loc.key.endsWith('/') ? loc.key : `${loc.key}/`;
    let token: string | undefined;
    do {
      const page = await this.guard('list', prefixUri, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix || undefined, ContinuationToken: token, MaxKeys: this.pageSize }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { uri: `${loc.scheme}://${loc.bucket}/${o.Key}`, size: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Closes the client's sockets; the instance is unusable afterwards. */
  close(): void {
    this.client.destroy();
  }

  /** The cache file of an object: a hash of bucket and key (keys may be long, nest, or contain `..`) plus the base name, whose extension DuckDB uses. */
  cachePath(loc: S3Location): string {
    const digest = createHash('sha256').update(`${loc.bucket}\0${loc.key}`).digest('hex').slice(0, 32);
    const base = path.posix.basename(loc.key).replace(/[^A-Za-z0-9._-]/g, '_').slice(-100);
    return path.join(this.cacheDir, safeName(loc.bucket), `${digest}-${base}`);
  }

  /**
   * CreateMultipartUpload, UploadPart for each part (up to `partConcurrency` in flight), CompleteMultipartUpload.
   * On any failure the upload is aborted once every in-flight part has settled: S3 may keep a part that was
   * still uploading when AbortMultipartUpload ran (AbortMultipartUpload API reference).
   */
  private async multipart(loc: S3Location, size: number, readPart: (offset: number, length: number) => Promise<Buffer>): Promise<void> {
    const partSize = Math.max(this.partSize, Math.ceil(size / MAX_PARTS));
    const count = Math.max(1, Math.ceil(size / partSize));
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: loc.bucket, Key: loc.key }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new FatalError(ErrorCode.STORAGE_REJECTED, `s3 CreateMultipartUpload for ${loc.key}: no UploadId`);
    try {
      const parts: CompletedPart[] = new Array(count);
      let next = 0;
      let failure: { error: unknown } | undefined;
      const worker = async (): Promise<void> => {
        while (!failure && next < count) {
          const i = next++;
          try {
            const offset = i * partSize;
            const body = await readPart(offset, Math.min(partSize, size - offset));
            const out = await this.client.send(
              new UploadPartCommand({ Bucket: loc.bucket, Key: loc.key, UploadId: uploadId, PartNumber: i + 1, Body: body, ContentLength: body.length }),
            );
            parts[i] = { PartNumber: i + 1, ETag: out.ETag };
          } catch (error) {
            failure ??= { error };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, count) }, worker));
      if (failure) throw failure.error;
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: loc.bucket, Key: loc.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (e) {
      // Best effort: if the abort fails too, a bucket lifecycle rule (AbortIncompleteMultipartUpload) reclaims the parts.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: loc.bucket, Key: loc.key, UploadId: uploadId })).catch(() => undefined);
      throw e;
    }
  }

  private async guard<T>(op: string, uri: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toStorageError(e, op, uri);
    }
  }
}

/**
 * Maps an S3 SDK, network or local file error to the K2 hierarchy; the original stays the `cause`. The retriable
 * classes follow the SDK's own retry classification (@smithy/core service-error-classification): throttling
 * (429, SlowDown...), 5xx, request timeouts and socket errors. By then the SDK has already retried them
 * `maxAttempts` times.
 *
 * A failure without any HTTP status never reached the store's verdict (connection refused or reset, DNS), so it
 * is transient too unless it is a local configuration problem. This does not rely on the socket error's `code`:
 * when the error comes from another realm (Jest's sandbox) the SDK rewraps it as a plain Error with only the text.
 */
export function toStorageError(e: unknown, op: string, uri: string): K2Error {
  if (e instanceof K2Error) return e;
  const err = e as Partial<{ name: string; code: string; message: string; path: string; $metadata: { httpStatusCode?: number; requestId?: string }; $retryable: unknown }>;
  const status = err.$metadata?.httpStatusCode;
  const name = err.name ?? 'Error';
  const context = { uri, op, status, s3Code: name, requestId: err.$metadata?.requestId };
  const detail = `${name}${status ? ` (HTTP ${status})` : err.code ? ` (${err.code})` : ''}: ${err.message ?? String(e)}`;
  const message = `s3 ${op} ${uri}: ${detail}`;

  if (err.path !== undefined && err.code !== undefined) {
    // A local file (writeFromLocal's source, the localPath cache), not the store.
    if (LOCAL_TRANSIENT_CODES.has(err.code)) return new TransientError(ErrorCode.STORAGE_UNAVAILABLE, message, { cause: e, context });
    return new FatalError(ErrorCode.STORAGE_REJECTED, message, { cause: e, context });
  }
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') {
    return new FatalError(ErrorCode.ICEBERG_NOT_FOUND, `s3 ${op} ${uri}: not found (${name})`, { cause: e, context });
  }
  if (
    status === 429 ||
    (status !== undefined && status >= 500) ||
    THROTTLING_CODES.has(name) ||
    TRANSIENT_CODES.has(name) ||
    err.$retryable !== undefined ||
    (err.code !== undefined && NETWORK_CODES.has(err.code))
  ) {
    return new TransientError(ErrorCode.STORAGE_UNAVAILABLE, message, { cause: e, context });
  }
  if (status === undefined && !LOCAL_FAILURES.has(name)) {
    return new TransientError(ErrorCode.STORAGE_UNAVAILABLE, message, { cause: e, context });
  }
  // 403 (credentials, policy), 400 (bad request), 409, 412, NoSuchBucket: retrying won't help.
  return new FatalError(ErrorCode.STORAGE_REJECTED, message, { cause: e, context });
}

const THROTTLING_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
]);
/** S3 answers a stalled upload with 400 RequestTimeout; the SDK's connect/request timeouts are TimeoutError. */
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_HTTP2_STREAM_ERROR',
]);
/** Failures before any request is sent: no credentials in the default chain, an invalid endpoint or argument. */
const LOCAL_FAILURES = new Set(['CredentialsProviderError', 'TypeError', 'RangeError', 'AbortError']);
/** As in LocalFileIO: a full disk or too many open files pass; a permission problem does not. */
const LOCAL_TRANSIENT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EIO', 'EAGAIN']);

function objectLocation(uri: string): S3Location {
  const loc = parseS3Uri(uri);
  if (loc.key === '' || loc.key.endsWith('/')) {
    throw new FatalError(ErrorCode.STORAGE_REJECTED, `not an S3 object URI (no key): ${uri}`, { context: { uri } });
  }
  return loc;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError('S3FileIO', [`${what} must be a positive integer, got ${n}`]);
  return n;
}
