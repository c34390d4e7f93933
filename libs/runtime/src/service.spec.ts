import { createLogger } from '@k2/core';
import { Registry } from 'prom-client';
import type { RuntimeConfig } from './config';
import { redact, Service, startService, type RunningService, type ServiceOptions } from './service';

const config: RuntimeConfig = { metricsPort: 0, metricsHost: '127.0.0.1', logLevel: 'info', shutdownTimeoutMs: 5000 };

function options(overrides: Partial<ServiceOptions<RuntimeConfig>> = {}): ServiceOptions<RuntimeConfig> {
  return { name: 'svc', config, logger: createLogger({ service: 'svc', silent: true }), start: () => undefined, ...overrides };
}

async function get(port: number, path: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('service HTTP endpoints', () => {
  let running: RunningService<RuntimeConfig> | undefined;
  afterEach(async () => {
    await running?.shutdown('test over');
    running = undefined;
  });

  it('serves /metrics in Prometheus text format with default metrics and the service label', async () => {
    running = await startService(options());
    const res = await get(running.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.text).toMatch(/^process_resident_memory_bytes\{service="svc"\} \d+/m);
  });

  it('answers /healthz with ok', async () => {
    running = await startService(options());
    const res = await get(running.port, '/healthz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ status: 'ok' });
  });

  it('flips /readyz from 503 to 200 when every check passes', async () => {
    let kafkaUp = false;
    running = await startService(
      options({
        readiness: [
          { name: 'kafka', check: async () => (kafkaUp ? true : Promise.reject(new Error('no broker reachable'))) },
          { name: 'registry', check: () => true },
        ],
      }),
    );
    const down = await get(running.port, '/readyz');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toMatchObject({ status: 'not_ready', failing: [{ name: 'kafka', reason: 'no broker reachable' }] });

    kafkaUp = true;
    const up = await get(running.port, '/readyz');
    expect(up.status).toBe(200);
    expect(JSON.parse(up.text)).toMatchObject({ status: 'ready', checks: [{ name: 'started', ok: true }, { name: 'kafka', ok: true }, { name: 'registry', ok: true }] });
  });

  it('fails a check that exceeds its timeout, naming it', async () => {
    running = await startService(options({ readiness: [{ name: 'slow', check: () => new Promise(() => undefined), timeoutMs: 20 }] }));
    const res = await get(running.port, '/readyz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).failing).toEqual([{ name: 'slow', reason: 'timed out after 20ms' }]);
  });

  it('is not ready until start has finished', async () => {
    let release!: () => void;
    let port = 0;
    const service = new Service(
      options({
        start: async (ctx) => {
          port = ctx.port;
          await new Promise<void>((r) => (release = r));
        },
      }),
    );
    const starting = service.start();
    await new Promise((r) => setImmediate(r));
    while (port === 0) await new Promise((r) => setTimeout(r, 5));
    const before = await get(port, '/readyz');
    expect(before.status).toBe(503);
    expect(JSON.parse(before.text).failing).toEqual([{ name: 'started', reason: 'start-up has not finished' }]);
    release();
    running = await starting;
    expect((await get(port, '/readyz')).status).toBe(200);
  });

  it('reuses a registry passed in', async () => {
    const registry = new Registry();
    running = await startService(options({ registry }));
    expect(running.ctx.registry).toBe(registry);
  });
});

describe('service shutdown', () => {
  it('runs hooks in reverse order, reports not ready meanwhile, then closes the server', async () => {
    const order: string[] = [];
    let readyzDuringShutdown: { status: number; text: string } | undefined;
    const running = await startService(
      options({
        start: (ctx) => {
          ctx.onShutdown('consumer', () => order.push('consumer'));
          ctx.onShutdown('producer', async () => {
            readyzDuringShutdown = await get(ctx.port, '/readyz');
            order.push('producer');
          });
          ctx.onShutdown('journal', () => order.push('journal'));
        },
      }),
    );
    const code = await running.shutdown('test');
    expect(code).toBe(0);
    expect(order).toEqual(['journal', 'producer', 'consumer']);
    expect(readyzDuringShutdown?.status).toBe(503);
    expect(JSON.parse(readyzDuringShutdown!.text).failing).toEqual([{ name: 'shutdown', reason: 'shutting down: test' }]);
    expect(running.ctx.signal.aborted).toBe(true);
    await expect(get(running.port, '/healthz')).rejects.toThrow();
    await expect(running.done).resolves.toBe(0);
  });

  it('is idempotent and keeps the highest exit code requested', async () => {
    const running = await startService(options());
    const a = running.shutdown('first');
    const b = running.shutdown('fatal', 1);
    expect(await a).toBe(1);
    expect(await b).toBe(1);
  });

  it('exits non-zero when a hook fails but still runs the others', async () => {
    const ran: string[] = [];
    const running = await startService(
      options({
        start: (ctx) => {
          ctx.onShutdown('a', () => ran.push('a'));
          ctx.onShutdown('b', () => {
            throw new Error('flush failed');
          });
        },
      }),
    );
    expect(await running.shutdown('test')).toBe(1);
    expect(ran).toEqual(['a']);
  });

  it('gives up on hooks at the deadline with a non-zero exit code', async () => {
    const running = await startService(
      options({
        shutdownTimeoutMs: 30,
        start: (ctx) => ctx.onShutdown('stuck', () => new Promise(() => undefined)),
      }),
    );
    expect(await running.shutdown('test')).toBe(1);
  });

  it('shuts a failed start down and rethrows', async () => {
    const closed = jest.fn();
    await expect(
      startService(
        options({
          start: (ctx) => {
            ctx.onShutdown('x', closed);
            throw new Error('cannot reach kafka');
          },
        }),
      ),
    ).rejects.toThrow('cannot reach kafka');
    expect(closed).toHaveBeenCalled();
  });
});

describe('redact', () => {
  it('hides credentials only', () => {
    expect(redact({ s3AccessKey: 'AK', token: undefined, s3: { accessKeyId: 'AK', secretAccessKey: 'SK', region: 'us-east-1' }, list: ['a'] })).toEqual({
      s3AccessKey: '[redacted]',
      token: undefined,
      s3: { accessKeyId: '[redacted]', secretAccessKey: '[redacted]', region: 'us-east-1' },
      list: ['a'],
    });
  });
});
