import { spawn } from 'node:child_process';
import path from 'node:path';
import { mintApiKey, type ApiKeyEntry } from '@k2/query';
import { makeTrades, produce, sinkTestEnv, type SinkTestEnv } from '@k2/lake-testing';
import { repoRoot, waitFor } from '@k2/testing';
import { ROOMY, startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Access control, limits, headers and the ops port of the real query-api process (real Kafka tail, SQL catalog,
 * keys file re-read while it runs).
 */
const SYMBOL = 'BTCUSDT';
const revoked = mintApiKey({ name: 'revoked', ...ROOMY });
const limited = mintApiKey({ name: 'limited', rate_per_s: 1, burst: 2, max_concurrency: 4, max_streams: 4 });
const streamer = mintApiKey({ name: 'streamer', ...ROOMY, max_streams: 2 });
const baseKeys: ApiKeyEntry[] = [{ ...revoked.entry, revoked: true }, limited.entry, streamer.entry];
let env: SinkTestEnv;
let api: QueryApiProcess;
let itestEntry: ApiKeyEntry;
const minted: string[] = [];

const today = new Date().toISOString().slice(0, 10);
const ROUTES: Record<string, string> = {
  trades: `/v1/trades?symbol=${SYMBOL}`,
  quotes: `/v1/quotes?symbol=${SYMBOL}`,
  bars: `/v1/bars?symbol=${SYMBOL}&interval=1m&window_minutes=60`,
  summary: `/v1/summary?symbol=${SYMBOL}&date=${today}`,
  symbols: '/v1/symbols',
  stream: `/v1/stream/trades?symbol=${SYMBOL}`,
  // Replay-then-follow (issue 16): SSE, so `call` leaves it once the headers are in.
  replay: `/v1/replay?symbols=${SYMBOL}&start=${today}T00:00:00Z&format=sse`,
};

/** One request; streams are aborted once their headers are in. */
async function call(p: string, headers: Record<string, string>): Promise<Response> {
  const ctrl = new AbortController();
  const res = await fetch(`${api.url}${p}`, { headers, signal: ctrl.signal });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) ctrl.abort();
  else await res.arrayBuffer();
  return res;
}

function expectSecurityHeaders(res: Response): void {
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
}

beforeAll(async () => {
  env = await sinkTestEnv();
  await produce(env, 'trades', makeTrades(env.exchange, 1, 200));
  api = await startQueryApi({ ICEBERG_CATALOG: 'sql', ICEBERG_CATALOG_URI: env.catalogUri, ICEBERG_WAREHOUSE: env.warehouse, ICEBERG_NAMESPACE: env.namespace.join('.'), QUERY_TAIL_TOPICS: env.topicList, LOG_LEVEL: 'info' }, baseKeys);
  itestEntry = api.entry;
  minted.push(api.key, revoked.key, limited.key, streamer.key);
});

afterAll(async () => {
  await api?.kill();
  await env?.close();
});

