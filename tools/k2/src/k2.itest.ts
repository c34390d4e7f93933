import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isoFromMicros, type TradeV2 } from '@k2/schema';
import { committedRows, makeTrades, produce, sinkTestEnv, startSink, type RunningSink, type SinkTestEnv } from '@k2/lake-testing';
import { repoRoot, waitFor } from '@k2/testing';
import { startQueryApi, type QueryApi } from '../test/query-api';

/**
 * The k2 CLI as users run it (`npm run k2 --` = tsx on tools/k2/src/main.ts, a child process) against the real
 * query-api over a table the real writer committed: every answer must equal what the API itself returns, decimals
 * and 64-bit ids to the character, and failures must be one line with the API's error code and exit 1.
 */
const DAY = 86_400_000_000n;
const D = ((BigInt(Date.now()) * 1000n) / DAY) * DAY - 3n * DAY;
const N = 3000;
const SYMBOL = 'BTCUSDT';
const root = repoRoot();

let env: SinkTestEnv;
let writer: RunningSink | undefined;
let api: QueryApi;
let trades: TradeV2[];
let exchange: string;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function k2(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const childEnv = { ...process.env, K2_API_URL: api.url, K2_API_KEY: api.key, ...extraEnv };
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['--tsconfig', 'tsconfig.base.json', 'tools/k2/src/main.ts', ...args], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

async function apiJson(p: string): Promise<Record<string, unknown>> {
  const res = await api.get(p);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const window = () => ['--exchange', exchange, '--start', isoFromMicros(D), '--end', isoFromMicros(D + 2n * DAY)];
const windowQuery = () => `symbol=${SYMBOL}&exchange=${exchange}&start=${isoFromMicros(D)}&end=${isoFromMicros(D + 2n * DAY)}`;
const ours = () => trades.filter((t) => t.symbol === SYMBOL).sort((a, b) => (a.timestamp === b.timestamp ? 0 : a.timestamp > b.timestamp ? -1 : 1));

beforeAll(async () => {
  env = await sinkTestEnv();
  exchange = env.exchange.toUpperCase();
  trades = makeTrades(env.exchange, 1, N, D);
  await produce(env, 'trades', trades);
  writer = await startSink(env);
  await waitFor('trades committed', async () => ((await committedRows(writer!, env.namespace, 'trades_v2')) === N ? true : undefined), 120_000, 500);
  api = await startQueryApi({
    ICEBERG_CATALOG: 'sql',
    ICEBERG_CATALOG_URI: env.catalogUri,
    ICEBERG_WAREHOUSE: env.warehouse,
    ICEBERG_NAMESPACE: env.namespace.join('.'),
    QUERY_WRITER_GROUP_ID: `itest-${env.suffix}`,
    QUERY_TAIL_TOPICS: env.topicList,
    QUERY_REFRESH_MS: '200',
    LOG_LEVEL: 'warn',
  });
  await waitFor('the API sees the table', async () => {
    const b = await apiJson(`/v1/trades?${windowQuery()}&limit=10000`);
    return (b['data'] as unknown[]).length === ours().length ? true : undefined;
  }, 60_000, 300);
}, 300_000);

afterAll(async () => {
  await writer?.stop();
  await api?.kill();
  await env?.close();
});

describe('k2 against the real query-api', () => {
  it('trades as a table: aligned, numbers right-aligned, decimals exactly as stored', async () => {
    const r = await k2(['trades', SYMBOL, ...window(), '--limit', '3', '--format', 'table']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^timestamp\s+exchange\s+symbol\s+side\s+price\s+quantity\s+trade_id$/);
    const newest = ours()[0]!;
    expect(lines[1]!.split(/\s+/)).toEqual([isoFromMicros(newest.timestamp), exchange, SYMBOL, newest.side, newest.price, newest.quantity, newest.trade_id]);
    // Right-aligned: every price ends in the same column as the header PRICE.
    const end = lines[0]!.indexOf('price') + 'price'.length;
    for (const l of lines.slice(1)) expect(l.slice(0, end)).toMatch(/\d$/);
    expect(r.err).toMatch(/^k2: more rows follow: add --all for every page, or --cursor \S+ for the next one\n$/);
  });

  it('--all --format csv pages through every trade of the window exactly once', async () => {
    const r = await k2(['trades', SYMBOL, ...window(), '--all', '--limit', '150', '--format', 'csv', '--columns', 'message_id,price,quantity,platform_sequence']);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('message_id,price,quantity,platform_sequence');
    const expected = ours().map((t) => `${t.message_id},${t.price},${t.quantity},${t.platform_sequence}`);
    expect(lines.slice(1)).toEqual(expected); // newest first, none twice, none missing; 2^60+ ids exact
  });

  it('--format json and the default ndjson (stdout is a pipe) equal the API answer', async () => {
    const body = await apiJson(`/v1/trades?${windowQuery()}&limit=5`);
    const json = await k2(['trades', SYMBOL, ...window(), '--limit', '5', '--format', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual(body['data']);
    const nd = await k2(['trades', SYMBOL, ...window(), '--limit', '5']);
    expect(nd.out.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(body['data']);
  });

  it('several symbols, or none with --asset-class (cross-source reads), page like the API', async () => {
    const q = `exchange=${exchange}&start=${isoFromMicros(D)}&end=${isoFromMicros(D + 2n * DAY)}&limit=10000`;
    const two = await apiJson(`/v1/trades?symbol=BTCUSDT,ETHUSDT&${q}`);
    const r = await k2(['trades', 'BTCUSDT', 'ETHUSDT', ...window(), '--all', '--limit', '400', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(two['data']);
    expect((two['data'] as unknown[]).length).toBe(trades.filter((t) => t.symbol !== 'SOLUSDT').length);
    const every = await k2(['trades', ...window(), '--asset-class', 'crypto', '--all', '--limit', '1000', '--format', 'csv', '--columns', 'message_id']);
    expect(every.out.trimEnd().split('\n').slice(1).sort()).toEqual(trades.map((t) => t.message_id).sort());
  });

  it('bars and summary equal the API answer', async () => {
    const bars = await apiJson(`/v1/bars?${windowQuery()}&interval=1h`);
    expect((bars['data'] as unknown[]).length).toBeGreaterThan(0);
    const r = await k2(['bars', SYMBOL, ...window(), '--interval', '1h', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(bars['data']);
    const day = isoFromMicros(D).slice(0, 10);
    const { meta: _meta, ...summary } = await apiJson(`/v1/summary?symbol=${SYMBOL}&exchange=${exchange}&date=${day}`);
    const s = await k2(['summary', SYMBOL, '--exchange', exchange, '--date', day, '--format', 'json']);
    expect(JSON.parse(s.out)).toEqual(summary);
    expect(summary['trades']).toBe(trades.filter((t) => t.symbol === SYMBOL && t.timestamp < D + DAY).length);
    const table = await k2(['summary', SYMBOL, '--exchange', exchange, '--date', day, '--format', 'table']);
    expect(table.out.split('\n')[1]).toContain(String(summary['vwap']));
  });

  it('symbols lists the three symbols of the exchange', async () => {
    const r = await k2(['symbols', '--exchange', exchange, '--format', 'csv', '--columns', 'symbol,exchange,asset_class']);
    expect(r).toEqual({ code: 0, err: '', out: `symbol,exchange,asset_class\n${['BTCUSDT', 'ETHUSDT', 'SOLUSDT'].map((s) => `${s},${exchange},crypto\n`).join('')}` });
  });

  it('export writes the window as a file, oldest first; replay prints the same trades as events; snapshots lists the commits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-cli-'));
    try {
      const file = path.join(dir, 'btc.csv');
      const ex = await k2(['export', 'trades', SYMBOL, ...window(), '--format', 'csv', '-o', file]);
      expect({ code: ex.code, out: ex.out }).toEqual({ code: 0, out: '' });
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n');
      expect(lines[0]!.split(',').slice(0, 2)).toEqual(['message_id', 'trade_id']);
      expect(lines.slice(1).map((l) => JSON.parse(l.split(',')[0]!) as string)).toEqual([...ours()].reverse().map((t) => t.message_id));
      expect(fs.readdirSync(dir)).toEqual(['btc.csv']); // no .part left behind

      const rp = await k2(['replay', SYMBOL, '--exchange', exchange, '--types', 'trades', '--start', isoFromMicros(D), '--end', isoFromMicros(D + 2n * DAY), '--format', 'ndjson']);
      expect(rp.code).toBe(0);
      const events = rp.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const data = events.filter((e) => e['type'] !== 'control');
      expect(data.map((e) => (e['data'] as Record<string, unknown> | undefined)?.['message_id'] ?? e['message_id'])).toEqual([...ours()].reverse().map((t) => t.message_id));

      const snaps = await k2(['snapshots', '--format', 'json']);
      expect(snaps.code).toBe(0);
      const list = JSON.parse(snaps.out) as Array<{ snapshot_id: string; operation: string }>;
      expect(list.length).toBeGreaterThan(0);
      expect(list[0]!.operation).toBe('append');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('errors: one line with the API code, exit 1, and the key is never printed', async () => {
    const bad = 'k2_000000000000_' + 'x'.repeat(43);
    const badKey = await k2(['trades', SYMBOL], { K2_API_KEY: bad });
    expect(badKey).toEqual({ code: 1, out: '', err: expect.stringMatching(/^k2: K2_AUTH_INVALID_KEY: [^\n]+\n$/) as unknown as string });
    expect(badKey.err).not.toContain(bad);
    const noKey = await k2(['symbols'], { K2_API_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.err).toMatch(/^k2: K2_AUTH_MISSING_KEY: .*\(no API key: pass --api-key, set K2_API_KEY, or run npm start once for the demo key\)\n$/);
    const param = await k2(['bars', SYMBOL, '--window-minutes', '60']);
    expect(param).toEqual({ code: 1, out: '', err: expect.stringMatching(/^k2: K2_QUERY_INVALID_PARAMETER: interval: [^\n]+\n$/) as unknown as string });
    for (const r of [badKey, noKey, param]) expect(r.err).not.toContain(api.key);
    const usage = await k2(['trades', '--limit']);
    expect(usage).toEqual({ code: 2, out: '', err: 'k2: --limit needs a value (see k2 trades --help)\n' });
  });
});
