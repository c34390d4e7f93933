import type { ServiceCli } from '@k2/runtime';
import { spec } from './config';

/** `query-api --help`; the environment section comes from the config spec. */
export const CLI: ServiceCli = {
  summary:
    'Serves the REST API (/v1/trades, /v1/quotes, /v1/bars, /v1/summary, /v1/symbols, the SSE stream and the live page; ' +
    'OpenAPI at /openapi.json) over the Iceberg tables merged with the not-yet-committed Kafka tail. /v1 needs an ' +
    'API key (X-API-Key or Authorization: Bearer; QUERY_API_KEYS_FILE, minted by npm run api-key). The public port (PORT) ' +
    'serves only the API, the page and the stream; /metrics, /healthz and /readyz are on the ops port (METRICS_PORT). ' +
    'Runs until SIGTERM or SIGINT.',
  spec,
  notes:
    'Every setting is an environment variable, read once at start and validated; all problems are reported together. ' +
    'Kafka being down at start does not stop it: it answers from Iceberg until the tail connects. See docs/query-api.md.',
};
