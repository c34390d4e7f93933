import { toK2Error } from '@k2/core';
import { AsxLoader, formatSummary, type LoadSummary } from '@k2/asx';
import { kafkaConnection, schemaRegistryOptions } from '@k2/kafka';
import { runService } from '@k2/runtime';
import { CLI } from './cli';
import { loadAsxBatchLoaderConfig, SERVICE } from './config';

void runService({
  name: SERVICE,
  cli: CLI,
  config: () => loadAsxBatchLoaderConfig(),
  start: (ctx) => {
    const c = ctx.config;
    // With ASX_STAY_ALIVE the process stays up whatever the outcome (the final counters stay scrapeable) and
    // exits with the load's code on SIGTERM.
    const finish = (reason: string, exitCode: number) => {
      if (c.stayAlive) ctx.logger.info('batch finished; staying alive until SIGTERM (ASX_STAY_ALIVE / --serve)', { exitCodeOnStop: exitCode });
      else void ctx.shutdown(reason, exitCode);
    };
    if (!c.input) {
      ctx.logger.info('ASX_INPUT not set; nothing to load');
      finish('batch complete', 0);
      return;
    }
    const loader = new AsxLoader({
      input: c.input,
      brokers: kafkaConnection(c),
      registryUrl: c.schemaRegistryUrl,
      registryAuth: schemaRegistryOptions(c),
      logger: ctx.logger,
      registry: ctx.registry,
      s3: c.s3,
      currency: c.currency,
      companyInfo: c.companyInfo,
      symbols: c.symbols,
      sourceTag: c.sourceTag,
      checkpointDir: c.checkpointDir,
      rejectFile: c.rejectFile,
      maxErrors: c.maxErrors,
      dryRun: c.dryRun,
      topicExchange: c.topicExchange,
      checkpointIntervalMs: c.checkpointIntervalMs,
      progress: { logIntervalMs: c.progressIntervalMs },
      signal: ctx.signal,
    });
    ctx.readiness.add({ name: 'kafka', check: () => loader.ping() });
    let failedToStart = false;
    // The load runs after start() returns, so /healthz and /readyz answer while it works.
    const done: Promise<LoadSummary | undefined> = loader.run().then(
      (summary) => {
        ctx.logger.log(summary.exitCode === 0 ? 'info' : 'error', 'asx load summary', { summary });
        if (process.stderr.isTTY) process.stderr.write(formatSummary(summary));
        finish(`load ${summary.status}`, summary.exitCode);
        return summary;
      },
      (err) => {
        ctx.logger.error('asx load could not start', { error: toK2Error(err).toJSON() });
        finish('load failed', 1);
        failedToStart = true;
        return undefined;
      },
    );
    // On SIGTERM the loader stops at the next chunk, waits for every in-flight acknowledgement and checkpoints;
    // a load cut short this way is not a success, whatever the signal handler's exit code.
    ctx.onShutdown('asx-load', async () => {
      const summary = await done;
      const code = summary ? summary.exitCode : failedToStart ? 1 : 0;
      if (code !== 0) void ctx.shutdown(summary ? `load ${summary.status}` : 'load failed', code);
    });
  },
});
