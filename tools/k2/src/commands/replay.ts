import { isLosslessNumber, parseLosslessJson, type LosslessJson } from '@k2/core';
import { parseArgs, UsageError } from '../args';
import { ApiError, CLI_CODES } from '../client';
import { cellText, rowWriter, type OutputFormat, type Row } from '../format';
import type { ExitCode, K2Io } from '../io';
import { clientFor, outputColumns, outputFormat, requestParams } from './read';
import { CONNECTION_FLAGS, paramFlagSpecs, REPLAY_PARAMS } from './spec';

/**
 * `k2 replay SYMBOLS …`: GET /v1/replay asking for NDJSON (`Accept: application/x-ndjson`), one event printed per
 * line as it arrives, until the server ends the replay or Ctrl-C. A server that answers with server-sent events
 * instead is read as SSE (each `data:` a JSON event).
 */
const REPLAY = { name: 'replay', positional: { param: 'symbols', arg: 'SYMBOLS', doc: 'instrument(s), comma-separated' }, params: REPLAY_PARAMS };
const MAX_LINE = 1 << 20;

export const REPLAY_FLAGS = [
  ...paramFlagSpecs(REPLAY_PARAMS),
  { name: 'format', value: true, short: 'f' },
  { name: 'columns', value: true },
  { name: 'param', value: true, repeat: true },
  ...CONNECTION_FLAGS,
];

/**
 * A table printed line by line as events arrive: the columns are those of the first event (or --columns), each
 * as wide as its header and first value, widening when a longer value comes (no later line can move earlier ones).
 */
export function streamingTable(columns: readonly string[] | undefined): { row: (r: Row) => string } {
  let cols: readonly string[] | undefined = columns;
  let widths: number[] | undefined;
  const line = (vals: readonly string[], w: number[]) => vals.map((v, i) => v.padEnd((w[i] = Math.max(w[i] ?? 0, v.length)))).join('  ').trimEnd();
  return {
    row: (r) => {
      const c = (cols ??= Object.keys(r));
      const vals = c.map((k) => cellText(r[k]).replace(/\s/g, ' '));
      if (widths) return `${line(vals, widths)}\n`;
      widths = c.map((k, i) => Math.max(k.length, vals[i]?.length ?? 0));
      return `${line(c, widths)}\n${line(vals, widths)}\n`;
    },
  };
}

function asRow(text: string, event: string | undefined): Row {
  let v: LosslessJson;
  try {
    v = parseLosslessJson(text);
  } catch {
    return { event: event ?? null, data: text };
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v) ? (v as Row) : { event: event ?? null, data: v };
}

type Emit = (r: Row) => Promise<void>;

async function readNdjson(body: AsyncIterable<Uint8Array>, emit: Emit): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) await emit(asRow(line, undefined));
    }
    if (pending.length > MAX_LINE) throw new ApiError(CLI_CODES.badResponse, `no line end in ${pending.length} characters of the replay`);
  }
  if (pending.trim()) await emit(asRow(pending.trim(), undefined));
}

async function readSse(body: AsyncIterable<Uint8Array>, emit: Emit): Promise<void> {
  // Loaded only here: @k2/query is large and the other commands start faster without it.
  const { parseSse } = await import('@k2/query');
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    const parsed = parseSse(pending + decoder.decode(chunk, { stream: true }));
    pending = parsed.rest;
    for (const ev of parsed.events) await emit(asRow(ev.data, ev.event));
    if (pending.length > MAX_LINE) throw new ApiError(CLI_CODES.badResponse, `no complete event in ${pending.length} characters of the replay`);
  }
}

export async function runReplay(argv: readonly string[], io: K2Io): Promise<ExitCode> {
  const args = parseArgs(argv, REPLAY_FLAGS);
  if (args.positionals.length === 0 && !args.values.has('param')) throw new UsageError('replay needs the symbols, e.g. k2 replay BTCUSDT,ETHUSDT --start …');
  const format: OutputFormat = outputFormat(args, io.stdoutTTY);
  if (format === 'json') throw new UsageError('replay prints events as they arrive: --format table, csv or ndjson');
  const columns = outputColumns(args, format, undefined);
  const table = streamingTable(columns);
  const writer = rowWriter(format, { columns });
  const client = clientFor(args, io, undefined);
  const res = await client.get('/v1/replay', requestParams(REPLAY, args), 'application/x-ndjson, text/event-stream;q=0.5', io.signal);
  const emit: Emit = (r) => io.out(format === 'table' ? table.row(r) : writer.page([r]));
  const body = (res.body ?? []) as unknown as AsyncIterable<Uint8Array>;
  try {
    if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) await readSse(body, emit);
    else await readNdjson(body, emit);
  } catch (e) {
    if (io.signal.aborted) return 130;
    throw e instanceof ApiError ? e : new ApiError(CLI_CODES.unreachable, `the replay broke off: ${(e as Error).message ?? String(e)}`);
  }
  if (format !== 'table') await io.out(writer.end());
  return 0;
}
