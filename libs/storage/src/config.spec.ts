import { loadConfig } from '@k2/core';
import { icebergCatalogConfigSpec, icebergCatalogProblems, resolveIcebergCatalog, resolveS3Config, s3ConfigProblems, s3ConfigSpec } from './config';

const spec = { ...icebergCatalogConfigSpec(), ...s3ConfigSpec() };
const load = (env: Record<string, string>) =>
  loadConfig({ service: 't', spec, env, check: (c) => [...icebergCatalogProblems(c), ...s3ConfigProblems(c)] });

describe('storage config', () => {
  it('defaults to a SQLite catalog and file warehouse under <cwd>/.data/iceberg, AWS credential chain', () => {
    const c = load({});
    expect(resolveIcebergCatalog(c, '/srv/k2')).toEqual({
      type: 'sql',
      uri: 'jdbc:sqlite:file:/srv/k2/.data/iceberg/lake-catalog.db',
      warehouse: 'file:///srv/k2/.data/iceberg/warehouse',
    });
    expect(resolveS3Config(c)).toEqual({ endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false });
  });

  it('uses the REST catalog and path-style S3 when configured', () => {
    const c = load({ ICEBERG_CATALOG: 'rest', ICEBERG_REST_URI: 'http://127.0.0.1:8181', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' });
    expect(resolveIcebergCatalog(c, '/x')).toEqual({ type: 'rest', uri: 'http://127.0.0.1:8181', warehouse: undefined });
    expect(resolveS3Config(c).forcePathStyle).toBe(true);
  });

  it('rejects impossible combinations', () => {
    expect(() => load({ ICEBERG_CATALOG: 'rest' })).toThrow('ICEBERG_CATALOG=rest requires ICEBERG_REST_URI');
    expect(() => load({ ICEBERG_REST_URI: 'http://x' })).toThrow('ICEBERG_REST_URI is set but ICEBERG_CATALOG=sql');
    expect(() => load({ S3_ACCESS_KEY: 'a' })).toThrow('S3_ACCESS_KEY and S3_SECRET_KEY must be set together');
  });
});
