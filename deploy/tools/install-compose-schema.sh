#!/usr/bin/env bash
# The Compose Specification JSON schema that deploy/src/compose.spec.ts validates docker-compose.yml against, put at
# .data/tools/compose-spec.json. It is the schema Docker Compose itself validates with: compose-go embeds
# schema/compose-spec.json (https://github.com/compose-spec/compose-go, schema/schema.go). compose-go is a Go module,
# so the Go module proxy serves it at a pinned version: `go mod download` checks the module zip against the Go
# checksum database, and without Go the zip comes from the proxy with curl. Either way the extracted file must have
# the pinned SHA-256, so every machine validates against the same bytes. Safe to re-run; offline once installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODULE=github.com/compose-spec/compose-go/v2
VERSION=v2.16.2
FILE=schema/compose-spec.json
SHA256=f266dcbb043229405d7cedd5aec918f9102c2b3d5e3850808fdd8edd564a43ff
DEST=.data/tools/compose-spec.json

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f $DEST && $(sha_of "$DEST") == "$SHA256" ]]; then
  echo "compose-spec.json ($MODULE@$VERSION) already installed"
  exit 0
fi
mkdir -p "$(dirname "$DEST")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if command -v go >/dev/null 2>&1; then
  # Run outside any Go module so no go.mod can influence the download.
  dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).Dir ?? ""))')
  [[ -n $dir && -f $dir/$FILE ]] || { echo "go mod download gave no $FILE for $MODULE@$VERSION" >&2; exit 1; }
  cp "$dir/$FILE" "$tmp/compose-spec.json"
else
  # Module zips hold every file under "<module>@<version>/" (https://go.dev/ref/mod#zip-files).
  curl -fsSL --retry 3 -o "$tmp/module.zip" "https://proxy.golang.org/$MODULE/@v/$VERSION.zip"
  unzip -p "$tmp/module.zip" "$MODULE@$VERSION/$FILE" > "$tmp/compose-spec.json"
fi

actual=$(sha_of "$tmp/compose-spec.json")
if [[ $actual != "$SHA256" ]]; then
  echo "compose-spec.json from $MODULE@$VERSION has SHA-256 $actual, expected $SHA256" >&2
  exit 1
fi
chmod 644 "$tmp/compose-spec.json"
mv "$tmp/compose-spec.json" "$DEST"
echo "installed $DEST ($MODULE@$VERSION)"
