import { createWriteStream, existsSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs, UsageError, valueOf, type FlagSpec } from '../args';
import { ApiError } from '../client';
import type { ExitCode, K2Io } from '../io';
import { Progress } from '../progress';
import { clientFor, requestParams } from './read';
import { CONNECTION_FLAGS, paramFlagSpecs, ROUTE_COMMANDS, type RouteCommand } from './spec';

/**
 * `k2 export trades|quotes|bars … --format csv|ndjson|parquet -o FILE`: the route's streamed download
 * (`format=` on the route, answered with Content-Disposition) written as it arrives, never held in memory. The file
 * is written as FILE.part and renamed when the answer is complete, so an interrupted export never looks finished.
 */
export const EXPORT_FORMATS = ['csv', 'ndjson', 'parquet'] as const;

export const EXPORT_FLAGS: readonly FlagSpec[] = [
  { name: 'format', value: true, short: 'f' },
  { name: 'output', value: true, short: 'o' },
  { name: 'force', value: false },
  { name: 'progress', value: false },
  { name: 'no-progress', value: false },
  { name: 'param', value: true, repeat: true },
  ...CONNECTION_FLAGS,
];

export function exportable(): RouteCommand[] {
  return ROUTE_COMMANDS.filter((c) => c.exportable);
}

/** The file name of `Content-Disposition: attachment; filename="…"`, reduced to a plain name in the current directory. */
export function dispositionName(header: string | null): string | undefined {
  const m = header ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header) : null;
  if (!m?.[1]) return undefined;
  let name: string;
  try {
    name = path.basename(decodeURIComponent(m[1].trim()));
  } catch {
    name = path.basename(m[1].trim());
  }
  name = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '');
  return name || undefined;
}

async function write(stream: WriteStream, chunk: Uint8Array): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

export async function runExport(argv: readonly string[], io: K2Io): Promise<ExitCode> {
  const [routeName, ...rest] = argv;
  const cmd = exportable().find((c) => c.name === routeName);
  if (!cmd) throw new UsageError(`export needs what to export first: ${exportable().map((c) => c.name).join(', ')}${routeName ? ` (got ${routeName})` : ''}`);
  const args = parseArgs(rest, [...paramFlagSpecs(cmd.params), ...EXPORT_FLAGS]);
  const format = valueOf(args, 'format') ?? 'csv';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got ${format}`);
  const client = clientFor(args, io, undefined);
  const params = [...requestParams(cmd, args), ['format', format] as [string, string]];
  const accept = format === 'parquet' ? 'application/vnd.apache.parquet, */*' : format === 'csv' ? 'text/csv, */*' : 'application/x-ndjson, */*';
  const res = await client.get(cmd.path, params, accept, io.signal);
  const target = valueOf(args, 'output') ?? dispositionName(res.headers.get('content-disposition')) ?? `${cmd.name}.${format}`;
  const toStdout = target === '-';
  const file = toStdout ? undefined : path.resolve(io.cwd, target);
  if (file && existsSync(file) && !args.switches.has('force')) {
    await res.body?.cancel();
    throw new ApiError('K2_CLI_FILE_EXISTS', `${target} exists; --force overwrites it`);
  }
  const show = !args.switches.has('no-progress') && (args.switches.has('progress') || io.stderrTTY);
  const progress = new Progress({ write: io.err, enabled: show, tty: io.stderrTTY, countRows: format !== 'parquet', headerLines: format === 'csv' ? 1 : 0 });
  const part = file ? `${file}.part` : undefined;
  const stream = part ? createWriteStream(part, { mode: 0o644 }) : undefined;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (stream) await write(stream, chunk);
        else await io.out(chunk);
        progress.add(chunk);
      }
    }
    if (stream) {
      stream.end();
      await once(stream, 'close');
    }
  } catch (e) {
    stream?.destroy();
    if (part) rmSync(part, { force: true });
    if (io.signal.aborted) throw new ApiError('K2_CLI_INTERRUPTED', `export stopped after ${progress.line()}; ${target} not written`);
    throw e instanceof ApiError ? e : new ApiError('K2_CLI_DOWNLOAD_FAILED', `download broke off after ${progress.line()}: ${(e as Error).message ?? String(e)}`);
  }
  if (file && part) renameSync(part, file);
  if (show) progress.show(true);
  if (file) io.err(`k2: wrote ${target}${format === 'parquet' ? '' : ` (${progress.rows.toLocaleString('en-US')} rows)`}\n`);
  return 0;
}
