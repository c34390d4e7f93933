import type { ServiceCli } from '@k2/runtime';
import { ASX_FLAGS, asxArgProblems, spec } from './config';

/**
 * `asx-batch-loader --help`. Flags and the environment section are generated from the parser and the config spec;
 * an unknown flag keeps the parser's own message ("unknown argument X; flags are ...").
 */
export const CLI: ServiceCli = {
  usage: ['asx-batch-loader [--input PATH] [--dry-run] [--max-errors N] [--serve] [other flags below]', 'asx-batch-loader -h|--help'],
  summary:
    'Loads ASX CSV files (trades, quotes, reference data) once into the V2 Kafka topics, checkpointing ' +
    'per file, and exits 0 only when every good row was acknowledged by Kafka. Bad rows go to the reject file.',
  flags: ASX_FLAGS.map(({ flag, env }) => ({ flag, doc: `sets ${env} (a flag wins over the variable)` })),
  spec,
  check: asxArgProblems,
  exitCodes: [
    { code: 0, when: 'every good row acknowledged by Kafka (rejected rows do not count), a clean dry run, ASX_INPUT unset, or --help' },
    {
      code: 1,
      when:
        'invalid configuration, Kafka/registry/input failure, or stopped by SIGTERM/SIGINT before the end (checkpointed; ' +
        'run again to finish); also a failed shutdown or SHUTDOWN_TIMEOUT_MS exceeded',
    },
    {
      code: 2,
      when:
        'more rows rejected than --max-errors (checkpointed up to the stop), or a usage error: unknown flag or a flag ' +
        'without its value (one line on stderr, nothing loaded)',
    },
  ],
  notes: 'With --serve (ASX_STAY_ALIVE) the process stays up after the load and exits with its code on SIGTERM. See docs/asx-loader.md.',
};
