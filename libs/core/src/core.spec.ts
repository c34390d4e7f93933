import {
  cfg,
  ConfigError,
  duplicateItems,
  ErrorCode,
  invalidUrls,
  isRetriable,
  K2Error,
  loadConfig,
  toK2Error,
  TransientError,
  ValidationError,
} from './index';

describe('error hierarchy', () => {
  it('carries a stable code, the retriable flag and the cause chain', () => {
    const root = new Error('ECONNREFUSED 127.0.0.1:9092');
    const err = new TransientError(ErrorCode.KAFKA_UNAVAILABLE, 'broker unreachable', { cause: root, context: { topic: 't' } });
    expect(err).toBeInstanceOf(K2Error);
    expect(err.name).toBe('TransientError');
    expect(err.retriable).toBe(true);
    expect(err.cause).toBe(root);
    expect(isRetriable(err)).toBe(true);
    expect(err.toJSON()).toMatchObject({ code: 'K2_KAFKA_UNAVAILABLE', retriable: true, context: { topic: 't' }, causes: [{ message: root.message }] });
    expect(isRetriable(new ValidationError('bad row'))).toBe(false);
    expect(isRetriable(root)).toBe(false);
  });

  it('wraps foreign errors without losing them', () => {
    const e = toK2Error(new TypeError('x'));
    expect(e.code).toBe(ErrorCode.INTERNAL);
    expect(e.cause).toBeInstanceOf(TypeError);
    expect(toK2Error(e)).toBe(e);
  });
});

describe('loadConfig', () => {
  const spec = {
    brokers: cfg.string({ env: 'KAFKA_BROKERS', default: '127.0.0.1:9092' }),
    port: cfg.port({ env: 'METRICS_PORT', default: 9464 }),
    registry: cfg.url({ env: 'SCHEMA_REGISTRY_URL', required: true }),
    symbols: cfg.list({ env: 'SYMBOLS', default: ['BTCUSDT'], item: /^[A-Z0-9]+$/ }),
    stream: cfg.oneOf({ env: 'STREAM', default: 'trade' as const, values: ['trade', 'aggTrade'] as const }),
    dryRun: cfg.bool({ env: 'DRY_RUN', default: false }),
  };

  it('defaults, parses and freezes', () => {
    const c = loadConfig({ service: 's', spec, env: { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/', SYMBOLS: 'BTCUSDT, ETHUSDT', DRY_RUN: 'yes' } });
    expect(c).toEqual({
      brokers: '127.0.0.1:9092',
      port: 9464,
      registry: 'http://127.0.0.1:8081',
      symbols: ['BTCUSDT', 'ETHUSDT'],
      stream: 'trade',
      dryRun: true,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every problem at once with the variable names', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({ service: 'binance-streamer', spec, env: { METRICS_PORT: '70000', SYMBOLS: 'btc', STREAM: 'x' } });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems).toEqual([
      'METRICS_PORT="70000" must be <= 65535',
      'SCHEMA_REGISTRY_URL is required',
      'SYMBOLS="btc" has invalid item(s) btc',
      'STREAM="x" must be one of trade|aggTrade',
    ]);
    expect(err!.message).toContain('invalid configuration for binance-streamer');
  });

  it('rejects impossible combinations through check()', () => {
    expect(() =>
      loadConfig({
        service: 's',
        spec,
        env: { SCHEMA_REGISTRY_URL: 'http://x', DRY_RUN: 'true', STREAM: 'aggTrade' },
        check: (c) => (c.dryRun && c.stream === 'aggTrade' ? ['DRY_RUN cannot be combined with STREAM=aggTrade'] : []),
      }),
    ).toThrow('DRY_RUN cannot be combined with STREAM=aggTrade');
  });
});

describe('config list checks', () => {
  it('names duplicated items once each and URLs that do not parse', () => {
    expect(duplicateItems('SYMBOLS', ['A', 'B', 'A', 'A'])).toEqual(['SYMBOLS lists A more than once']);
    expect(duplicateItems('SYMBOLS', ['A', 'B'])).toEqual([]);
    expect(invalidUrls('WS_URLS', ['wss://ok.example:9443', 'wss://bad host'])).toEqual(['WS_URLS has an invalid URL wss://bad host']);
  });
});
