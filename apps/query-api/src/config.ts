import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cfg, loadConfig, type Field } from '@k2/core';
import { runtimeConfigSpec, type RuntimeConfig } from '@k2/runtime';

export const SERVICE = 'query-api';

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

/**
 * query-api serves its API, /metrics, /healthz and /readyz on one listener, so `port` and `metricsPort` are the
 * same number: PORT (the conventional name for an HTTP service) wins, METRICS_PORT is accepted as an alias so the
 * same tooling that starts the other services works here, and setting both to different values is rejected.
 * METRICS_HOST is the bind address of that one listener.
 */
export interface QueryApiConfig extends RuntimeConfig {
  readonly port: number;
  readonly catalog: IcebergCatalogConfig;
  readonly s3: S3Config;
}

export const DEFAULT_PORT = 8080;

// A field without a default reads as undefined when unset; this makes the type say so.
const optional = <T>(f: Field<T>): Field<T | undefined> => f;

const spec = {
  ...runtimeConfigSpec(),
  metricsPort: optional(cfg.port({ env: 'METRICS_PORT' })),
  port: optional(cfg.port({ env: 'PORT' })),
  catalog: cfg.oneOf<'sql' | 'rest'>({ env: 'ICEBERG_CATALOG', default: 'sql', values: ['sql', 'rest'] }),
  catalogUri: optional(cfg.string({ env: 'ICEBERG_CATALOG_URI', pattern: /^\S+$/ })),
  warehouse: optional(cfg.string({ env: 'ICEBERG_WAREHOUSE', pattern: /^(file|s3a?):\/\/\S+$/ })),
  restUri: optional(cfg.url({ env: 'ICEBERG_REST_URI' })),
  s3Endpoint: optional(cfg.url({ env: 'S3_ENDPOINT' })),
  s3AccessKey: optional(cfg.string({ env: 'S3_ACCESS_KEY' })),
  s3SecretKey: optional(cfg.string({ env: 'S3_SECRET_KEY' })),
  s3Region: cfg.string({ env: 'S3_REGION', default: 'us-east-1', pattern: /^[a-z0-9-]+$/ }),
  s3ForcePathStyle: optional(cfg.bool({ env: 'S3_FORCE_PATH_STYLE' })),
};

/** Local defaults live under `<cwd>/.data/iceberg`; cwd is the repo root under `nx serve` and `npm start`. */
export function loadQueryApiConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): QueryApiConfig {
  const c = loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => {
      const problems: string[] = [];
      if (c.port !== undefined && c.metricsPort !== undefined && c.port !== c.metricsPort) {
        problems.push(`PORT=${c.port} and METRICS_PORT=${c.metricsPort} differ; query-api serves the API and /metrics on one port, set only PORT`);
      }
      if (c.catalog === 'rest' && !c.restUri) problems.push('ICEBERG_CATALOG=rest requires ICEBERG_REST_URI (e.g. http://127.0.0.1:8181)');
      if (c.catalog === 'sql' && c.restUri) problems.push('ICEBERG_REST_URI is set but ICEBERG_CATALOG=sql; set ICEBERG_CATALOG=rest or unset ICEBERG_REST_URI');
      if (c.catalog === 'rest' && c.catalogUri) problems.push('ICEBERG_CATALOG_URI is only used by ICEBERG_CATALOG=sql; the REST catalog is ICEBERG_REST_URI');
      if (!c.s3AccessKey !== !c.s3SecretKey) problems.push('S3_ACCESS_KEY and S3_SECRET_KEY must be set together');
      return problems;
    },
  });
  const data = path.resolve(cwd, '.data/iceberg');
  const port = c.port ?? c.metricsPort ?? DEFAULT_PORT;
  return Object.freeze({
    port,
    metricsPort: port,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
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
  });
}