describe('query-api access control', () => {
  it.each(Object.entries(ROUTES))('%s: 401 without a key, 403 for a bad or revoked key, 200 with a good one', async (_name, p) => {
    const none = await call(p, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="k2"');
    expectSecurityHeaders(none);
    for (const key of [`${api.key.slice(0, 16)}${'Q'.repeat(43)}`, 'not-a-key', revoked.key]) {
      const bad = await call(p, { 'X-API-Key': key });
      expect(bad.status).toBe(403);
      expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="k2", error="invalid_token"');
    }
    const good = await call(p, { 'X-API-Key': api.key });
    expect(good.status).toBe(200);
    expectSecurityHeaders(good);
    expect(good.headers.get('ratelimit-limit')).toBe(String(ROOMY.burst));
    expect((await call(p, { Authorization: `Bearer ${api.key}` })).status).toBe(200);
    expect((await call(p, { Authorization: `Bearer ${revoked.key}` })).status).toBe(403);
  });

  it('the page, its script and /openapi.json carry no data and need no key; unknown /v1 paths need one', async () => {
    for (const p of ['/', '/openapi.json']) {
      const r = await call(p, {});
      expect(r.status).toBe(200);
      expectSecurityHeaders(r);
    }
    expect((await call('/v1/nope', {})).status).toBe(401);
    const missing = await call('/v1/nope', { 'X-API-Key': api.key });
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing);
  });

  it('ops endpoints are on the ops port only', async () => {
    for (const p of ['/metrics', '/healthz', '/readyz']) {
      expect((await call(p, { 'X-API-Key': api.key })).status).toBe(404);
      expect((await fetch(`${api.baseUrl}${p}`)).status).toBe(200);
    }
    expect((await fetch(`${api.baseUrl}/v1/symbols`, { headers: { 'X-API-Key': api.key } })).status).toBe(404);
  });

  it('429 with RateLimit-* and Retry-After past the token bucket, 200 again after Retry-After', async () => {
    const h = { 'X-API-Key': limited.key };
    const rs = [await call(ROUTES['symbols']!, h), await call(ROUTES['symbols']!, h), await call(ROUTES['symbols']!, h)];
    expect(rs.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(rs.map((r) => r.headers.get('ratelimit-limit'))).toEqual(['2', '2', '2']);
    expect(rs.map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['1', '0', '0']);
    expect(Number(rs[2]!.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    const retry = Number(rs[2]!.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, retry * 1000 + 100));
    expect((await call(ROUTES['symbols']!, h)).status).toBe(200);
    const rateLimited = await api.metric('k2_query_auth_requests_total', { key: 'limited', outcome: 'rate_limited' });
    expect(rateLimited).toBe(1);
  });

  it('SSE: at most max_streams open streams per key (429), a closed one frees its slot', async () => {
    const h = { 'X-API-Key': streamer.key };
    const open = [new AbortController(), new AbortController()];
    for (const c of open) expect((await fetch(`${api.url}${ROUTES['stream']}`, { headers: h, signal: c.signal })).status).toBe(200);
    const refused = await fetch(`${api.url}${ROUTES['stream']}`, { headers: h });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('K2_STREAM_LIMITED');
    // Another key is not affected.
    expect((await call(ROUTES['stream']!, { 'X-API-Key': api.key })).status).toBe(200);
    open[0]!.abort();
    const again = new AbortController();
    await waitFor('slot freed', async () => {
      const r = await fetch(`${api.url}${ROUTES['stream']}`, { headers: h, signal: again.signal });
      if (r.status === 200) return true;
      await r.arrayBuffer();
      return undefined;
    }, 10_000, 200);
    again.abort();
    open[1]!.abort();
  });

  it('keys are added and revoked without a restart', async () => {
    const pid = api.child.pid;
    const fresh = mintApiKey({ name: 'rotated', ...ROOMY });
    minted.push(fresh.key);
    expect((await call(ROUTES['symbols']!, { 'X-API-Key': fresh.key })).status).toBe(403);
    api.writeKeys([itestEntry, ...baseKeys, fresh.entry]);
    await waitFor('new key accepted', async () => ((await call(ROUTES['symbols']!, { 'X-API-Key': fresh.key })).status === 200 ? true : undefined), 15_000, 200);
    api.writeKeys([itestEntry, ...baseKeys, { ...fresh.entry, revoked: true }]);
    await waitFor('key revoked', async () => ((await call(ROUTES['symbols']!, { 'X-API-Key': fresh.key })).status === 403 ? true : undefined), 15_000, 200);
    api.writeKeys([itestEntry, ...baseKeys]);
    await waitFor('key removed', async () => (api.output.filter((l) => l.includes('API keys reloaded')).length >= 3 ? true : undefined), 15_000, 200);
    expect((await call(ROUTES['symbols']!, { 'X-API-Key': fresh.key })).status).toBe(403);
    expect((await call(ROUTES['symbols']!, { 'X-API-Key': api.key })).status).toBe(200);
    expect(api.child.pid).toBe(pid);
    expect(api.output.filter((l) => l.includes('"service starting"'))).toHaveLength(1);
  });

  it('no key material in any log line or metric', async () => {
    const secrets = [...minted, ...minted.map((k) => k.slice(16)), ...baseKeys.flatMap((e) => [e.salt, e.hash]), itestEntry.salt, itestEntry.hash];
    const logs = api.output.join('\n');
    expect(api.output.length).toBeGreaterThan(5);
    const metrics = await api.metrics();
    for (const s of secrets) {
      expect(logs).not.toContain(s);
      expect(metrics).not.toContain(s);
    }
    expect(metrics).toContain('k2_query_auth_requests_total{key="itest",outcome="ok"');
  });

  it('refuses to start with QUERY_AUTH=keys and no keys, in one clear line', async () => {
    const root = repoRoot();
    const { QUERY_API_KEYS_FILE: _f, QUERY_API_KEYS: _k, QUERY_AUTH: _a, ...clean } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/query-api/src/main.ts'], {
      cwd: root,
      env: { ...clean, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'), METRICS_PORT: '0', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    const lines = out.split('\n').filter((l) => l.includes('QUERY_API_KEYS_FILE'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('QUERY_AUTH=keys needs QUERY_API_KEYS_FILE or QUERY_API_KEYS');
  });
});
