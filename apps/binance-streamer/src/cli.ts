import type { ServiceCli } from '@k2/runtime';
import { spec } from './config';

/** `binance-streamer --help`; the environment section comes from the config spec. */
export const CLI: ServiceCli = {
  summary:
    'Streams Binance spot trades (and best bid/ask quotes unless FEED_QUOTES=false) for BINANCE_SYMBOLS from the ' +
    'WebSocket API into the V2 topics market.crypto.trades.binance and market.crypto.quotes.binance, with REST gap ' +
    'backfill, failover between BINANCE_WS_URLS and a disk journal while Kafka is down. Runs until SIGTERM or SIGINT.',
  spec,
  notes:
    'Every setting is an environment variable, read once at start and validated; all problems are reported together. ' +
    'GET /metrics, /healthz and /readyz are served on METRICS_HOST:METRICS_PORT. See docs/streamers.md.',
};
