import { runService } from '@k2/runtime';
import { loadIcebergWriterConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  config: () => loadIcebergWriterConfig(),
  start: ({ config, logger }) => {
    logger.info('consumer and Iceberg commits not wired yet; serving health and metrics only', {
      catalog: config.catalog.type,
      catalogUri: config.catalog.uri,
      warehouse: config.catalog.warehouse,
      commit: config.commit,
    });
  },
});
