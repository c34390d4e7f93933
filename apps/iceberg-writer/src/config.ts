import os from 'node:os';
import { cfg, loadConfig, optional } from '@k2/core';
import { DEFAULT_SQL_CATALOG_NAME } from '@k2/iceberg';
import { dataTopicListProblems, kafkaClientConfigSpec, kafkaClientProblems, pickKafkaClientSettings, type KafkaClientSettings, PLATFORM_DATA_TOPICS } from '@k2/kafka';
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
import { formatMiB, parseBytes, splitMemoryBudget, type MemoryBudget } from '@k2/lake-sink';

export const SERVICE = 'iceberg-writer';

export interface IcebergWriterConfig extends RuntimeConfig, KafkaClientSettings {
  readonly catalog: IcebergCatalogConfig;
  readonly s3: S3Config;
  /** A commit happens when the first of these is reached; each Iceberg commit is one snapshot, so not too often. */
  readonly commit: { readonly intervalMs: number; readonly maxRows: number; readonly maxBytes: number };
  /** Consumer group; the tables record offsets per group, so two groups each land every record once. */
  readonly groupId: string;
  readonly writerId: string;
  /**
   * Set when WRITER_ID is given explicitly (e.g. the StatefulSet pod name): used as the Kafka static group member
   * id (KIP-345), so a restarted writer takes its partitions back at once instead of waiting out the session.
   */
  readonly staticMemberId: string | undefined;
  readonly sessionTimeoutMs: number;
  /** SQL catalog `catalog_name`; the default is the one the local Iceberg REST fixture uses, so both see one catalog. */
  readonly catalogName: string;
  readonly namespace: readonly string[];
  /** Events before this instant, or more than maxFutureMs ahead of now, go to the DLQ. */
  readonly minEventTime: string;
  readonly maxFutureMs: number;
  /** WRITER_MEMORY_BUDGET split into buffers, dedup filters and DuckDB (budget.ts in lake-sink). */
  readonly memory: MemoryBudget;
  readonly tmpDir: string | undefined;
  readonly duckdbThreads: number;
  /** DuckDB memory_limit: the budget's DuckDB share unless WRITER_DUCKDB_MEMORY_LIMIT is set. */
  readonly duckdbMemoryLimit: string;
  /**
   * The V2 data topics consumed, by name (no pattern: a topic that only fits the naming rule, a benchmark's or a
   * test's, is never read). Default: the platform's topics (PLATFORM_DATA_TOPICS).
   */
  readonly topics: readonly string[];
  /** Maintain bars_1m_v2 (minute bars of trades_v2) after every trades commit (ADR 0024). */
  readonly bars: boolean;
}

export const spec = {
  ...runtimeConfigSpec({ metricsPort: 9404 }),
  ...kafkaClientConfigSpec(),
  ...icebergCatalogConfigSpec(),
  ...s3ConfigSpec(),
  commitIntervalMs: cfg.int({ env: 'WRITER_COMMIT_INTERVAL_MS', default: 10_000, min: 100, doc: 'Commit at the latest after this long' }),
  commitMaxRows: cfg.int({ env: 'WRITER_COMMIT_MAX_ROWS', default: 500_000, min: 1, doc: 'Commit once this many rows are buffered' }),
  commitMaxBytes: cfg.int({ env: 'WRITER_COMMIT_MAX_BYTES', default: 128 * 1024 * 1024, min: 1024, doc: 'Commit once this many bytes are buffered' }),
  groupId: cfg.string({ env: 'WRITER_GROUP_ID', default: 'k2-iceberg-writer', pattern: /^[A-Za-z0-9._-]{1,200}$/, doc: 'Kafka consumer group; the tables record offsets per group' }),
  writerId: optional(cfg.string({ env: 'WRITER_ID', pattern: /^[A-Za-z0-9._-]{1,200}$/, doc: 'Writer identity and Kafka static member id (e.g. the pod name); unset = hostname-pid, no static membership' })),
  catalogName: cfg.string({ env: 'ICEBERG_CATALOG_NAME', default: DEFAULT_SQL_CATALOG_NAME, pattern: /^[A-Za-z0-9._-]{1,200}$/, doc: 'catalog_name in the SQL catalog' }),
  namespace: cfg.string({ env: 'ICEBERG_NAMESPACE', default: 'market_data', pattern: /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, doc: 'Iceberg namespace of the tables' }),
  minEventTime: cfg.string({ env: 'WRITER_MIN_EVENT_TIME', default: '1990-01-01T00:00:00Z', pattern: /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/, doc: 'Events before this go to the DLQ' }),
  sessionTimeoutMs: cfg.int({ env: 'WRITER_SESSION_TIMEOUT_MS', default: 30_000, min: 6000, doc: 'Kafka session.timeout.ms' }),
  maxFutureMs: cfg.int({ env: 'WRITER_MAX_FUTURE_MS', default: 86_400_000, min: 0, doc: 'Events further ahead of now go to the DLQ' }),
  memoryBudget: cfg.string({
    env: 'WRITER_MEMORY_BUDGET',
    default: '768MiB',
    pattern: /^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/,
    doc: 'Memory for buffers, dedup filters and DuckDB together (fits a 1 GiB container by default)',
  }),
  tmpDir: optional(cfg.string({ env: 'WRITER_TMP_DIR', pattern: /^\/\S*$/, doc: 'Absolute directory for Parquet files before upload; unset = the OS temp dir' })),
  duckdbThreads: cfg.int({ env: 'WRITER_DUCKDB_THREADS', default: 2, min: 1, doc: 'DuckDB threads of the Parquet writer' }),
  topics: cfg.list({ env: 'WRITER_TOPICS', default: PLATFORM_DATA_TOPICS, doc: 'Topics consumed, by name (no pattern); default the platform V2 topics' }),
  bars: cfg.bool({ env: 'WRITER_BARS', default: true, doc: 'Maintain the bars_1m_v2 minute-bar table after every trades commit' }),
  duckdbMemoryLimit: optional(
    cfg.string({ env: 'WRITER_DUCKDB_MEMORY_LIMIT', pattern: /^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/, doc: 'DuckDB memory limit; unset = a quarter of WRITER_MEMORY_BUDGET' }),
  ),
};

