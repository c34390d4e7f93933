import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { LIVE_CHART_ASSET_PATH, LIVE_STREAM_PATH, mountLivePage } from './page';

describe('mountLivePage', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    mountLivePage(app);
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('serves the page, which streams from the SSE route and loads the chart from the asset route', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
    const html = await res.text();
    expect(LIVE_STREAM_PATH).toBe('/v1/stream/trades');
    expect(html).toContain(`'${LIVE_STREAM_PATH}'`);
    expect(html).toContain(`<script src="${LIVE_CHART_ASSET_PATH}?v=`);
    // EventSource cannot send the API key header: the page reads the stream with fetch and X-API-Key.
    expect(html).not.toContain('EventSource(');
    expect(html).toContain("'X-API-Key': apiKey");
    expect(html).toContain("location.hash");
  });

  it('pins the inline script in the Content-Security-Policy by its hash', async () => {
    const res = await fetch(`${base}/`);
    const html = await res.text();
    const inline = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = createHash('sha256').update(inline, 'utf8').digest('base64');
    expect(res.headers.get('content-security-policy')).toContain(`'sha256-${hash}'`);
  });

  it('never reflects the query string into the HTML', async () => {
    const plain = await (await fetch(`${base}/`)).text();
    const hostile = await (await fetch(`${base}/?symbol=${encodeURIComponent('"><script>alert(1)</script>')}&exchange=%3Cimg%3E`)).text();
    expect(hostile).toBe(plain);
  });

  it('serves the standalone lightweight-charts build with cache headers', async () => {
    const res = await fetch(`${base}${LIVE_CHART_ASSET_PATH}?v=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const js = await res.text();
    expect(js).toContain('window.LightweightCharts=');
  });
});

describe('mountLivePage frame-ancestors', () => {
  it('allows framing only by the configured origins', async () => {
    const csp = async (opts?: Parameters<typeof mountLivePage>[1]) => {
      const app = express();
      mountLivePage(app, opts);
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        return res.headers.get('content-security-policy') ?? '';
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    };
    expect(await csp()).toContain("frame-ancestors 'none'");
    expect(await csp({ frameAncestors: ['http://localhost:3000', 'http://127.0.0.1:3000'] })).toContain('frame-ancestors http://localhost:3000 http://127.0.0.1:3000');
  });
});
