/**
 * exchange-simulator: Binance spot and Kraken v2 market data (WebSocket + REST) on loopback, with fault
 * injection and an admin API. Prints one JSON "ready" line on stdout; logs are JSON lines on stderr.
 * usage: npm run simulator -- [options]   (tools/exchange-simulator/README.md)
 */
import { createLog } from './log';
import { HelpRequested, parseArgs, UsageError } from './options';
import { startSimulator } from './simulator';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(`${e.message}\n`);
      process.exit(0);
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLog(opts.logLevel);
  const sim = await startSimulator(opts, log);
  const { binance, kraken, admin } = sim.urls;
  process.stdout.write(`${JSON.stringify({ event: 'ready', binance, kraken, admin })}\n`);
  log.info('simulator ready', { ...sim.urls, mode: opts.mode, rate: opts.rate, seed: sim.seed, exchanges: opts.exchanges });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    sim.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('shutdown failed', { err: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`exchange-simulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
