import { cfg, loadConfig, type Field } from '@k2/core';
import { runtimeConfigSpec, type RuntimeConfig } from '@k2/runtime';

export const SERVICE = 'asx-batch-loader';

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/** A local file, directory or glob, or an object-store prefix (which may end in a glob). */
export type AsxInput = { readonly kind: 'local'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

/**
 * Credentials are optional: without S3_ACCESS_KEY/S3_SECRET_KEY the AWS SDK's default provider chain applies
 * (env, profile, instance/pod role). Path-style addressing defaults to on when S3_ENDPOINT points at a
 * non-AWS store such as MinIO, which typically serves buckets under the path rather than as subdomains.
 */
export interface S3Config {
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly forcePathStyle: boolean;
}

/**
 * A batch job: it loads ASX_INPUT once and exits 0. Without ASX_INPUT there is nothing to load, so it validates
 * its config and exits 0 at once. ASX_STAY_ALIVE=true (or the `--serve` argument) keeps the process and its
 * /metrics endpoint up after the batch until SIGTERM, for a scrape of the final counters or a Deployment-style run.
 */
export interface AsxBatchLoaderConfig extends RuntimeConfig {
  readonly kafkaBrokers: readonly string[];
  readonly schemaRegistryUrl: string;
  readonly input: AsxInput | undefined;
  readonly stayAlive: boolean;
  readonly s3: S3Config;
}

// A field without a default reads as undefined when unset; this makes the type say so.
const optional = <T>(f: Field<T>): Field<T | undefined> => f;

const spec = {
  ...runtimeConfigSpec({ metricsPort: 9403 }),
  kafkaBrokers: cfg.list({ env: 'KAFKA_BROKERS', default: ['127.0.0.1:9092'], item: BROKER }),
  schemaRegistryUrl: cfg.url({ env: 'SCHEMA_REGISTRY_URL', default: 'http://127.0.0.1:8081/apis/ccompat/v7' }),
  input: optional(cfg.string({ env: 'ASX_INPUT' })),
  stayAlive: cfg.bool({ env: 'ASX_STAY_ALIVE', default: false }),
  s3Endpoint: optional(cfg.url({ env: 'S3_ENDPOINT' })),
  s3AccessKey: optional(cfg.string({ env: 'S3_ACCESS_KEY' })),
  s3SecretKey: optional(cfg.string({ env: 'S3_SECRET_KEY' })),
  s3Region: cfg.string({ env: 'S3_REGION', default: 'us-east-1', pattern: /^[a-z0-9-]+$/ }),
  s3ForcePathStyle: optional(cfg.bool({ env: 'S3_FORCE_PATH_STYLE' })),
};

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

export function loadAsxBatchLoaderConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2)): AsxBatchLoaderConfig {
  const unknownArgs = argv.filter((a) => a !== '--serve');
  const c = loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => {
      const problems: string[] = [];
      if (unknownArgs.length) problems.push(`unknown argument(s) ${unknownArgs.join(' ')}; the only one is --serve`);
      if (c.input !== undefined && SCHEME.test(c.input) && !S3_URL.test(c.input)) {
        problems.push(`ASX_INPUT=${JSON.stringify(c.input)} must be a local path or glob, or s3://bucket/prefix`);
      }
      if (!c.s3AccessKey !== !c.s3SecretKey) problems.push('S3_ACCESS_KEY and S3_SECRET_KEY must be set together');
      return problems;
    },
  });
  const s3 = c.input === undefined ? null : S3_URL.exec(c.input);
  return Object.freeze({
    metricsPort: c.metricsPort,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    kafkaBrokers: c.kafkaBrokers,
    schemaRegistryUrl: c.schemaRegistryUrl,
    input:
      c.input === undefined
        ? undefined
        : Object.freeze(s3 ? { kind: 's3' as const, bucket: s3[1] ?? '', key: s3[2] ?? '' } : { kind: 'local' as const, path: c.input }),
    stayAlive: c.stayAlive || argv.includes('--serve'),
    s3: Object.freeze({
      endpoint: c.s3Endpoint,
      region: c.s3Region,
      accessKeyId: c.s3AccessKey,
      secretAccessKey: c.s3SecretKey,
      forcePathStyle: c.s3ForcePathStyle ?? c.s3Endpoint !== undefined,
    }),
  });
}
