import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const fixture = path.join(__dirname, '../test/fixtures/service.fixture.ts');

interface Proc {
  lines: Array<Record<string, unknown>>;
  waitFor(message: string): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/** Runs the fixture through tsx (TypeScript + the @k2/* paths) as a real process with real signals. */
function start(mode: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'libs/runtime/tsconfig.spec.json'), METRICS_HOST: '127.0.0.1', FIXTURE_MODE: mode, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ message: string; resolve: (l: Record<string, unknown>) => void }> = [];
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        line = { nonJson: text };
      }
      lines.push(line);
      for (const w of waiters.filter((w) => w.message === line['message'])) w.resolve(line);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    lines,
    exited,
    kill: (signal) => child.kill(signal),
    waitFor: (message) => {
      const seen = lines.find((l) => l['message'] === message);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ message, resolve }));
    },
  };
}

describe('runService as a process', () => {
  jest.setTimeout(30_000);

  it('shuts down gracefully on SIGTERM: hooks LIFO, JSON log, exit 0', async () => {
    const p = start('ok');
    const started = await p.waitFor('service started');
    const ready = await fetch(`http://127.0.0.1:${started['port']}/readyz`);
    expect(ready.status).toBe(200);

    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.lines.filter((l) => 'nonJson' in l)).toEqual([]);
    expect(p.lines.map((l) => l['message'])).toEqual(
      expect.arrayContaining(['signal received', 'shutdown started', 'hook second', 'hook first', 'shutdown complete']),
    );
    const messages = p.lines.map((l) => l['message']);
    expect(messages.indexOf('hook second')).toBeLessThan(messages.indexOf('hook first'));
    expect(p.lines.find((l) => l['message'] === 'shutdown complete')).toMatchObject({
      level: 'info',
      service: 'fixture',
      reason: 'signal SIGTERM',
      exitCode: 0,
    });
  });

  it('exits 1 when a shutdown hook fails (SIGINT)', async () => {
    const p = start('hook-fails');
    await p.waitFor('service started');
    p.kill('SIGINT');
    expect(await p.exited).toBe(1);
    expect(p.lines.find((l) => l['message'] === 'shutdown hook failed')).toMatchObject({ hook: 'broken', error: { message: 'flush failed' } });
  });

  it('logs an uncaught exception as JSON and exits 1 after shutting down', async () => {
    const p = start('throw');
    expect(await p.exited).toBe(1);
    expect(p.lines.find((l) => l['message'] === 'uncaught exception')).toMatchObject({ level: 'error', error: { code: 'K2_INTERNAL', message: 'boom' } });
    expect(p.lines.find((l) => l['message'] === 'shutdown complete')).toMatchObject({ exitCode: 1 });
  });

  // Issue 18: compose sets ICEBERG_CATALOG_URI=jdbc:postgresql://…?password=…, and the writer and query-api printed it.
  it('never prints a password held in a URI: start-up config, warnings, errors, causes, stacks', async () => {
    const p = start('secrets', {
      FIXTURE_CATALOG_URI: 'jdbc:postgresql://pg:5432/k2_catalog?user=k2&password=Pw-Compose-1&sslpassword=Pw-Ssl-2',
      FIXTURE_REST_URI: 'https://svc:Pw-Rest-3@catalog.example/v1?token=Pw-Token-4',
    });
    expect(await p.exited).toBe(1);
    const text = JSON.stringify(p.lines);
    expect(text).not.toMatch(/Pw-/);
    // Everything else stays readable for the operator.
    expect(p.lines.find((l) => l['message'] === 'service starting')).toMatchObject({
      config: {
        catalogUri: 'jdbc:postgresql://pg:5432/k2_catalog?user=k2&password=***&sslpassword=***',
        restUri: 'https://svc:***@catalog.example/v1?token=***',
      },
    });
    expect(p.lines.find((l) => l['level'] === 'warn')).toMatchObject({
      uri: 'jdbc:postgresql://pg:5432/k2_catalog?user=k2&password=***&sslpassword=***',
      error: { code: 'K2_STORAGE_UNAVAILABLE', causes: [{ message: expect.stringContaining('ECONNREFUSED jdbc:postgresql://pg:5432/k2_catalog?user=k2&password=***') }] },
    });
    expect(p.lines.find((l) => l['message'] === 'start failed')).toMatchObject({ stack: expect.stringContaining('https://svc:***@catalog.example') });
  });

  it('never prints a password held in an invalid config value', async () => {
    const p = start('ok', { FIXTURE_CATALOG_URI: 'http://k2:Pw-Bad-5@pg/db' });
    expect(await p.exited).toBe(1);
    expect(JSON.stringify(p.lines)).not.toMatch(/Pw-/);
    expect(p.lines).toEqual([expect.objectContaining({ message: 'invalid configuration', problems: [expect.stringContaining('FIXTURE_CATALOG_URI="http://k2:***@pg/db"')] })]);
  });

  it('rejects an invalid config with one structured line and exit 1', async () => {
    const p = start('bad-config', { METRICS_PORT: 'abc' });
    expect(await p.exited).toBe(1);
    expect(p.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'invalid configuration',
        problems: ['METRICS_PORT="abc" must be an integer', 'FIXTURE_REQUIRED is required'],
      }),
    ]);
  });
});
