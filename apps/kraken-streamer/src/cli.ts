import type { ServiceCli } from '@k2/runtime';
import { spec } from './config';

/** `kraken-streamer --help`; the environment section comes from the config spec. */
export const CLI: ServiceCli = {
  summary:
    'Streams Kraken trades (and best bid/ask quotes unless FEED_QUOTES=false) for KRAKEN_SYMBOLS from the WebSocket ' +
    'API v2 into the V2 topics market.crypto.trades.kraken and market.crypto.quotes.kraken, with REST gap backfill, ' +
    'failover between KRAKEN_WS_URLS and a disk journal while Kafka is down. Runs until SIGTERM or SIGINT.',
  spec,
  notes:
    'Every setting is an environment variable, read once at start and validated; all problems are reported together. ' +
    'GET /metrics, /healthz and /readyz are served on METRICS_HOST:METRICS_PORT. See docs/streamers.md.',
};
