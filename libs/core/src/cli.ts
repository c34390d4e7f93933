import type { ConfigSpec } from './config';

/**
 * `--help` and argument checking shared by every K2 command line (services, tools, benches). Help text is
 * plain, stable and goes to stdout with exit 0; a usage error is one line on stderr with exit 2. The
 * environment section is generated from the config spec the command really loads, so it cannot drift.
 */

/** Exit code of a usage error (unknown flag, missing flag value), as in most Unix tools. */
export const EXIT_USAGE = 2;

export interface EnvVarDoc {
  readonly name: string;
  /** Default as shown; `hidden` for secrets, undefined when the variable has none. */
  readonly default?: string;
  readonly required?: boolean;
  readonly hint?: string;
  readonly doc?: string;
}

export interface CliFlagDoc {
  /** As typed, e.g. `--input PATH` or `-h, --help`. */
  readonly flag: string;
  readonly doc: string;
}

export interface ExitCodeDoc {
  readonly code: number;
  readonly when: string;
}

export interface CliHelp {
  /** Lines after `Usage:`; the first names the program. */
  readonly usage: readonly string[];
  readonly summary?: string;
  readonly flags?: readonly CliFlagDoc[];
  readonly env?: readonly EnvVarDoc[];
  readonly exitCodes: readonly ExitCodeDoc[];
  /** A closing paragraph (where the full docs are). */
  readonly notes?: string;
}

export const HELP_FLAG: CliFlagDoc = { flag: '-h, --help', doc: 'print this help and exit 0' };

/** Names that hold a secret: SECRET or PASSWORD anywhere, or ending in a credential word (not QUERY_API_KEYS_POLL_MS). */
const SECRET_ENV = /SECRET|PASSWORD|(TOKEN|CREDENTIALS?|ACCESS_?KEY|API_?KEYS?)$/i;

function showDefault(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return value instanceof RegExp ? value.source : String(value);
}

/** The environment section of a config spec, in declaration order; secrets' defaults are shown as `hidden`. */
export function envDocs(spec: ConfigSpec): EnvVarDoc[] {
  const seen = new Set<string>();
  const out: EnvVarDoc[] = [];
  for (const field of Object.values(spec)) {
    if (seen.has(field.env)) continue;
    seen.add(field.env);
    const secret = field.secret === true || SECRET_ENV.test(field.env);
    out.push({
      name: field.env,
      default: field.default === undefined ? undefined : secret ? 'hidden' : showDefault(field.default),
      required: field.required,
      hint: field.hint,
      doc: field.doc,
    });
  }
  return out;
}

const WIDTH = 100;

/** Word-wraps `text` to WIDTH, every line after the first indented by `indent` spaces. */
function wrap(text: string, indent: number, first: number): string {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let line = '';
  let room = WIDTH - first;
  for (const w of words) {
    if (line && line.length + 1 + w.length > room) {
      lines.push(line);
      line = w;
      room = WIDTH - indent;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const col = Math.min(Math.max(...rows.map(([k]) => k.length)) + 2, 32);
  return rows.map(([k, v]) => {
    const pad = k.length + 2 > col ? `\n${' '.repeat(col + 2)}` : ' '.repeat(col - k.length);
    return `  ${k}${pad}${wrap(v, col + 2, col + 2)}`;
  });
}

function envLine(e: EnvVarDoc): string {
  const facts = [e.hint, e.required ? 'required' : e.default !== undefined ? `default ${e.default || '""'}` : undefined];
  const meta = facts.filter((f) => f).join(', ');
  return e.doc ? `${e.doc} (${meta})` : `(${meta})`;
}

/** The whole `--help` text: usage, summary, options, environment, exit codes, notes; ends with a newline. */
export function formatHelp(help: CliHelp): string {
  const parts: string[] = [help.usage.map((u, i) => (i === 0 ? `Usage: ${u}` : `       ${u}`)).join('\n')];
  if (help.summary) parts.push(wrap(help.summary, 0, 0));
  const flags = help.flags ?? [];
  parts.push(['Options:', ...table(flags.map((f) => [f.flag, f.doc]))].join('\n'));
  if (help.env?.length) parts.push(['Environment:', ...table(help.env.map((e) => [e.name, envLine(e)]))].join('\n'));
  parts.push(['Exit codes:', ...table(help.exitCodes.map((c) => [String(c.code), c.when]))].join('\n'));
  if (help.notes) parts.push(wrap(help.notes, 0, 0));
  return `${parts.join('\n\n')}\n`;
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--help' || a === '-h');
}

/** The one-line usage error: `prog: problem (see prog --help)`. */
export function usageError(program: string, problem: string): string {
  return `${program}: ${problem} (see ${program} --help)`;
}

export interface ArgSpec {
  /** Flags without a value. */
  readonly booleans?: readonly string[];
  /** Flags taking a value, as `--flag value` or `--flag=value`. */
  readonly values?: readonly string[];
}

/** Problems with `argv` against the flags a command knows (`--help`/`-h` are always known). */
export function argProblems(argv: readonly string[], spec: ArgSpec): string[] {
  const booleans = new Set([...(spec.booleans ?? []), '--help', '-h']);
  const values = new Set(spec.values ?? []);
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (values.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) problems.push(`${name} needs a value`);
    } else if (!booleans.has(name) || eq > 0) {
      problems.push(`unknown argument ${arg}`);
    }
  }
  return problems;
}

/** The value of `--flag value` or `--flag=value` (the last one given), or undefined. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === flag) value = argv[i + 1];
    else if (arg.startsWith(`${flag}=`)) value = arg.slice(flag.length + 1);
  });
  return value;
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => void;
}

export const PROCESS_IO: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  exit: (code) => process.exit(code),
};

/**
 * The argument prologue of a command's main: `--help` prints the help and exits 0, any problem from `check`
 * (default: `argProblems` against `args`) prints one usage-error line (all problems) and exits 2. Returns the
 * exit code it used, or undefined when the command should go on. Call it before connecting anywhere.
 */
export function handleCli(
  program: string,
  argv: readonly string[],
  opts: { help: () => CliHelp; args?: ArgSpec; check?: (argv: readonly string[]) => string[]; io?: CliIo },
): number | undefined {
  const io = opts.io ?? PROCESS_IO;
  if (wantsHelp(argv)) {
    io.stdout(formatHelp(opts.help()));
    io.exit(0);
    return 0;
  }
  const problems = opts.check ? opts.check(argv) : argProblems(argv, opts.args ?? {});
  if (problems.length === 0) return undefined;
  io.stderr(`${usageError(program, problems.join('; '))}\n`);
  io.exit(EXIT_USAGE);
  return EXIT_USAGE;
}
