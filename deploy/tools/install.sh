#!/usr/bin/env bash
# Offline-validation tools for deploy/ (called by .ci/run; safe to re-run). Each deploy/tools/install-*.sh installs
# one tool into .data/tools/bin (or checks the system one) from the registries this machine reaches.
set -euo pipefail
cd "$(dirname "$0")"
for s in install-*.sh; do
  [ -e "$s" ] || continue
  bash "$s"
done
