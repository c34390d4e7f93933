import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, K2Error } from '@k2/core';
import { LocalFileIO, toPath } from './local-file-io';

describe('LocalFileIO', () => {
  const io = new LocalFileIO();
  let dir: string;
  const uri = (...parts: string[]) => pathToFileURL(path.join(dir, ...parts)).href;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'k2-local-io-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function rejection(p: Promise<unknown>): Promise<K2Error> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(K2Error);
    return e as K2Error;
  }

  it('writes (creating parent directories), reads, sizes and checks existence', async () => {
    const u = uri('db', 't', 'metadata', '00001.metadata.json');
    expect(await io.exists(u)).toBe(false);
    await io.write(u, Buffer.from('{"format-version":2}'));
    expect(await io.exists(u)).toBe(true);
    expect((await io.read(u)).toString()).toBe('{"format-version":2}');
    expect(await io.size(u)).toBe(20);
    expect(await io.localPath(u)).toBe(path.join(dir, 'db', 't', 'metadata', '00001.metadata.json'));
  });

  it('leaves no temp file behind and replaces the whole content on a second write', async () => {
    const u = uri('a.bin');
    await io.write(u, Buffer.alloc(1000, 1));
    await io.write(u, Buffer.from('short'));
    expect((await io.read(u)).toString()).toBe('short');
    expect(await fs.readdir(dir)).toEqual(['a.bin']);
  });

  it('copies a local file with writeFromLocal, and does nothing when source and target are the same file', async () => {
    const src = path.join(dir, 'staging', 'part-0.parquet');
    await fs.mkdir(path.dirname(src), { recursive: true });
    await fs.writeFile(src, Buffer.from('PAR1...PAR1'));
    const u = uri('data', 'part-0.parquet');
    await io.writeFromLocal(u, src);
    expect((await io.read(u)).toString()).toBe('PAR1...PAR1');
    await io.writeFromLocal(pathToFileURL(src).href, src);
    expect((await fs.readFile(src)).toString()).toBe('PAR1...PAR1');
  });

  it('lists every file under a prefix recursively, with sizes', async () => {
    await io.write(uri('t', 'data', 'a.parquet'), Buffer.alloc(3));
    await io.write(uri('t', 'data', 'x=1', 'b.parquet'), Buffer.alloc(5));
    await io.write(uri('t', 'metadata', 'v1.metadata.json'), Buffer.alloc(7));
    await io.write(uri('t2', 'other.parquet'), Buffer.alloc(1));
    const listed = [];
    for await (const f of io.list(uri('t'))) listed.push(f);
    expect(listed.map((f) => [f.uri, f.size]).sort()).toEqual(
      [
        [uri('t', 'data', 'a.parquet'), 3],
        [uri('t', 'data', 'x=1', 'b.parquet'), 5],
        [uri('t', 'metadata', 'v1.metadata.json'), 7],
      ].sort(),
    );
    for (const f of listed) expect(f.lastModifiedMs).toBeGreaterThan(0);
  });

  it('lists nothing under a missing prefix', async () => {
    const listed = [];
    for await (const f of io.list(uri('missing'))) listed.push(f);
    expect(listed).toEqual([]);
  });

  it('deletes, and deleting a missing file is not an error', async () => {
    const u = uri('gone.avro');
    await io.write(u, Buffer.from('x'));
    await io.delete(u);
    expect(await io.exists(u)).toBe(false);
    await expect(io.delete(u)).resolves.toBeUndefined();
  });

  it('maps a missing file to a non-retriable ICEBERG_NOT_FOUND that names the URI', async () => {
    const u = uri('nope.json');
    for (const op of [() => io.read(u), () => io.size(u), () => io.writeFromLocal(uri('copy'), path.join(dir, 'no-such-source'))]) {
      const e = await rejection(op());
      expect(e.code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
      expect(e.retriable).toBe(false);
      expect(e.cause).toBeDefined();
    }
    expect((await rejection(io.read(u))).message).toContain(u);
  });

  it('rejects a URI that is not file:// with STORAGE_REJECTED', async () => {
    expect(() => toPath('s3://bucket/key')).toThrow(expect.objectContaining({ code: ErrorCode.STORAGE_REJECTED }));
    expect((await rejection(io.read('s3://bucket/key'))).code).toBe(ErrorCode.STORAGE_REJECTED);
  });

  it('accepts bare absolute paths and file: URIs with escaped characters', async () => {
    const p = path.join(dir, 'with space', 'f.txt');
    await io.write(p, Buffer.from('ok'));
    expect(toPath(pathToFileURL(p).href)).toBe(p);
    expect((await io.read(pathToFileURL(p).href)).toString()).toBe('ok');
  });
});
