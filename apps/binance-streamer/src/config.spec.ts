import { ConfigError } from '@k2/core';
import { loadBinanceStreamerConfig } from './config';

describe('binance-streamer config', () => {
  it('runs with no env at all', () => {
    expect(loadBinanceStreamerConfig({})).toEqual({
      metricsPort: 9401,
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
      journalDir: '.data/journal/binance',
      journalMaxBytes: 512 * 1024 * 1024,
      quotes: true,
      deliveryTimeoutMs: 15_000,
      lingerMs: 5,
      breakerResetMs: 5000,
      resumeFromKafka: true,
      wsMaxPayloadBytes: 4 * 1024 * 1024,
      dlqRawMaxBytes: 64 * 1024,
      wsUrls: ['wss://stream.binance.com:9443'],
      restUrl: 'https://api.binance.com',
      symbols: ['BTCUSDT', 'ETHUSDT', 'BNBUSDT'],
      stream: 'trade',
    });
  });

  it('takes every endpoint from env', () => {
    const c = loadBinanceStreamerConfig({
      METRICS_PORT: '0',
      KAFKA_BROKERS: 'kafka-0:9092,kafka-1:9092',
      SCHEMA_REGISTRY_URL: 'http://registry:8080/apis/ccompat/v7',
      BINANCE_WS_URLS: 'wss://stream.binance.com:9443, wss://stream.binance.com:443',
      BINANCE_REST_URL: 'https://testnet.binance.vision',
      BINANCE_SYMBOLS: 'SOLUSDT',
      BINANCE_STREAM: 'aggTrade',
      FEED_WS_MAX_PAYLOAD_BYTES: '1048576',
      FEED_DLQ_RAW_MAX_BYTES: '4096',
    });
    expect(c).toMatchObject({
      wsMaxPayloadBytes: 1048576,
      dlqRawMaxBytes: 4096,
      metricsPort: 0,
      kafkaBrokers: ['kafka-0:9092', 'kafka-1:9092'],
      schemaRegistryUrl: 'http://registry:8080/apis/ccompat/v7',
      wsUrls: ['wss://stream.binance.com:9443', 'wss://stream.binance.com:443'],
      restUrl: 'https://testnet.binance.vision',
      symbols: ['SOLUSDT'],
      stream: 'aggTrade',
    });
  });

  it('rejects bad values and impossible combinations, naming the variables', () => {
    expect(problems({ BINANCE_SYMBOLS: 'btcusdt', BINANCE_STREAM: 'depth', BINANCE_WS_URLS: 'https://x', KAFKA_BROKERS: 'localhost' })).toEqual([
      'KAFKA_BROKERS="localhost" has invalid item(s) localhost',
      'BINANCE_WS_URLS="https://x" has invalid item(s) https://x',
      'BINANCE_SYMBOLS="btcusdt" has invalid item(s) btcusdt',
      'BINANCE_STREAM="depth" must be one of trade|aggTrade',
    ]);
    expect(problems({ BINANCE_SYMBOLS: 'BTCUSDT,ETHUSDT,BTCUSDT' })).toEqual(['BINANCE_SYMBOLS lists BTCUSDT more than once']);
  });
});

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadBinanceStreamerConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('config was accepted');
}
