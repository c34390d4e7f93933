import type { ServiceCli } from '@k2/runtime';
import { spec } from './config';

export type WriterCommand = 'run' | 'maintain';

/** `iceberg-writer [run]` consumes; `iceberg-writer maintain` maintains the tables once. The rest of argv are flags. */
export function writerCommand(argv: readonly string[]): { command: WriterCommand; rest: readonly string[] } {
  const first = argv[0];
  if (first === 'maintain' || first === 'run') return { command: first, rest: argv.slice(1) };
  return { command: 'run', rest: argv };
}

const COMMANDS = 'iceberg-writer [run] | iceberg-writer maintain';

const RUN: Omit<ServiceCli, 'spec'> = {
  usage: ['iceberg-writer [run] [-h|--help]', 'iceberg-writer maintain [-h|--help]'],
  summary:
    'run (the default): consumes the V2 data topics and writes them exactly once into the Iceberg tables ' +
    '(trades_v2, quotes_v2, reference_data_v2), committing offsets in the snapshots; runs until SIGTERM or SIGINT. ' +
    '`iceberg-writer maintain --help` describes the maintenance command.',
  notes:
    'Every setting is an environment variable, read once at start and validated; all problems are reported together. ' +
    'GET /metrics, /healthz and /readyz are served on METRICS_HOST:METRICS_PORT. See docs/iceberg-writer.md.',
};

const MAINTAIN: Omit<ServiceCli, 'spec'> = {
  usage: ['iceberg-writer maintain [-h|--help]'],
  summary:
    'Runs table maintenance once on every table of ICEBERG_NAMESPACE: compaction of small files, snapshot expiry and ' +
    'orphan file removal, then exits (the Kubernetes CronJob entry point). Needs the catalog and the object store, ' +
    'not Kafka: the Kafka and WRITER_* consumer settings below are read but unused.',
  exitCodes: [
    { code: 0, when: 'every table maintained, or stopped by SIGTERM/SIGINT (maintenance is safe to rerun), or --help' },
    {
      code: 1,
      when:
        'invalid configuration, a table whose maintenance failed (the other tables are still maintained), catalog or object store ' +
        'unreachable, a failed shutdown, or SHUTDOWN_TIMEOUT_MS exceeded',
    },
    { code: 2, when: 'usage error: unknown argument (one line on stderr, nothing started)' },
  ],
  notes: 'Every setting is an environment variable, read once at start and validated. See docs/iceberg-writer.md, Maintenance.',
};

/** The `--help` and argument check of one command; `rest` is argv after the command word. */
export function writerCli(command: WriterCommand, rest: readonly string[]): ServiceCli {
  return {
    ...(command === 'maintain' ? MAINTAIN : RUN),
    program: command === 'maintain' ? 'iceberg-writer maintain' : 'iceberg-writer',
    spec,
    argv: rest,
    check: (argv) => argv.filter((a) => a !== '--help' && a !== '-h').map((a) => `unknown argument ${a}; usage: ${COMMANDS}`),
  };
}
