import { cfg, loadConfig, optional } from '@k2/core';
import { kafkaClientConfigSpec } from '@k2/kafka';
import { resolveS3Config, s3ConfigProblems, s3ConfigSpec, type S3Config } from '@k2/storage';
import { runtimeConfigSpec, type RuntimeConfig } from '@k2/runtime';

export const SERVICE = 'asx-batch-loader';

/** A local file, directory or glob, or an object-store prefix (which may end in a glob). */
export type AsxInput = { readonly kind: 'local'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

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

const spec = {
  ...runtimeConfigSpec({ metricsPort: 9403 }),
  ...kafkaClientConfigSpec(),
  input: optional(cfg.string({ env: 'ASX_INPUT' })),
  stayAlive: cfg.bool({ env: 'ASX_STAY_ALIVE', default: false }),
  ...s3ConfigSpec(),
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
      problems.push(...s3ConfigProblems(c));
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
    s3: resolveS3Config(c),
  });
}
