import { ConfigError } from '@k2/core';
import { defaultS3CacheDir } from '@k2/iceberg';
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
      tailTopics: ['market.crypto.trades.binance', 'market.crypto.quotes.binance', 'market.crypto.trades.kraken', 'market.crypto.quotes.kraken', 'market.equities.trades.asx', 'market.equities.quotes.asx'],
      frameAncestors: [],
    });
    expect(loadQueryApiConfig({ QUERY_FRAME_ANCESTORS: 'http://localhost:3000 https://grafana.example.com' }, cwd).frameAncestors).toEqual(['http://localhost:3000', 'https://grafana.example.com']);
    expect(Object.isFrozen(loadQueryApiConfig({}, cwd))).toBe(true);
  });

  it('tails the topics listed in QUERY_TAIL_TOPICS, trades and quotes only, never by pattern', () => {
    expect(loadQueryApiConfig({ QUERY_TAIL_TOPICS: 'market.crypto.trades.binance' }, cwd).tailTopics).toEqual(['market.crypto.trades.binance']);
    expect(problems({ QUERY_TAIL_TOPICS: 'market.equities.reference.asx' })).toEqual([
      'QUERY_TAIL_TOPICS: market.equities.reference.asx is a reference topic; only trades|quotes are allowed',
    ]);
    expect(problems({ QUERY_TAIL_TOPICS: 'market.crypto.trades.binance.dlq' })).toEqual(['QUERY_TAIL_TOPICS: market.crypto.trades.binance.dlq is a dead-letter topic']);
    expect(problems({ QUERY_TOPIC_PATTERN: '^market\\..*$' })).toEqual(['QUERY_TOPIC_PATTERN is no longer supported; list the topics in QUERY_TAIL_TOPICS']);
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

  it('sizes admission and scan caps and sandboxes DuckDB to the S3 cache and a file warehouse (ADR 0013)', () => {
    const d = loadQueryApiConfig({ QUERY_CACHE_DIR: '/var/cache/k2' }, cwd);
    expect(d).toMatchObject({ engineQueue: 16, heavySlots: 2, heavyQueue: 2, maxScanRows: 5_000_000, maxAggregateScanRows: 100_000_000, heavyScanRows: 500_000 });
    expect(d.duckdbAllowedDirs).toEqual(['/var/cache/k2', '/srv/k2/.data/iceberg/warehouse']);
    expect(Object.isFrozen(d.duckdbAllowedDirs)).toBe(true);
    const env = { QUERY_DUCKDB_CONNECTIONS: '8', QUERY_HEAVY_SLOTS: '3', QUERY_ENGINE_QUEUE: '0', QUERY_MAX_SCAN_ROWS: '1000', QUERY_DUCKDB_ALLOWED_DIRS: '/a,/b' };
    expect(loadQueryApiConfig(env, cwd)).toMatchObject({ heavySlots: 3, engineQueue: 0, maxScanRows: 1000, duckdbAllowedDirs: ['/a', '/b'] });
    expect(loadQueryApiConfig({ ICEBERG_WAREHOUSE: 's3://bucket/wh' }, cwd).duckdbAllowedDirs).toEqual([defaultS3CacheDir()]);
    expect(problems({ QUERY_DUCKDB_CONNECTIONS: '2', QUERY_HEAVY_SLOTS: '3' })).toEqual(['QUERY_HEAVY_SLOTS=3 exceeds QUERY_DUCKDB_CONNECTIONS=2']);
    expect(problems({ QUERY_DUCKDB_ALLOWED_DIRS: 'relative/dir' })).toHaveLength(1);
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
