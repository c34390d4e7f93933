import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ErrorCode, K2Error } from '@k2/core';
import type { S3Config } from '@k2/storage';
import { LocalFileIO } from './local-file-io';
import { ResolvingFileIO, createFileIO, schemeOf } from './resolving-file-io';
import { S3FileIO, parseS3Uri, toStorageError } from './s3-file-io';

const s3Config: S3Config = {
  endpoint: 'http://127.0.0.1:1',
  region: 'us-east-1',
  accessKeyId: 'k',
  secretAccessKey: 's',
  forcePathStyle: true,
};

describe('ResolvingFileIO', () => {
  let dir: string;
  let io: ResolvingFileIO;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'k2-resolving-io-'));
    io = createFileIO(s3Config);
  });
  afterEach(async () => {
    io.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('sends file:// URIs and bare absolute paths to the real LocalFileIO', async () => {
    const u = pathToFileURL(path.join(dir, 'ns', 't', 'metadata', 'v1.metadata.json')).href;
    expect(io.ioFor(u)).toBeInstanceOf(LocalFileIO);
    expect(io.ioFor(path.join(dir, 'x'))).toBe(io.local);

    await io.write(u, Buffer.from('{}'));
    expect(await io.exists(u)).toBe(true);
    expect(await io.size(u)).toBe(2);
    expect((await io.read(u)).toString()).toBe('{}');
    expect(await io.localPath(u)).toBe(path.join(dir, 'ns', 't', 'metadata', 'v1.metadata.json'));

    const src = path.join(dir, 'staged.parquet');
    await fs.writeFile(src, 'PAR1');
    const data = pathToFileURL(path.join(dir, 'ns', 't', 'data', 'a.parquet')).href;
    await io.writeFromLocal(data, src);

    const listed: string[] = [];
    for await (const f of io.list(pathToFileURL(path.join(dir, 'ns', 't')).href)) listed.push(f.uri);
    expect(listed.sort()).toEqual([data, u].sort());

    await io.delete(u);
    expect(await io.exists(u)).toBe(false);
  });

  it('creates one S3FileIO lazily, on the first s3:// or s3a:// location', () => {
    expect((io as unknown as { s3io?: S3FileIO }).s3io).toBeUndefined();
    const s3 = io.ioFor('s3://k2-warehouse/ns/t/data/a.parquet');
    expect(s3).toBeInstanceOf(S3FileIO);
    expect(io.ioFor('s3a://k2-warehouse/ns/t/metadata/v1.metadata.json')).toBe(s3);
    expect(io.ioFor('S3://k2-warehouse/x')).toBe(s3);
  });

  it('builds the S3 client from the S3Config', async () => {
    const s3 = io.ioFor('s3://b/k') as S3FileIO;
    expect(await s3.client.config.region()).toBe('us-east-1');
    expect(s3.client.config.forcePathStyle).toBe(true);
    const endpoint = await s3.client.config.endpoint?.();
    expect(endpoint?.hostname).toBe('127.0.0.1');
    expect(endpoint?.port).toBe(1);
    expect(await s3.client.config.credentials()).toEqual(expect.objectContaining({ accessKeyId: 'k', secretAccessKey: 's' }));
  });

  it('dispatches list by the scheme of the prefix', () => {
    expect(io.ioFor(pathToFileURL(dir).href)).toBe(io.local);
    expect(io.ioFor('s3://k2-warehouse/ns/t')).toBeInstanceOf(S3FileIO);
  });

  it('rejects unknown schemes with STORAGE_REJECTED, as a rejected promise', async () => {
    expect(() => schemeOf('gs://bucket/key')).toThrow(expect.objectContaining({ code: ErrorCode.STORAGE_REJECTED }));
    expect(() => schemeOf('relative/path')).toThrow(K2Error);
    await expect(io.read('hdfs://nn/warehouse/f')).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED, retriable: false });
    const it = io.list('abfs://c@a.dfs.core.windows.net/x')[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
  });
});

describe('parseS3Uri', () => {
  it('splits bucket and raw key for s3:// and s3a://', () => {
    expect(parseS3Uri('s3://k2-warehouse/ns/t/data/x=1/a b.parquet')).toEqual({ scheme: 's3', bucket: 'k2-warehouse', key: 'ns/t/data/x=1/a b.parquet' });
    expect(parseS3Uri('s3a://bucket/k')).toEqual({ scheme: 's3a', bucket: 'bucket', key: 'k' });
    expect(parseS3Uri('s3://bucket')).toEqual({ scheme: 's3', bucket: 'bucket', key: '' });
    expect(parseS3Uri('s3://bucket/')).toEqual({ scheme: 's3', bucket: 'bucket', key: '' });
  });

  it('rejects other URIs', () => {
    for (const bad of ['s3:///key', 'http://bucket/key', 's3:/bucket/key', 'file:///tmp/x']) {
      expect(() => parseS3Uri(bad)).toThrow(expect.objectContaining({ code: ErrorCode.STORAGE_REJECTED }));
    }
  });

  it('rejects object operations on a bucket root without a request', async () => {
    const s3 = new S3FileIO(s3Config);
    try {
      await expect(s3.read('s3://bucket')).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
      await expect(s3.write('s3://bucket/dir/', Buffer.alloc(1))).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
    } finally {
      s3.close();
    }
  });
});

