import { cfg, duplicateItems, invalidUrls, loadConfig, type ConfigOf } from '@k2/core';
import { kafkaClientConfigSpec, kafkaClientProblems } from '@k2/kafka';
import { feedConfigProblems, feedConfigSpec } from '@k2/feed';
import { runtimeConfigSpec } from '@k2/runtime';

export const SERVICE = 'binance-streamer';

/**
 * Defaults target Binance spot production and the local stack, so `node dist/apps/binance-streamer/main.js`
 * runs with no env at all; every endpoint can be overridden (testnet, a recorded-replay server, a proxy).
 * BINANCE_WS_URLS is a list so the streamer can fail over between the documented hosts
 * (wss://stream.binance.com:9443 and :443, https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams).
 */
export const spec = {
  ...runtimeConfigSpec({ metricsPort: 9401 }),
  ...kafkaClientConfigSpec(),
  ...feedConfigSpec('binance'),
  wsUrls: cfg.list({ env: 'BINANCE_WS_URLS', default: ['wss://stream.binance.com:9443'], item: /^wss?:\/\/\S+$/, doc: 'WebSocket endpoints, failed over in order' }),
  restUrl: cfg.url({ env: 'BINANCE_REST_URL', default: 'https://api.binance.com', doc: 'REST API for gap backfill' }),
  /** Binance spot symbols as the API spells them (upper case, no separator). */
  symbols: cfg.list({ env: 'BINANCE_SYMBOLS', default: ['BTCUSDT', 'ETHUSDT', 'BNBUSDT'], item: /^[A-Z0-9]{2,20}$/, doc: 'Spot symbols as Binance spells them' }),
  /** `trade` = one event per trade (raw), `aggTrade` = trades aggregated per taker order and price. */
  stream: cfg.oneOf<'trade' | 'aggTrade'>({ env: 'BINANCE_STREAM', default: 'trade', values: ['trade', 'aggTrade'], doc: 'trade = one event per trade, aggTrade = aggregated per taker order and price' }),
};

export type BinanceStreamerConfig = ConfigOf<typeof spec>;

export function loadBinanceStreamerConfig(env: NodeJS.ProcessEnv = process.env): BinanceStreamerConfig {
  return loadConfig({
    service: SERVICE,
    spec,
    env,
    check: (c) => [...kafkaClientProblems(c), ...feedConfigProblems(c), ...duplicateItems('BINANCE_SYMBOLS', c.symbols), ...invalidUrls('BINANCE_WS_URLS', c.wsUrls)],
  });
}
