import { ConfigError } from '@k2/core';
import { PLATFORM_DATA_TOPICS } from '@k2/kafka';
import { loadIcebergWriterConfig } from './config';

const cwd = '/srv/k2';

describe('iceberg-writer config', () => {
  it('runs with no env at all against a local SQLite catalog and file warehouse', () => {
    expect(loadIcebergWriterConfig({}, cwd)).toEqual({
      metricsPort: 9404,
      metricsHost: '0.0.0.0',
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
      kafkaBrokers: ['127.0.0.1:9092'],
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
      catalog: { type: 'sql', uri: 'jdbc:sqlite:file:/srv/k2/.data/iceberg/lake-catalog.db', warehouse: 'file:///srv/k2/.data/iceberg/warehouse' },
      s3: { endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false },
      commit: { intervalMs: 10_000, maxRows: 500_000, maxBytes: 134_217_728 },
      groupId: 'k2-iceberg-writer',
      writerId: expect.stringMatching(/-\d+$/),
      staticMemberId: undefined,
      sessionTimeoutMs: 30_000,
      catalogName: 'rest_backend',
      namespace: ['market_data'],
      minEventTime: '1990-01-01T00:00:00Z',
      maxFutureMs: 86_400_000,
      memory: { total: 805_306_368, buffers: 335_544_320, dedup: 67_108_864, duckdb: 201_326_592, runtime: 201_326_592 },
      tmpDir: undefined,
      duckdbThreads: 2,
      duckdbMemoryLimit: '192MiB',
      topics: PLATFORM_DATA_TOPICS,
      bars: true,
    });
  });

  it('splits WRITER_MEMORY_BUDGET into buffers, dedup and DuckDB, honouring an explicit DuckDB limit', () => {
    const c = loadIcebergWriterConfig({ WRITER_MEMORY_BUDGET: '2GiB', WRITER_DUCKDB_MEMORY_LIMIT: '512MiB' }, cwd);
    expect(c.memory.total).toBe(2 * 1024 ** 3);
    expect(c.memory.duckdb).toBe(512 * 1024 ** 2);
    expect(c.duckdbMemoryLimit).toBe('512MiB');
    expect(c.memory.buffers + c.memory.dedup + c.memory.duckdb + c.memory.runtime).toBe(c.memory.total);
  });

  it('takes the group, namespace, subscription and event-time window from env', () => {
    const c = loadIcebergWriterConfig(
      { WRITER_GROUP_ID: 'lake-2', WRITER_ID: 'w1', ICEBERG_NAMESPACE: 'lake.market', WRITER_TOPICS: 'market.crypto.trades.binance, market.crypto.quotes.binance', WRITER_MIN_EVENT_TIME: '2010-01-01' },
      cwd,
    );
    expect(c).toMatchObject({ groupId: 'lake-2', writerId: 'w1', namespace: ['lake', 'market'], minEventTime: '2010-01-01' });
    expect(c.topics).toEqual(['market.crypto.trades.binance', 'market.crypto.quotes.binance']);
  });

  it('takes a REST catalog, an S3 warehouse on MinIO and commit limits from env', () => {
    const c = loadIcebergWriterConfig(
      {
        ICEBERG_CATALOG: 'rest',
        ICEBERG_REST_URI: 'http://127.0.0.1:8181',
        ICEBERG_WAREHOUSE: 's3://k2-lake/warehouse',
        S3_ENDPOINT: 'http://127.0.0.1:9000',
        S3_ACCESS_KEY: 'minio',
        S3_SECRET_KEY: 'minio123',
        S3_REGION: 'eu-west-1',
        WRITER_COMMIT_INTERVAL_MS: '2000',
        WRITER_COMMIT_MAX_ROWS: '1000',
        WRITER_COMMIT_MAX_BYTES: '1048576',
      },
      cwd,
    );
    expect(c.catalog).toEqual({ type: 'rest', uri: 'http://127.0.0.1:8181', warehouse: 's3://k2-lake/warehouse' });
    expect(c.s3).toEqual({ endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', accessKeyId: 'minio', secretAccessKey: 'minio123', forcePathStyle: true });
    expect(c.commit).toEqual({ intervalMs: 2000, maxRows: 1000, maxBytes: 1_048_576 });
  });

  it('allows an s3:// warehouse with neither endpoint nor keys (AWS default chain)', () => {
    const c = loadIcebergWriterConfig({ ICEBERG_WAREHOUSE: 's3://bucket/wh', S3_FORCE_PATH_STYLE: 'false' }, cwd);
    expect(c.catalog.warehouse).toBe('s3://bucket/wh');
    expect(c.s3).toMatchObject({ endpoint: undefined, accessKeyId: undefined, forcePathStyle: false });
  });

  it.each([
    [{ ICEBERG_CATALOG: 'rest' }, 'ICEBERG_CATALOG=rest requires ICEBERG_REST_URI (e.g. http://127.0.0.1:8181)'],
    [{ ICEBERG_REST_URI: 'http://127.0.0.1:8181' }, 'ICEBERG_REST_URI is set but ICEBERG_CATALOG=sql; set ICEBERG_CATALOG=rest or unset ICEBERG_REST_URI'],
    [{ ICEBERG_CATALOG: 'rest', ICEBERG_REST_URI: 'http://x', ICEBERG_CATALOG_URI: 'jdbc:sqlite:file:/tmp/c.db' }, 'ICEBERG_CATALOG_URI is only used by ICEBERG_CATALOG=sql; the REST catalog is ICEBERG_REST_URI'],
    [{ S3_ACCESS_KEY: 'minio' }, 'S3_ACCESS_KEY and S3_SECRET_KEY must be set together'],
    [{ ICEBERG_WAREHOUSE: '/tmp/warehouse' }, 'ICEBERG_WAREHOUSE="/tmp/warehouse" must match /^(file|s3a?):\\/\\/\\S+$/'],
    [{ WRITER_COMMIT_INTERVAL_MS: '10' }, 'WRITER_COMMIT_INTERVAL_MS="10" must be >= 100'],
    [{ WRITER_TOPICS: 'market.crypto.trades.binance.dlq' }, 'WRITER_TOPICS: market.crypto.trades.binance.dlq is a dead-letter topic'],
    [{ WRITER_TOPICS: 'market.crypto.trades.Binance' }, 'WRITER_TOPICS: exchange "Binance" must be lowercase letters, digits, - or _ (max 32)'],
    [{ WRITER_TOPIC_PATTERN: '^market\\..*$' }, 'WRITER_TOPIC_PATTERN is no longer supported; list the topics in WRITER_TOPICS'],
    [{ WRITER_MIN_EVENT_TIME: '2024-13-45' }, 'WRITER_MIN_EVENT_TIME="2024-13-45" is not a date'],
    [
      { WRITER_MEMORY_BUDGET: '300MiB' },
      'WRITER_MEMORY_BUDGET=300MiB is too small: runtime 192MiB + DuckDB 75MiB + dedup 25MiB leave 8MiB for buffers, below the minimum 32MiB',
    ],
    [{ WRITER_MEMORY_BUDGET: '1GiB', WRITER_DUCKDB_MEMORY_LIMIT: '32MB' }, 'DuckDB memory 31MiB is below the 64MiB it needs to write Parquet'],
    [{ WRITER_COMMIT_MAX_BYTES: '268435456' }, 'WRITER_COMMIT_MAX_BYTES=268435456 exceeds half the buffer share (160MiB) of WRITER_MEMORY_BUDGET=768MiB'],
    [{ WRITER_DEDUP_MAX_IDS: '5000000' }, 'WRITER_DEDUP_MAX_IDS is no longer supported; dedup memory is a share of WRITER_MEMORY_BUDGET'],
  ])('rejects %j', (env, problem) => {
    expect(problems(env)).toEqual([problem]);
  });
});

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadIcebergWriterConfig(env, cwd);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('config was accepted');
}
