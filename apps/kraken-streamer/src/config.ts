import { cfg, duplicateItems, invalidUrls, loadConfig, type ConfigOf } from '@k2/core';
import { kafkaClientConfigSpec, kafkaClientProblems } from '@k2/kafka';
import { feedConfigProblems, feedConfigSpec } from '@k2/feed';
import { runtimeConfigSpec } from '@k2/runtime';

export const SERVICE = 'kraken-streamer';

/**
 * Defaults target Kraken's public WebSocket API v2 (https://docs.kraken.com/api/docs/websocket-v2/trade) and the
 * local stack; every endpoint can be overridden (a recorded-replay server, a proxy). KRAKEN_WS_URLS is a list
 * so the streamer can fail over between endpoints.
 */
export const spec = {
  ...runtimeConfigSpec({ metricsPort: 9402 }),
  ...kafkaClientConfigSpec(),
  ...feedConfigSpec('kraken'),
  wsUrls: cfg.list({ env: 'KRAKEN_WS_URLS', default: ['wss://ws.kraken.com/v2'], item: /^wss?:\/\/\S+$/, doc: 'WebSocket v2 endpoints, failed over in order' }),
  restUrl: cfg.url({ env: 'KRAKEN_REST_URL', default: 'https://api.kraken.com', doc: 'REST API for gap backfill' }),
  /** WebSocket v2 symbols: BASE/QUOTE with ISO-style codes, e.g. BTC/USD (not the REST pair name XBTUSD). */
  symbols: cfg.list({ env: 'KRAKEN_SYMBOLS', default: ['BTC/USD', 'ETH/USD'], item: /^[A-Z0-9]{1,16}\/[A-Z0-9]{1,16}$/, doc: 'WebSocket v2 symbols, BASE/QUOTE (BTC/USD, not XBTUSD)' }),
};

export type KrakenStreamerConfig = ConfigOf<typeof spec>;

export function loadKrakenStreamerConfig(env: NodeJS.ProcessEnv = process.env): KrakenStreamerConfig {
  return loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => [...kafkaClientProblems(c), ...feedConfigProblems(c), ...duplicateItems('KRAKEN_SYMBOLS', c.symbols), ...invalidUrls('KRAKEN_WS_URLS', c.wsUrls)],
  });
}
