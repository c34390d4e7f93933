import { ConfigError } from '@k2/core';
import { loadKrakenStreamerConfig } from './config';

describe('kraken-streamer config', () => {
  it('runs with no env at all', () => {
    expect(loadKrakenStreamerConfig({})).toEqual({
      metricsPort: 9402,
      metricsHost: '0.0.0.0',
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
      kafkaBrokers: ['127.0.0.1:9092'],
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
      backoffInitialMs: 5000,
      backoffMaxMs: 60_000,
      stableAfterMs: 30_000,
      staleTimeoutMs: undefined,
      maxConnectionAgeMs: undefined,
      journalDir: '.data/journal/kraken',
      journalMaxBytes: 512 * 1024 * 1024,
      quotes: true,
      deliveryTimeoutMs: 15_000,
      lingerMs: 5,
      breakerResetMs: 5000,
      resumeFromKafka: true,
      wsMaxPayloadBytes: 4 * 1024 * 1024,
      dlqRawMaxBytes: 64 * 1024,
      wsUrls: ['wss://ws.kraken.com/v2'],
      restUrl: 'https://api.kraken.com',
      symbols: ['BTC/USD', 'ETH/USD'],
    });
  });

  it('takes every endpoint from env', () => {
    expect(
      loadKrakenStreamerConfig({
        KAFKA_BROKERS: '10.0.0.5:9093',
        SCHEMA_REGISTRY_URL: 'https://registry.example/apis/ccompat/v7/',
        KRAKEN_WS_URLS: 'ws://127.0.0.1:18080/v2',
        KRAKEN_REST_URL: 'http://127.0.0.1:18081',
        KRAKEN_SYMBOLS: 'SOL/USD,BTC/EUR',
        LOG_LEVEL: 'debug',
      }),
    ).toMatchObject({
      kafkaBrokers: ['10.0.0.5:9093'],
      schemaRegistryUrl: 'https://registry.example/apis/ccompat/v7',
      wsUrls: ['ws://127.0.0.1:18080/v2'],
      restUrl: 'http://127.0.0.1:18081',
      symbols: ['SOL/USD', 'BTC/EUR'],
      logLevel: 'debug',
    });
  });

  it('rejects bad values and impossible combinations, naming the variables', () => {
    expect(problems({ KRAKEN_SYMBOLS: 'XBTUSD', KRAKEN_REST_URL: 'ftp://x' })).toEqual([
      'KRAKEN_REST_URL="ftp://x" must use http: or https:',
      'KRAKEN_SYMBOLS="XBTUSD" has invalid item(s) XBTUSD',
    ]);
    expect(problems({ KRAKEN_SYMBOLS: 'BTC/USD,BTC/USD' })).toEqual(['KRAKEN_SYMBOLS lists BTC/USD more than once']);
  });
});

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadKrakenStreamerConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('config was accepted');
}
