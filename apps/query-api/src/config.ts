import { cfg, loadConfig, optional } from '@k2/core';
import { DEFAULT_SQL_CATALOG_NAME } from '@k2/iceberg';
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
  /** SQL catalog `catalog_name` and namespace: the writer's (see iceberg-writer's config). */
  readonly catalogName: string;
  readonly namespace: readonly string[];
  readonly kafkaBrokers: readonly string[];
  readonly schemaRegistryUrl: string;
  /** The hybrid Kafka tail; off = answers from Iceberg only (benchmarks, or a read replica without Kafka access). */
  readonly tailEnabled: boolean;
  /** The writer's consumer group, whose offsets in the snapshot summaries say where the tail starts. */
  readonly writerGroupId: string;
  readonly tailMaxRecords: number;
  readonly refreshMs: number;
  readonly deadlineMs: number;
  /** Where S3 data files are cached locally (immutable objects). */
  readonly cacheDir: string | undefined;
  readonly duckdbThreads: number;
  readonly duckdbMemoryLimit: string;
  readonly duckdbConnections: number;
  readonly maxStreamClients: number;
  /** Origins that may frame the live page (Grafana's overview panel); empty = none. */
  readonly frameAncestors: readonly string[];
  /** Which V2 topics the tail reads (regex); default every trades and quotes topic. */
  readonly topicPattern: RegExp | undefined;
}

export const DEFAULT_PORT = 8080;

export const spec = {
  ...runtimeConfigSpec(),
  metricsPort: optional(cfg.port({ env: 'METRICS_PORT' })),
  port: optional(cfg.port({ env: 'PORT' })),
  ...kafkaClientConfigSpec(),
  ...icebergCatalogConfigSpec(),
  ...s3ConfigSpec(),
  catalogName: cfg.string({ env: 'ICEBERG_CATALOG_NAME', default: DEFAULT_SQL_CATALOG_NAME, pattern: /^[A-Za-z0-9._-]{1,200}$/ }),
  namespace: cfg.string({ env: 'ICEBERG_NAMESPACE', default: 'market_data', pattern: /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/ }),
  tailEnabled: cfg.bool({ env: 'QUERY_TAIL_ENABLED', default: true }),
  writerGroupId: cfg.string({ env: 'QUERY_WRITER_GROUP_ID', default: 'k2-iceberg-writer', pattern: /^[A-Za-z0-9._-]{1,200}$/ }),
  tailMaxRecords: cfg.int({ env: 'QUERY_TAIL_MAX_RECORDS', default: 500_000, min: 1000 }),
  refreshMs: cfg.int({ env: 'QUERY_REFRESH_MS', default: 1000, min: 100 }),
  deadlineMs: cfg.int({ env: 'QUERY_DEADLINE_MS', default: 3000, min: 100, max: 120_000 }),
  cacheDir: optional(cfg.string({ env: 'QUERY_CACHE_DIR', pattern: /^\/\S*$/ })),
  duckdbThreads: cfg.int({ env: 'QUERY_DUCKDB_THREADS', default: 2, min: 1 }),
  duckdbMemoryLimit: cfg.string({ env: 'QUERY_DUCKDB_MEMORY_LIMIT', default: '1GB', pattern: /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/ }),
  duckdbConnections: cfg.int({ env: 'QUERY_DUCKDB_CONNECTIONS', default: 4, min: 1, max: 64 }),
  maxStreamClients: cfg.int({ env: 'QUERY_MAX_STREAM_CLIENTS', default: 500, min: 1 }),
  topicPattern: optional(cfg.string({ env: 'QUERY_TOPIC_PATTERN', pattern: /^\^\S+$/ })),
  // Space-separated origins (scheme://host[:port]) as CSP frame-ancestors takes them.
  frameAncestors: optional(cfg.string({ env: 'QUERY_FRAME_ANCESTORS', pattern: /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?( https?:\/\/[A-Za-z0-9.-]+(:\d+)?)*$/ })),
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
    catalogName: c.catalogName,
    namespace: Object.freeze(c.namespace.split('.')),
    kafkaBrokers: c.kafkaBrokers,
    schemaRegistryUrl: c.schemaRegistryUrl,
    tailEnabled: c.tailEnabled,
    writerGroupId: c.writerGroupId,
    tailMaxRecords: c.tailMaxRecords,
    refreshMs: c.refreshMs,
    deadlineMs: c.deadlineMs,
    cacheDir: c.cacheDir,
    duckdbThreads: c.duckdbThreads,
    duckdbMemoryLimit: c.duckdbMemoryLimit,
    duckdbConnections: c.duckdbConnections,
    maxStreamClients: c.maxStreamClients,
    topicPattern: c.topicPattern ? new RegExp(c.topicPattern) : undefined,
    frameAncestors: Object.freeze(c.frameAncestors ? c.frameAncestors.split(' ') : []),
  });
}
