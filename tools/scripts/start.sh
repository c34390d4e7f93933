#!/usr/bin/env bash
# npm start: installs what is missing, starts the local infrastructure, creates the V2 topics, registers the
# schemas, then runs the five services until Ctrl-C. Data stays in .data/ for the next start.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_NO_CLOUD=true
[[ -d node_modules ]] || npm ci
bash tools/infra/infra.sh up
eval "$(bash tools/infra/infra.sh env)"
# Embedded defaults: the SQL catalog in .data/iceberg/lake-catalog.db (JdbcCatalog/PyIceberg SqlCatalog layout) and
# the file warehouse in .data/iceberg/warehouse. ICEBERG_CATALOG=rest switches the services to the REST catalog.
export ICEBERG_CATALOG=${ICEBERG_CATALOG:-sql}
if [[ $ICEBERG_CATALOG == sql ]]; then unset ICEBERG_REST_URI; fi
npx tsx --tsconfig tsconfig.base.json tools/scripts/bootstrap-topics.ts
npx nx run-many -t build -p binance-streamer kraken-streamer asx-batch-loader iceberg-writer query-api --outputStyle=stream
# K2_FEEDS=simulated: the exchange simulator stands in for Binance and Kraken (offline demos, no internet).
sim_pid=""
if [[ "${K2_FEEDS:-live}" == "simulated" ]]; then
  mkdir -p .data/logs
  npx tsx --tsconfig tsconfig.base.json tools/exchange-simulator/src/main.ts \
    --binance-port 18765 --kraken-port 18766 --admin-port 18767 --rate "${K2_SIM_RATE:-20}" \
    > .data/logs/exchange-simulator.out 2> .data/logs/exchange-simulator.log &
  sim_pid=$!
  trap '[[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do grep -q '"ready"' .data/logs/exchange-simulator.out 2>/dev/null && break; sleep 0.2; done
  export BINANCE_WS_URLS=ws://127.0.0.1:18765 BINANCE_REST_URL=http://127.0.0.1:18765
  export KRAKEN_WS_URLS=ws://127.0.0.1:18766/v2 KRAKEN_REST_URL=http://127.0.0.1:18766
  # A fresh simulator restarts its trade ids, so resuming from ids found in Kafka would skip its first trades.
  export FEED_RESUME_FROM_KAFKA=false
  echo "exchange simulator running (admin http://127.0.0.1:18767/state)"
fi
cat <<TXT

K2 is starting. Endpoints:
  live page          http://127.0.0.1:${PORT:-8080}/?symbol=BTCUSDT
  query-api          http://127.0.0.1:${PORT:-8080}/v1/trades?symbol=BTCUSDT&window_minutes=15   (/openapi.json /healthz /readyz /metrics)
  terminal view      npm run tail -- --symbol BTCUSDT
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
npx nx run-many -t serve -p binance-streamer kraken-streamer asx-batch-loader iceberg-writer query-api \
  --parallel=5 --outputStyle=stream
