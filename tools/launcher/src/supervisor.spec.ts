import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildSpec } from './child';
import { supervise, type SuperviseOptions } from './supervisor';

// Real child processes (node -e): a tiny service with /readyz that logs like a K2 service, one that fails at start.
const SERVICE = `
const http = require('node:http');
const log = (o) => console.log(JSON.stringify({ level: 'info', ...o }));
const ready = Date.now() + Number(process.env.READY_AFTER_MS || 0);
const server = http.createServer((req, res) => { res.statusCode = Date.now() >= ready ? 200 : 503; res.end(JSON.stringify({ failing: [{ name: 'warm-up', reason: 'not yet' }] })); });
server.listen(0, '127.0.0.1', () => log({ message: 'http server listening', port: server.address().port }));
process.on('SIGTERM', () => { if (process.env.IGNORE_SIGTERM) return log({ message: 'ignoring SIGTERM' }); log({ message: 'got SIGTERM' }); server.close(); process.exit(0); });
`;
const FAILING = `
console.log(JSON.stringify({ level: 'info', message: 'service starting' }));
setTimeout(() => { console.error(JSON.stringify({ level: 'error', message: 'start failed', error: { message: 'kafka: connect: boom' } })); process.exit(3); }, 300);
`;

function spec(name: string, script: string, extra: Partial<ChildSpec> = {}): ChildSpec {
  return { name, command: process.execPath, args: ['-e', script], ready: { kind: 'http', port: 0 }, ...extra };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('supervise', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-launcher-'));
    out = [];
    err = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function options(stages: ChildSpec[][], stop: AbortSignal, extra: Partial<SuperviseOptions> = {}): SuperviseOptions {
    return {
      cwd: dir,
      logDir: path.join(dir, 'logs'),
      env: process.env,
      stages,
      readyTimeoutMs: 20_000,
      stopGraceMs: 5000,
      pollMs: 50,
      print: (l) => out.push(l),
      printError: (l) => err.push(l),
      stop,
      ...extra,
    };
  }

  it('a child that exits stops the others and the report names it, its error line and its log', async () => {
    const stop = new AbortController();
    const code = await supervise(options([[spec('healthy', SERVICE), spec('broken', FAILING)]], stop.signal));
    expect(code).toBe(1);
    const log = path.join(dir, 'logs', 'broken.log');
    expect(err.slice(-2)).toEqual(['broken exited (code 3): start failed: kafka: connect: boom', `full log: ${log}`]);
    expect(fs.readFileSync(log, 'utf8')).toContain('kafka: connect: boom');
    expect(fs.readFileSync(path.join(dir, 'logs', 'healthy.log'), 'utf8')).toContain('got SIGTERM');
    expect(out.some((l) => l.startsWith('broken') && l.includes('| {"level":"error"'))).toBe(true);
  });

  it('waits for every /readyz, reports ready once, and a stop ends every child with exit code 0', async () => {
    const stop = new AbortController();
    const ready: Array<{ seconds: number; pids: number[] }> = [];
    const running = supervise(
      options([[spec('first', SERVICE)], [spec('second', SERVICE, { env: { READY_AFTER_MS: '600' } })]], stop.signal, {
        onReady: (seconds, children) => {
          ready.push({ seconds, pids: children.map((c) => c.pid!) });
          stop.abort();
        },
      }),
    );
    const code = await running;
    expect(code).toBe(0);
    expect(ready).toHaveLength(1);
    expect(ready[0]!.seconds).toBeGreaterThanOrEqual(0.6);
    expect(ready[0]!.pids.filter(alive)).toEqual([]);
    expect(out).toContain('every service stopped');
    expect(err).toEqual([]);
  });

  it('a child not ready in time fails the start with what /readyz says', async () => {
    const stop = new AbortController();
    const code = await supervise(options([[spec('slow', SERVICE, { env: { READY_AFTER_MS: '60000' } })]], stop.signal, { readyTimeoutMs: 800 }));
    expect(code).toBe(1);
    expect(err.at(-2)).toMatch(/^slow not ready after 1 s: \/readyz on port \d+ says 503 \(warm-up: not yet\)/);
  });

  it('SIGKILLs a child that ignores SIGTERM past the grace and says so', async () => {
    const stop = new AbortController();
    let pid = 0;
    const code = await supervise(
      options([[spec('stubborn', SERVICE, { env: { IGNORE_SIGTERM: '1' } })]], stop.signal, {
        stopGraceMs: 500,
        onReady: (_s, children) => {
          pid = children[0]!.pid!;
          stop.abort();
        },
      }),
    );
    expect(code).toBe(1);
    expect(err).toContain('stubborn did not stop within 1 s; sending SIGKILL');
    expect(out).toContain('every service stopped; killed after the grace: stubborn');
    expect(alive(pid)).toBe(false);
  });

  it('a stop that was asked for is clean even when a child exits non-zero on it, and that child is named', async () => {
    const stop = new AbortController();
    const child = spec('loader', SERVICE.replace("process.exit(0); });", "process.exit(1); });"));
    const code = await supervise(options([[child]], stop.signal, { onReady: () => stop.abort() }));
    expect(code).toBe(0);
    expect(out).toContain('stopped with a non-zero exit code (see their logs): loader exited (code 1)');
    expect(out).toContain('every service stopped');
  });

  it('a one-shot child that finishes with 0 is done, not failed; a line-ready child is ready on its line', async () => {
    const stop = new AbortController();
    const batch = spec('batch', 'console.log("loaded")', { oneShot: true });
    const sim = spec('sim', 'console.log(JSON.stringify({event:"ready"})); setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0))', {
      ready: { kind: 'line', match: '"event":"ready"' },
    });
    const code = await supervise(options([[sim], [batch]], stop.signal, { onReady: () => stop.abort() }));
    expect(code).toBe(0);
    expect(err).toEqual([]);
  });

  it('a command that cannot run is reported as such', async () => {
    const stop = new AbortController();
    const code = await supervise(options([[{ name: 'ghost', command: path.join(dir, 'missing'), args: [], ready: { kind: 'http', port: 0 } }]], stop.signal));
    expect(code).toBe(1);
    expect(err.at(-2)).toMatch(/^ghost could not start: cannot run .*missing: spawn .* ENOENT/);
  });
});
