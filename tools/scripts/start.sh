#!/usr/bin/env bash
# npm start: installs what is missing, starts the local infrastructure, creates the V2 topics, registers the
# schemas, then runs the five services until Ctrl-C. Data stays in .data/ for the next start.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_NO_CLOUD=true
# One setup path for npm start, npm test and CI: system packages, Node 24, npm deps, infra downloads, verified.
bash tools/scripts/setup.sh start
source tools/scripts/node-env.sh
bash tools/infra/infra.sh up
eval "$(bash tools/infra/infra.sh env)"
# Embedded defaults: the SQL catalog in .data/iceberg/lake-catalog.db (JdbcCatalog/PyIceberg SqlCatalog layout) and
# the file warehouse in .data/iceberg/warehouse. ICEBERG_CATALOG=rest switches the services to the REST catalog.
export ICEBERG_CATALOG=${ICEBERG_CATALOG:-sql}
if [[ $ICEBERG_CATALOG == sql ]]; then unset ICEBERG_REST_URI; fi
npx tsx --tsconfig tsconfig.base.json tools/scripts/bootstrap-topics.ts
npx nx run-many -t build -p binance-streamer kraken-streamer asx-batch-loader iceberg-writer query-api --outputStyle=stream
# K2_FEEDS=simulated: the exchange simulator stands in for Binance and Kraken (offline demos, no internet); the
# launcher below starts it on ports 18765-18767 before the streamers and points them at it.
# query-api needs an API key (docs/query-api.md): a demo key made once under .data/secrets/ (mode 0600), its hashed
# entry in the keys file query-api watches. QUERY_AUTH=none opens the API instead (query-api warns at start).
if [[ "${QUERY_AUTH:-keys}" == "keys" && -z "${QUERY_API_KEYS:-}" ]]; then
  export QUERY_API_KEYS_FILE=${QUERY_API_KEYS_FILE:-$PWD/.data/secrets/query-api-keys.json}
  K2_DEMO_KEY=$(npx tsx --tsconfig tsconfig.base.json tools/scripts/demo-key.ts)
else
  K2_DEMO_KEY=none
fi
cat <<TXT

K2 is starting. Endpoints:
  live page          http://127.0.0.1:${PORT:-8080}/?symbol=BTCUSDT#key=${K2_DEMO_KEY}
  query-api          curl -H "X-API-Key: ${K2_DEMO_KEY}" 'http://127.0.0.1:${PORT:-8080}/v1/trades?symbol=BTCUSDT&window_minutes=15'
  API key (demo)     ${K2_DEMO_KEY}
  query-api ops      http://127.0.0.1:${METRICS_PORT:-9405}/metrics   (/healthz /readyz)
  terminal view      npm run tail -- --symbol BTCUSDT   (reads the demo key from .data/secrets/)
  binance-streamer   http://127.0.0.1:9401/metrics
  kraken-streamer    http://127.0.0.1:9402/metrics
  asx-batch-loader   http://127.0.0.1:9403/metrics
  iceberg-writer     http://127.0.0.1:9404/metrics
  Kafka ${KAFKA_BROKERS}, schema registry ${SCHEMA_REGISTRY_URL}
Ctrl-C stops the services; 'npm run infra:down' stops the infrastructure.
TXT
export ASX_STAY_ALIVE=${ASX_STAY_ALIVE:-true}
# The bundled ASX sample (data/asx-sample) is loaded on the first start; its checkpoints under .data/asx-loader
# make later starts skip it, so it is in Kafka exactly once. ASX_INPUT= (empty) loads nothing.
export ASX_INPUT=${ASX_INPUT-data/asx-sample}
# The launcher (tools/launcher) runs the services as built above, logs each to .data/logs/<service>.log, waits for
# every /readyz and prints "all five services ready in N s". A service that exits stops the others and npm start
# exits 1 with the service's error line and log file; Ctrl-C stops every service and npm start exits 0.
exec node --import tsx tools/launcher/src/main.ts
