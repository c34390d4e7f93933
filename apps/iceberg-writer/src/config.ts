import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cfg, loadConfig, type Field } from '@k2/core';
import { runtimeConfigSpec, type RuntimeConfig } from '@k2/runtime';

export const SERVICE = 'iceberg-writer';

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/**
 * `sql`: a JDBC-style catalog in a local SQLite file, the zero-infrastructure default; the URI uses the form
 * Iceberg's JdbcCatalog takes (jdbc:sqlite:file:/path), so tools/infra's REST catalog can serve the same file.
 * `rest`: an Iceberg REST catalog (https://iceberg.apache.org/rest-catalog-spec/), which usually decides the
 * warehouse itself, so ICEBERG_WAREHOUSE is only a hint there.
 */
export type IcebergCatalogConfig =
  | { readonly type: 'sql'; readonly uri: string; readonly warehouse: string }
  | { readonly type: 'rest'; readonly uri: string; readonly warehouse: string | undefined };

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

export interface IcebergWriterConfig extends RuntimeConfig {
  readonly kafkaBrokers: readonly string[];
  readonly schemaRegistryUrl: string;
  readonly catalog: IcebergCatalogConfig;
  readonly s3: S3Config;
  /** A commit happens when the first of these is reached; each Iceberg commit is one snapshot, so not too often. */
  readonly commit: { readonly intervalMs: number; readonly maxRows: number; readonly maxBytes: number };
}

// A field without a default reads as undefined when unset; this makes the type say so.
const optional = <T>(f: Field<T>): Field<T | undefined> => f;

const spec = {
  ...runtimeConfigSpec({ metricsPort: 9404 }),
  kafkaBrokers: cfg.list({ env: 'KAFKA_BROKERS', default: ['127.0.0.1:9092'], item: BROKER }),
  schemaRegistryUrl: cfg.url({ env: 'SCHEMA_REGISTRY_URL', default: 'http://127.0.0.1:8081/apis/ccompat/v7' }),
  catalog: cfg.oneOf<'sql' | 'rest'>({ env: 'ICEBERG_CATALOG', default: 'sql', values: ['sql', 'rest'] }),
  catalogUri: optional(cfg.string({ env: 'ICEBERG_CATALOG_URI', pattern: /^\S+$/ })),
  warehouse: optional(cfg.string({ env: 'ICEBERG_WAREHOUSE', pattern: /^(file|s3a?):\/\/\S+$/ })),
  restUri: optional(cfg.url({ env: 'ICEBERG_REST_URI' })),
  s3Endpoint: optional(cfg.url({ env: 'S3_ENDPOINT' })),
  s3AccessKey: optional(cfg.string({ env: 'S3_ACCESS_KEY' })),
  s3SecretKey: optional(cfg.string({ env: 'S3_SECRET_KEY' })),
  s3Region: cfg.string({ env: 'S3_REGION', default: 'us-east-1', pattern: /^[a-z0-9-]+$/ }),
  s3ForcePathStyle: optional(cfg.bool({ env: 'S3_FORCE_PATH_STYLE' })),
  commitIntervalMs: cfg.int({ env: 'WRITER_COMMIT_INTERVAL_MS', default: 10_000, min: 100 }),
  commitMaxRows: cfg.int({ env: 'WRITER_COMMIT_MAX_ROWS', default: 500_000, min: 1 }),
  commitMaxBytes: cfg.int({ env: 'WRITER_COMMIT_MAX_BYTES', default: 128 * 1024 * 1024, min: 1024 }),
};

/** Local defaults live under `<cwd>/.data/iceberg`; cwd is the repo root under `nx serve` and `npm start`. */
export function loadIcebergWriterConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): IcebergWriterConfig {
  const c = loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => {
      const problems: string[] = [];
      if (c.catalog === 'rest' && !c.restUri) problems.push('ICEBERG_CATALOG=rest requires ICEBERG_REST_URI (e.g. http://127.0.0.1:8181)');
      if (c.catalog === 'sql' && c.restUri) problems.push('ICEBERG_REST_URI is set but ICEBERG_CATALOG=sql; set ICEBERG_CATALOG=rest or unset ICEBERG_REST_URI');
      if (c.catalog === 'rest' && c.catalogUri) problems.push('ICEBERG_CATALOG_URI is only used by ICEBERG_CATALOG=sql; the REST catalog is ICEBERG_REST_URI');
      if (!c.s3AccessKey !== !c.s3SecretKey) problems.push('S3_ACCESS_KEY and S3_SECRET_KEY must be set together');
      return problems;
    },
  });
  const data = path.resolve(cwd, '.data/iceberg');
  return Object.freeze({
    metricsPort: c.metricsPort,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    kafkaBrokers: c.kafkaBrokers,
    schemaRegistryUrl: c.schemaRegistryUrl,
    catalog: Object.freeze(
      c.catalog === 'rest' && c.restUri
        ? { type: 'rest' as const, uri: c.restUri, warehouse: c.warehouse }
        : {
            type: 'sql' as const,
            uri: c.catalogUri ?? `jdbc:sqlite:file:${path.join(data, 'catalog.db')}`,
            warehouse: c.warehouse ?? pathToFileURL(path.join(data, 'warehouse')).href,
          },
    ),
    s3: Object.freeze({
      endpoint: c.s3Endpoint,
      region: c.s3Region,
      accessKeyId: c.s3AccessKey,
      secretAccessKey: c.s3SecretKey,
      forcePathStyle: c.s3ForcePathStyle ?? c.s3Endpoint !== undefined,
    }),
    commit: Object.freeze({ intervalMs: c.commitIntervalMs, maxRows: c.commitMaxRows, maxBytes: c.commitMaxBytes }),
  });
}
