#!/usr/bin/env bash
# npm start: installs what is missing, starts the local infrastructure, creates the V2 topics, registers the
# schemas, then runs the five services until Ctrl-C. Data stays in .data/ for the next start.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_NO_CLOUD=true
[[ -d node_modules ]] || npm ci
bash tools/infra/infra.sh up
eval "$(bash tools/infra/infra.sh env)"
npx tsx --tsconfig tsconfig.base.json tools/scripts/bootstrap-topics.ts
npx nx run-many -t build -p binance-streamer kraken-streamer asx-batch-loader iceberg-writer query-api --outputStyle=stream
cat <<TXT

K2 is starting. Endpoints:
  query-api          http://127.0.0.1:${PORT:-8080}   (/healthz /readyz /metrics)
  binance-streamer   http://127.0.0.1:9401/metrics
  kraken-streamer    http://127.0.0.1:9402/metrics
  asx-batch-loader   http://127.0.0.1:9403/metrics
  iceberg-writer     http://127.0.0.1:9404/metrics
  Kafka ${KAFKA_BROKERS}, schema registry ${SCHEMA_REGISTRY_URL}
Ctrl-C stops the services; 'npm run infra:down' stops the infrastructure.
TXT
export ASX_STAY_ALIVE=${ASX_STAY_ALIVE:-true}
exec npx nx run-many -t serve -p binance-streamer kraken-streamer asx-batch-loader iceberg-writer query-api \
  --parallel=5 --outputStyle=stream
