import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@k2/core';
import { defaultS3CacheDir } from '@k2/iceberg';
import { mintApiKey } from '@k2/query';
import { loadQueryApiConfig as load } from './config';

const cwd = '/srv/k2';
const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-config-keys-'));
const keysFile = path.join(keysDir, 'keys.json');
fs.writeFileSync(keysFile, JSON.stringify([mintApiKey({ name: 'ops' }).entry]));
afterAll(() => fs.rmSync(keysFile, { force: true }));
/** Every case below except the auth ones runs with a valid keys file, as production does. */
const loadQueryApiConfig = (env: NodeJS.ProcessEnv, dir: string) => load({ QUERY_API_KEYS_FILE: keysFile, ...env }, dir);

describe('query-api config', () => {
  it('runs with only a keys file: API on 8080, ops on 9405, against the local catalog', () => {
    expect(loadQueryApiConfig({}, cwd)).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      metricsPort: 9405,
      auth: 'keys',
      apiKeysFile: keysFile,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5000,
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
      tailMaxRecords: 157_286, // 20 % of the default 768 MiB budget at 1 KiB a record
      cacheMaxBytes: 2 * 1024 ** 3,
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

  it('serves the API on PORT and the ops endpoints on METRICS_PORT', () => {
    expect(loadQueryApiConfig({ PORT: '3000' }, cwd)).toMatchObject({ port: 3000, metricsPort: 9405 });
    expect(loadQueryApiConfig({ PORT: '0', METRICS_PORT: '0' }, cwd)).toMatchObject({ port: 0, metricsPort: 0 });
  });

  it('needs keys unless QUERY_AUTH=none, and checks them at start without echoing them', () => {
    const bare = (env: NodeJS.ProcessEnv) => {
      try {
        load(env, cwd);
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    expect(bare({})).toEqual(['QUERY_AUTH=keys needs QUERY_API_KEYS_FILE or QUERY_API_KEYS (mint a key: npm run api-key -- --name NAME), or QUERY_AUTH=none for a local demo']);
    expect(load({ QUERY_AUTH: 'none' }, cwd).auth).toBe('none');
    expect(bare({ QUERY_AUTH: 'none', QUERY_API_KEYS_FILE: keysFile })).toEqual(['QUERY_AUTH=none ignores QUERY_API_KEYS_FILE/QUERY_API_KEYS; unset them or use QUERY_AUTH=keys']);
    expect(bare({ QUERY_API_KEYS_FILE: '/nonexistent/keys.json' })).toEqual(['QUERY_API_KEYS_FILE=/nonexistent/keys.json cannot be read (ENOENT)']);
    const secretish = '[{"name":"x","id":"zz","salt":"s3cr3t-salt-value","hash":"h"}]';
    const problems = bare({ QUERY_API_KEYS: secretish });
    expect(problems[0]).toBe('QUERY_API_KEYS entry 0: id must be 12 lowercase hex characters');
    expect(problems.join(' ')).not.toContain('s3cr3t');
    const revoked = path.join(keysDir, 'revoked.json');
    fs.writeFileSync(revoked, JSON.stringify([{ ...mintApiKey({ name: 'old' }).entry, revoked: true }]));
    expect(bare({ QUERY_API_KEYS_FILE: revoked })).toEqual(['QUERY_API_KEYS_FILE holds no active key']);
    expect(load({ QUERY_API_KEYS: JSON.stringify([mintApiKey({ name: 'inline' }).entry]) }, cwd).auth).toBe('keys');
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
    [{ PORT: '9000', METRICS_PORT: '9000' }, 'PORT and METRICS_PORT are both 9000; the public API and the ops endpoints need different ports'],
    [{ QUERY_HEADERS_TIMEOUT_MS: '60000' }, 'QUERY_HEADERS_TIMEOUT_MS must not exceed QUERY_REQUEST_TIMEOUT_MS'],
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
    const rest = loadQueryApiConfig({ ICEBERG_CATALOG: 'rest', ICEBERG_REST_URI: 'http://catalog:8181' }, cwd);
    expect(rest.duckdbAllowedDirs).toEqual([defaultS3CacheDir(), '/srv/k2/.data/iceberg/warehouse']);
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
