import { LocalFileIO } from '../io/local-file-io';
import { createCatalog } from './factory';
import { RestCatalog } from './rest-catalog';
import { DEFAULT_SQL_CATALOG_NAME, SqlCatalog } from './sql-catalog';

describe('createCatalog', () => {
  const io = new LocalFileIO();

  it('builds a SqlCatalog for sql configs (SQLite or PostgreSQL by URI), lazily connecting', async () => {
    const lite = createCatalog({ type: 'sql', uri: 'jdbc:sqlite::memory:', warehouse: 'file:///tmp/wh' }, io);
    expect(lite).toBeInstanceOf(SqlCatalog);
    expect(lite.name).toBe(DEFAULT_SQL_CATALOG_NAME);
    expect(await lite.namespaceExists(['x'])).toBe(false);
    await lite.close();

    const pg = createCatalog({ type: 'sql', uri: 'jdbc:postgresql://127.0.0.1:1/cat?user=u&password=p', warehouse: 's3://b/w' }, io, { name: 'k2' });
    expect(pg).toBeInstanceOf(SqlCatalog);
    expect(pg.name).toBe('k2');
    await pg.close();
  });

  it('builds a RestCatalog for rest configs', async () => {
    const c = createCatalog({ type: 'rest', uri: 'http://127.0.0.1:8181', warehouse: undefined }, io);
    expect(c).toBeInstanceOf(RestCatalog);
    await c.close();
  });

  it('rejects an unknown SQL URI at construction', () => {
    expect(() => createCatalog({ type: 'sql', uri: 'mysql://db/cat', warehouse: 'file:///tmp/wh' }, io)).toThrow(/unsupported scheme/);
  });
});
