import { runService } from '@k2/runtime';
import { loadKrakenStreamerConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  config: () => loadKrakenStreamerConfig(),
  start: ({ config, logger }) => {
    logger.info('exchange connection not wired yet; serving health and metrics only', {
      exchange: 'kraken',
      symbols: config.symbols,
      wsUrls: config.wsUrls,
    });
  },
});
