import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, ErrorCode } from '@k2/core';
import { commitSnapshot, createFileIO, SqlCatalog, type DataFile, type ParquetWriter, type Schema } from '@k2/iceberg';
import { runMaintenance } from '@k2/lake-sink';
import type { S3Config } from '@k2/storage';
import { infraEndpoints, uniqueSuffix } from '@k2/testing';

/**
 * Issue 18 on the real object store (s3proxy): `maintain` deleted "orphans" under whatever location a table's
 * metadata named. Tables at the warehouse root or above it are refused with nothing deleted, and a proper table
 * loses only unreferenced objects under its own data/ and metadata/.
 */
const ep = infraEndpoints();
const bucket = process.env['S3_BUCKET'] ?? process.env['K2_S3_BUCKET'] ?? 'k2-warehouse';
const s3: S3Config = { endpoint: ep.s3Endpoint, region: 'us-east-1', accessKeyId: ep.s3AccessKey, secretAccessKey: ep.s3SecretKey, forcePathStyle: true };
const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const layout = { schema, spec: { 'spec-id': 0, fields: [] }, sortOrder: { 'order-id': 0, fields: [] } };
const dataFile = (filePath: string): DataFile => ({ content: 0, 'file-path': filePath, 'file-format': 'PARQUET', partition: {}, 'record-count': 1, 'file-size-in-bytes': 1 });

describe('maintain on an S3 warehouse stays inside it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-maint-it-'));
  const root = `s3://${bucket}/itest/maintenance/${uniqueSuffix()}`;
  const warehouse = `${root}/wh`;
  const io = createFileIO(s3, { cacheDir: path.join(dir, 'cache') });
  const catalog = new SqlCatalog(io, { uri: `jdbc:sqlite:file:${path.join(dir, 'catalog.db')}`, warehouse });
  const logger = createLogger({ service: 'maintenance-itest', silent: true });
  const maintain = (tables: string[]) =>
    runMaintenance({ catalog, io, parquet: undefined as unknown as ParquetWriter, namespace: ['ns'], warehouse, logger, tables, now: () => Date.now() + 30 * 86_400_000 });

  async function table(name: string, location?: string): Promise<string> {
    const t = await catalog.createTable({ namespace: ['ns'], name }, { ...layout, location });
    const ref = `${t.metadata.location}/data/ref.bin`;
    await io.write(ref, Buffer.from('x'));
    await commitSnapshot(catalog, io, { namespace: ['ns'], name }, async () => ({ operation: 'append', added: [dataFile(ref)] }));
    return t.metadata.location;
  }

  afterAll(async () => {
    await catalog.close();
    io.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses tables at or above the warehouse root and deletes only the proper table\'s orphans', async () => {
    await catalog.createNamespace(['ns']);
    const good = await table('good');
    await table('at_root', warehouse);
    await table('above', root);
    const kept = [`${good}/data/ref.bin`, `${good}/notes.txt`, `${good}-backup/data/x.bin`, `${warehouse}/data/another-tool.bin`, `${root}/data/another-tool.bin`];
    for (const k of kept.slice(1)) await io.write(k, Buffer.from('x'));
    await io.write(`${good}/data/orphan.bin`, Buffer.from('x'));

    await expect(maintain(['at_root', 'above', 'good'])).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
    for (const k of kept) expect(await io.exists(k)).toBe(true);
    expect(await io.exists(`${good}/data/orphan.bin`)).toBe(false);
    const [report] = await maintain(['good']);
    expect(report).toMatchObject({ table: 'good', orphansDeleted: 0 });
  });
});
