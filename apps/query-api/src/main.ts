import { runService } from '@k2/runtime';
import { loadQueryApiConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  config: () => loadQueryApiConfig(),
  start: ({ config, logger }) => {
    // API routes will be mounted on ctx.app, next to /metrics, /healthz and /readyz.
    logger.info('query routes not wired yet; serving health and metrics only', {
      port: config.port,
      catalog: config.catalog.type,
      catalogUri: config.catalog.uri,
      warehouse: config.catalog.warehouse,
    });
  },
});
