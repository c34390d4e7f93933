#!/usr/bin/env bash
# npm test: unit tests, type checks and lint for every project, then the integration tests against the real
# local infrastructure (started here when it is not running, and stopped again afterwards).
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_NO_CLOUD=true
# The same setup as npm start, plus what only the tests need (chromium, the deploy validators).
bash tools/scripts/setup.sh test
source tools/scripts/node-env.sh
echo "node $(node --version), npm $(npm --version)"
npx nx run-many -t build lint test --outputStyle=stream
started=0
if ! bash tools/infra/infra.sh status >/dev/null 2>&1; then
  # With Kafka's SASL_SSL listener (docs/infra.md "Secure Kafka"): libs/kafka/src/security.itest.ts and
  # apps/query-api/src/secure-path.itest.ts need it. K2_KAFKA_SECURE=0 starts PLAINTEXT only.
  K2_KAFKA_SECURE="${K2_KAFKA_SECURE:-1}" bash tools/infra/infra.sh up
  started=1
fi
cleanup() { if [[ $started == 1 && ${K2_KEEP_INFRA:-false} != true ]]; then bash tools/infra/infra.sh down; fi; }
trap cleanup EXIT
npx nx run-many -t integration --parallel=1 --outputStyle=stream
