import { runService } from '@k2/runtime';
import { loadBinanceStreamerConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  config: () => loadBinanceStreamerConfig(),
  start: ({ config, logger }) => {
    logger.info('exchange connection not wired yet; serving health and metrics only', {
      exchange: 'binance',
      stream: config.stream,
      symbols: config.symbols,
      wsUrls: config.wsUrls,
    });
  },
});
