import path from 'node:path';
import { cfg, loadConfig, optional } from '@k2/core';
import { kafkaClientConfigSpec, kafkaClientProblems, pickKafkaClientSettings, type KafkaClientSettings } from '@k2/kafka';
import { resolveS3Config, s3ConfigProblems, s3ConfigSpec, type S3Config } from '@k2/storage';
import { runtimeConfigSpec, type RuntimeConfig } from '@k2/runtime';

export const SERVICE = 'asx-batch-loader';

/** A local file, directory or glob, or an object-store prefix (which may end in a glob). */
export type AsxInput = { readonly kind: 'local'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

/**
 * A batch job: it loads ASX_INPUT once and exits 0 only when every good row was acknowledged by Kafka. Without
 * ASX_INPUT there is nothing to load, so it validates its config and exits 0 at once. ASX_STAY_ALIVE=true (or
 * `--serve`) keeps the process and its /metrics endpoint up after the batch until SIGTERM, for a scrape of the
 * final counters or a Deployment-style run. Every ASX_* variable also has a command-line flag; a flag wins.
 */
export interface AsxBatchLoaderConfig extends RuntimeConfig, KafkaClientSettings {
  readonly input: AsxInput | undefined;
  readonly stayAlive: boolean;
  readonly s3: S3Config;
  readonly dryRun: boolean;
  /** Abort with exit code 2 once more rows than this were rejected; undefined = never. */
  readonly maxErrors: number | undefined;
  readonly checkpointDir: string;
  readonly rejectFile: string;
  readonly currency: string;
  readonly companyInfo: string | undefined;
  /** company id -> symbol, completing or overriding company_info.csv. */
  readonly symbols: Readonly<Record<string, string>>;
  readonly sourceTag: string | undefined;
  /** Exchange segment of the topic names; `asx` except in tests and benches. */
  readonly topicExchange: string;
  readonly progressIntervalMs: number;
  readonly checkpointIntervalMs: number;
}

export const spec = {
  ...runtimeConfigSpec({ metricsPort: 9403 }),
  ...kafkaClientConfigSpec(),
  input: optional(cfg.string({ env: 'ASX_INPUT', doc: 'What to load: a local file, directory or glob, or s3://bucket/prefix; unset = nothing to load, exit 0' })),
  stayAlive: cfg.bool({ env: 'ASX_STAY_ALIVE', default: false, doc: 'Keep /metrics up after the batch until SIGTERM (the exit code is then the load\'s)' }),
  dryRun: cfg.bool({ env: 'ASX_DRY_RUN', default: false, doc: 'Parse, map and encode everything and write the reject file; produce nothing, keep no checkpoints' }),
  maxErrors: optional(cfg.int({ env: 'ASX_MAX_ERRORS', min: 0, doc: 'Stop with exit code 2 once more rows than this were rejected in this run; unset = unlimited' })),
  checkpointDir: cfg.string({ env: 'ASX_CHECKPOINT_DIR', default: '.data/asx-loader/checkpoints', doc: 'Per-file checkpoints (a persistent volume in Kubernetes)' }),
  rejectFile: optional(cfg.string({ env: 'ASX_REJECT_FILE', doc: 'Where rejected rows go; unset = <checkpoint dir>/rejects.jsonl (rejects.dry-run.jsonl in a dry run)' })),
  currency: cfg.string({ env: 'ASX_CURRENCY', default: 'AUD', pattern: /^[A-Z]{3}$/, doc: 'Trading currency of prices and instruments' }),
  companyInfo: optional(cfg.string({ env: 'ASX_COMPANY_INFO', doc: 'company_info.csv (local path or s3://bucket/key); unset = found next to the data' })),
  symbols: optional(cfg.list({ env: 'ASX_SYMBOLS', item: /^\d+=[A-Z0-9.]{1,12}$/, doc: 'id=SYMBOL mappings completing or overriding company_info.csv' })),
  sourceTag: optional(cfg.string({ env: 'ASX_SOURCE_TAG', pattern: /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, doc: 'Prefix of source identities (see docs/asx-loader.md, ids)' })),
  topicExchange: cfg.string({ env: 'ASX_TOPIC_EXCHANGE', default: 'asx', pattern: /^[a-z][a-z0-9_-]{0,31}$/, doc: 'Exchange segment of the topic names; tests and the bench use their own' }),
  progressIntervalMs: cfg.int({ env: 'ASX_PROGRESS_INTERVAL_MS', default: 5000, min: 100, doc: 'Period of the progress log line when stderr is not a terminal' }),
  checkpointIntervalMs: cfg.int({ env: 'ASX_CHECKPOINT_INTERVAL_MS', default: 1000, min: 0, doc: 'Least time between two checkpoint writes of a file' }),
  ...s3ConfigSpec(),
};

/** Flags and the variables they set; `--flag value` and `--flag=value` both work. */
const VALUE_FLAGS: Record<string, string> = {
  '--input': 'ASX_INPUT',
  '--max-errors': 'ASX_MAX_ERRORS',
  '--checkpoint-dir': 'ASX_CHECKPOINT_DIR',
  '--reject-file': 'ASX_REJECT_FILE',
  '--currency': 'ASX_CURRENCY',
  '--company-info': 'ASX_COMPANY_INFO',
  '--symbols': 'ASX_SYMBOLS',
  '--source-tag': 'ASX_SOURCE_TAG',
};
const BOOL_FLAGS: Record<string, string> = { '--serve': 'ASX_STAY_ALIVE', '--dry-run': 'ASX_DRY_RUN' };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

/** `--flag VALUE` / `--flag` and the variable each sets, for `--help`. */
export const ASX_FLAGS: ReadonlyArray<{ readonly flag: string; readonly env: string }> = Object.freeze([
  ...Object.entries(VALUE_FLAGS).map(([flag, env]) => ({ flag: `${flag} VALUE`, env })),
  ...Object.entries(BOOL_FLAGS).map(([flag, env]) => ({ flag, env })),
]);

/** Usage problems of the command line alone (unknown flag, flag without value), checked before anything starts. */
export function asxArgProblems(argv: readonly string[]): string[] {
  return applyFlags({}, argv).problems;
}

function applyFlags(env: NodeJS.ProcessEnv, argv: readonly string[]): { env: NodeJS.ProcessEnv; problems: string[] } {
  const out: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOL_FLAGS[name] && eq < 0) {
      out[BOOL_FLAGS[name]] = 'true';
    } else if (VALUE_FLAGS[name]) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) problems.push(`${name} needs a value`);
      else out[VALUE_FLAGS[name]] = value;
    } else {
      problems.push(`unknown argument ${arg}; flags are ${[...Object.keys(BOOL_FLAGS), ...Object.keys(VALUE_FLAGS)].join(' ')}`);
    }
  }
  return { env: out, problems };
}

export function loadAsxBatchLoaderConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2)): AsxBatchLoaderConfig {
  const flags = applyFlags(env, argv);
  const c = loadConfig({
    service: SERVICE,
    spec,
    env: flags.env,
    check: (c) => {
      const problems: string[] = [...flags.problems, ...kafkaClientProblems(c)];
      if (c.input !== undefined && SCHEME.test(c.input) && !S3_URL.test(c.input)) {
        problems.push(`ASX_INPUT=${JSON.stringify(c.input)} must be a local path or glob, or s3://bucket/prefix`);
      }
      if (c.companyInfo !== undefined && SCHEME.test(c.companyInfo) && !S3_URL.test(c.companyInfo)) {
        problems.push(`ASX_COMPANY_INFO=${JSON.stringify(c.companyInfo)} must be a local path or s3://bucket/key`);
      }
      problems.push(...s3ConfigProblems(c));
      return problems;
    },
  });
  const s3 = c.input === undefined ? null : S3_URL.exec(c.input);
  const checkpointDir = c.checkpointDir;
  return Object.freeze({
    metricsPort: c.metricsPort,
    metricsHost: c.metricsHost,
    logLevel: c.logLevel,
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    ...pickKafkaClientSettings(c),
    input:
      c.input === undefined
        ? undefined
        : Object.freeze(s3 ? { kind: 's3' as const, bucket: s3[1] ?? '', key: s3[2] ?? '' } : { kind: 'local' as const, path: c.input }),
    stayAlive: c.stayAlive,
    s3: resolveS3Config(c),
    dryRun: c.dryRun,
    maxErrors: c.maxErrors,
    checkpointDir,
    // A dry run must not overwrite the reject file of the real loads.
    rejectFile: c.rejectFile ?? path.join(checkpointDir, c.dryRun ? 'rejects.dry-run.jsonl' : 'rejects.jsonl'),
    currency: c.currency,
    companyInfo: c.companyInfo,
    symbols: Object.freeze(Object.fromEntries((c.symbols ?? []).map((s) => s.split('=') as [string, string]))),
    sourceTag: c.sourceTag,
    topicExchange: c.topicExchange,
    progressIntervalMs: c.progressIntervalMs,
    checkpointIntervalMs: c.checkpointIntervalMs,
  });
}
