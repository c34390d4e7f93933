import { cfg, loadConfig, type ConfigOf } from '@k2/core';
import { runtimeConfigSpec } from '@k2/runtime';

export const SERVICE = 'kraken-streamer';

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/**
 * Defaults target Kraken's public WebSocket API v2 (https://docs.kraken.com/api/docs/websocket-v2/trade) and the
 * local stack; every endpoint can be overridden (a recorded-replay server, a proxy). KRAKEN_WS_URLS is a list
 * so the streamer can fail over between endpoints.
 */
export const spec = {
  ...runtimeConfigSpec({ metricsPort: 9402 }),
  kafkaBrokers: cfg.list({ env: 'KAFKA_BROKERS', default: ['127.0.0.1:9092'], item: BROKER }),
  schemaRegistryUrl: cfg.url({ env: 'SCHEMA_REGISTRY_URL', default: 'http://127.0.0.1:8081/apis/ccompat/v7' }),
  wsUrls: cfg.list({ env: 'KRAKEN_WS_URLS', default: ['wss://ws.kraken.com/v2'], item: /^wss?:\/\/\S+$/ }),
  restUrl: cfg.url({ env: 'KRAKEN_REST_URL', default: 'https://api.kraken.com' }),
  /** WebSocket v2 symbols: BASE/QUOTE with ISO-style codes, e.g. BTC/USD (not the REST pair name XBTUSD). */
  symbols: cfg.list({ env: 'KRAKEN_SYMBOLS', default: ['BTC/USD', 'ETH/USD'], item: /^[A-Z0-9]{1,16}\/[A-Z0-9]{1,16}$/ }),
};

export type KrakenStreamerConfig = ConfigOf<typeof spec>;

export function loadKrakenStreamerConfig(env: NodeJS.ProcessEnv = process.env): KrakenStreamerConfig {
  return loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => [...duplicates('KRAKEN_SYMBOLS', c.symbols), ...unparsable('KRAKEN_WS_URLS', c.wsUrls)],
  });
}

function duplicates(env: string, items: readonly string[]): string[] {
  const dup = items.filter((s, i) => items.indexOf(s) !== i);
  return dup.length ? [`${env} lists ${[...new Set(dup)].join(',')} more than once`] : [];
}

function unparsable(env: string, urls: readonly string[]): string[] {
  return urls.filter((u) => !URL.canParse(u)).map((u) => `${env} has an invalid URL ${u}`);
}
