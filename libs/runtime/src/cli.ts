import { envDocs, HELP_FLAG, type ArgSpec, type CliFlagDoc, type CliHelp, type ConfigSpec, type ExitCodeDoc } from '@k2/core';

/**
 * What a service's `--help` says and which arguments it takes. runService answers `--help`/`-h` and rejects
 * unknown arguments before it loads the config, logs anything or connects anywhere.
 */
export interface ServiceCli {
  /** The command as typed, in usage errors and the default usage line; default the service name. */
  readonly program?: string;
  /** Usage lines after `Usage:`; default `<name> [-h|--help]`. */
  readonly usage?: readonly string[];
  readonly summary: string;
  /** Flags besides `-h, --help` (which is always listed). */
  readonly flags?: readonly CliFlagDoc[];
  /** The config spec the service loads: the environment section is generated from it. */
  readonly spec: ConfigSpec;
  /** Default SERVICE_EXIT_CODES. */
  readonly exitCodes?: readonly ExitCodeDoc[];
  readonly notes?: string;
  /** Known flags; default none. */
  readonly args?: ArgSpec;
  /** Replaces the `args` check, for a service with its own argument parser; returns usage problems. */
  readonly check?: (argv: readonly string[]) => string[];
  /** Default process.argv.slice(2). */
  readonly argv?: readonly string[];
  /** Where the help and usage errors go; default process.stdout / process.stderr. */
  readonly out?: (text: string) => void;
  readonly err?: (text: string) => void;
}

/** What runService's exit code means (see runService). */
export const SERVICE_EXIT_CODES: readonly ExitCodeDoc[] = Object.freeze([
  { code: 0, when: 'stopped by SIGTERM or SIGINT and shut down cleanly (or --help)' },
  {
    code: 1,
    when:
      'invalid configuration (one JSON log line lists every problem), start-up failure, uncaught exception or ' +
      'unhandled rejection, a failed shutdown hook, or shutdown not finished within SHUTDOWN_TIMEOUT_MS',
  },
  { code: 2, when: 'usage error: unknown argument or a flag without its value (one line on stderr, nothing started)' },
]);

export function serviceHelp(name: string, cli: ServiceCli): CliHelp {
  return {
    usage: cli.usage ?? [`${cli.program ?? name} [-h|--help]`],
    summary: cli.summary,
    flags: [...(cli.flags ?? []), HELP_FLAG],
    env: envDocs(cli.spec),
    exitCodes: cli.exitCodes ?? SERVICE_EXIT_CODES,
    notes:
      cli.notes ??
      'Every setting is an environment variable, read once at start and validated; all problems are reported together. ' +
      'GET /metrics, /healthz and /readyz are served on METRICS_HOST:METRICS_PORT.',
  };
}
