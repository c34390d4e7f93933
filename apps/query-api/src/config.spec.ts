import { ConfigError } from '@k2/core';
import { loadQueryApiConfig } from './config';

const cwd = '/srv/k2';

describe('query-api config', () => {
  it('runs with no env at all on port 8080 against the local catalog', () => {
    expect(loadQueryApiConfig({}, cwd)).toMatchObject({
      port: 8080,
      metricsPort: 8080,
      metricsHost: '0.0.0.0',
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
      catalog: { type: 'sql', uri: 'jdbc:sqlite:file:/srv/k2/.data/iceberg/lake-catalog.db', warehouse: 'file:///srv/k2/.data/iceberg/warehouse' },
      s3: { endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false },
      catalogName: 'rest_backend',
      namespace: ['market_data'],
      kafkaBrokers: ['127.0.0.1:9092'],
      tailEnabled: true,
      writerGroupId: 'k2-iceberg-writer',
      tailMaxRecords: 500_000,
      deadlineMs: 3000,
      topicPattern: undefined,
      frameAncestors: [],
    });
    expect(loadQueryApiConfig({ QUERY_FRAME_ANCESTORS: 'http://localhost:3000 https://grafana.example.com' }, cwd).frameAncestors).toEqual(['http://localhost:3000', 'https://grafana.example.com']);
    expect(Object.isFrozen(loadQueryApiConfig({}, cwd))).toBe(true);
  });

  it('serves API and metrics on PORT, accepting METRICS_PORT as an alias', () => {
    expect(loadQueryApiConfig({ PORT: '3000' }, cwd)).toMatchObject({ port: 3000, metricsPort: 3000 });
    expect(loadQueryApiConfig({ METRICS_PORT: '0' }, cwd)).toMatchObject({ port: 0, metricsPort: 0 });
    expect(loadQueryApiConfig({ PORT: '3000', METRICS_PORT: '3000' }, cwd)).toMatchObject({ port: 3000 });
  });

  it('takes the catalog and object store from env', () => {
    const c = loadQueryApiConfig(
      { ICEBERG_CATALOG: 'rest', ICEBERG_REST_URI: 'http://catalog:8181/', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'false' },
      cwd,
    );
    expect(c.catalog).toEqual({ type: 'rest', uri: 'http://catalog:8181', warehouse: undefined });
    expect(c.s3).toMatchObject({ endpoint: 'http://minio:9000', forcePathStyle: false });
  });

  it.each([
    [{ PORT: '3000', METRICS_PORT: '9000' }, 'PORT=3000 and METRICS_PORT=9000 differ; query-api serves the API and /metrics on one port, set only PORT'],
    [{ ICEBERG_CATALOG: 'rest' }, 'ICEBERG_CATALOG=rest requires ICEBERG_REST_URI (e.g. http://127.0.0.1:8181)'],
    [{ S3_SECRET_KEY: 'x' }, 'S3_ACCESS_KEY and S3_SECRET_KEY must be set together'],
  ])('rejects %j', (env, problem) => {
    expect(problems(env)).toEqual([problem]);
  });
});

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadQueryApiConfig(env, cwd);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('config was accepted');
}
