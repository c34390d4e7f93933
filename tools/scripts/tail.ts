// `npm run tail -- --symbol BTCUSDT [--exchange binance] [--url http://127.0.0.1:8080]`: the live trade stream of
// query-api in the terminal, one line per trade, from the same SSE route as the browser page.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSse, type SseEvent } from '@k2/query';

// Written by tools/scripts/demo-key.ts when npm start runs (npm runs scripts from the repository root).
const DEMO_KEY_FILE = '.data/secrets/query-api-demo.key';

const USAGE = `usage: npm run tail -- [--symbol SYMBOL] [--exchange EXCHANGE] [--url URL] [--api-key KEY]

  --symbol, -s    instrument as in the V2 records, e.g. BTCUSDT, BTC/USD (default BTCUSDT)
  --exchange, -e  only this exchange, e.g. binance, kraken (default: all)
  --url           query-api base URL (default: $K2_API_URL, else http://127.0.0.1:8080)
  --api-key       query-api key (default: $K2_API_KEY, else the demo key npm start made in ${DEMO_KEY_FILE});
                  prefer the variable: arguments show in the process list

Trades go to stdout, connection notices to stderr. Ctrl-C stops.`;

const INITIAL_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
// query-api sends heartbeat comments well within this; silence this long means a half-open connection (a
// sleeping laptop, a dropped NAT entry) that TCP alone would not notice for many minutes.
const IDLE_TIMEOUT_MS = 60_000;
// A frame is a few hundred bytes; a "rest" this large means the peer is not speaking SSE.
const MAX_PENDING_CHARS = 1 << 20;

interface Options {
  symbol: string;
  exchange: string | undefined;
  url: string;
  apiKey: string | undefined;
}

interface Trade {
  timestamp: string;
  exchange: string;
  symbol: string;
  side: string;
  price: string;
  quantity: string;
}

/** A failure that retrying will not fix (a 4xx for a bad symbol, a URL that is not query-api). */
class FatalError extends Error {}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        symbol: { type: 'string', short: 's' },
        exchange: { type: 'string', short: 'e' },
        url: { type: 'string' },
        'api-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new FatalError(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (positionals.length > 0) throw new FatalError(`unexpected argument ${positionals[0]}\n\n${USAGE}`);
  const url = (values.url ?? process.env['K2_API_URL'] ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  try {
    new URL(url);
  } catch {
    throw new FatalError(`--url ${url} is not a URL`);
  }
  const apiKey = values['api-key'] ?? process.env['K2_API_KEY'] ?? demoKey();
  return { symbol: (values.symbol ?? 'BTCUSDT').trim().toUpperCase(), exchange: values.exchange?.trim() || undefined, url, apiKey: apiKey?.trim() || undefined };
}

