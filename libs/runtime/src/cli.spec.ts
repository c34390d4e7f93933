import { cfg, ConfigError, createLogger, formatHelp } from '@k2/core';
import { runService, runtimeConfigSpec, serviceHelp, SERVICE_EXIT_CODES, type RuntimeConfig, type ServiceCli } from './index';

const spec = { ...runtimeConfigSpec({ metricsPort: 9999 }), symbols: cfg.list({ env: 'DEMO_SYMBOLS', default: ['BTCUSDT'], doc: 'what to stream' }) };

function harness(argv: string[], extra: Partial<ServiceCli> = {}) {
  const seen = { out: '', err: '', exits: [] as number[], configLoads: 0, starts: 0 };
  const run = runService<RuntimeConfig>({
    name: 'demo-service',
    logger: createLogger({ service: 'demo-service', silent: true }),
    cli: { summary: 'A demo.', spec, argv, out: (t) => (seen.out += t), err: (t) => (seen.err += t), ...extra },
    config: () => {
      seen.configLoads++;
      throw new ConfigError('demo-service', ['DEMO_SYMBOLS is wrong']);
    },
    start: () => {
      seen.starts++;
    },
    exit: (code) => seen.exits.push(code),
  });
  return run.then((code) => ({ ...seen, code }));
}

describe('runService command line', () => {
  it('answers --help with usage, env vars and exit codes on stdout, exit 0, before loading the config', async () => {
    const r = await harness(['--help']);
    expect(r).toMatchObject({ code: 0, exits: [0], err: '', configLoads: 0, starts: 0 });
    expect(r.out).toMatch(/^Usage: demo-service \[-h\|--help\]\n/);
    expect(r.out).toMatch(/^ {2}DEMO_SYMBOLS +what to stream \(comma-separated list, default BTCUSDT\)$/m);
    expect(r.out).toMatch(/^ {2}METRICS_PORT [^]*?default 9999\)$/m);
    expect(r.out).toContain('Exit codes:\n  0  stopped by SIGTERM or SIGINT');
    expect(r.out).toBe(formatHelp(serviceHelp('demo-service', { summary: 'A demo.', spec })));
    expect((await harness(['-h'])).out).toBe(r.out);
  });

  it('exits 2 on an unknown argument with one line on stderr, before loading the config', async () => {
    const r = await harness(['--verbose']);
    expect(r).toMatchObject({ code: 2, exits: [2], out: '', configLoads: 0, starts: 0 });
    expect(r.err).toBe('demo-service: unknown argument --verbose (see demo-service --help)\n');
  });

  it('uses the command name and custom check it is given', async () => {
    const r = await harness(['x'], { program: 'demo maintain', check: (argv) => argv.map((a) => `no ${a} here`) });
    expect(r.err).toBe('demo maintain: no x here (see demo maintain --help)\n');
    expect(r.code).toBe(2);
  });

  it('goes on to load the config when the arguments are fine', async () => {
    const seen = { configLoads: 0, exits: [] as number[], out: '' };
    // The invalid-config path then logs and flushes stdout, which never completes under jest: not awaited here.
    void runService<RuntimeConfig>({
      name: 'demo-service',
      logger: createLogger({ service: 'demo-service', silent: true }),
      cli: { summary: 'A demo.', spec, argv: [], out: (t) => (seen.out += t) },
      config: () => {
        seen.configLoads++;
        throw new ConfigError('demo-service', ['DEMO_SYMBOLS is wrong']);
      },
      start: () => undefined,
      exit: (code) => seen.exits.push(code),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual({ configLoads: 1, exits: [], out: '' });
  });

  it('documents the exit codes runService really uses', () => {
    expect(SERVICE_EXIT_CODES.map((c) => c.code)).toEqual([0, 1, 2]);
    expect(SERVICE_EXIT_CODES[1]?.when).toMatch(/invalid configuration.*start-up failure.*SHUTDOWN_TIMEOUT_MS/);
  });
});
