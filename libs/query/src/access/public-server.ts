import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';

/**
 * The default policy of every answer of the public port (errors and 404s included). JSON needs no sources at
 * all; the live page replaces it with its own policy (script hash, chart asset, frame-ancestors).
 */
export const DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': DEFAULT_CSP,
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
  next();
}

/** The public app of query-api: API, page and stream only (the ops endpoints live on the runtime's own port). */
export function createPublicApp(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(securityHeaders);
  return app;
}

export interface ServerTimeouts {
  /** Time to receive the request headers (slowloris); Node's server.headersTimeout. */
  headersTimeoutMs: number;
  /** Time to receive the whole request; Node's server.requestTimeout (a GET, streams included, is received at once). */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this; Node's server.keepAliveTimeout. */
  keepAliveTimeoutMs: number;
}

export interface PublicServer {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish within `graceMs`, then cuts what is left (streams). */
  close(graceMs: number): Promise<void>;
}

export function startPublicServer(app: Express, port: number, host: string, t: ServerTimeouts): Promise<PublicServer> {
  const server = createServer(
    {
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      keepAliveTimeout: t.keepAliveTimeoutMs,
      // Node checks the two timeouts on this interval (default 30 s, which would stretch a 10 s headersTimeout).
      connectionsCheckingInterval: Math.min(1000, t.headersTimeoutMs),
    },
    app,
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({ server, port: (server.address() as AddressInfo).port, close: (graceMs) => closeGracefully(server, graceMs) });
    });
  });
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
