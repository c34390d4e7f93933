import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { captureIo } from '../test/capture';
import { runK2 } from './cli';
import { dispositionName } from './commands/export';

/**
 * k2 in-process against a local HTTP server that speaks query-api's protocol (JSON bodies, error bodies, cursors,
 * Retry-After, streamed downloads, NDJSON/SSE replays): the client side of every case, including the routes other
 * branches are adding (export formats, replay). k2.itest.ts runs the real query-api.
 */
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
const requests: Array<{ url: string; key: string | undefined; accept: string | undefined }> = [];
let server: http.Server;
let url = '';
const KEY = 'k2_0123456789ab_secretsecretsecret';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', key: req.headers['x-api-key'] as string | undefined, accept: req.headers.accept });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => (requests.length = 0));

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/** Resolves once `cond` holds, checked every 10 ms (the test's own timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

async function k2(argv: string[], o: Parameters<typeof captureIo>[0] = {}) {
  const io = captureIo({ env: { K2_API_URL: url, K2_API_KEY: KEY }, ...o });
  const code = await runK2(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe('help and usage errors', () => {
  it.each(['trades', 'quotes', 'bars', 'summary', 'symbols', 'snapshots', 'reference', 'replay', 'export'])('k2 %s --help', async (cmd) => {
    const r = await k2([cmd, '--help']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(new RegExp(`^Usage: k2 ${cmd}`));
    expect(r.out).toContain('Exit codes:');
    expect(requests).toEqual([]);
  });

  it('k2 --help lists every command', async () => {
    const r = await k2(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['trades', 'quotes', 'bars', 'summary', 'symbols', 'snapshots', 'reference', 'replay', 'export']) expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it.each([
    [[], 'k2: a command is needed: trades, quotes, bars, summary, symbols, snapshots, reference, replay, export (see k2 --help)'],
    [['trade'], 'k2: unknown command trade; did you mean trades? (see k2 --help)'],
    [['trades', '--symbol', 'X'], 'k2: unknown option --symbol (see k2 trades --help)'],
    [['bars', 'X', '--format', 'xml'], 'k2: --format must be one of table, csv, json, ndjson, got xml (see k2 bars --help)'],
    [['symbols', 'BTC'], 'k2: symbols takes no positional argument (got BTC) (see k2 symbols --help)'],
    [['export', 'summary'], 'k2: export needs what to export first: trades, quotes, bars (got summary) (see k2 export --help)'],
    [['export', 'trades', '--format', 'xlsx'], 'k2: --format must be one of csv, ndjson, parquet, got xlsx (see k2 export --help)'],
    [['trades', '--timeout', '0'], 'k2: --timeout must be a whole number from 1 to 86400, got 0 (see k2 trades --help)'],
  ])('%j → exit 2, one line', async (argv, line) => {
    const r = await k2(argv);
    expect(r).toEqual({ code: 2, out: '', err: `${line}\n` });
    expect(requests).toEqual([]);
  });
});

describe('reads', () => {
  it('sends the key as X-API-Key and the parameters, prints ndjson when stdout is not a terminal', async () => {
    handler = (_req, res) => json(res, 200, { data: [{ symbol: 'BTCUSDT', price: '1.10000000' }], next_cursor: null, meta: { degraded: [] } });
    const r = await k2(['trades', 'btcusdt', '--window-minutes', '5']);
    expect(r).toEqual({ code: 0, out: '{"symbol":"BTCUSDT","price":"1.10000000"}\n', err: '' });
    expect(requests).toEqual([{ url: '/v1/trades?symbol=btcusdt&window_minutes=5', key: KEY, accept: 'application/json' }]);
  });

  it('--all follows next_cursor; without it, a hint on stderr', async () => {
    const pages: Record<string, unknown> = {
      '': { data: [{ n: 1 }, { n: 2 }], next_cursor: 'c1' },
      c1: { data: [{ n: 3 }], next_cursor: 'c2' },
      c2: { data: [], next_cursor: null },
    };
    handler = (req, res) => json(res, 200, { ...(pages[new URL(req.url!, url).searchParams.get('cursor') ?? ''] as object), meta: {} });
    const all = await k2(['trades', 'X', '--all', '--limit', '2', '--format', 'csv']);
    expect(all).toEqual({ code: 0, out: 'n\n1\n2\n3\n', err: '' });
    expect(requests.map((q) => q.url)).toEqual(['/v1/trades?symbol=X&limit=2', '/v1/trades?symbol=X&limit=2&cursor=c1', '/v1/trades?symbol=X&limit=2&cursor=c2']);
    const one = await k2(['trades', 'X', '--limit', '2', '--format', 'json']);
    expect(JSON.parse(one.out)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(one.err).toBe('k2: more rows follow: add --all for every page, or --cursor c1 for the next one\n');
  });

  it('a single-object answer (summary) is one row; degraded answers warn on stderr', async () => {
    handler = (_req, res) => json(res, 200, { symbol: 'BTCUSDT', close: '2.00000000', trades: 3, meta: { degraded: ['storage'] } });
    const r = await k2(['summary', 'BTCUSDT', '--date', '2026-12-01', '--format', 'json']);
    expect(JSON.parse(r.out)).toEqual({ symbol: 'BTCUSDT', close: '2.00000000', trades: 3 });
    expect(r.err).toBe('k2: warning: degraded answer (storage); see docs/query-api.md\n');
    const t = await k2(['summary', 'BTCUSDT', '--date', '2026-12-01'], { stdoutTTY: true });
    expect(t.out).toBe('symbol        close  trades\nBTCUSDT  2.00000000       3\n');
  });

  it('waits Retry-After on 429/503 and tries again', async () => {
    let n = 0;
    handler = (_req, res) => (n++ < 2 ? json(res, 429, { error: { code: 'K2_RATE_LIMITED', message: 'slow down' } }, { 'retry-after': '0' }) : json(res, 200, { data: [{ ok: true }] }));
    const r = await k2(['symbols']);
    expect(r).toEqual({ code: 0, out: '{"ok":true}\n', err: '' });
    expect(requests).toHaveLength(3);
  });
});

describe('errors: one line "k2: <code>: <message>", exit 1, never the key', () => {
  it.each([
    ['API error body', (_q: http.IncomingMessage, s: http.ServerResponse) => json(s, 400, { error: { code: 'K2_QUERY_INVALID_PARAMETER', parameter: 'symbol', message: 'symbol: is required, e.g. symbol=BTCUSDT' } }), 'k2: K2_QUERY_INVALID_PARAMETER: symbol: is required, e.g. symbol=BTCUSDT'],
    ['bad key', (_q: http.IncomingMessage, s: http.ServerResponse) => json(s, 403, { error: { code: 'K2_AUTH_INVALID_KEY', message: 'invalid API key' } }), 'k2: K2_AUTH_INVALID_KEY: invalid API key'],
    ['a proxy page', (_q: http.IncomingMessage, s: http.ServerResponse) => (s.writeHead(502, { 'content-type': 'text/html' }), s.end('<html>\n<b>Bad gateway</b></html>')), `k2: K2_CLI_HTTP_ERROR: HTTP 502 from ${'URL'}/v1/bars: <html> <b>Bad gateway</b></html>`],
    ['not JSON', (_q: http.IncomingMessage, s: http.ServerResponse) => (s.writeHead(200), s.end('hello')), `k2: K2_CLI_BAD_RESPONSE: ${'URL'}/v1/bars answered something that is not JSON; is --url a query-api?`],
  ])('%s', async (_label, h, line) => {
    handler = h;
    const r = await k2(['bars', 'X', '--interval', '1m']);
    expect(r).toEqual({ code: 1, out: '', err: `${line.replace('URL', url)}\n` });
    expect(r.err).not.toContain(KEY);
  });

  it('401 without any key says how to give one', async () => {
    handler = (_req, res) => json(res, 401, { error: { code: 'K2_AUTH_INVALID_KEY', message: 'missing API key' } });
    const r = await k2(['symbols'], { env: { K2_API_URL: url, K2_API_KEY: '' } });
    expect(r.code).toBe(1);
    expect(r.err).toBe('k2: K2_AUTH_INVALID_KEY: missing API key (no API key: pass --api-key, set K2_API_KEY, or run npm start once for the demo key)\n');
    expect(requests[0]?.key).toBeUndefined();
  });

  it('nothing listening', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await k2(['symbols', '--url', `http://127.0.0.1:${port}`]);
    expect(r).toEqual({ code: 1, out: '', err: `k2: K2_CLI_UNREACHABLE: cannot reach http://127.0.0.1:${port}: ECONNREFUSED; is query-api running (npm start), and is --url / K2_API_URL right?\n` });
  });

  it('--timeout', async () => {
    handler = () => undefined; // never answers
    const r = await k2(['symbols', '--timeout', '1']);
    expect(r).toEqual({ code: 1, out: '', err: `k2: K2_CLI_TIMEOUT: no answer from ${url} within 1 s (--timeout)\n` });
  });
});

describe('export', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-export-'));
  const csv = ['symbol,price', ...Array.from({ length: 5000 }, (_, i) => `BTCUSDT,${i}.10000000`)].join('\n') + '\n';
  const stream: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/csv', 'content-disposition': 'attachment; filename="../trades_BTCUSDT.csv"' });
    // In pieces, as a streamed answer arrives.
    const step = 7000;
    let at = 0;
    const more = () => {
      if (at >= csv.length) return void res.end();
      res.write(csv.slice(at, (at += step)));
      setImmediate(more);
    };
    more();
  };

  it('streams into the Content-Disposition file name (no directories), progress on stderr with --progress', async () => {
    handler = stream;
    const r = await k2(['export', 'trades', 'BTCUSDT', '--start', '2026-12-01T00:00:00Z', '--progress'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(requests[0]?.url).toBe('/v1/trades?symbol=BTCUSDT&start=2026-12-01T00%3A00%3A00Z&format=csv');
    expect(fs.readFileSync(path.join(dir, 'trades_BTCUSDT.csv'), 'utf8')).toBe(csv);
    expect(fs.existsSync(path.join(dir, 'trades_BTCUSDT.csv.part'))).toBe(false);
    expect(r.err).toMatch(/^done: \d+\.\d KiB, 5,000 rows in \d+\.\d s \(.+\/s\)\nk2: wrote trades_BTCUSDT\.csv \(5,000 rows\)\n$/m);
    expect(r.out).toBe('');
  });

  it('refuses to overwrite without --force; -o - writes to stdout; progress redraws one line on a terminal', async () => {
    handler = stream;
    const again = await k2(['export', 'trades', 'BTCUSDT', '-o', 'trades_BTCUSDT.csv'], { cwd: dir });
    expect(again).toEqual({ code: 1, out: '', err: 'k2: K2_CLI_FILE_EXISTS: trades_BTCUSDT.csv exists; --force overwrites it\n' });
    const forced = await k2(['export', 'trades', 'BTCUSDT', '-o', 'trades_BTCUSDT.csv', '--force'], { cwd: dir, stderrTTY: true });
    expect(forced.code).toBe(0);
    expect(forced.err).toContain('\r\x1b[2Kdone: ');
    const out = await k2(['export', 'trades', 'BTCUSDT', '-o', '-', '--format', 'csv'], { cwd: dir });
    expect(out).toEqual({ code: 0, out: csv, err: '' });
  });

  it('an answer that breaks off leaves no file', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write('symbol,price\nBTCUSDT,1\n');
      setTimeout(() => res.destroy(), 50);
    };
    const r = await k2(['export', 'quotes', 'BTCUSDT', '-o', 'broken.csv'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^k2: K2_CLI_DOWNLOAD_FAILED: download broke off after \d+ B, 1 rows in /);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('broken'))).toEqual([]);
  });

  it('Ctrl-C during an export removes the part file and exits 130', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write('symbol,price\nBTCUSDT,1\n');
    };
    const stop = new AbortController();
    const io = captureIo({ env: { K2_API_URL: url, K2_API_KEY: KEY }, cwd: dir, signal: stop.signal });
    const run = runK2(['export', 'trades', 'BTCUSDT', '-o', 'stopped.csv'], io);
    // Polled, not slept: on a loaded machine the first chunk can take longer than any fixed pause.
    await until(() => fs.existsSync(path.join(dir, 'stopped.csv.part')) && fs.statSync(path.join(dir, 'stopped.csv.part')).size > 0);
    stop.abort();
    expect(await run).toBe(130);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('stopped'))).toEqual([]);
  });

  it('dispositionName keeps a plain file name', () => {
    expect(dispositionName('attachment; filename="trades.parquet"')).toBe('trades.parquet');
    expect(dispositionName("attachment; filename*=UTF-8''a%20b.csv")).toBe('a_b.csv');
    expect(dispositionName('attachment; filename="/etc/.passwd"')).toBe('passwd');
    expect(dispositionName(null)).toBeUndefined();
  });
});

describe('replay', () => {
  const events = [{ type: 'trade', symbol: 'BTCUSDT', price: '1.00000000' }, { type: 'quote', symbol: 'BTCUSDT', bid_price: '0.90000000' }];

  it('asks for NDJSON and prints each event as it arrives', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
      res.write(text.slice(0, 20)); // a line split across chunks
      setTimeout(() => res.end(text.slice(20)), 20);
    };
    const r = await k2(['replay', 'BTCUSDT', '--types', 'trades,quotes', '--speed', 'max']);
    expect(r).toEqual({ code: 0, out: events.map((e) => `${JSON.stringify(e)}\n`).join(''), err: '' });
    expect(requests[0]).toMatchObject({ url: '/v1/replay?symbols=BTCUSDT&types=trades%2Cquotes&speed=max', accept: 'application/x-ndjson, text/event-stream;q=0.5' });
  });

  it('reads server-sent events too, and prints a table on a terminal', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`: hello\n\n${events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('')}`);
    };
    const r = await k2(['replay', 'BTCUSDT', '--columns', 'type,symbol,price'], { stdoutTTY: true });
    expect(r).toEqual({ code: 0, out: 'type   symbol   price\ntrade  BTCUSDT  1.00000000\nquote  BTCUSDT\n', err: '' });
  });

  it('Ctrl-C ends a replay with exit 130', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify(events[0])}\n`);
    };
    const stop = new AbortController();
    const io = captureIo({ env: { K2_API_URL: url, K2_API_KEY: KEY }, signal: stop.signal });
    const run = runK2(['replay', 'BTCUSDT'], io);
    await until(() => io.stdout().length > 0);
    stop.abort();
    expect(await run).toBe(130);
    expect(io.stdout()).toBe(`${JSON.stringify(events[0])}\n`);
  });
});
