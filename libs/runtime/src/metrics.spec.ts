import { cfg, ConfigError, loadConfig } from '@k2/core';
import { runtimeConfigSpec } from './config';
import { createMetricsRegistry } from './metrics';

describe('createMetricsRegistry', () => {
  it('collects the default process metrics with the service label', async () => {
    const text = await createMetricsRegistry('binance-streamer').metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="binance-streamer"\} /m);
    expect(text).toMatch(/^nodejs_heap_size_total_bytes\{service="binance-streamer"\} /m);
  });

  it('keeps services apart', async () => {
    const a = createMetricsRegistry('a');
    const b = createMetricsRegistry('b');
    expect(await b.metrics()).not.toContain('service="a"');
    expect(await a.metrics()).toContain('service="a"');
  });
});

describe('runtimeConfigSpec', () => {
  const spec = { ...runtimeConfigSpec({ metricsPort: 9401 }), extra: cfg.string({ env: 'EXTRA', default: 'x' }) };

  it('defaults for a container', () => {
    expect(loadConfig({ service: 's', spec, env: {} })).toEqual({
      metricsPort: 9401,
      metricsHost: '0.0.0.0',
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
      extra: 'x',
    });
  });

  it('reads overrides and rejects bad values', () => {
    const env = { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', LOG_LEVEL: 'debug', SHUTDOWN_TIMEOUT_MS: '5000' };
    expect(loadConfig({ service: 's', spec, env })).toMatchObject({ metricsPort: 0, metricsHost: '127.0.0.1', logLevel: 'debug', shutdownTimeoutMs: 5000 });
    expect(() => loadConfig({ service: 's', spec, env: { LOG_LEVEL: 'loud', SHUTDOWN_TIMEOUT_MS: '0' } })).toThrow(ConfigError);
  });

  it('leaves METRICS_PORT optional without a default', () => {
    expect(loadConfig({ service: 's', spec: runtimeConfigSpec(), env: {} }).metricsPort).toBeUndefined();
  });
});
