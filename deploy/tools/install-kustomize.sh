#!/usr/bin/env bash
# Ensures the pinned standalone kustomize is at .data/tools/bin/kustomize for deploy/src/k8s.spec.ts, which renders
# deploy/k8s/overlays/* with it. Built from source with `go install` through the Go module proxy (kustomize is a Go
# module, sigs.k8s.io/kustomize/kustomize/v5; https://kubectl.docs.kubernetes.io/installation/kustomize/source/), so
# no GitHub release download is needed and `go` verifies every module against the Go checksum database.
# Pinned rather than `kubectl kustomize` because kubectl embeds whatever kustomize its own release vendored, and the
# test must render the same YAML on every machine. v5.8.1 because its go.mod asks for Go 1.24 (v5.8.2+ need 1.26+),
# so older Go installs build it without fetching a newer toolchain.
# Safe to re-run: does nothing when the binary already reports the pinned version; offline once installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODULE=sigs.k8s.io/kustomize/kustomize/v5
VERSION=v5.8.1
BIN_DIR=$PWD/.data/tools/bin
BIN=$BIN_DIR/kustomize

installed_version() {
  # `kustomize version` prints the module version that `go install` stamped into the binary (e.g. "v5.8.1").
  [[ -x $BIN ]] && "$BIN" version 2>/dev/null | head -n 1 || true
}

if [[ $(installed_version) == "$VERSION" ]]; then
  echo "kustomize $VERSION already installed at $BIN"
  exit 0
fi

# The official Go tarball installs to /usr/local/go/bin, which a non-login shell may not have on PATH.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
  echo "kustomize $VERSION is missing and so is Go: install Go >= 1.24 (Debian: apt-get install golang-go) and re-run $0" >&2
  exit 1
fi

mkdir -p "$BIN_DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Outside any Go module (the repository has none, but be explicit) so no go.mod or go.work can change the build;
# CGO off gives a static binary. `nice`: CI machines are small and this may run next to other builds.
(cd "$tmp" && GOBIN=$BIN_DIR CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod nice -n 10 go install "$MODULE@$VERSION")

actual=$(installed_version)
if [[ $actual != "$VERSION" ]]; then
  echo "built $BIN but it reports version '$actual', expected $VERSION" >&2
  exit 1
fi
echo "installed kustomize $VERSION at $BIN"
