import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger, ErrorCode } from '@k2/core';
import { commitSnapshot, LocalFileIO, SqlCatalog, type DataFile, type ParquetWriter, type Schema } from '@k2/iceberg';
import { assertMaintainable, runMaintenance } from './maintenance';

/**
 * Issue 18: maintenance deleted "orphans" under whatever location the table metadata named, so a table located at
 * the warehouse root (another tool's, or tampered) had unrelated files deleted. Real files, local warehouse.
 */
const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const layout = { schema, spec: { 'spec-id': 0, fields: [] }, sortOrder: { 'order-id': 0, fields: [] } };
const dataFile = (filePath: string): DataFile => ({ content: 0, 'file-path': filePath, 'file-format': 'PARQUET', partition: {}, 'record-count': 1, 'file-size-in-bytes': 2 });
const logger = createLogger({ service: 'maintenance-spec', silent: true });
const later = () => Date.now() + 30 * 86_400_000; // every file counts as old enough to be an orphan

describe('maintenance stays inside the warehouse and the table', () => {
  let dir: string;
  let warehouse: string;
  let catalog: SqlCatalog;
  const io = new LocalFileIO();
  const file = (uri: string) => new URL(uri).pathname;
  const put = async (uri: string) => io.write(uri, Buffer.from('x'));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-maint-'));
    warehouse = pathToFileURL(path.join(dir, 'warehouse')).href;
    catalog = new SqlCatalog(io, { uri: `jdbc:sqlite:file:${path.join(dir, 'catalog.db')}`, warehouse });
    await catalog.createNamespace(['ns']);
  });
  afterEach(async () => {
    await catalog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function table(name: string, location?: string): Promise<string> {
    const t = await catalog.createTable({ namespace: ['ns'], name }, { ...layout, location });
    const ref = `${t.metadata.location}/data/ref.bin`;
    await put(ref);
    await commitSnapshot(catalog, io, { namespace: ['ns'], name }, async () => ({ operation: 'append', added: [dataFile(ref)] }));
    return t.metadata.location;
  }

  const maintain = (tables: string[], wh: { warehouse: string | undefined } = { warehouse }) =>
    runMaintenance({ catalog, io, parquet: undefined as unknown as ParquetWriter, namespace: ['ns'], ...wh, logger, tables, now: later });

  it("deletes orphans only under the table's data/ and metadata/", async () => {
    const loc = await table('good');
    const kept = [`${loc}/data/ref.bin`, `${loc}/notes.txt`, `${loc}-backup/data/x.bin`, `${warehouse}/other-tool/data/y.bin`];
    for (const k of kept.slice(1)) await put(k);
    await put(`${loc}/data/orphan.bin`);
    await put(`${loc}/metadata/orphan.avro`);
    const [report] = await maintain(['good']);
    expect(report?.orphansDeleted).toBe(2);
    for (const k of kept) expect(fs.existsSync(file(k))).toBe(true);
    expect(fs.existsSync(file(`${loc}/data/orphan.bin`))).toBe(false);
    expect(fs.existsSync(file(`${loc}/metadata/orphan.avro`))).toBe(false);
  });

  it('refuses a table located at the warehouse root, deletes nothing of it, still maintains the others', async () => {
    const good = await table('good');
    await put(`${good}/data/orphan.bin`);
    await table('rogue', warehouse);
    const unrelated = `${warehouse}/data/another-tools-file.bin`;
    await put(unrelated);
    await expect(maintain(['rogue', 'good'])).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED, message: expect.stringContaining('not strictly under the warehouse root') });
    expect(fs.existsSync(file(unrelated))).toBe(true);
    expect(fs.existsSync(file(`${good}/data/orphan.bin`))).toBe(false);
  });

  it('refuses a table outside the warehouse, and any table when no warehouse root is configured', async () => {
    const elsewhere = pathToFileURL(path.join(dir, 'elsewhere', 't')).href;
    await table('outside', elsewhere);
    await put(`${elsewhere}/data/not-ours.bin`);
    await expect(maintain(['outside'])).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED });
    expect(fs.existsSync(file(`${elsewhere}/data/not-ours.bin`))).toBe(true);
    await table('good');
    await expect(maintain(['good'], { warehouse: undefined })).rejects.toThrow(/no warehouse root is configured/);
  });

  it('assertMaintainable: strictly under the warehouse, never a store root', () => {
    expect(() => assertMaintainable('s3://b/wh/ns/t', 's3://b/wh')).not.toThrow();
    expect(() => assertMaintainable('s3://b/wh', 's3://b/wh/')).toThrow(/not strictly under/);
    expect(() => assertMaintainable('s3://b', 's3://b')).toThrow(/bucket root/);
    expect(() => assertMaintainable('s3://other/wh/ns/t', 's3://b/wh')).toThrow(/not strictly under/);
    expect(() => assertMaintainable('file:///wh/ns/t', 's3://b/wh')).toThrow(/not strictly under/);
    expect(() => assertMaintainable('file:///', 'file:///')).toThrow(/filesystem or bucket root/);
  });
});
