#!/usr/bin/env bash
# The Kubernetes JSON schemas that deploy/src/k8s.spec.ts validates every rendered object against, put under
# .data/tools/k8s-schemas/v<k8s version>-local-strict/. kubeconform's default schema location is GitHub
# (yannh/kubernetes-json-schema), which CI cannot reach; the PyPI package kubernetes-validate ships the same kind of
# schemas, generated from each Kubernetes release's OpenAPI spec (https://github.com/willthames/kubernetes-validate):
# JSON Schema 2020-12, one file per kind plus a shared _definitions.json, and "-strict" variants with
# additionalProperties: false so a misspelt field fails instead of being ignored (the API server would drop it).
# Only the wheel's data files are used (no Python at test time): `pip download` fetches the pinned wheel, its
# SHA-256 must match, and the two pinned Kubernetes versions are unpacked. Safe to re-run; offline once installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGE=kubernetes-validate
VERSION=1.37.0
WHEEL=kubernetes_validate-$VERSION-py3-none-any.whl
SHA256=85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9
# The oldest Kubernetes the manifests target and the newest the wheel knows: a field that only exists in a newer
# release, or an API a newer one removed, fails one of them. deploy/src/k8s.spec.ts reads this line.
K8S_VERSIONS=(1.33.0 1.37.0)
DEST=.data/tools/k8s-schemas
STAMP=$DEST/.installed

want="$PACKAGE==$VERSION $SHA256 ${K8S_VERSIONS[*]}"
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "Kubernetes schemas (${K8S_VERSIONS[*]}, $PACKAGE $VERSION) already installed"
  exit 0
fi

command -v python3 >/dev/null 2>&1 || { echo "python3 with pip is needed to fetch $PACKAGE from PyPI" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --no-deps: only the data files are wanted, not jsonschema & co.
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --dest "$tmp" "$PACKAGE==$VERSION"
[[ -f $tmp/$WHEEL ]] || { echo "pip download gave no $WHEEL" >&2; ls "$tmp" >&2; exit 1; }
actual=$(sha256sum "$tmp/$WHEEL" | cut -d' ' -f1)
if [[ $actual != "$SHA256" ]]; then
  echo "$WHEEL has SHA-256 $actual, expected $SHA256" >&2
  exit 1
fi

rm -rf "$DEST"
mkdir -p "$DEST"
python3 - "$tmp/$WHEEL" "$DEST" "${K8S_VERSIONS[@]}" <<'PY'
import os, sys, zipfile
wheel, dest, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for v in versions:
        prefix = f"kubernetes_validate/kubernetes-json-schema/v{v}-local-strict/"
        names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
        if not names:
            sys.exit(f"the wheel has no schemas for Kubernetes {v}")
        out = os.path.join(dest, f"v{v}-local-strict")
        os.makedirs(out, exist_ok=True)
        for n in names:
            with open(os.path.join(out, n[len(prefix):]), "wb") as f:
                f.write(z.read(n))
        print(f"  v{v}-local-strict: {len(names)} schemas")
PY
echo "$want" > "$STAMP"
echo "installed Kubernetes schemas into $DEST ($PACKAGE $VERSION)"
