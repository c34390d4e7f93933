import { librdkafkaSecurity, schemaRegistryOptions } from '@k2/kafka';
import { binanceAdapter } from '@k2/binance';
import { Streamer } from '@k2/feed';
import { runService } from '@k2/runtime';
import { CLI } from './cli';
import { loadBinanceStreamerConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  cli: CLI,
  config: () => loadBinanceStreamerConfig(),
  start: async ({ config, logger, registry, readiness, onShutdown }) => {
    const streamer = new Streamer({
      service: SERVICE,
      adapter: binanceAdapter({ symbols: config.symbols, stream: config.stream, quotes: config.quotes, restUrl: config.restUrl }),
      urls: config.wsUrls,
      kafkaBrokers: config.kafkaBrokers,
      kafkaSecurity: librdkafkaSecurity(config),
      schemaRegistryUrl: config.schemaRegistryUrl,
      registryAuth: schemaRegistryOptions(config),
      feed: config,
      logger,
      registry,
      readiness,
    });
    onShutdown('streamer', () => streamer.stop());
    await streamer.start();
  },
});
