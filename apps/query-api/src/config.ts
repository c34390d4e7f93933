import { cfg, loadConfig, optional } from '@k2/core';
import {
  icebergCatalogConfigSpec,
  icebergCatalogProblems,
  resolveIcebergCatalog,
  resolveS3Config,
  s3ConfigProblems,
  s3ConfigSpec,
  type IcebergCatalogConfig,
  type S3Config,
} from '@k2/storage';
import { runtimeConfigSpec, type RuntimeConfig } from '@k2/runtime';

export const SERVICE = 'query-api';

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

const spec = {
  ...runtimeConfigSpec(),
  metricsPort: optional(cfg.port({ env: 'METRICS_PORT' })),
  port: optional(cfg.port({ env: 'PORT' })),
  ...icebergCatalogConfigSpec(),
  ...s3ConfigSpec(),
};

/** `cwd` anchors the local catalog and warehouse defaults (see resolveIcebergCatalog). */
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
      problems.push(...icebergCatalogProblems(c));
      problems.push(...s3ConfigProblems(c));
      return problems;
    },
  });
  const port = c.port ?? c.metricsPort ?? DEFAULT_PORT;
  return Object.freeze({
    port,
    metricsPort: port,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    catalog: resolveIcebergCatalog(c, cwd),
    s3: resolveS3Config(c),
  });
}
