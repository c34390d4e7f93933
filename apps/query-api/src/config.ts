import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cfg, loadConfig, optional } from '@k2/core';
import { DEFAULT_SQL_CATALOG_NAME, defaultS3CacheDir } from '@k2/iceberg';
import { dataTopicListProblems, kafkaClientConfigSpec, kafkaClientProblems, pickKafkaClientSettings, type KafkaClientSettings, parseTopic, PLATFORM_DATA_TOPICS } from '@k2/kafka';
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
import { KeyFileError, readKeyRing } from '@k2/query';
import { runtimeConfigSpec, type RuntimeConfig } from '@k2/runtime';
import { DEFAULT_MEMORY_BUDGET, parseBytes, planMemory, SIZE_PATTERN, type MemoryPlan } from './memory-budget';

export const SERVICE = 'query-api';

/**
 * query-api serves the public API (the API, the live page and the stream) on PORT and the ops endpoints
 * (/metrics, /healthz, /readyz) on METRICS_PORT; the two must differ. HOST is the bind address of the public
 * port, METRICS_HOST the one of the ops port.
 */
export interface QueryApiConfig extends RuntimeConfig, KafkaClientSettings {
  readonly port: number;
  readonly host: string;
  readonly auth: 'keys' | 'none';
  readonly apiKeysFile: string | undefined;
  readonly apiKeys: string | undefined;
  readonly apiKeysPollMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly catalog: IcebergCatalogConfig;
  readonly s3: S3Config;
  /** SQL catalog `catalog_name` and namespace: the writer's (see iceberg-writer's config). */
  readonly catalogName: string;
  readonly namespace: readonly string[];
  /** The hybrid Kafka tail; off = answers from Iceberg only (benchmarks, or a read replica without Kafka access). */
  readonly tailEnabled: boolean;
  /** The writer's consumer group, whose offsets in the snapshot summaries say where the tail starts. */
  readonly writerGroupId: string;
  readonly tailMaxRecords: number;
  /** QUERY_MEMORY_BUDGET's split (memory-budget.ts): DuckDB, tail, hot tier, bar cache, SSE buffers, in bytes. */
  readonly memory: MemoryPlan;
  /** Disk, not memory: bytes of S3 data files kept in the local download cache (LRU). */
  readonly cacheMaxBytes: number;
  readonly refreshMs: number;
  readonly deadlineMs: number;
  /** Where S3 data files are cached locally (immutable objects). */
  readonly cacheDir: string | undefined;
  readonly duckdbThreads: number;
  readonly duckdbMemoryLimit: string;
  readonly duckdbConnections: number;
  /** The only directories DuckDB may read (its sandbox): the S3 download cache and a file:// warehouse. */
  readonly duckdbAllowedDirs: readonly string[];
  /** Admission control in front of DuckDB (ADR 0013): light requests' queue, heavy requests' slots and queue. */
  readonly engineQueue: number;
  readonly heavySlots: number;
  readonly heavyQueue: number;
  /** Scan caps (estimated rows of the planned files): raw-row routes, aggregates, and the heavy threshold. */
  readonly maxScanRows: number;
  readonly maxAggregateScanRows: number;
  readonly heavyScanRows: number;
  readonly maxStreamClients: number;
  /** export (issue 16, ADR 0019): the budget of one export, its row cap, and the Parquet spool (under the cache dir). */
  readonly exportDeadlineMs: number;
  readonly maxExportRows: number;
  readonly exportSpoolDir: string;
  readonly exportSpoolMaxBytes: number;
  /** Origins that may frame the live page (Grafana's overview panel); empty = none. */
  readonly frameAncestors: readonly string[];
  /**
   * The trades/quotes topics the Kafka tail reads, by name (no pattern: a benchmark's or a test's topic that fits
   * the naming rule is never read). Default: the platform's trades and quotes topics.
   */
  readonly tailTopics: readonly string[];
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_OPS_PORT = 9405;

const TAIL_DATA_TYPES = ['trades', 'quotes'] as const;
const TAIL_DEFAULT_TOPICS = Object.freeze(PLATFORM_DATA_TOPICS.filter((t) => (TAIL_DATA_TYPES as readonly string[]).includes(parseTopic(t).dataType)));

export const spec = {
  ...runtimeConfigSpec(),
  metricsPort: cfg.port({ env: 'METRICS_PORT', default: DEFAULT_OPS_PORT, doc: 'Ops port: /metrics, /healthz, /readyz; 0 = ephemeral' }),
  port: cfg.port({ env: 'PORT', default: DEFAULT_PORT, doc: 'Public port: the API, the live page and the stream; 0 = ephemeral' }),
  host: cfg.string({ env: 'HOST', default: '0.0.0.0', pattern: /^\S+$/, doc: 'Interface the public port binds' }),
  auth: cfg.oneOf<'keys' | 'none'>({ env: 'QUERY_AUTH', default: 'keys', values: ['keys', 'none'], doc: 'keys: API keys required on /v1; none: open (local demos only)' }),
  apiKeysFile: optional(cfg.string({ env: 'QUERY_API_KEYS_FILE', pattern: /^\S+$/, doc: 'JSON file of hashed API keys, re-read on change (npm run api-key)' })),
  apiKeys: optional(cfg.string({ env: 'QUERY_API_KEYS', doc: 'The same JSON inline, instead of the file', secret: true })),
  apiKeysPollMs: cfg.int({ env: 'QUERY_API_KEYS_POLL_MS', default: 5000, min: 200, max: 600_000 }),
  headersTimeoutMs: cfg.int({ env: 'QUERY_HEADERS_TIMEOUT_MS', default: 10_000, min: 1000, max: 300_000 }),
  requestTimeoutMs: cfg.int({ env: 'QUERY_REQUEST_TIMEOUT_MS', default: 30_000, min: 1000, max: 600_000 }),
  keepAliveTimeoutMs: cfg.int({ env: 'QUERY_KEEPALIVE_TIMEOUT_MS', default: 5000, min: 1000, max: 600_000 }),
  ...kafkaClientConfigSpec(),
  ...icebergCatalogConfigSpec(),
  ...s3ConfigSpec(),
  catalogName: cfg.string({ env: 'ICEBERG_CATALOG_NAME', default: DEFAULT_SQL_CATALOG_NAME, pattern: /^[A-Za-z0-9._-]{1,200}$/ }),
  namespace: cfg.string({ env: 'ICEBERG_NAMESPACE', default: 'market_data', pattern: /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/ }),
  tailEnabled: cfg.bool({ env: 'QUERY_TAIL_ENABLED', default: true }),
  writerGroupId: cfg.string({ env: 'QUERY_WRITER_GROUP_ID', default: 'k2-iceberg-writer', pattern: /^[A-Za-z0-9._-]{1,200}$/ }),
  memoryBudget: cfg.string({ env: 'QUERY_MEMORY_BUDGET', default: DEFAULT_MEMORY_BUDGET, pattern: SIZE_PATTERN, doc: 'Memory the process may hold in data, split across DuckDB, tail, hot tier, caches and streams' }),
  tailMaxRecords: optional(cfg.int({ env: 'QUERY_TAIL_MAX_RECORDS', min: 1000, doc: 'Tail records held; unset = its share of QUERY_MEMORY_BUDGET' })),
  hotTierBytes: optional(cfg.string({ env: 'QUERY_HOT_TIER_BYTES', pattern: SIZE_PATTERN, doc: 'Hot tier size (0 = off); unset = its share of QUERY_MEMORY_BUDGET' })),
  barCacheBytes: optional(cfg.string({ env: 'QUERY_BAR_CACHE_BYTES', pattern: SIZE_PATTERN, doc: '1-minute bar cache size; unset = its share of QUERY_MEMORY_BUDGET' })),
  sseBufferBytes: optional(cfg.string({ env: 'QUERY_SSE_BUFFER_BYTES', pattern: SIZE_PATTERN, doc: 'Unsent stream bytes across all clients; unset = its share of QUERY_MEMORY_BUDGET' })),
  cacheMaxBytes: cfg.string({ env: 'QUERY_CACHE_MAX_BYTES', default: '2GiB', pattern: SIZE_PATTERN, doc: 'Disk: local copies of S3 data files kept (least recently used deleted first)' }),
  refreshMs: cfg.int({ env: 'QUERY_REFRESH_MS', default: 1000, min: 100 }),
  deadlineMs: cfg.int({ env: 'QUERY_DEADLINE_MS', default: 3000, min: 100, max: 120_000 }),
  cacheDir: optional(cfg.string({ env: 'QUERY_CACHE_DIR', pattern: /^\/\S*$/ })),
  duckdbThreads: cfg.int({ env: 'QUERY_DUCKDB_THREADS', default: 2, min: 1 }),
  duckdbMemoryLimit: optional(cfg.string({ env: 'QUERY_DUCKDB_MEMORY_LIMIT', pattern: /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/, doc: 'DuckDB memory_limit; unset = its share of QUERY_MEMORY_BUDGET' })),
  duckdbConnections: cfg.int({ env: 'QUERY_DUCKDB_CONNECTIONS', default: 4, min: 1, max: 64 }),
  duckdbAllowedDirs: optional(cfg.list({ env: 'QUERY_DUCKDB_ALLOWED_DIRS', item: /^\/\S*$/, doc: 'Absolute directories DuckDB may read; unset = the S3 cache dir and a file:// warehouse' })),
  engineQueue: cfg.int({ env: 'QUERY_ENGINE_QUEUE', default: 16, min: 0, max: 10_000, doc: 'Requests that may wait for a DuckDB connection; one more gets 503 + Retry-After' }),
  heavySlots: optional(cfg.int({ env: 'QUERY_HEAVY_SLOTS', min: 1, max: 64, doc: 'Connections heavy requests may hold at once; unset = half of QUERY_DUCKDB_CONNECTIONS' })),
  heavyQueue: cfg.int({ env: 'QUERY_HEAVY_QUEUE', default: 2, min: 0, max: 10_000, doc: 'Heavy requests that may wait; one more gets 503 + Retry-After' }),
  maxScanRows: cfg.int({ env: 'QUERY_MAX_SCAN_ROWS', default: 5_000_000, min: 1, doc: 'trades/quotes: most rows the planned files may hold in the window (else 422)' }),
  maxAggregateScanRows: cfg.int({ env: 'QUERY_MAX_AGGREGATE_SCAN_ROWS', default: 100_000_000, min: 1, doc: 'bars/summary: most not-yet-cached rows to scan (else 422)' }),
  heavyScanRows: cfg.int({ env: 'QUERY_HEAVY_SCAN_ROWS', default: 500_000, min: 1, doc: 'Requests estimated above this many rows are heavy' }),
  maxStreamClients: cfg.int({ env: 'QUERY_MAX_STREAM_CLIENTS', default: 500, min: 1 }),
  // export (issue 16)
  exportDeadlineMs: cfg.int({ env: 'QUERY_EXPORT_DEADLINE_MS', default: 600_000, min: 1000, max: 86_400_000, doc: 'Budget of one export (format=csv|ndjson|parquet), queue wait included' }),
  maxExportRows: cfg.int({ env: 'QUERY_MAX_EXPORT_ROWS', default: 200_000_000, min: 1, doc: 'Exports: most rows the planned files may hold in the window (else 422)' }),
  exportSpoolMaxBytes: cfg.string({ env: 'QUERY_EXPORT_SPOOL_MAX_BYTES', default: '4GiB', pattern: SIZE_PATTERN, doc: 'Disk: Parquet exports being written and sent at once (else 503)' }),
  tailTopics: cfg.list({ env: 'QUERY_TAIL_TOPICS', default: TAIL_DEFAULT_TOPICS, doc: 'Trades/quotes topics the Kafka tail reads, by name (no pattern)' }),
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
      const problems: string[] = [...kafkaClientProblems(c)];
      if (c.port === c.metricsPort && c.port !== 0) {
        problems.push(`PORT and METRICS_PORT are both ${c.port}; the public API and the ops endpoints need different ports`);
      }
      if (c.headersTimeoutMs > c.requestTimeoutMs) problems.push('QUERY_HEADERS_TIMEOUT_MS must not exceed QUERY_REQUEST_TIMEOUT_MS');
      problems.push(...authProblems(c));
      if (c.heavySlots !== undefined && c.heavySlots > c.duckdbConnections) problems.push(`QUERY_HEAVY_SLOTS=${c.heavySlots} exceeds QUERY_DUCKDB_CONNECTIONS=${c.duckdbConnections}`);
      problems.push(...icebergCatalogProblems(c));
      problems.push(...s3ConfigProblems(c));
      problems.push(...dataTopicListProblems('QUERY_TAIL_TOPICS', c.tailTopics, TAIL_DATA_TYPES));
      const memory = memoryOf(c);
      if (typeof memory === 'string') problems.push(memory);
      if (parseBytes(c.cacheMaxBytes) <= 0) problems.push('QUERY_CACHE_MAX_BYTES must be positive');
      if (env['QUERY_TOPIC_PATTERN'] !== undefined) problems.push('QUERY_TOPIC_PATTERN is no longer supported; list the topics in QUERY_TAIL_TOPICS');
      return problems;
    },
  });
  const catalog = resolveIcebergCatalog(c, cwd);
  const memory = memoryOf(c) as MemoryPlan; // checked above
  return Object.freeze({
    port: c.port,
    host: c.host,
    auth: c.auth,
    apiKeysFile: c.apiKeysFile,
    apiKeys: c.apiKeys,
    apiKeysPollMs: c.apiKeysPollMs,
    headersTimeoutMs: c.headersTimeoutMs,
    requestTimeoutMs: c.requestTimeoutMs,
    keepAliveTimeoutMs: c.keepAliveTimeoutMs,
    metricsPort: c.metricsPort,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    catalog,
    s3: resolveS3Config(c),
    catalogName: c.catalogName,
    namespace: Object.freeze(c.namespace.split('.')),
    ...pickKafkaClientSettings(c),
    tailEnabled: c.tailEnabled,
    writerGroupId: c.writerGroupId,
    tailMaxRecords: memory.tailMaxRecords,
    memory: Object.freeze({ ...memory, parts: Object.freeze({ ...memory.parts }) }),
    cacheMaxBytes: parseBytes(c.cacheMaxBytes),
    refreshMs: c.refreshMs,
    deadlineMs: c.deadlineMs,
    cacheDir: c.cacheDir,
    duckdbThreads: c.duckdbThreads,
    duckdbMemoryLimit: memory.duckdbMemoryLimit,
    duckdbConnections: c.duckdbConnections,
    duckdbAllowedDirs: Object.freeze([...(c.duckdbAllowedDirs ?? defaultAllowedDirs(c.cacheDir, catalog.warehouse ?? pathToFileURL(path.resolve(cwd, '.data/iceberg/warehouse')).href))]),
    engineQueue: c.engineQueue,
    heavySlots: c.heavySlots ?? Math.max(1, Math.floor(c.duckdbConnections / 2)),
    heavyQueue: c.heavyQueue,
    maxScanRows: c.maxScanRows,
    maxAggregateScanRows: c.maxAggregateScanRows,
    heavyScanRows: c.heavyScanRows,
    maxStreamClients: c.maxStreamClients,
    exportDeadlineMs: c.exportDeadlineMs,
    maxExportRows: c.maxExportRows,
    exportSpoolDir: path.join(path.resolve(c.cacheDir ?? defaultS3CacheDir()), '_export'),
    exportSpoolMaxBytes: parseBytes(c.exportSpoolMaxBytes),
    tailTopics: c.tailTopics,
    frameAncestors: Object.freeze(c.frameAncestors ? c.frameAncestors.split(' ') : []),
  });
}

