#!/usr/bin/env bash
# Ensures `promtool` is on PATH for deploy/src/prometheus.spec.ts (promtool check config / check rules / test rules).
# Debian ships it in the `prometheus` package, so it comes from the apt mirror CI already reaches; no download from
# GitHub releases. Idempotent: does nothing when promtool is already there.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  echo "promtool: $(promtool --version 2>&1 | head -n 1)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "promtool is missing and this is not an apt-based system: install Prometheus' promtool (2.42 or newer) and put it on PATH" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "promtool is missing; run as root or install sudo (needs: apt-get install prometheus)" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

# The package's maintainer scripts would start a Prometheus server on :9090 through invoke-rc.d. Only promtool is
# wanted, and :9090 may belong to something else on a CI machine, so forbid service starts for the duration of the
# install with the standard Debian policy-rc.d hook (exit 101 = "action forbidden") unless one already exists.
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=false
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  ADDED_POLICY=true
fi
cleanup() {
  if [ "$ADDED_POLICY" = true ]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# No recommends: they would add prometheus-node-exporter, another daemon nobody asked for.
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends prometheus; then
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends prometheus
fi

# On a systemd host the unit is enabled by the package; keep the machine free of a stray Prometheus server.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  "${SUDO[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

command -v promtool >/dev/null 2>&1 || { echo "apt-get installed prometheus but promtool is not on PATH" >&2; exit 1; }
echo "promtool: $(promtool --version 2>&1 | head -n 1)"
