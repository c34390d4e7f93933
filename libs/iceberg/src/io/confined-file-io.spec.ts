import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, K2Error } from '@k2/core';
import { SqlCatalog } from '../catalog/sql-catalog';
import { planScan } from '../scan';
import { commitSnapshot } from '../snapshot';
import type { DataFile, Schema } from '../spec';
import { ConfinedFileIO, isStoreRoot, isStrictlyWithin, isWithin, normalizeLocation } from './confined-file-io';
import { LocalFileIO } from './local-file-io';

const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const dataFile = (filePath: string): DataFile => ({ content: 0, 'file-path': filePath, 'file-format': 'PARQUET', partition: {}, 'record-count': 1, 'file-size-in-bytes': 8 });

async function rejection(p: Promise<unknown>): Promise<K2Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(K2Error);
  return e as K2Error;
}

describe('location checks', () => {
  it('normalizes schemes and paths', () => {
    expect(normalizeLocation('file:///a/b/')).toEqual({ scheme: 'file', path: '/a/b' });
    expect(normalizeLocation('/a/b')).toEqual({ scheme: 'file', path: '/a/b' });
    expect(normalizeLocation('s3a://bucket/wh/')).toEqual({ scheme: 's3', path: 'bucket/wh' });
    // A file URL resolves its dot segments as LocalFileIO does; the result is what gets checked.
    expect(normalizeLocation('file:///wh/t/../../etc/passwd')).toEqual({ scheme: 'file', path: '/etc/passwd' });
    expect(() => normalizeLocation('/wh/t/../../etc/passwd')).toThrow(/"\." or "\.\." segments/);
    expect(() => normalizeLocation('s3://b/wh/t/../../other')).toThrow(/segments/);
    expect(() => normalizeLocation('http://h/x')).toThrow(/unsupported storage location/);
  });

  it('matches whole path segments within one scheme family', () => {
    expect(isWithin('s3://b/wh/t/data/x.parquet', 's3://b/wh/t')).toBe(true);
    expect(isWithin('s3a://b/wh/t/data/x.parquet', 's3://b/wh/t/')).toBe(true);
    expect(isWithin('s3://b/wh/t-other/x', 's3://b/wh/t')).toBe(false);
    expect(isWithin('file:///wh/t/x', 's3://b/wh/t')).toBe(false);
    expect(isWithin('file:///etc/passwd', 's3://b/wh')).toBe(false);
    expect(isStrictlyWithin('s3://b/wh', 's3://b/wh/')).toBe(false);
    expect(isStrictlyWithin('s3://b/wh/ns/t', 's3://b/wh')).toBe(true);
    expect(isStoreRoot('s3://bucket')).toBe(true);
    expect(isStoreRoot('s3://bucket/')).toBe(true);
    expect(isStoreRoot('file:///')).toBe(true);
    expect(isStoreRoot('s3://bucket/wh')).toBe(false);
  });
});

describe('ConfinedFileIO and planScan over a local warehouse (real files)', () => {
  let dir: string;
  let warehouse: string;
  let catalog: SqlCatalog;
  const io = new LocalFileIO();

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-confined-'));
    warehouse = pathToFileURL(path.join(dir, 'warehouse')).href;
    catalog = new SqlCatalog(io, { uri: `jdbc:sqlite:file:${path.join(dir, 'catalog.db')}`, warehouse });
    fs.mkdirSync(path.join(dir, 'outside'));
    fs.writeFileSync(path.join(dir, 'outside', 'secret.txt'), 'not the table');
  });
  afterEach(async () => {
    await catalog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads inside its roots and refuses anything else with a clear error', async () => {
    const root = `${warehouse}/ns/t`;
    await io.write(`${root}/data/a.bin`, Buffer.from('ok'));
    const confined = new ConfinedFileIO(io, [root]);
    expect((await confined.read(`${root}/data/a.bin`)).toString()).toBe('ok');
    const outside = pathToFileURL(path.join(dir, 'outside', 'secret.txt')).href;
    for (const uri of [outside, 'file:///etc/passwd', `${warehouse}/ns/t-other/x`, `${root}/../../outside/secret.txt`, 's3://bucket/ns/t/x']) {
      const err = await rejection(confined.read(uri));
      expect(err.code).toBe(ErrorCode.STORAGE_REJECTED);
      expect(err.retriable).toBe(false);
      expect(err.message).toContain('refused');
    }
    await expect(rejection(confined.delete(outside))).resolves.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
    expect(fs.existsSync(path.join(dir, 'outside', 'secret.txt'))).toBe(true);
  });

  // Issue 18: a manifest may name any URI; planning handed file:///etc/passwd to the reader.
  it('planScan refuses a table whose manifest names a file outside the table location', async () => {
    const ident = { namespace: ['ns'], name: 't' };
    await catalog.createNamespace(['ns']);
    const t = await catalog.createTable(ident, { schema, spec: { 'spec-id': 0, fields: [] }, sortOrder: { 'order-id': 0, fields: [] } });
    await commitSnapshot(catalog, io, ident, async () => ({ operation: 'append', added: [dataFile(`${t.metadata.location}/data/ok.parquet`)] }));
    const good = await planScan(io, await catalog.loadTable(ident));
    expect(good.files.map((f) => f.file['file-path'])).toEqual([`${t.metadata.location}/data/ok.parquet`]);

    const outside = pathToFileURL(path.join(dir, 'outside', 'secret.txt')).href;
    for (const bad of ['file:///etc/passwd', outside]) {
      await commitSnapshot(catalog, io, ident, async () => ({ operation: 'append', added: [dataFile(bad)] }));
      const err = await rejection(planScan(io, await catalog.loadTable(ident)));
      expect(err).toMatchObject({ code: ErrorCode.STORAGE_REJECTED, retriable: false });
      expect(err.message).toContain(bad);
    }
    // Extra roots the caller trusts (the configured warehouse) are honoured.
    const plan = await planScan(io, await catalog.loadTable(ident), { allowedRoots: [pathToFileURL(dir).href, 'file:///etc'] });
    expect(plan.files).toHaveLength(3);
  });
});
