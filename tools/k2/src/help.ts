import { formatHelp, HELP_FLAG, type CliFlagDoc, type CliHelp, type EnvVarDoc, type ExitCodeDoc } from '@k2/core';
import { EXPORT_FORMATS, exportable } from './commands/export';
import { REPLAY_PARAMS, ROUTE_COMMANDS, type ParamFlag, type RouteCommand } from './commands/spec';
import { DEFAULT_API_URL, DEMO_KEY_FILE } from './settings';

/** k2's --help texts, in the format of every K2 command (libs/core/src/cli.ts). */
const ENV: readonly EnvVarDoc[] = [
  { name: 'K2_API_URL', default: DEFAULT_API_URL, doc: 'query-api base URL (--url wins)' },
  { name: 'K2_API_KEY', hint: 'secret', doc: `API key (--api-key wins); unset: the demo key of npm start in ${DEMO_KEY_FILE}; empty: no key` },
];

const EXIT_CODES: readonly ExitCodeDoc[] = [
  { code: 0, when: 'done' },
  { code: 1, when: 'the API or the network failed: one line "k2: <code>: <message>" on stderr' },
  { code: 2, when: 'usage error (unknown option, missing value, bad --format)' },
  { code: 130, when: 'stopped by Ctrl-C (replay, export)' },
];

const CONNECTION: readonly CliFlagDoc[] = [
  { flag: '--url URL', doc: `query-api base URL (default $K2_API_URL, else ${DEFAULT_API_URL}, the one npm start runs)` },
  { flag: '--api-key KEY', doc: 'API key, sent as X-API-Key (default $K2_API_KEY, else the demo key); prefer the variable: arguments show in the process list' },
  { flag: '--param NAME=VALUE', doc: 'any other query parameter of the route, as is (repeatable)' },
  HELP_FLAG,
];

const OUTPUT: readonly CliFlagDoc[] = [
  { flag: '-f, --format FORMAT', doc: 'table (default on a terminal), csv, json or ndjson (default when stdout is a pipe or file)' },
  { flag: '--columns LIST', doc: 'only these fields, comma-separated; "all" = every field (the table shows a few by default)' },
];

const NOTES = 'Decimals and 64-bit ids are printed exactly as the API sends them. Full reference: docs/query-api.md ("Command-line client").';

function paramDocs(params: readonly ParamFlag[]): CliFlagDoc[] {
  return params.map((p) => ({ flag: `--${p.flag} ${p.arg}`, doc: p.doc }));
}

export function commandHelp(cmd: RouteCommand): CliHelp {
  const paged = cmd.params.some((p) => p.flag === 'cursor');
  const pos = cmd.positional ? ` [${cmd.positional.arg}[,${cmd.positional.arg}…]]` : '';
  return {
    usage: [`k2 ${cmd.name}${pos} [options]`],
    summary: `${cmd.summary[0]?.toUpperCase()}${cmd.summary.slice(1)}: GET ${cmd.path}.${cmd.positional ? ` ${cmd.positional.arg}: ${cmd.positional.doc}.` : ''}`,
    flags: [
      ...paramDocs(cmd.params),
      ...OUTPUT,
      ...(paged ? [{ flag: '--all', doc: 'follow next_cursor until the last page (the table waits for every page)' }] : []),
      { flag: '--timeout SECONDS', doc: 'give up on a request after this long (default 60)' },
      ...CONNECTION,
    ],
    env: ENV,
    exitCodes: EXIT_CODES,
    notes: NOTES,
  };
}

export function exportHelp(): CliHelp {
  const names = exportable().map((c) => c.name);
  return {
    usage: [`k2 export ${names.join('|')} [SYMBOL] [that command's parameters] [--format csv|ndjson|parquet] [-o FILE]`],
    summary: `Downloads a streamed answer (format=${EXPORT_FORMATS.join('|')} on the route) into FILE as it arrives, with progress on stderr (bytes, rows, rate) when stderr is a terminal or with --progress. The file is written as FILE.part and renamed once complete.`,
    flags: [
      { flag: '-f, --format FORMAT', doc: `${EXPORT_FORMATS.join(', ')} (default csv)` },
      { flag: '-o, --output FILE', doc: 'where to write; "-" = stdout; default: the name in Content-Disposition' },
      { flag: '--force', doc: 'overwrite FILE if it exists' },
      { flag: '--progress / --no-progress', doc: 'show / hide progress (default: shown when stderr is a terminal)' },
      ...CONNECTION,
    ],
    env: ENV,
    exitCodes: EXIT_CODES,
    notes: `The parameters are those of the command exported (k2 trades --help). ${NOTES}`,
  };
}

export function replayHelp(): CliHelp {
  return {
    usage: ['k2 replay SYMBOLS [--types trades,quotes] [--start TIME] [--end TIME] [--speed X] [options]'],
    summary: 'Replays recorded events from GET /v1/replay (as NDJSON), printing each as it arrives until the replay ends or Ctrl-C.',
    flags: [...paramDocs(REPLAY_PARAMS), { flag: '-f, --format FORMAT', doc: 'table (default on a terminal), csv or ndjson' }, OUTPUT[1] as CliFlagDoc, ...CONNECTION],
    env: ENV,
    exitCodes: EXIT_CODES,
    notes: NOTES,
  };
}

/** `k2 --help`: formatHelp's layout with a Commands section after the summary. */
export function mainHelp(): string {
  const commands: Array<[string, string]> = [
    ...ROUTE_COMMANDS.map((c): [string, string] => [c.name, c.summary]),
    ['replay', 'recorded events replayed as they arrive'],
    ['export', 'streamed csv/ndjson/parquet download into a file, with progress'],
  ];
  const text = formatHelp({
    usage: ['k2 <command> [options]', 'k2 <command> --help'],
    summary: 'The K2 command-line client: reads query-api (npm run k2 -- <command>, or npx k2 <command> from the repository).',
    flags: [{ flag: '--version', doc: 'print the version and exit 0' }, HELP_FLAG],
    env: ENV,
    exitCodes: EXIT_CODES,
    notes: `Examples: k2 trades BTCUSDT --window-minutes 5; k2 bars BTCUSDT --interval 1h --start 2026-12-01T00:00:00Z -f csv; k2 export trades BTCUSDT --start … --end … -o trades.csv. ${NOTES}`,
  });
  const block = ['Commands:', ...commands.map(([n, d]) => `  ${n.padEnd(11)}${d}`)].join('\n');
  return text.replace('\n\nOptions:', `\n\n${block}\n\nOptions:`);
}
