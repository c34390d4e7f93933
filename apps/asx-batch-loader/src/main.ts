import { ErrorCode, K2Error } from '@k2/core';
import { runService } from '@k2/runtime';
import { loadAsxBatchLoaderConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  config: () => loadAsxBatchLoaderConfig(),
  start: (ctx) => {
    const { input, stayAlive } = ctx.config;
    if (input) {
      // Failing beats exiting 0: a scheduler must not record a load that did not happen.
      throw new K2Error(ErrorCode.INTERNAL, 'loading ASX input is not implemented yet', { context: { input } });
    }
    ctx.logger.info('ASX_INPUT not set; nothing to load');
    if (stayAlive) ctx.logger.info('batch finished; staying alive until SIGTERM (ASX_STAY_ALIVE / --serve)');
    else void ctx.shutdown('batch complete');
  },
});
