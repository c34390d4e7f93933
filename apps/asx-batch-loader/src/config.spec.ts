import { ConfigError } from '@k2/core';
import { loadAsxBatchLoaderConfig } from './config';

describe('asx-batch-loader config', () => {
  it('runs with no env at all: nothing to load, exit after the batch', () => {
    expect(loadAsxBatchLoaderConfig({}, [])).toEqual({
      metricsPort: 9403,
      metricsHost: '0.0.0.0',
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
      kafkaBrokers: ['127.0.0.1:9092'],
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
      input: undefined,
      stayAlive: false,
      s3: { endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false },
      dryRun: false,
      maxErrors: undefined,
      checkpointDir: '.data/asx-loader/checkpoints',
      rejectFile: '.data/asx-loader/checkpoints/rejects.jsonl',
      currency: 'AUD',
      companyInfo: undefined,
      symbols: {},
      sourceTag: undefined,
      topicExchange: 'asx',
      progressIntervalMs: 5000,
      checkpointIntervalMs: 1000,
    });
  });

  it('reads local and s3 inputs, MinIO settings and staying alive', () => {
    expect(loadAsxBatchLoaderConfig({ ASX_INPUT: 'data/asx/*.csv', ASX_STAY_ALIVE: 'true' }, [])).toMatchObject({
      input: { kind: 'local', path: 'data/asx/*.csv' },
      stayAlive: true,
    });
    const c = loadAsxBatchLoaderConfig(
      { ASX_INPUT: 's3://k2-raw/asx/2024-01-*.csv', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'minio', S3_SECRET_KEY: 'secret', KAFKA_BROKERS: 'broker:29092' },
      ['--serve'],
    );
    expect(c).toMatchObject({
      input: { kind: 's3', bucket: 'k2-raw', key: 'asx/2024-01-*.csv' },
      stayAlive: true,
      kafkaBrokers: ['broker:29092'],
      s3: { endpoint: 'http://127.0.0.1:9000', accessKeyId: 'minio', secretAccessKey: 'secret', forcePathStyle: true },
    });
    expect(loadAsxBatchLoaderConfig({ ASX_INPUT: 's3://bucket' }, []).input).toEqual({ kind: 's3', bucket: 'bucket', key: '' });
  });

  it('takes every setting as a flag too, and a flag wins over the variable', () => {
    const c = loadAsxBatchLoaderConfig({ ASX_MAX_ERRORS: '5', ASX_CURRENCY: 'USD' }, [
      '--input',
      'data/asx-sample',
      '--max-errors=10',
      '--dry-run',
      '--reject-file',
      '/tmp/rejects.jsonl',
      '--checkpoint-dir',
      '/var/k2/asx',
      '--currency=AUD',
      '--company-info',
      's3://k2-raw/asx/reference-data/company_info.csv',
      '--symbols',
      '7078=BHP,3153=MWR',
      '--source-tag',
      '2014-03',
    ]);
    expect(c).toMatchObject({
      input: { kind: 'local', path: 'data/asx-sample' },
      maxErrors: 10,
      dryRun: true,
      rejectFile: '/tmp/rejects.jsonl',
      checkpointDir: '/var/k2/asx',
      currency: 'AUD',
      companyInfo: 's3://k2-raw/asx/reference-data/company_info.csv',
      symbols: { '7078': 'BHP', '3153': 'MWR' },
      sourceTag: '2014-03',
    });
    expect(loadAsxBatchLoaderConfig({ ASX_CHECKPOINT_DIR: '/ckpt' }, []).rejectFile).toBe('/ckpt/rejects.jsonl');
    expect(loadAsxBatchLoaderConfig({ ASX_CHECKPOINT_DIR: '/ckpt' }, ['--dry-run']).rejectFile).toBe('/ckpt/rejects.dry-run.jsonl');
  });

  it.each([
    [{ ASX_INPUT: 'https://example.com/asx.csv' }, [], 'ASX_INPUT="https://example.com/asx.csv" must be a local path or glob, or s3://bucket/prefix'],
    [{ ASX_INPUT: 's3:///no-bucket' }, [], 'ASX_INPUT="s3:///no-bucket" must be a local path or glob, or s3://bucket/prefix'],
    [{ S3_ACCESS_KEY: 'minio' }, [], 'S3_ACCESS_KEY and S3_SECRET_KEY must be set together'],
    [{ ASX_MAX_ERRORS: '-1' }, [], 'ASX_MAX_ERRORS="-1" must be >= 0'],
    [{}, ['--max-errors', 'many'], 'ASX_MAX_ERRORS="many" must be an integer'],
    [{ ASX_CURRENCY: 'aud' }, [], 'ASX_CURRENCY="aud" must match /^[A-Z]{3}$/'],
    [{ ASX_SYMBOLS: '7078:BHP' }, [], 'ASX_SYMBOLS="7078:BHP" has invalid item(s) 7078:BHP'],
    [{ ASX_COMPANY_INFO: 'https://x/company_info.csv' }, [], 'ASX_COMPANY_INFO="https://x/company_info.csv" must be a local path or s3://bucket/key'],
    [{}, ['--reject-file'], '--reject-file needs a value'],
  ])('rejects %j %j', (env, argv, problem) => {
    expect(problems(env, argv)).toEqual([problem]);
  });

  it('names an unknown argument and lists the flags', () => {
    expect(problems({}, ['--server'])[0]).toMatch(/^unknown argument --server; flags are --serve --dry-run --input --max-errors/);
  });
});

function problems(env: NodeJS.ProcessEnv, argv: string[]): readonly string[] {
  try {
    loadAsxBatchLoaderConfig(env, argv);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('config was accepted');
}
