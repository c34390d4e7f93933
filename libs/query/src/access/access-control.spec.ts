import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { createMetricsRegistry } from '@k2/runtime';
import { AccessMetrics, mountAccessControl } from './access-control';
import { KeyRing, mintApiKey } from './api-keys';
import { KeyLimits } from './limits';
import { createPublicApp, startPublicServer, type PublicServer } from './public-server';

/** The middleware on a real HTTP server (routes stand in for the query service: a slow one and a held stream). */
describe('mountAccessControl', () => {
  const good = mintApiKey({ name: 'good', rate_per_s: 1, burst: 3, max_concurrency: 1, max_streams: 1 });
  const busy = mintApiKey({ name: 'busy', max_concurrency: 1, max_streams: 1 });
  const scoped = mintApiKey({ name: 'scoped', routes: ['summary'] });
  const revoked = mintApiKey({ name: 'gone' });
  const ring = new KeyRing([good.entry, busy.entry, scoped.entry, { ...revoked.entry, revoked: true }]);
  const registry = createMetricsRegistry('test');
  let srv: PublicServer;
  let base: string;
  const releases: Array<() => void> = [];

  beforeAll(async () => {
    const app = createPublicApp();
    mountAccessControl(app, { mode: 'keys', ring: () => ring, limits: new KeyLimits(), metrics: new AccessMetrics(registry) });
    app.get('/v1/summary', (_req, res) => void res.json({ ok: true }));
    app.get('/v1/trades', (_req, res) => void releases.push(() => res.json({ ok: true })));
    app.get('/v1/stream/trades', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(': hello\n\n');
    });
    srv = await startPublicServer(app, 0, '127.0.0.1', { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 1000 });
    base = `http://127.0.0.1:${srv.port}`;
  });

  afterAll(() => srv.close(100));

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });

  it('401 without a key, 403 for unknown and revoked keys, with WWW-Authenticate and security headers', async () => {
    const none = await get('/v1/summary');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="k2"');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('K2_AUTH_MISSING_KEY');
    for (const key of [revoked.key, `${good.key.slice(0, 16)}${'x'.repeat(43)}`, 'junk']) {
      const r = await get('/v1/summary', { 'X-API-Key': key });
      expect(r.status).toBe(403);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="k2", error="invalid_token"');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/k2_query_auth_requests_total\{key="gone",outcome="revoked",service="test"\} 1/);
    expect(metrics).not.toContain(revoked.key);
  });

  it('a key may be limited to some routes (403 insufficient_scope elsewhere); Bearer works like X-API-Key', async () => {
    expect((await get('/v1/summary', { Authorization: `Bearer ${scoped.key}` })).status).toBe(200);
    const r = await get('/v1/trades', { Authorization: `Bearer ${scoped.key}` });
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('429 with RateLimit-* and Retry-After once the bucket is empty; then 200 after Retry-After', async () => {
    const h = { 'X-API-Key': good.key };
    const rs = [await get('/v1/summary', h), await get('/v1/summary', h), await get('/v1/summary', h), await get('/v1/summary', h)];
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(rs.map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    expect(rs[0]!.headers.get('ratelimit-limit')).toBe('3');
    expect(Number(rs[3]!.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(3);
    const retry = Number(rs[3]!.headers.get('retry-after'));
    expect(retry).toBe(1);
    expect(((await rs[3]!.json()) as { error: { code: string } }).error.code).toBe('K2_RATE_LIMITED');
    await new Promise((r) => setTimeout(r, retry * 1000));
    expect((await get('/v1/summary', h)).status).toBe(200);
  });

  it('429 past max_concurrency queries in flight and past max_streams open streams', async () => {
    const h = { 'X-API-Key': busy.key };
    const slow = get('/v1/trades', h);
    while (releases.length === 0) await new Promise((r) => setTimeout(r, 10));
    const second = await get('/v1/summary', h);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('K2_CONCURRENCY_LIMITED');
    releases.shift()!();
    expect((await slow).status).toBe(200);
    expect((await get('/v1/summary', h)).status).toBe(200);

    const first = new AbortController();
    expect((await fetch(`${base}/v1/stream/trades`, { headers: h, signal: first.signal })).status).toBe(200);
    // Case and a trailing slash do not dodge the stream cap (express routes them to the same handler).
    const refused = await get('/V1/Stream/Trades/', h);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('K2_STREAM_LIMITED');
    first.abort();
    await new Promise((r) => setTimeout(r, 200));
    const again = new AbortController();
    expect((await fetch(`${base}/v1/stream/trades`, { headers: h, signal: again.signal })).status).toBe(200);
    again.abort();
  });

  it('the server drops a client that does not finish its headers in time', async () => {
    const sock = connect(srv.port, '127.0.0.1');
    sock.write('GET /v1/summary HTTP/1.1\r\nHost: x\r\n');
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let data = '';
      sock.on('data', (b) => (data += b.toString()));
      sock.on('close', () => resolve(data));
    });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect((srv.server.address() as AddressInfo).port).toBe(srv.port);
  });
});
