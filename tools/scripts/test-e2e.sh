#!/usr/bin/env bash
# npm run test:e2e: the long end-to-end and chaos run (tools/e2e, K2_E2E_PROFILE=long by default; `npm test` runs
# the short profile). Jest's global setup starts the local infrastructure when it is not running and stops it again
# afterwards (K2_KEEP_INFRA=true keeps it). The figures are printed and written to dist/test-artifacts/e2e-<profile>.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_NO_CLOUD=true
export K2_E2E_PROFILE=${K2_E2E_PROFILE:-long}
npx jest -c tools/e2e/jest.integration.config.ts --runInBand "$@"
