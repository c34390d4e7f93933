import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { ErrorCode, K2Error } from '@k2/core';
import type { S3Config } from '@k2/storage';
import { infraEndpoints, uniqueSuffix } from '@k2/testing';
import { createFileIO } from './resolving-file-io';
import { S3FileIO, parseS3Uri } from './s3-file-io';

const MiB = 1024 * 1024;
const ep = infraEndpoints();
const bucket = process.env['S3_BUCKET'] ?? process.env['K2_S3_BUCKET'] ?? 'k2-warehouse';
const config: S3Config = {
  endpoint: ep.s3Endpoint,
  region: process.env['S3_REGION'] ?? process.env['K2_S3_REGION'] ?? 'us-east-1',
  accessKeyId: ep.s3AccessKey,
  secretAccessKey: ep.s3SecretKey,
  forcePathStyle: true,
};
const base = `s3://${bucket}/itest/s3-file-io/${uniqueSuffix()}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function rejection(p: Promise<unknown>): Promise<K2Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(K2Error);
  return e as K2Error;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('S3FileIO against s3proxy', () => {
  const io = new S3FileIO(config);
  let tmp: string;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'k2-s3-itest-'));
  });
  afterAll(async () => {
    for await (const f of io.list(base)) await io.delete(f.uri);
    io.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('puts, heads and gets a small object', async () => {
    const uri = `${base}/small/v1.metadata.json`;
    const body = Buffer.from(JSON.stringify({ 'format-version': 2, 'table-uuid': uniqueSuffix() }));
    expect(await io.exists(uri)).toBe(false);
    await io.write(uri, body);
    expect(await io.exists(uri)).toBe(true);
    expect(await io.size(uri)).toBe(body.length);
    expect((await io.read(uri)).equals(body)).toBe(true);
    // s3a:// names the same object.
    expect((await io.read(uri.replace(/^s3:/, 's3a:'))).equals(body)).toBe(true);
  });

  it('maps a missing object to ICEBERG_NOT_FOUND with the URI in the message', async () => {
    const uri = `${base}/missing/nothing.avro`;
    for (const op of [() => io.read(uri), () => io.size(uri), () => io.localPath(uri)]) {
      const e = await rejection(op());
      expect(e.code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
      expect(e.retriable).toBe(false);
      expect(e.message).toContain(uri);
      expect(e.cause).toBeDefined();
    }
  });

  it('uploads in 5 MiB parts above the threshold, from memory and streamed from disk', async () => {
    const mp = new S3FileIO(config, { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 2 });
    try {
      const data = randomBytes(12 * MiB);
      const fromMemory = `${base}/multipart/memory.parquet`;
      await mp.write(fromMemory, data);
      expect(await mp.size(fromMemory)).toBe(12 * MiB);
      expect(sha(await mp.read(fromMemory))).toBe(sha(data));

      const local = path.join(tmp, 'upload.parquet');
      await fs.writeFile(local, data);
      const fromDisk = `${base}/multipart/disk.parquet`;
      await mp.writeFromLocal(fromDisk, local);
      expect(sha(await mp.read(fromDisk))).toBe(sha(data));

      // A multipart object's ETag is "<md5 of the part md5s>-<part count>": 5 + 5 + 2 MiB = 3 parts.
      for (const uri of [fromMemory, fromDisk]) {
        const { bucket: b, key } = parseS3Uri(uri);
        const head = await mp.client.send(new HeadObjectCommand({ Bucket: b, Key: key }));
        expect(head.ETag).toMatch(/-3"?$/);
      }
      // Completed uploads leave nothing pending.
      const pending = await mp.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: parseS3Uri(`${base}/multipart/`).key }));
      expect(pending.Uploads ?? []).toEqual([]);

      // Below the threshold writeFromLocal is a single PutObject (plain MD5 ETag, no part suffix).
      const small = path.join(tmp, 'small.bin');
      await fs.writeFile(small, data.subarray(0, MiB));
      const single = `${base}/multipart/single.bin`;
      await mp.writeFromLocal(single, small);
      const head = await mp.client.send(new HeadObjectCommand({ Bucket: bucket, Key: parseS3Uri(single).key }));
      expect(head.ETag).not.toMatch(/-\d+"?$/);
      expect(sha(await mp.read(single))).toBe(sha(data.subarray(0, MiB)));
    } finally {
      mp.close();
    }
  });

  it('lists a prefix across many small pages, as a directory', async () => {
    const paged = new S3FileIO(config, { listPageSize: 7 });
    try {
      const dir = `${base}/list`;
      const written = Array.from({ length: 25 }, (_, i) => `${dir}/part-${String(i).padStart(3, '0')}.avro`);
      written.push(`${dir}/nested/deeper/x.avro`);
      await Promise.all(written.map((u, i) => paged.write(u, Buffer.alloc(i + 1, 7))));
      // A sibling whose key merely starts with the same characters is not under the directory.
      await paged.write(`${base}/list2/other.avro`, Buffer.from('x'));

      const listed = [];
      for await (const f of paged.list(dir)) listed.push(f);
      expect(listed.map((f) => f.uri).sort()).toEqual([...written].sort());
      expect(listed.find((f) => f.uri.endsWith('part-004.avro'))?.size).toBe(5);
      for (const f of listed) expect(f.lastModifiedMs).toBeGreaterThan(Date.now() - 10 * 60_000);

      const viaS3a = [];
      for await (const f of paged.list(`${dir.replace(/^s3:/, 's3a:')}/`)) viaS3a.push(f.uri);
      expect(viaS3a).toHaveLength(written.length);
      expect(viaS3a.every((u) => u.startsWith('s3a://'))).toBe(true);

      const none = [];
      for await (const f of paged.list(`${base}/no-such-prefix`)) none.push(f);
      expect(none).toEqual([]);
    } finally {
      paged.close();
    }
  });

  it('deletes, and deleting again is not an error', async () => {
    const uri = `${base}/delete/snap-1.avro`;
    await io.write(uri, Buffer.from('manifest list'));
    await io.delete(uri);
    expect(await io.exists(uri)).toBe(false);
    await expect(io.delete(uri)).resolves.toBeUndefined();
  });

  it('downloads once into the cache for localPath and reuses the copy while its size matches', async () => {
    const cacheDir = path.join(tmp, 'cache');
    const cached = new S3FileIO(config, { cacheDir });
    try {
      const uri = `${base}/cache/data/00000-0-a.parquet`;
      const body = randomBytes(256 * 1024);
      await cached.write(uri, body);

      // Concurrent callers share one download and all get the complete file.
      const paths = await Promise.all(Array.from({ length: 5 }, () => cached.localPath(uri)));
      expect(new Set(paths).size).toBe(1);
      const p = paths[0];
      expect(p.startsWith(cacheDir)).toBe(true);
      expect(p.endsWith('.parquet')).toBe(true);
      expect(sha(await fs.readFile(p))).toBe(sha(body));
      const first = await fs.stat(p);

      expect(await cached.localPath(uri)).toBe(p);
      expect((await fs.stat(p)).mtimeMs).toBe(first.mtimeMs);

      // Another process (a second instance on the same dir) finds the copy too.
      const other = new S3FileIO(config, { cacheDir });
      try {
        expect(await other.localPath(uri)).toBe(p);
        expect((await fs.stat(p)).ino).toBe(first.ino);
      } finally {
        other.close();
      }

      // A truncated copy (size mismatch) is replaced atomically by a fresh download.
      await fs.truncate(p, 10);
      expect(await cached.localPath(uri)).toBe(p);
      expect(sha(await fs.readFile(p))).toBe(sha(body));
      const leftovers = (await fs.readdir(path.dirname(p))).filter((n) => n.endsWith('.tmp'));
      expect(leftovers).toEqual([]);
    } finally {
      cached.close();
    }
  });

  it('keeps the local copies under cacheMaxBytes, least recently used first, and downloads an evicted one again', async () => {
    const cacheDir = path.join(tmp, 'bounded-cache');
    const bounded = new S3FileIO(config, { cacheDir, cacheMaxBytes: 600 * 1024, cacheMinAgeMs: 0 });
    try {
      const bodies = [0, 1, 2].map(() => randomBytes(256 * 1024));
      const uris = bodies.map((_, i) => `${base}/bounded/data/0000${i}-0-a.parquet`);
      for (let i = 0; i < 3; i++) await bounded.write(uris[i], bodies[i]);
      const first = await bounded.localPath(uris[0]);
      await bounded.localPath(uris[1]);
      expect(await bounded.localPath(uris[0])).toBe(first); // 0 is now more recent than 1
      const third = await bounded.localPath(uris[2]);
      const second = bounded.cachePath(parseS3Uri(uris[1]));
      await expect(fs.stat(second)).rejects.toThrow();
      expect(sha(await fs.readFile(first))).toBe(sha(bodies[0]));
      expect(sha(await fs.readFile(third))).toBe(sha(bodies[2]));
      expect(bounded.cacheStats()).toMatchObject({ files: 2, bytes: 512 * 1024, evictedFiles: 1, evictedBytes: 256 * 1024 });
      expect(sha(await fs.readFile(await bounded.localPath(uris[1])))).toBe(sha(bodies[1]));
    } finally {
      bounded.close();
    }
  });

  it('ResolvingFileIO routes s3:// to S3 and file:// to the local disk', async () => {
    const rio = createFileIO(config);
    try {
      const s3uri = `${base}/resolving/a.json`;
      const fileUri = pathToFileURL(path.join(tmp, 'resolving', 'a.json')).href;
      await rio.write(s3uri, Buffer.from('s3'));
      await rio.write(fileUri, Buffer.from('file'));
      expect((await rio.read(s3uri)).toString()).toBe('s3');
      expect((await rio.read(fileUri)).toString()).toBe('file');
      expect(await io.exists(s3uri)).toBe(true);
      const listed = [];
      for await (const f of rio.list(`${base}/resolving`)) listed.push(f.uri);
      expect(listed).toEqual([s3uri]);
    } finally {
      rio.close();
    }
  });

  it('maps wrong credentials to a non-retriable STORAGE_REJECTED', async () => {
    const uri = `${base}/small/v1.metadata.json`;
    const bad = new S3FileIO({ ...config, secretAccessKey: 'not-the-secret' });
    try {
      const ops = [() => bad.read(uri), () => bad.write(`${base}/denied.bin`, Buffer.from('x')), () => bad.exists(uri), () => bad.list(base)[Symbol.asyncIterator]().next()];
      for (const op of ops) {
        const e = await rejection(op());
        expect(e.code).toBe(ErrorCode.STORAGE_REJECTED);
        expect(e.retriable).toBe(false);
        expect(e.message).toContain(base);
        expect(e.context['status']).toBe(403);
      }
    } finally {
      bad.close();
    }
  });

  it('maps an endpoint nobody listens on to a retriable STORAGE_UNAVAILABLE', async () => {
    const port = await freePort();
    const down = new S3FileIO({ ...config, endpoint: `http://127.0.0.1:${port}` }, { maxAttempts: 2 });
    try {
      const uri = `${base}/unreachable.bin`;
      for (const op of [() => down.read(uri), () => down.write(uri, Buffer.from('x')), () => down.exists(uri)]) {
        const e = await rejection(op());
        expect(e.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
        expect(e.retriable).toBe(true);
        expect(e.message).toContain(uri);
        expect(e.cause).toBeDefined();
        // Under Jest the SDK rewraps Node's socket error (another realm) and only the text keeps ECONNREFUSED.
        expect(e.message).toContain('ECONNREFUSED');
      }
    } finally {
      down.close();
    }
  });
});
