import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, K2Error } from '@k2/core';
import type { S3Config } from '@k2/storage';
import { infraEndpoints, uniqueSuffix } from '@k2/testing';
import { SqlCatalog } from '../catalog/sql-catalog';
import { planScan } from '../scan';
import { commitSnapshot } from '../snapshot';
import type { DataFile, Schema } from '../spec';
import { tableFileIO } from './confined-file-io';
import { createFileIO } from './resolving-file-io';

/**
 * Issue 18 against the real object store (s3proxy): an s3:// table whose manifest names file:///etc/passwd made
 * ResolvingFileIO read the local disk. Planning and the table's FileIO refuse it; the table's own objects still read.
 */
const ep = infraEndpoints();
const bucket = process.env['S3_BUCKET'] ?? process.env['K2_S3_BUCKET'] ?? 'k2-warehouse';
const s3: S3Config = { endpoint: ep.s3Endpoint, region: 'us-east-1', accessKeyId: ep.s3AccessKey, secretAccessKey: ep.s3SecretKey, forcePathStyle: true };
const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const dataFile = (filePath: string): DataFile => ({ content: 0, 'file-path': filePath, 'file-format': 'PARQUET', partition: {}, 'record-count': 1, 'file-size-in-bytes': 2 });

describe('an s3:// table is confined to its own location', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-confined-it-'));
  const warehouse = `s3://${bucket}/itest/confined/${uniqueSuffix()}`;
  const io = createFileIO(s3, { cacheDir: path.join(dir, 'cache') });
  const catalog = new SqlCatalog(io, { uri: `jdbc:sqlite:file:${path.join(dir, 'catalog.db')}`, warehouse });
  const ident = { namespace: ['ns'], name: 't' };

  afterAll(async () => {
    await catalog.close();
    io.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("plans and reads the table's own objects, refuses a manifest that names a local file", async () => {
    await catalog.createNamespace(['ns']);
    const t = await catalog.createTable(ident, { schema, spec: { 'spec-id': 0, fields: [] }, sortOrder: { 'order-id': 0, fields: [] } });
    const own = `${t.metadata.location}/data/own.parquet`;
    await io.write(own, Buffer.from('ok'));
    await commitSnapshot(catalog, io, ident, async () => ({ operation: 'append', added: [dataFile(own)] }));
    const plan = await planScan(io, await catalog.loadTable(ident));
    const tio = tableFileIO(io, t.metadata.location);
    expect(await Promise.all(plan.files.map(async (f) => fs.readFileSync(await tio.localPath(f.file['file-path']), 'utf8')))).toEqual(['ok']);

    await commitSnapshot(catalog, io, ident, async () => ({ operation: 'append', added: [dataFile('file:///etc/passwd')] }));
    const err = await planScan(io, await catalog.loadTable(ident)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(K2Error);
    expect(err).toMatchObject({ code: ErrorCode.STORAGE_REJECTED, retriable: false, message: expect.stringContaining('file:///etc/passwd') });
    for (const bad of ['file:///etc/passwd', `s3://${bucket}/itest/other-tool/x`, `${t.metadata.location}-other/data/x.parquet`]) {
      await expect(tio.localPath(bad)).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
      await expect(tio.read(bad)).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
    }
  });
});