function demoKey(): string | undefined {
  const file = join(process.cwd(), DEMO_KEY_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function streamUrl(opts: Options): string {
  const q = new URLSearchParams({ symbol: opts.symbol });
  if (opts.exchange) q.set('exchange', opts.exchange);
  return `${opts.url}/v1/stream/trades?${q.toString()}`;
}

const useColour = Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'];
const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

// Columns widen to the longest value seen so far rather than being fixed, so a long Kraken pair or a
// nine-digit price does not break alignment for the rest of the session.
const widths = { exchange: 8, symbol: 9, side: 4, price: 16, quantity: 14 };

function formatTrade(t: Trade): string {
  widths.exchange = Math.max(widths.exchange, t.exchange.length);
  widths.symbol = Math.max(widths.symbol, t.symbol.length);
  widths.side = Math.max(widths.side, t.side.length);
  widths.price = Math.max(widths.price, t.price.length);
  widths.quantity = Math.max(widths.quantity, t.quantity.length);
  let side = t.side.padEnd(widths.side);
  if (useColour && t.side === 'BUY') side = `${GREEN}${side}${RESET}`;
  else if (useColour && t.side === 'SELL') side = `${RED}${side}${RESET}`;
  return [t.timestamp.padEnd(27), t.exchange.padEnd(widths.exchange), t.symbol.padEnd(widths.symbol), side, t.price.padStart(widths.price), t.quantity.padStart(widths.quantity)].join('  ');
}

function header(): string {
  const line = ['TIME (UTC)'.padEnd(27), 'EXCHANGE'.padEnd(widths.exchange), 'SYMBOL'.padEnd(widths.symbol), 'SIDE'.padEnd(widths.side), 'PRICE'.padStart(widths.price), 'QUANTITY'.padStart(widths.quantity)].join('  ');
  return useColour ? `${DIM}${line}${RESET}` : line;
}

function asTrade(data: string): Trade | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const fields = ['timestamp', 'exchange', 'symbol', 'side', 'price', 'quantity'] as const;
  for (const f of fields) if (typeof o[f] !== 'string') return undefined;
  return { timestamp: o['timestamp'] as string, exchange: o['exchange'] as string, symbol: o['symbol'] as string, side: o['side'] as string, price: o['price'] as string, quantity: o['quantity'] as string };
}

function notice(message: string): void {
  process.stderr.write(`tail: ${message}\n`);
}

interface StreamState {
  lastEventId: string | undefined;
  /** Base reconnect delay; a `retry:` field from the server replaces it. */
  retryMs: number;
}

/**
 * One connection: resolves when the server ends the stream, rejects on a network error, an idle timeout or a
 * non-SSE answer. Returns whether anything arrived, so the caller can reset its backoff.
 */
async function streamOnce(opts: Options, state: StreamState, stop: AbortSignal, onEvent: (ev: SseEvent) => void): Promise<boolean> {
  const conn = new AbortController();
  const abort = () => conn.abort();
  stop.addEventListener('abort', abort, { once: true });
  let idle: NodeJS.Timeout | undefined;
  let idledOut = false;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      idledOut = true;
      conn.abort();
    }, IDLE_TIMEOUT_MS);
  };
  let received = false;
  try {
    armIdle();
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    // Harmless when the server cannot resume, and lets one that can fill the gap after a reconnect.
    if (state.lastEventId !== undefined) headers['Last-Event-ID'] = state.lastEventId;
    if (opts.apiKey) headers['X-API-Key'] = opts.apiKey;
    const res = await fetch(streamUrl(opts), { headers, signal: conn.signal });
    if (!res.ok) {
      const body = (await res.text().catch(() => '')).trim().slice(0, 500);
      const message = `HTTP ${res.status} from ${streamUrl(opts)}${body ? `: ${body}` : ''}`;
      if (res.status === 401) throw new FatalError(`${message}\n(no API key: pass --api-key or set K2_API_KEY)`);
      // Client errors will not change by retrying, except the ones that say "later".
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new FatalError(message);
      throw new Error(message);
    }
    const type = res.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream')) throw new FatalError(`${streamUrl(opts)} answered ${type || 'no content type'}, not text/event-stream: is --url a query-api?`);
    if (!res.body) throw new Error('response without a body');
    notice(`connected to ${streamUrl(opts)}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      armIdle();
      received = true;
      pending += decoder.decode(value, { stream: true });
      const parsed = parseSse(pending);
      pending = parsed.rest;
      if (pending.length > MAX_PENDING_CHARS) throw new Error(`no complete SSE frame in ${pending.length} characters`);
      for (const ev of parsed.events) {
        if (ev.id !== undefined) state.lastEventId = ev.id;
        if (ev.retry !== undefined) state.retryMs = ev.retry;
        onEvent(ev);
      }
    }
    return received;
  } catch (err) {
    if (idledOut) throw new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`);
    throw err;
  } finally {
    clearTimeout(idle);
    stop.removeEventListener('abort', abort);
    conn.abort();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch reports every network failure as "fetch failed" and keeps the useful part (ECONNREFUSED …) in cause.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `npm run tail | head` closes our stdout; that is the reader being done, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });

  if (process.stdout.isTTY) process.stdout.write(`${header()}\n`);
  const state: StreamState = { lastEventId: undefined, retryMs: INITIAL_RETRY_MS };
  let failures = 0;
  const onEvent = (ev: SseEvent) => {
    if (ev.event === 'trade') {
      const t = asTrade(ev.data);
      if (t) process.stdout.write(`${formatTrade(t)}\n`);
      else notice(`skipped a malformed trade event: ${ev.data.slice(0, 200)}`);
    } else if (ev.event === 'error') {
      notice(`server: ${ev.data}`);
    }
  };
  while (!stop.signal.aborted) {
    let reason: string;
    try {
      const received = await streamOnce(opts, state, stop.signal, onEvent);
      if (received) failures = 0;
      reason = 'the server closed the stream';
    } catch (err) {
      if (stop.signal.aborted) break;
      if (err instanceof FatalError) {
        notice(err.message);
        return 1;
      }
      reason = describe(err);
    }
    if (stop.signal.aborted) break;
    // Exponential backoff with jitter, so a restarted query-api is not hit by every client in the same instant.
    const base = Math.min(MAX_RETRY_MS, state.retryMs * 2 ** failures);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    failures = Math.min(failures + 1, 16);
    notice(`${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay, stop.signal);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    notice(err instanceof FatalError ? err.message : describe(err));
    process.exit(1);
  },
);
