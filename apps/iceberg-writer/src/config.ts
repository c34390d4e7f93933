import { cfg, loadConfig } from '@k2/core';
import { kafkaClientConfigSpec } from '@k2/kafka';
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

export const SERVICE = 'iceberg-writer';

export interface IcebergWriterConfig extends RuntimeConfig {
  readonly kafkaBrokers: readonly string[];
  readonly schemaRegistryUrl: string;
  readonly catalog: IcebergCatalogConfig;
  readonly s3: S3Config;
  /** A commit happens when the first of these is reached; each Iceberg commit is one snapshot, so not too often. */
  readonly commit: { readonly intervalMs: number; readonly maxRows: number; readonly maxBytes: number };
}

const spec = {
  ...runtimeConfigSpec({ metricsPort: 9404 }),
  ...kafkaClientConfigSpec(),
  ...icebergCatalogConfigSpec(),
  ...s3ConfigSpec(),
  commitIntervalMs: cfg.int({ env: 'WRITER_COMMIT_INTERVAL_MS', default: 10_000, min: 100 }),
  commitMaxRows: cfg.int({ env: 'WRITER_COMMIT_MAX_ROWS', default: 500_000, min: 1 }),
  commitMaxBytes: cfg.int({ env: 'WRITER_COMMIT_MAX_BYTES', default: 128 * 1024 * 1024, min: 1024 }),
};

/** `cwd` anchors the local catalog and warehouse defaults (see resolveIcebergCatalog). */
export function loadIcebergWriterConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): IcebergWriterConfig {
  const c = loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => {
      const problems: string[] = [];
      problems.push(...icebergCatalogProblems(c));
      problems.push(...s3ConfigProblems(c));
      return problems;
    },
  });
  return Object.freeze({
    metricsPort: c.metricsPort,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    kafkaBrokers: c.kafkaBrokers,
    schemaRegistryUrl: c.schemaRegistryUrl,
    catalog: resolveIcebergCatalog(c, cwd),
    s3: resolveS3Config(c),
    commit: Object.freeze({ intervalMs: c.commitIntervalMs, maxRows: c.commitMaxRows, maxBytes: c.commitMaxBytes }),
  });
}