/** `cwd` anchors the local catalog and warehouse defaults (see resolveIcebergCatalog). */
export function loadIcebergWriterConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): IcebergWriterConfig {
  const c = loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => {
      const problems: string[] = [...kafkaClientProblems(c)];
      problems.push(...icebergCatalogProblems(c));
      problems.push(...s3ConfigProblems(c));
      problems.push(...dataTopicListProblems('WRITER_TOPICS', c.topics));
      if (env['WRITER_TOPIC_PATTERN'] !== undefined) problems.push('WRITER_TOPIC_PATTERN is no longer supported; list the topics in WRITER_TOPICS');
      if (Number.isNaN(Date.parse(c.minEventTime))) problems.push(`WRITER_MIN_EVENT_TIME="${c.minEventTime}" is not a date`);
      if (env['WRITER_DEDUP_MAX_IDS'] !== undefined) problems.push('WRITER_DEDUP_MAX_IDS is no longer supported; dedup memory is a share of WRITER_MEMORY_BUDGET');
      const memory = memoryOf(c);
      if (typeof memory === 'string') problems.push(memory);
      else if (c.commitMaxBytes > memory.buffers / 2) {
        problems.push(`WRITER_COMMIT_MAX_BYTES=${c.commitMaxBytes} exceeds half the buffer share (${formatMiB(memory.buffers / 2)}) of WRITER_MEMORY_BUDGET=${c.memoryBudget}`);
      }
      return problems;
    },
  });
  const memory = memoryOf(c) as MemoryBudget;
  return Object.freeze({
    metricsPort: c.metricsPort,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    ...pickKafkaClientSettings(c),
    catalog: resolveIcebergCatalog(c, cwd),
    s3: resolveS3Config(c),
    commit: Object.freeze({ intervalMs: c.commitIntervalMs, maxRows: c.commitMaxRows, maxBytes: c.commitMaxBytes }),
    groupId: c.groupId,
    writerId: c.writerId ?? `${os.hostname()}-${process.pid}`,
    staticMemberId: c.writerId,
    sessionTimeoutMs: c.sessionTimeoutMs,
    catalogName: c.catalogName,
    namespace: Object.freeze(c.namespace.split('.')),
    minEventTime: c.minEventTime,
    maxFutureMs: c.maxFutureMs,
    memory: Object.freeze(memory),
    tmpDir: c.tmpDir,
    duckdbThreads: c.duckdbThreads,
    duckdbMemoryLimit: formatMiB(memory.duckdb),
    topics: c.topics,
    bars: c.bars,
  });
}

/** The budget's split, or the one-line reason it cannot work. */
function memoryOf(c: { memoryBudget: string; duckdbMemoryLimit: string | undefined }): MemoryBudget | string {
  const total = parseBytes(c.memoryBudget)!;
  const duckdb = c.duckdbMemoryLimit === undefined ? undefined : parseBytes(c.duckdbMemoryLimit);
  return splitMemoryBudget(total, { duckdb });
}
