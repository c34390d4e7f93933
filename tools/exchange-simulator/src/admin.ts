import http from 'node:http';
import type { Log } from './log';
import { closeServer, listen, readBody, sendJson } from './net';
import { type FaultRequest, RequestError, type Simulator } from './simulator';

/**
 * Control plane for tests: JSON over HTTP. GET /state, GET /trades, POST /fault, POST /rate, POST /pause,
 * POST /resume (see README "Admin API"). Bad input answers 400 {"error": "..."}.
 */
export class AdminServer {
  private readonly http: http.Server;

  constructor(
    private readonly sim: Simulator,
    private readonly log: Log,
  ) {
    this.http = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (e instanceof RequestError) sendJson(res, 400, JSON.stringify({ error: e.message }));
        else {
          this.log.error('admin request failed', { err: String(e) });
          if (!res.headersSent) sendJson(res, 500, JSON.stringify({ error: String(e) }));
        }
      });
    });
  }

  private async body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const text = await readBody(req);
    if (text.trim() === '') return {};
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
      return v as Record<string, unknown>;
    } catch {
      throw new RequestError('body must be a JSON object');
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /state':
        sendJson(res, 200, JSON.stringify(this.sim.state()));
        return;
      case 'GET /healthz':
        sendJson(res, 200, '{"ok":true}');
        return;
      case 'GET /trades': {
        const ids = this.sim.tradeIds(url.searchParams.get('exchange') ?? '', url.searchParams.get('symbol') ?? '');
        sendJson(res, 200, `{"ids":${JSON.stringify(ids)}}`);
        return;
      }
      case 'POST /fault': {
        const b = await this.body(req);
        sendJson(res, 200, JSON.stringify(this.sim.fault(b as unknown as FaultRequest)));
        return;
      }
      case 'POST /rate': {
        const b = await this.body(req);
        this.sim.setRate(b['rate'], b['exchange']);
        sendJson(res, 200, JSON.stringify({ ok: true }));
        return;
      }
      case 'POST /pause':
      case 'POST /resume': {
        const b = await this.body(req);
        if (url.pathname === '/pause') this.sim.pause(b['exchange']);
        else this.sim.resume(b['exchange']);
        sendJson(res, 200, JSON.stringify({ ok: true }));
        return;
      }
      default:
        sendJson(res, 404, JSON.stringify({ error: `no route ${route}` }));
    }
  }

  start(host: string, port: number): Promise<number> {
    return listen(this.http, host, port);
  }

  close(): Promise<void> {
    return closeServer(this.http);
  }
}