describe('S3FileIO options and cache names', () => {
  it('refuses part sizes outside the S3 multipart limits', () => {
    expect(() => new S3FileIO(s3Config, { partSizeBytes: 1024 * 1024 })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => new S3FileIO(s3Config, { multipartThresholdBytes: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });

  it('derives a stable cache file per bucket and key that keeps the extension', () => {
    const s3 = new S3FileIO(s3Config, { cacheDir: '/cache' });
    try {
      const a = s3.cachePath(parseS3Uri('s3://b/ns/t/data/a.parquet'));
      expect(a).toBe(s3.cachePath(parseS3Uri('s3a://b/ns/t/data/a.parquet')));
      expect(a.startsWith('/cache/b/')).toBe(true);
      expect(a.endsWith('-a.parquet')).toBe(true);
      expect(s3.cachePath(parseS3Uri('s3://b/ns/t2/data/a.parquet'))).not.toBe(a);
      expect(s3.cachePath(parseS3Uri('s3://c/ns/t/data/a.parquet'))).not.toBe(a);
      expect(path.dirname(s3.cachePath(parseS3Uri('s3://b/../../etc/passwd')))).toBe('/cache/b');
    } finally {
      s3.close();
    }
  });
});

/** Errors shaped as the SDK throws them (a store that throttles cannot be provoked locally). */
describe('toStorageError', () => {
  const uri = 's3://b/k';
  const service = (name: string, status: number) =>
    new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'r1' }, message: name });

  it.each([
    ['NoSuchKey', 404, ErrorCode.ICEBERG_NOT_FOUND, false],
    ['NotFound', 404, ErrorCode.ICEBERG_NOT_FOUND, false],
    ['AccessDenied', 403, ErrorCode.STORAGE_REJECTED, false],
    ['InvalidAccessKeyId', 403, ErrorCode.STORAGE_REJECTED, false],
    ['InvalidArgument', 400, ErrorCode.STORAGE_REJECTED, false],
    ['RequestTimeout', 400, ErrorCode.STORAGE_UNAVAILABLE, true],
    ['SlowDown', 503, ErrorCode.STORAGE_UNAVAILABLE, true],
    ['TooManyRequests', 429, ErrorCode.STORAGE_UNAVAILABLE, true],
    ['InternalError', 500, ErrorCode.STORAGE_UNAVAILABLE, true],
    ['BadGateway', 502, ErrorCode.STORAGE_UNAVAILABLE, true],
  ])('%s (HTTP %d) -> %s', (name, status, code, retriable) => {
    const cause = service(name, status);
    const e = toStorageError(cause, 'read', uri);
    expect(e.code).toBe(code);
    expect(e.retriable).toBe(retriable);
    expect(e.cause).toBe(cause);
    expect(e.message).toContain(uri);
    expect(e.context).toMatchObject({ uri, op: 'read', status });
  });

  it('treats socket errors as transient and local file errors by their errno', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(toStorageError(refused, 'head', uri)).toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE, retriable: true });
    const timeout = Object.assign(new Error('connection timed out'), { name: 'TimeoutError' });
    expect(toStorageError(timeout, 'head', uri)).toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE, retriable: true });
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC', path: '/tmp/x' });
    expect(toStorageError(full, 'localPath', uri)).toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE, retriable: true });
    const missing = Object.assign(new Error('no such file'), { code: 'ENOENT', path: '/tmp/src' });
    expect(toStorageError(missing, 'write', uri)).toMatchObject({ code: ErrorCode.STORAGE_REJECTED, retriable: false });
  });

  it('treats a failure without any HTTP answer as transient, unless it is local configuration', () => {
    const rewrapped = Object.assign(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1'), { $metadata: { attempts: 1 } });
    expect(toStorageError(rewrapped, 'read', uri)).toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE, retriable: true });
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(toStorageError(noCredentials, 'read', uri)).toMatchObject({ code: ErrorCode.STORAGE_REJECTED, retriable: false });
  });

  it('passes K2 errors through unchanged', () => {
    const k2 = new K2Error(ErrorCode.ICEBERG_NOT_FOUND, 'x');
    expect(toStorageError(k2, 'read', uri)).toBe(k2);
  });
});
