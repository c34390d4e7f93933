import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness';

export interface HttpAppOptions {
  registry: Registry;
  readiness: Readiness;
}

/**
 * The operational endpoints every service exposes; query-api mounts its API on the same app.
 *
 * - GET /metrics: Prometheus text exposition with the registry's own content type.
 * - GET /healthz: liveness. Answering at all proves the event loop turns, which is what a liveness probe is
 *   for; dependencies are deliberately not consulted, since restarting the pod does not fix a broker outage.
 * - GET /readyz: 200 when every readiness check passes, else 503 listing the failing checks with reasons.
 */
export function createHttpApp(opts: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/metrics', async (_req, res) => {
    const body = await opts.registry.metrics();
    res.setHeader('Content-Type', opts.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(body);
  });

  app.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const report = await opts.readiness.evaluate();
    res.setHeader('Cache-Control', 'no-store');
    if (report.ready) {
      res.json({ status: 'ready', checks: report.checks });
    } else {
      const failing = report.checks.filter((c) => !c.ok).map((c) => ({ name: c.name, reason: c.reason }));
      res.status(503).json({ status: 'not_ready', failing, checks: report.checks });
    }
  });

  return app;
}

export interface HttpServerHandle {
  server: Server;
  host: string;
  /** The bound port; differs from the requested one when that was 0. */
  port: number;
  close(): Promise<void>;
}

export function startHttpServer(app: Express, port: number, host: string): Promise<HttpServerHandle> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      const bound = (server.address() as AddressInfo).port;
      resolve({ server, host, port: bound, close: () => closeServer(server) });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Keep-alive connections (Prometheus, kubelet probes) would otherwise hold close() open indefinitely.
    server.closeAllConnections();
  });
}
