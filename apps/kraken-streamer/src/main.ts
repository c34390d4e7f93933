import { librdkafkaSecurity, schemaRegistryOptions } from '@k2/kafka';
import { Streamer } from '@k2/feed';
import { krakenAdapter } from '@k2/kraken';
import { runService } from '@k2/runtime';
import { CLI } from './cli';
import { loadKrakenStreamerConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  cli: CLI,
  config: () => loadKrakenStreamerConfig(),
  start: async ({ config, logger, registry, readiness, onShutdown }) => {
    const streamer = new Streamer({
      service: SERVICE,
      adapter: krakenAdapter({ symbols: config.symbols, quotes: config.quotes, restUrl: config.restUrl }),
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