function memoryOf(c: { memoryBudget: string; duckdbMemoryLimit?: string; tailMaxRecords?: number; hotTierBytes?: string; barCacheBytes?: string; sseBufferBytes?: string; maxStreamClients: number }): MemoryPlan | string {
  return planMemory(c.memoryBudget, { duckdb: c.duckdbMemoryLimit, tailRecords: c.tailMaxRecords, hot: c.hotTierBytes, bars: c.barCacheBytes, sse: c.sseBufferBytes }, c.maxStreamClients);
}

/**
 * Where DuckDB reads: S3 objects' local copies, and the warehouse itself when it is on the local file system (for a
 * REST catalog without ICEBERG_WAREHOUSE, the local default the REST fixture also uses).
 */
function defaultAllowedDirs(cacheDir: string | undefined, warehouse: string | undefined): string[] {
  const dirs = [cacheDir ?? defaultS3CacheDir()];
  if (warehouse?.startsWith('file:')) dirs.push(fileURLToPath(warehouse));
  return dirs;
}

/** API keys: exactly one source when required, none when auth is off, and at least one active key in it. */
function authProblems(c: { auth: 'keys' | 'none'; apiKeysFile: string | undefined; apiKeys: string | undefined }): string[] {
  const sources = [c.apiKeysFile, c.apiKeys].filter((s) => s !== undefined).length;
  if (c.auth === 'none') return sources ? ['QUERY_AUTH=none ignores QUERY_API_KEYS_FILE/QUERY_API_KEYS; unset them or use QUERY_AUTH=keys'] : [];
  if (sources === 0) return ['QUERY_AUTH=keys needs QUERY_API_KEYS_FILE or QUERY_API_KEYS (mint a key: npm run api-key -- --name NAME), or QUERY_AUTH=none for a local demo'];
  if (sources === 2) return ['set QUERY_API_KEYS_FILE or QUERY_API_KEYS, not both'];
  try {
    const ring = readKeyRing({ file: c.apiKeysFile, inline: c.apiKeys });
    return ring.active > 0 ? [] : [`${c.apiKeysFile ? 'QUERY_API_KEYS_FILE' : 'QUERY_API_KEYS'} holds no active key`];
  } catch (e) {
    return e instanceof KeyFileError ? [...e.problems] : [String(e)];
  }
}
