import path from 'node:path';
import { ErrorCode, K2Error } from '@k2/core';
import { openSqlDatabase, parseSqlUri, redactUri, SqlStoreError, toDollarParams } from './sql-dialect';

describe('parseSqlUri', () => {
  const cwd = '/srv/k2';

  it.each([
    ['jdbc:sqlite:file:/data/iceberg/catalog.db', '/data/iceberg/catalog.db'],
    ['jdbc:sqlite:file:/data/my%20dir/catalog.db', '/data/my dir/catalog.db'],
    ['jdbc:sqlite:file:///data/catalog.db', '/data/catalog.db'],
    ['jdbc:sqlite:/data/catalog.db?journal_mode=DELETE', '/data/catalog.db'],
    ['jdbc:sqlite:rel/catalog.db', '/srv/k2/rel/catalog.db'],
    ['jdbc:sqlite::memory:', ':memory:'],
    ['sqlite:////data/catalog.db', '/data/catalog.db'],
    ['sqlite:///rel.db', '/srv/k2/rel.db'],
    ['sqlite+pysqlite:////data/catalog.db', '/data/catalog.db'],
    ['sqlite://', ':memory:'],
    ['file:///data/catalog.db', '/data/catalog.db'],
    ['/data/catalog.db', '/data/catalog.db'],
    ['.data/iceberg/catalog.db', path.join(cwd, '.data/iceberg/catalog.db')],
  ])('%s → SQLite %s', (uri, file) => {
    expect(parseSqlUri(uri, cwd)).toEqual({ dialect: 'sqlite', file });
  });

  it.each([
    ['postgresql://k2:k2secret@127.0.0.1:5433/k2_catalog', 'postgresql://k2:k2secret@127.0.0.1:5433/k2_catalog'],
    ['postgres://k2:k2secret@db/k2', 'postgresql://k2:k2secret@db/k2'],
    ['postgresql+psycopg2://k2:k2secret@127.0.0.1:5433/k2_catalog', 'postgresql://k2:k2secret@127.0.0.1:5433/k2_catalog'],
    ['jdbc:postgresql://127.0.0.1:5433/k2_catalog?user=k2&password=k2secret', 'postgresql://k2:k2secret@127.0.0.1:5433/k2_catalog'],
    ['jdbc:postgresql://db:5432/cat?user=k2&password=p%40ss%2Fw&sslmode=require', 'postgresql://k2:p%40ss%2Fw@db:5432/cat?sslmode=require'],
    // deploy/k8s prod: no credentials in the URI (PGUSER/PGPASSWORD per pod), TLS verified against a mounted CA; the
    // parameters must reach node-postgres unchanged or the connection silently falls back to plaintext (issue 18).
    [
      'jdbc:postgresql://k2-catalog.example.internal:5432/k2_catalog?sslmode=verify-full&sslrootcert=/etc/k2/postgres-ca/ca.crt',
      'postgresql://k2-catalog.example.internal:5432/k2_catalog?sslmode=verify-full&sslrootcert=/etc/k2/postgres-ca/ca.crt',
    ],
    ['jdbc:postgresql://db:5432/cat?user=k2&sslmode=verify-full&sslrootcert=/ca.crt', 'postgresql://k2@db:5432/cat?sslmode=verify-full&sslrootcert=%2Fca.crt'],
  ])('%s → PostgreSQL', (uri, connectionString) => {
    const t = parseSqlUri(uri);
    expect(t).toEqual({ dialect: 'postgres', connectionString, display: redactUri(connectionString) });
    expect(t.dialect === 'postgres' && t.display).not.toContain('k2secret');
  });

  it.each(['mysql://db/cat', 'jdbc:h2:mem:x', 'sqlite:rel.db', 'postgresql://db', ''])('rejects %j', (uri) => {
    let err: unknown;
    try {
      parseSqlUri(uri);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(K2Error);
    expect((err as K2Error).code).toBe(ErrorCode.CONFIG_INVALID);
  });

  it('redacts passwords in both URL forms', () => {
    expect(redactUri('postgresql://k2:secret@h/db')).toBe('postgresql://k2:***@h/db');
    expect(redactUri('jdbc:postgresql://h/db?user=k2&password=secret&x=1')).toBe('jdbc:postgresql://h/db?user=k2&password=***&x=1');
  });
});

describe('toDollarParams', () => {
  it('numbers placeholders for node-postgres', () => {
    expect(toDollarParams('SELECT a FROM t WHERE b = ? AND c IN (?, ?)')).toBe('SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)');
  });
});

describe('PostgresDatabase errors', () => {
  it('maps a refused connection to retriable STORAGE_UNAVAILABLE that was not applied', async () => {
    // Port 1 on loopback: nothing listens, the kernel refuses at once.
    const db = openSqlDatabase(parseSqlUri('postgresql://k2:pw@127.0.0.1:1/none'), { connectTimeoutMs: 2000 });
    try {
      let err: unknown;
      try {
        await db.execute('SELECT 1');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SqlStoreError);
      const e = err as SqlStoreError;
      expect(e.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
      expect(e.retriable).toBe(true);
      expect(e.outcome).toBe('not-applied');
      expect(e.message).not.toContain(':pw@');
    } finally {
      await db.close();
    }
  });
});
