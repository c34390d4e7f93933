import { isLosslessNumber, type LosslessJson } from '@k2/core';
import { intOf, parseArgs, UsageError, valueOf, type FlagSpec, type ParsedArgs } from '../args';
import { ApiClient, CLI_CODES, ApiError, type Params } from '../client';
import { FORMATS, rowWriter, type OutputFormat, type Row } from '../format';
import type { ExitCode, K2Io } from '../io';
import { resolveConnection } from '../settings';
import { CONNECTION_FLAGS, paramFlagSpecs, paramOf, type ParamFlag, type RouteCommand } from './spec';

/** Flags every command that prints rows takes, besides its route's parameters. */
export const OUTPUT_FLAGS: readonly FlagSpec[] = [
  { name: 'format', value: true, short: 'f' },
  { name: 'columns', value: true },
  { name: 'all', value: false },
  { name: 'param', value: true, repeat: true },
  { name: 'timeout', value: true },
];

export function readFlags(cmd: RouteCommand): FlagSpec[] {
  return [...paramFlagSpecs(cmd.params), ...OUTPUT_FLAGS, ...CONNECTION_FLAGS];
}

/** The query string: positionals joined into the positional parameter, each route flag, then every --param. */
export function requestParams(cmd: Pick<RouteCommand, 'name' | 'positional'> & { params: readonly ParamFlag[] }, args: ParsedArgs): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (args.positionals.length > 0) {
    if (!cmd.positional) throw new UsageError(`${cmd.name} takes no positional argument (got ${args.positionals[0]})`);
    out.push([cmd.positional.param, args.positionals.join(',')]);
  }
  for (const p of cmd.params) {
    const v = valueOf(args, p.flag);
    if (v !== undefined) out.push([paramOf(p.flag), v]);
  }
  for (const kv of args.values.get('param') ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param needs NAME=VALUE, got ${kv}`);
    out.push([kv.slice(0, eq), kv.slice(eq + 1)]);
  }
  return out;
}

/** table on a terminal, ndjson when stdout is a pipe or a file (one record per line suits grep, jq and head). */
export function outputFormat(args: ParsedArgs, stdoutTTY: boolean): OutputFormat {
  const v = valueOf(args, 'format');
  if (v === undefined) return stdoutTTY ? 'table' : 'ndjson';
  if (!(FORMATS as readonly string[]).includes(v)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got ${v}`);
  return v as OutputFormat;
}

/** --columns a,b,c; `all` = every field; default: the command's table columns for the table format only. */
export function outputColumns(args: ParsedArgs, format: OutputFormat, defaults: readonly string[] | undefined): readonly string[] | undefined {
  const v = valueOf(args, 'columns');
  if (v === 'all') return undefined;
  if (v !== undefined) {
    const cols = v.split(',').map((c) => c.trim()).filter((c) => c !== '');
    if (cols.length === 0) throw new UsageError('--columns needs at least one column name');
    return cols;
  }
  return format === 'table' ? defaults : undefined;
}

export function clientFor(args: ParsedArgs, io: K2Io, defaultTimeoutS: number | undefined): ApiClient {
  const conn = resolveConnection({ url: valueOf(args, 'url'), apiKey: valueOf(args, 'api-key') }, io.env, io);
  const timeoutS = intOf(args, 'timeout', 1, 86_400) ?? defaultTimeoutS;
  return new ApiClient(conn, timeoutS === undefined ? undefined : timeoutS * 1000);
}

/** The rows of an answer: `data` when it is a list, else the object itself without `meta` (summary). */
export function rowsOf(body: Row): Row[] {
  const data = body['data'];
  if (Array.isArray(data)) return data.filter((r): r is Row => typeof r === 'object' && r !== null && !Array.isArray(r) && !isLosslessNumber(r));
  const { meta: _meta, next_cursor: _next, ...rest } = body;
  return [rest];
}

function degradedOf(body: Row): string[] {
  const meta = body['meta'];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return [];
  const d = (meta as Record<string, LosslessJson>)['degraded'];
  return Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string') : [];
}

/** trades, quotes, bars, summary, symbols, snapshots, reference: one request, or every page with --all. */
export async function runRead(cmd: RouteCommand, argv: readonly string[], io: K2Io): Promise<ExitCode> {
  const args = parseArgs(argv, readFlags(cmd));
  const format = outputFormat(args, io.stdoutTTY);
  const writer = rowWriter(format, { columns: outputColumns(args, format, cmd.tableColumns), single: cmd.single });
  const client = clientFor(args, io, 60);
  const base = requestParams(cmd, args);
  const all = args.switches.has('all');
  const degraded = new Set<string>();
  const seen = new Set<string>();
  let cursor: string | undefined;
  let rows = 0;
  for (;;) {
    const params: Params = cursor === undefined ? base : [...base.filter(([k]) => k !== 'cursor'), ['cursor', cursor]];
    const body = await client.json(cmd.path, params);
    for (const d of degradedOf(body)) degraded.add(d);
    const page = rowsOf(body);
    rows += page.length;
    const text = writer.page(page);
    if (text) await io.out(text);
    const next = typeof body['next_cursor'] === 'string' ? body['next_cursor'] : undefined;
    if (next === undefined) break;
    if (!all) {
      io.err(`k2: more rows follow: add --all for every page, or --cursor ${next} for the next one\n`);
      break;
    }
    if (seen.has(next)) throw new ApiError(CLI_CODES.badResponse, `the API returned cursor ${next} twice; stopping after ${rows} rows`);
    seen.add(next);
    cursor = next;
  }
  await io.out(writer.end());
  if (degraded.size > 0) io.err(`k2: warning: degraded answer (${[...degraded].join(', ')}); see docs/query-api.md\n`);
  return 0;
}
