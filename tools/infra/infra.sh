#!/usr/bin/env bash
# K2 local infrastructure without Docker: real Kafka (KRaft), Apicurio Registry
# (Confluent-compatible API), Iceberg REST catalog, S3-compatible object store
# (s3proxy), PostgreSQL (Iceberg SQL catalog) and a PyIceberg virtualenv.
# Everything binds to 127.0.0.1 and keeps its state under $K2_DATA_DIR
# (default: <repo>/.data).
#
# Usage: tools/infra/infra.sh <command> [component...]
#   install [c...]  download/prepare artifacts (jars, venv) without starting
#   up      [c...]  install if needed, start, wait until healthy
#   down    [c...]  stop (SIGTERM, then SIGKILL after $K2_INFRA_STOP_TIMEOUT s;
#                   postgres: SIGINT, then SIGQUIT); data kept
#   restart [c...]  down + up
#   status  [c...]  one line per component; exit 0 only if all are healthy
#   env             print `export` lines for the endpoints
#   reset   [c...]  down + delete component data (download cache and venv kept)
#   logs    <c>     print the path of, and tail, a component's log
#   kafka-cli <Tool> [args...]  run a Kafka CLI tool (see tools/infra/kafka-cli.sh)
#   kafka-security  re-apply the SCRAM users and ACLs (deploy/kafka/acls.sh) to the running secure broker
#   kafka-dlq-acl add|remove TOPIC...  let the writer user produce to TOPIC.dlq (or no longer)
# Components: kafka registry iceberg-rest s3 postgres pyiceberg (default: all)
# `up --secure` (or K2_KAFKA_SECURE=1; sticky until K2_KAFKA_SECURE=0) adds a SASL_SSL listener (SCRAM-SHA-512,
# TLS with a local CA) on 127.0.0.1:9094 next to PLAINTEXT 9092, the
# StandardAuthorizer, SCRAM users admin/streamer/writer/query and their ACLs
# (deploy/kafka/acls.sh);
# certificates and passwords under $K2_DATA_DIR/infra/conf/kafka-tls.
# See docs/infra.md for details.
set -euo pipefail

# ---------------------------------------------------------------------------
# Configuration (everything overridable from the environment)
# ---------------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

K2_DATA_DIR="${K2_DATA_DIR:-$REPO_ROOT/.data}"
mkdir -p "$K2_DATA_DIR"
K2_DATA_DIR="$(cd "$K2_DATA_DIR" && pwd)"

KAFKA_VERSION="${K2_KAFKA_VERSION:-4.1.2}"
APICURIO_VERSION="${K2_APICURIO_VERSION:-3.0.9}"
ICEBERG_VERSION="${K2_ICEBERG_VERSION:-1.10.1}"
S3PROXY_VERSION="${K2_S3PROXY_VERSION:-4.1.0}"
MAVEN_REPO_URL="${K2_MAVEN_REPO_URL:-https://repo1.maven.org/maven2}"

HOST=127.0.0.1
KAFKA_PORT="${K2_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${K2_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SECURE_PORT="${K2_KAFKA_SECURE_PORT:-9094}"
KAFKA_SECURE="${K2_KAFKA_SECURE:-}" # empty: as the last `up` left it (resolve_kafka_secure)
REGISTRY_PORT="${K2_REGISTRY_PORT:-8081}"
REGISTRY_MGMT_PORT="${K2_REGISTRY_MGMT_PORT:-9001}"
ICEBERG_REST_PORT="${K2_ICEBERG_REST_PORT:-8181}"
S3_PORT="${K2_S3_PORT:-9000}"
PG_PORT="${K2_PG_PORT:-5433}" # not 5432, which a system PostgreSQL may hold

S3_ACCESS_KEY="${K2_S3_ACCESS_KEY:-k2access}"
S3_SECRET_KEY="${K2_S3_SECRET_KEY:-k2secret12345}"
S3_REGION="${K2_S3_REGION:-us-east-1}"
S3_BUCKET="${K2_S3_BUCKET:-k2-warehouse}"

PG_USER="${K2_PG_USER:-k2}"
PG_PASSWORD="${K2_PG_PASSWORD:-k2secret}"
PG_DATABASE="${K2_PG_DATABASE:-k2_catalog}"
PG_SUPERUSER=postgres # bootstrap only, over the unix socket (no TCP password)

KAFKA_HEAP="${K2_KAFKA_HEAP:--Xms256m -Xmx1g}"
REGISTRY_HEAP="${K2_REGISTRY_HEAP:--Xms64m -Xmx512m}"
ICEBERG_REST_HEAP="${K2_ICEBERG_REST_HEAP:--Xms64m -Xmx512m}"
S3_HEAP="${K2_S3_HEAP:--Xms32m -Xmx256m}"

INFRA_TIMEOUT="${K2_INFRA_TIMEOUT:-120}"
STOP_TIMEOUT="${K2_INFRA_STOP_TIMEOUT:-20}"

INFRA_DIR="$K2_DATA_DIR/infra"
DIST_DIR="${K2_INFRA_DIST_DIR:-$INFRA_DIR/dist}" # download cache
RUN_DIR="$INFRA_DIR/run"
LOG_DIR="$INFRA_DIR/logs"
CONF_DIR="$INFRA_DIR/conf"
VENV_DIR="${K2_VENV_DIR:-$K2_DATA_DIR/venv}"

KAFKA_DATA="$K2_DATA_DIR/kafka"
KAFKA_TLS_DIR="$CONF_DIR/kafka-tls"
KAFKA_SCRAM_USERS=(admin streamer writer query)
REGISTRY_DATA="$K2_DATA_DIR/registry"
ICEBERG_DATA="$K2_DATA_DIR/iceberg"
S3_DATA="$K2_DATA_DIR/s3"
PG_DATA="$K2_DATA_DIR/postgres"
# Owned by the server's OS user, mode 0700: only that user (and root) can use
# the socket, which is what makes `trust` on it acceptable (see start_postgres).
PG_SOCKET_DIR="$RUN_DIR/postgres"
ICEBERG_WAREHOUSE="${K2_ICEBERG_WAREHOUSE:-file://$ICEBERG_DATA/warehouse}"

KAFKA_LIBS="$DIST_DIR/kafka-$KAFKA_VERSION/libs"
APICURIO_HOME="$DIST_DIR/apicurio-registry-$APICURIO_VERSION"
APICURIO_JAR="$APICURIO_HOME/apicurio-registry-app-$APICURIO_VERSION-runner.jar"
ICEBERG_JAR="$DIST_DIR/iceberg-open-api-$ICEBERG_VERSION.jar"
ICEBERG_LAUNCHER_SRC="$SCRIPT_DIR/iceberg-rest/org/apache/iceberg/rest/K2RestCatalogServer.java"
ICEBERG_LAUNCHER_DIR="$DIST_DIR/iceberg-rest-launcher-$ICEBERG_VERSION"
S3PROXY_JAR="$DIST_DIR/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"

ALL_COMPONENTS=(kafka registry iceberg-rest s3 postgres pyiceberg)
# JVM flags for short-lived CLI JVMs (health checks, kafka-cli): start fast.
CLI_JVM_OPTS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -Djava.awt.headless=true)

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

canonical_component() {
  case "$1" in
    kafka) echo kafka ;;
    registry | apicurio | schema-registry) echo registry ;;
    iceberg-rest | iceberg | rest | rest-catalog) echo iceberg-rest ;;
    s3 | s3proxy | object-store) echo s3 ;;
    postgres | postgresql | pg) echo postgres ;;
    pyiceberg | venv | python) echo pyiceberg ;;
    *) die "unknown component '$1' (expected: ${ALL_COMPONENTS[*]})" ;;
  esac
}

# Resolve the component arguments into the global COMPONENTS array (stable order).
resolve_components() {
  COMPONENTS=()
  if [ "$#" -eq 0 ]; then
    COMPONENTS=("${ALL_COMPONENTS[@]}")
    return
  fi
  local wanted=" " arg c
  for arg in "$@"; do
    wanted+="$(canonical_component "$arg") "
  done
  for c in "${ALL_COMPONENTS[@]}"; do
    if [[ "$wanted" == *" $c "* ]]; then COMPONENTS+=("$c"); fi
  done
}

endpoint_of() {
  case "$1" in
    kafka) echo "$HOST:$KAFKA_PORT" ;;
    registry) echo "http://$HOST:$REGISTRY_PORT/apis/ccompat/v7" ;;
    iceberg-rest) echo "http://$HOST:$ICEBERG_REST_PORT" ;;
    s3) echo "http://$HOST:$S3_PORT" ;;
    postgres) echo "postgresql://$HOST:$PG_PORT/$PG_DATABASE" ;;
    pyiceberg) echo "$VENV_DIR/bin/python" ;;
  esac
}

port_of() {
  case "$1" in
    kafka) echo "$KAFKA_PORT" ;;
    registry) echo "$REGISTRY_PORT" ;;
    iceberg-rest) echo "$ICEBERG_REST_PORT" ;;
    s3) echo "$S3_PORT" ;;
    postgres) echo "$PG_PORT" ;;
    *) echo "" ;;
  esac
}

is_service() { [ "$1" != pyiceberg ]; }

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

# Every JVM we start carries these two markers, so we can recognise our own
# processes (pid reuse, lost pid files) without matching on broad names.
markers() { printf '%s\n' "-Dk2.infra.component=$1" "-Dk2.infra.home=$K2_DATA_DIR"; }

# The postmaster carries the same two markers as custom settings
# (`-c k2.infra_component=postgres`): PostgreSQL accepts any dotted parameter
# name as a placeholder ("Customized Options" in the runtime config docs), and
# the postmaster, unlike its children, keeps its original argv.
pg_marker_args() { printf '%s\n' -c "k2.infra_component=postgres" -c "k2.infra_home=$K2_DATA_DIR"; }

marker_lines() { # <component>: the exact argv elements that identify our process
  if [ "$1" = postgres ]; then
    printf '%s\n' "k2.infra_component=postgres" "k2.infra_home=$K2_DATA_DIR"
  else
    markers "$1"
  fi
}

is_our_pid() { # <component> <pid>
  local pid="$2" cmdline m
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  cmdline="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  while IFS= read -r m; do
    grep -qxF -- "$m" <<<"$cmdline" || return 1
  done < <(marker_lines "$1")
}

# First line of postmaster.pid: the postmaster's pid (file layout in the
# PostgreSQL docs, "Database File Layout"; written before any child is forked).
postmaster_pid() { head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

# Pids whose cwd is the data directory: the postmaster chdirs there and every
# backend inherits it, so this finds a cluster's processes however they were
# started (and never matches a zombie, which has no cwd).
pg_data_users() {
  local real p
  real="$(readlink -f "$PG_DATA")"
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/cwd" 2>/dev/null)" = "$real" ]; then echo "${p#/proc/}"; fi
  done
}

# Print the pid of the running component process (empty if not running).
find_pid() {
  local c="$1" pf pid p
  pf="$(pid_file "$c")"
  if [ -f "$pf" ]; then
    pid="$(cat "$pf" 2>/dev/null || true)"
    if is_our_pid "$c" "$pid"; then
      echo "$pid"
      return
    fi
  fi
  if [ "$c" = postgres ]; then
    # No /proc scan: a freshly forked backend still shows the postmaster's argv
    # (markers included) until it sets its process title, so a scan could pick
    # a child. postmaster.pid names the postmaster itself.
    pid="$(postmaster_pid)"
    if is_our_pid postgres "$pid"; then
      mkdir -p "$RUN_DIR"
      echo "$pid" >"$pf"
      echo "$pid"
      return
    fi
    rm -f "$pf"
    return
  fi
  # Fallback: the pid file is missing or stale; look for our marker.
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    if is_our_pid "$c" "$pid"; then
      mkdir -p "$RUN_DIR"
      echo "$pid" >"$pf"
      echo "$pid"
      return
    fi
  done
  rm -f "$pf"
}

tcp_open() { # <port>
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

http_code() { # <url> [curl args...]
  local url="$1"
  shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" 2>/dev/null || true
}

require_java() {
  command -v java >/dev/null 2>&1 || die "java not found (Java 17+ required)"
  local v
  v="$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')"
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Java 17+ required (found '$v')"
}

# ---------------------------------------------------------------------------
# Downloads / installation (cached under $DIST_DIR)
# ---------------------------------------------------------------------------
maven_url() { # <group> <artifact> <version> <classifier-or-empty> <ext>
  local g="${1//.//}" a="$2" v="$3" c="$4" e="$5" suffix=""
  [ -n "$c" ] && suffix="-$c"
  echo "$MAVEN_REPO_URL/$g/$a/$v/$a-$v$suffix.$e"
}

# Download a Maven Central artifact to <dest>, verifying the published SHA-1.
fetch_artifact() { # <url> <dest>
  local url="$1" dest="$2" tmp expected actual
  tmp="$dest.part"
  mkdir -p "$(dirname "$dest")"
  log "downloading $url"
  curl -fSL --retry 3 --retry-delay 2 --connect-timeout 20 -s -o "$tmp" "$url" ||
    die "download failed: $url"
  expected="$(curl -fsSL --retry 3 "$url.sha1" | awk '{print $1}')" ||
    die "checksum download failed: $url.sha1"
  actual="$(sha1sum "$tmp" | awk '{print $1}')"
  [ "$expected" = "$actual" ] || {
    rm -f "$tmp"
    die "SHA-1 mismatch for $url (expected $expected, got $actual)"
  }
  mv "$tmp" "$dest"
}

install_kafka() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to resolve the Kafka classpath)"
  log "resolving Kafka $KAFKA_VERSION classpath with Maven"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  mvn -B -q -f "$SCRIPT_DIR/pom.xml" \
    -Dmaven.repo.local="$DIST_DIR/m2" \
    -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >"$DIST_DIR/mvn-kafka.log" 2>&1 || {
    tail -n 30 "$DIST_DIR/mvn-kafka.log" >&2
    die "Maven could not resolve Kafka $KAFKA_VERSION (log: $DIST_DIR/mvn-kafka.log)"
  }
  [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] || die "Kafka jar missing after Maven run"
  touch "$KAFKA_LIBS/.complete"
}

install_registry() {
  [ -f "$APICURIO_HOME/.complete" ] && return 0
  local tgz="$DIST_DIR/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  [ -f "$tgz" ] || fetch_artifact \
    "$(maven_url io.apicurio apicurio-registry-app "$APICURIO_VERSION" all tar.gz)" "$tgz"
  rm -rf "$APICURIO_HOME"
  mkdir -p "$APICURIO_HOME"
  tar -xzf "$tgz" -C "$APICURIO_HOME"
  [ -f "$APICURIO_JAR" ] || die "unexpected Apicurio archive layout: $APICURIO_JAR missing"
  rm -f "$tgz" # the extracted tree is the cache
  touch "$APICURIO_HOME/.complete"
}

install_iceberg_rest() {
  [ -f "$ICEBERG_JAR" ] || fetch_artifact \
    "$(maven_url org.apache.iceberg iceberg-open-api "$ICEBERG_VERSION" "" jar)" "$ICEBERG_JAR"
  # Compile the loopback-bound launcher (recompiled when its source changes).
  local sum stamp="$ICEBERG_LAUNCHER_DIR/.source.sha256"
  sum="$(sha256sum "$ICEBERG_LAUNCHER_SRC" | awk '{print $1}')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    command -v javac >/dev/null 2>&1 || die "javac not found (a JDK 17+ is required)"
    log "compiling Iceberg REST launcher"
    rm -rf "$ICEBERG_LAUNCHER_DIR"
    mkdir -p "$ICEBERG_LAUNCHER_DIR"
    javac -nowarn -d "$ICEBERG_LAUNCHER_DIR" -cp "$ICEBERG_JAR" "$ICEBERG_LAUNCHER_SRC"
    echo "$sum" >"$stamp"
  fi
}

install_s3() {
  [ -f "$S3PROXY_JAR" ] || fetch_artifact \
    "$(maven_url org.gaul s3proxy "$S3PROXY_VERSION" jar-with-dependencies jar)" "$S3PROXY_JAR"
}

# PostgreSQL server binaries: $K2_PG_BIN_DIR, else the newest Debian/Ubuntu
# /usr/lib/postgresql/<major>/bin, else initdb+postgres on PATH. Empty if none.
pg_bin_dir() {
  if [ -n "${K2_PG_BIN_DIR:-}" ]; then
    if [ -x "$K2_PG_BIN_DIR/postgres" ] && [ -x "$K2_PG_BIN_DIR/initdb" ]; then echo "$K2_PG_BIN_DIR"; fi
    return 0
  fi
  local d best="" p
  while IFS= read -r d; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && best="$d"
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
  if [ -z "$best" ] && p="$(command -v postgres 2>/dev/null)" && [ -x "$(dirname "$p")/initdb" ]; then
    best="$(dirname "$p")"
  fi
  echo "$best"
}

# The OS user the server runs as: PostgreSQL refuses to run as root
# ("root execution of the PostgreSQL server is not permitted").
pg_os_user() {
  if [ "$(id -u)" -eq 0 ]; then echo "${K2_PG_OS_USER:-postgres}"; else id -un; fi
}

# Command prefix that runs a program as pg_os_user (empty when not root).
# setpriv rather than runuser: runuser opens a PAM session and stays behind as a
# "watching parent" whose argv would also carry our markers and which relays
# SIGINT (fast shutdown) as SIGTERM (smart shutdown); setpriv switches ids and
# execs, so the pid we spawn is the postmaster itself.
pg_user_prefix() {
  if [ "$(id -u)" -eq 0 ]; then
    local u
    u="$(pg_os_user)"
    printf '%s\n' setpriv "--reuid=$u" "--regid=$u" --init-groups --
  fi
}

as_pg_user() {
  local -a pre
  mapfile -t pre < <(pg_user_prefix)
  ${pre[@]+"${pre[@]}"} "$@"
}

install_postgres() {
  [ -n "$(pg_bin_dir)" ] && return 0
  [ -z "${K2_PG_BIN_DIR:-}" ] || die "K2_PG_BIN_DIR=$K2_PG_BIN_DIR has no executable postgres and initdb"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing PostgreSQL server packages with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null ||
      die "apt-get install postgresql failed"
  fi
  [ -n "$(pg_bin_dir)" ] ||
    die "PostgreSQL server binaries (initdb, postgres) not found: install them (Debian/Ubuntu: sudo apt-get install postgresql) or set K2_PG_BIN_DIR"
}

install_pyiceberg() {
  local req="$SCRIPT_DIR/requirements.txt" stamp="$VENV_DIR/.k2-requirements.sha256" sum
  sum="$(cat "$req" <(python3 --version 2>&1) | sha256sum | awk '{print $1}')"
  if [ -x "$VENV_DIR/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 not found"
  log "creating Python venv at $VENV_DIR"
  [ -x "$VENV_DIR/bin/python" ] || python3 -m venv "$VENV_DIR"
  "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -q -r "$req" ||
    die "pip install failed"
  echo "$sum" >"$stamp"
}

install_component() {
  case "$1" in
    kafka) require_java && install_kafka ;;
    registry) require_java && install_registry ;;
    iceberg-rest) require_java && install_iceberg_rest ;;
    s3) require_java && install_s3 ;;
    postgres) install_postgres ;;
    pyiceberg) install_pyiceberg ;;
  esac
}

# ---------------------------------------------------------------------------
# Health checks
# ---------------------------------------------------------------------------
health_kafka() {
  tcp_open "$KAFKA_PORT" || return 1
  [ -f "$KAFKA_LIBS/.complete" ] || return 1
  # A real protocol round-trip with Kafka's own tool (ApiVersions request).
  local out
  out="$(timeout 30 java "${CLI_JVM_OPTS[@]}" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/conf/kafka-tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "$HOST:$KAFKA_PORT" 2>/dev/null)" || return 1
  grep -q -- '-> (' <<<"$out"
}

health_registry() {
  [ "$(http_code "http://$HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects")" = 200 ]
}

health_iceberg_rest() {
  [ "$(http_code "http://$HOST:$ICEBERG_REST_PORT/v1/config")" = 200 ]
}

health_s3() {
  local code
  code="$(http_code "http://$HOST:$S3_PORT/")"
  [ -n "$code" ] && [ "$code" != 000 ]
}

# libpq honours PG* variables (PGSERVICE, PGOPTIONS, PGSSLMODE...); keep the
# caller's ones out. PGPASSWORD is left alone: callers set it for the TCP check
# (in the environment, so it never shows up in a process's argv).
pg_client() { # <program> [args...]
  local prog="$1"
  shift
  env -u PGSERVICE -u PGSERVICEFILE -u PGOPTIONS -u PGSSLMODE -u PGHOST -u PGHOSTADDR \
    -u PGPORT -u PGUSER -u PGDATABASE -u PGTARGETSESSIONATTRS \
    PGCONNECT_TIMEOUT=3 "$(pg_bin_dir)/$prog" "$@"
}

pg_accepting() {
  [ -n "$(pg_bin_dir)" ] || return 1
  pg_client pg_isready -q -h "$HOST" -p "$PG_PORT" -t 3
}

# A real query as the application role over loopback TCP with its password,
# which also proves the bootstrap (role, database, scram auth) is in place.
health_postgres() {
  pg_accepting || return 1
  local out
  out="$(PGPASSWORD="$PG_PASSWORD" pg_client psql -X -w -q -t -A -h "$HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DATABASE" -c 'select 1' 2>/dev/null)" || return 1
  [ "$out" = 1 ]
}

health_pyiceberg() {
  [ -x "$VENV_DIR/bin/python" ] &&
    "$VENV_DIR/bin/python" -c 'import pyiceberg, pyarrow, fastavro' >/dev/null 2>&1
}

is_healthy() {
  case "$1" in
    kafka) health_kafka ;;
    registry) health_registry ;;
    iceberg-rest) health_iceberg_rest ;;
    s3) health_s3 ;;
    postgres) health_postgres ;;
    pyiceberg) health_pyiceberg ;;
  esac
}

# ---------------------------------------------------------------------------
# Starting
# ---------------------------------------------------------------------------
# spawn <component> [env assignments...] -- <command...>
spawn() {
  local c="$1" lf pf pid
  shift
  local -a envs=()
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
    envs+=("$1")
    shift
  done
  shift
  lf="$(log_file "$c")"
  pf="$(pid_file "$c")"
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  [ -s "$lf" ] && mv -f "$lf" "$lf.1"
  printf '=== %s starting %s: %s\n' "$(date -Is)" "$c" "$*" >"$lf"
  # setsid: own session, so the process survives the calling shell/terminal.
  # fd 9 (the infra.sh lock) must not leak into the daemon.
  setsid nohup env ${envs[@]+"${envs[@]}"} "$@" </dev/null >>"$lf" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$pf"
  # If setsid had to fork, $! is not the JVM: look it up by marker.
  sleep 0.2
  if ! is_our_pid "$c" "$pid"; then
    pid="$(find_pid "$c")"
    # (an `if`, not `&&`: as the last command a false test would be the
    # function's status and set -e would end the script without a word when
    # the process already died; cmd_up reports that with the log tail)
    if [ -n "$pid" ]; then echo "$pid" >"$pf"; fi
  fi
  return 0
}

new_cluster_id() { # 16 random bytes, base64url without padding (Kafka Uuid format)
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

# --- Kafka TLS + SCRAM (issue 18 item 1) -----------------------------------
# A local CA (openssl), the broker's key pair and PKCS12 keystore (keytool),
# signed by the CA for 127.0.0.1 and localhost. Made once; kept across restarts.
random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | head -c 24; }

ensure_kafka_tls() {
  local d="$KAFKA_TLS_DIR" u
  mkdir -p "$d"
  chmod 700 "$d"
  for u in "${KAFKA_SCRAM_USERS[@]}" keystore; do
    [ -s "$d/$u.password" ] || (umask 077 && random_secret >"$d/$u.password")
  done
  [ -s "$d/broker.p12" ] && [ -s "$d/ca.pem" ] && return 0
  command -v openssl >/dev/null || die "openssl is needed for the Kafka TLS listener"
  command -v keytool >/dev/null || die "keytool (JDK) is needed for the Kafka TLS listener"
  local pw
  pw="$(cat "$d/keystore.password")"
  rm -f "$d/ca.key" "$d/ca.pem" "$d/broker.p12" "$d/broker.csr" "$d/broker.pem"
  log "creating the local Kafka CA and broker certificate in $d"
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=K2 local Kafka CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null) || die "openssl could not create the CA"
  keytool -genkeypair -noprompt -keystore "$d/broker.p12" -storetype PKCS12 -storepass "$pw" \
    -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=localhost" \
    -ext "SAN=dns:localhost,ip:127.0.0.1" >/dev/null 2>&1 || die "keytool could not create the broker key pair"
  keytool -certreq -keystore "$d/broker.p12" -storetype PKCS12 -storepass "$pw" -alias broker \
    -ext "SAN=dns:localhost,ip:127.0.0.1" -file "$d/broker.csr" >/dev/null 2>&1 || die "keytool could not create the CSR"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/broker.ext"
  openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$d/broker.ext" -out "$d/broker.pem" 2>/dev/null || die "openssl could not sign the broker certificate"
  keytool -importcert -noprompt -keystore "$d/broker.p12" -storetype PKCS12 -storepass "$pw" \
    -alias ca -file "$d/ca.pem" >/dev/null 2>&1 || die "keytool could not import the CA"
  keytool -importcert -noprompt -keystore "$d/broker.p12" -storetype PKCS12 -storepass "$pw" \
    -alias broker -file "$d/broker.pem" >/dev/null 2>&1 || die "keytool could not import the signed certificate"
}

# Appended to kafka.properties with --secure. ANONYMOUS (the PLAINTEXT and
# controller listeners) stays a super user, so 9092 and every existing test
# behave as before; 9094 clients get only what their ACLs allow.
kafka_secure_properties() {
  local pw
  pw="$(cat "$KAFKA_TLS_DIR/keystore.password")"
  printf '%s\n' \
    '# --- secure listener (infra.sh up --secure) ---' \
    "listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,SASL_SSL://$HOST:$KAFKA_SECURE_PORT" \
    "advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,SASL_SSL://$HOST:$KAFKA_SECURE_PORT" \
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL' \
    'sasl.enabled.mechanisms=SCRAM-SHA-512' \
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;' \
    'ssl.keystore.type=PKCS12' \
    "ssl.keystore.location=$KAFKA_TLS_DIR/broker.p12" \
    "ssl.keystore.password=$pw" \
    "ssl.key.password=$pw" \
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer' \
    'super.users=User:ANONYMOUS;User:admin' \
    'allow.everyone.if.no.acl.found=false'
}

# The mode sticks: a bare `up kafka` (e.g. a chaos test restarting the broker)
# keeps the listener set the last explicit `up` chose; K2_KAFKA_SECURE=0 drops it.
resolve_kafka_secure() {
  local marker="$CONF_DIR/kafka.secure"
  if [ -z "$KAFKA_SECURE" ]; then
    if [ -f "$marker" ]; then KAFKA_SECURE=1; else KAFKA_SECURE=0; fi
  fi
}

remember_kafka_secure() {
  mkdir -p "$CONF_DIR"
  if [ "$KAFKA_SECURE" = 1 ]; then touch "$CONF_DIR/kafka.secure"; else rm -f "$CONF_DIR/kafka.secure"; fi
}

kafka_tool() { # <class> [args...]: a Kafka CLI class against the PLAINTEXT listener
  local cls="$1"
  shift
  timeout 60 java "${CLI_JVM_OPTS[@]}" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/conf/kafka-tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$cls" --bootstrap-server "$HOST:$KAFKA_PORT" "$@"
}

kafka_acl() { kafka_tool org.apache.kafka.tools.AclCommand --add --force "$@" >/dev/null; }

# The ACLs of every K2 role, shared with docker-compose.yml and prod (k2_kafka_acls, k2_writer_dlq_acls).
# shellcheck source=../../deploy/kafka/acls.sh
. "$REPO_ROOT/deploy/kafka/acls.sh"

# SCRAM credentials with Kafka's own ConfigCommand (stored in the KRaft metadata
# log, so they survive restarts) and least-privilege ACLs with AclCommand
# (deploy/kafka/acls.sh): streamer produces to market.*; writer consumes
# market.* and produces only to the .dlq topics of the platform's data topics;
# query only consumes. Idempotent. Re-applied when acls.sh changes (its
# checksum is in the marker), so an older, wider grant is withdrawn too.
ensure_kafka_security() {
  [ "$KAFKA_SECURE" = 1 ] || return 0
  local done_marker="$RUN_DIR/kafka-security.done" want
  want="$(cksum <"$REPO_ROOT/deploy/kafka/acls.sh")"
  [ -f "$done_marker" ] && [ "$done_marker" -nt "$(pid_file kafka)" ] && [ "$(cat "$done_marker")" = "$want" ] && return 0
  tcp_open "$KAFKA_SECURE_PORT" || return 1
  apply_kafka_security || return 1
  mkdir -p "$RUN_DIR"
  printf '%s\n' "$want" >"$done_marker"
  log "kafka SASL_SSL listener $HOST:$KAFKA_SECURE_PORT ready: CA $KAFKA_TLS_DIR/ca.pem, users ${KAFKA_SCRAM_USERS[*]} (passwords in $KAFKA_TLS_DIR/<user>.password)"
}

apply_kafka_security() {
  local u out
  for u in "${KAFKA_SCRAM_USERS[@]}"; do
    out="$(kafka_tool kafka.admin.ConfigCommand --alter --entity-type users --entity-name "$u" \
      --add-config "SCRAM-SHA-512=[iterations=8192,password=$(cat "$KAFKA_TLS_DIR/$u.password")]" 2>&1)" || {
      log "SCRAM user $u: $out"
      return 1
    }
  done
  # Until issue 18's narrowing the writer could write and create every market.* topic (for its dead letters, whose
  # names no prefix separates from the data topics'); withdraw that grant where an older infra.sh made it.
  kafka_tool org.apache.kafka.tools.AclCommand --remove --force --allow-principal User:writer --operation Write \
    --operation Create --resource-pattern-type prefixed --topic market. >/dev/null || return 1
  k2_kafka_acls
}

# `infra.sh kafka-dlq-acl add|remove TOPIC...`: the writer user may (no longer)
# produce to TOPIC.dlq: for a data topic added to WRITER_TOPICS beyond the
# platform's, and for integration tests with their own topics.
cmd_kafka_dlq_acl() {
  local action="${1:-}"
  [ "$#" -ge 2 ] && { [ "$action" = add ] || [ "$action" = remove ]; } || die "usage: infra.sh kafka-dlq-acl add|remove TOPIC..."
  shift
  require_java
  install_kafka
  tcp_open "$KAFKA_PORT" || die "kafka is not running on $HOST:$KAFKA_PORT"
  kafka_acl() { kafka_tool org.apache.kafka.tools.AclCommand "--$action" --force "$@" >/dev/null; }
  k2_writer_dlq_acls "$@" || die "kafka-dlq-acl $action $* failed"
}

# `infra.sh kafka-security`: (re)apply the SCRAM users and ACLs to the running
# broker without restarting it (after deploy/kafka/acls.sh changed).
cmd_kafka_security() {
  KAFKA_SECURE=1
  require_java
  install_kafka
  tcp_open "$KAFKA_SECURE_PORT" || die "kafka has no SASL_SSL listener on $HOST:$KAFKA_SECURE_PORT (infra.sh down kafka && infra.sh up --secure kafka)"
  rm -f "$RUN_DIR/kafka-security.done"
  ensure_kafka_security || die "kafka SCRAM users/ACLs could not be set up"
}

start_kafka() {
  local props="$CONF_DIR/kafka.properties" override="$CONF_DIR/kafka.override.properties"
  mkdir -p "$CONF_DIR" "$KAFKA_DATA"
  cat >"$props" <<EOF
# Generated by tools/infra/infra.sh on every start; put local tweaks in
# $override (appended below).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  remember_kafka_secure
  if [ "$KAFKA_SECURE" = 1 ]; then
    ensure_kafka_tls
    kafka_secure_properties >>"$props"
  fi
  [ -f "$override" ] && cat "$override" >>"$props"

  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    local cid
    cid="$(new_cluster_id)"
    mkdir -p "$LOG_DIR"
    log "formatting Kafka storage (cluster id $cid)"
    java "${CLI_JVM_OPTS[@]}" \
      -Dlog4j2.configurationFile="$SCRIPT_DIR/conf/kafka-tools-log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format -t "$cid" -c "$props" \
      >"$LOG_DIR/kafka-format.log" 2>&1 || {
      tail -n 30 "$LOG_DIR/kafka-format.log" >&2
      die "kafka storage format failed"
    }
  fi

  local -a heap
  read -r -a heap <<<"$KAFKA_HEAP"
  # shellcheck disable=SC2046
  spawn kafka -- java $(markers kafka) "${heap[@]}" \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/conf/kafka-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$props"
}

start_registry() {
  mkdir -p "$REGISTRY_DATA"
  local -a heap extra=()
  read -r -a heap <<<"$REGISTRY_HEAP"
  # WRITE_DELAY=0: H2 otherwise keeps ~0.5-1 s of commits in memory, which a
  # kill -9 (chaos tests) would lose.
  if [ -n "${K2_REGISTRY_GLOBAL_COMPATIBILITY:-}" ]; then
    extra+=("-Dapicurio.rules.global.compatibility=$K2_REGISTRY_GLOBAL_COMPATIBILITY")
  fi
  # shellcheck disable=SC2046
  spawn registry -- java $(markers registry) "${heap[@]}" -Djava.awt.headless=true \
    -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host="$HOST" -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dquarkus.http.access-log.enabled="${K2_REGISTRY_ACCESS_LOG:-false}" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url="jdbc:h2:file:$REGISTRY_DATA/registry;WRITE_DELAY=0" \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=20 \
    ${extra[@]+"${extra[@]}"} \
    -jar "$APICURIO_JAR"
}

start_iceberg_rest() {
  mkdir -p "$ICEBERG_DATA"
  local -a heap envs=(
    "CATALOG_URI=${CATALOG_URI:-jdbc:sqlite:file:$ICEBERG_DATA/catalog.db}"
    "CATALOG_WAREHOUSE=$ICEBERG_WAREHOUSE"
    "CATALOG_REST_HOST=$HOST"
    "CATALOG_REST_PORT=$ICEBERG_REST_PORT"
    "CATALOG_CLIENTS=${CATALOG_CLIENTS:-1}"
    # ResolvingFileIO: s3:// paths go to S3FileIO (our s3proxy), file:// paths
    # to HadoopFileIO, so tables in either location stay readable whatever the
    # default warehouse is.
    "CATALOG_IO__IMPL=${CATALOG_IO__IMPL:-org.apache.iceberg.io.ResolvingFileIO}"
    "CATALOG_S3_ENDPOINT=http://$HOST:$S3_PORT"
    "CATALOG_S3_PATH__STYLE__ACCESS=true"
    "CATALOG_S3_ACCESS__KEY__ID=$S3_ACCESS_KEY"
    "CATALOG_S3_SECRET__ACCESS__KEY=$S3_SECRET_KEY"
    "CATALOG_CLIENT_REGION=$S3_REGION"
    "AWS_REGION=$S3_REGION"
  )
  case "$ICEBERG_WAREHOUSE" in
    file://*) mkdir -p "${ICEBERG_WAREHOUSE#file://}" ;;
  esac
  read -r -a heap <<<"$ICEBERG_REST_HEAP"
  # shellcheck disable=SC2046
  spawn iceberg-rest "${envs[@]}" -- java $(markers iceberg-rest) "${heap[@]}" \
    -Djava.awt.headless=true \
    -cp "$ICEBERG_LAUNCHER_DIR:$ICEBERG_JAR" org.apache.iceberg.rest.K2RestCatalogServer
}

start_s3() {
  local conf="$CONF_DIR/s3proxy.properties"
  mkdir -p "$CONF_DIR" "$S3_DATA"
  (
    umask 077
    cat >"$conf" <<EOF
# Generated by tools/infra/infra.sh on every start.
s3proxy.endpoint=http://$HOST:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY
s3proxy.credential=$S3_SECRET_KEY
s3proxy.ignore-unknown-headers=true
jclouds.provider=filesystem-nio2
jclouds.identity=$S3_ACCESS_KEY
jclouds.credential=$S3_SECRET_KEY
jclouds.region=$S3_REGION
jclouds.filesystem.basedir=$S3_DATA
EOF
  )
  local -a heap
  read -r -a heap <<<"$S3_HEAP"
  # shellcheck disable=SC2046
  spawn s3 -- java $(markers s3) "${heap[@]}" -Djava.awt.headless=true \
    -jar "$S3PROXY_JAR" --properties "$conf"
}

major_version_of() { # "postgres (PostgreSQL) 15.18 (Debian ...)" -> 15
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+(\.[0-9]+)*$/) { split($i, v, "."); print v[1]; exit } }'
}

start_postgres() {
  local bin u sock lock_pid bin_major data_major
  bin="$(pg_bin_dir)"
  [ -n "$bin" ] || die "postgres: server binaries not found (run: infra.sh install postgres)"
  u="$(pg_os_user)"
  id "$u" >/dev/null 2>&1 || die "postgres: OS user '$u' does not exist (set K2_PG_OS_USER)"
  # sun_path holds 108 bytes including the terminating NUL (unix(7)).
  sock="$PG_SOCKET_DIR/.s.PGSQL.$PG_PORT"
  [ "${#sock}" -le 107 ] || die "postgres: unix socket path longer than 107 bytes: $sock (use a shorter K2_DATA_DIR)"
  mkdir -p "$PG_SOCKET_DIR" "$LOG_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown "$u:" "$PG_SOCKET_DIR"; fi
  chmod 700 "$PG_SOCKET_DIR"
  as_pg_user test -w "$PG_SOCKET_DIR" -a -x "$K2_DATA_DIR" ||
    die "postgres: OS user '$u' cannot reach $K2_DATA_DIR (every parent directory needs o+x)"

  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    if [ -e "$PG_DATA" ] && ! rmdir "$PG_DATA" 2>/dev/null; then
      die "postgres: $PG_DATA exists but is not a PostgreSQL data directory (no PG_VERSION); move it away or run: infra.sh reset postgres"
    fi
    # initdb into a side directory and rename, so an interrupted initdb never
    # leaves a half-initialised data directory behind under the real name.
    local tmp="$PG_DATA.initdb"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    if [ "$(id -u)" -eq 0 ]; then chown "$u:" "$tmp"; fi
    chmod 700 "$tmp"
    log "initialising PostgreSQL data directory $PG_DATA"
    # trust only on the unix socket, whose directory is 0700 (same guarantee as
    # peer auth); loopback TCP needs a SCRAM password (pg_hba.conf docs).
    (cd "$K2_DATA_DIR" && as_pg_user "$bin/initdb" -D "$tmp" -U "$PG_SUPERUSER" -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256) >"$LOG_DIR/postgres-initdb.log" 2>&1 || {
      tail -n 30 "$LOG_DIR/postgres-initdb.log" >&2
      rm -rf "$tmp"
      die "postgres: initdb failed (log: $LOG_DIR/postgres-initdb.log)"
    }
    mv "$tmp" "$PG_DATA"
  fi

  bin_major="$("$bin/postgres" --version | major_version_of)"
  data_major="$(cat "$PG_DATA/PG_VERSION")"
  [ "$bin_major" = "$data_major" ] ||
    die "postgres: $PG_DATA was created by PostgreSQL $data_major but $bin is $bin_major (set K2_PG_BIN_DIR, pg_upgrade, or infra.sh reset postgres)"

  # After a kill -9 the backends of the old postmaster exit on their own once
  # they notice its death; starting while they still write would be unsafe.
  local users deadline=$(($(date +%s) + 5))
  while users="$(pg_data_users)" && [ -n "$users" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
  done
  [ -z "$users" ] ||
    die "postgres: processes $(tr '\n' ' ' <<<"$users")still run in $PG_DATA (a server not started by infra.sh, or leftovers of a killed one); stop them first"
  # PostgreSQL refuses to start while the pid in postmaster.pid (or in the
  # socket's .lock) exists, and after a kill -9 that pid can be an unreaped
  # zombie or a reused pid. No process runs in the data directory any more, so
  # such a pid is not a postmaster of it and the lock files are stale.
  lock_pid="$(postmaster_pid)"
  if [ -n "$lock_pid" ] && [ -e "/proc/$lock_pid" ]; then
    log "postgres: removing stale lock files (pid $lock_pid is not a postmaster of $PG_DATA)"
    rm -f "$PG_DATA/postmaster.pid" "$sock.lock"
  fi

  local -a pre marks
  mapfile -t pre < <(pg_user_prefix)
  mapfile -t marks < <(pg_marker_args)
  # Settings on the command line rather than in postgresql.conf, so they follow
  # the environment on every start like the other components' generated config.
  spawn postgres -- ${pre[@]+"${pre[@]}"} "$bin/postgres" -D "$PG_DATA" "${marks[@]}" \
    -c listen_addresses="$HOST" -c port="$PG_PORT" \
    -c unix_socket_directories="$PG_SOCKET_DIR" -c unix_socket_permissions=0700 \
    -c logging_collector=off
}

start_component() {
  case "$1" in
    kafka) start_kafka ;;
    registry) start_registry ;;
    iceberg-rest) start_iceberg_rest ;;
    s3) start_s3 ;;
    postgres) start_postgres ;;
  esac
}

# Signed S3 request with curl's SigV4 support (s3proxy requires x-amz-content-sha256).
s3_curl() { # <method> <path> [curl args...]
  local method="$1" path="$2"
  shift 2
  curl -s --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    -X "$method" "$@" "http://$HOST:$S3_PORT$path"
}

ensure_bucket() {
  local code
  code="$(s3_curl PUT "/$S3_BUCKET" -o /dev/null -w '%{http_code}')" || true
  case "$code" in
    200 | 409) return 0 ;; # 409 = BucketAlreadyOwnedByYou
    *)
      log "could not create bucket $S3_BUCKET (HTTP $code)"
      return 1
      ;;
  esac
}

sql_literal() { # standard_conforming_strings is on (default since 9.1): only ' needs doubling
  printf "'%s'" "${1//\'/\'\'}"
}

# Role and database of the application, created on the first start. The
# password is (re)set on every start so K2_PG_PASSWORD stays the source of
# truth. \gexec runs each generated statement on its own, outside a transaction
# block, which CREATE DATABASE requires (psql docs).
ensure_pg_bootstrap() {
  local user pw db out
  user="$(sql_literal "$PG_USER")"
  pw="$(sql_literal "$PG_PASSWORD")"
  db="$(sql_literal "$PG_DATABASE")"
  out="$(pg_client psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" \
    -U "$PG_SUPERUSER" -d postgres 2>&1 <<EOF
SELECT format('CREATE ROLE %I LOGIN', $user) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = $user)
\gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $user, $pw)
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', $db, $user) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = $db)
\gexec
EOF
  )" || {
    printf '=== %s infra.sh: role/database bootstrap failed:\n%s\n' "$(date -Is)" "$out" >>"$(log_file postgres)"
    return 1
  }
}

# Healthy, plus the one-time work `up` does once a component answers.
component_ready() {
  case "$1" in
    s3) health_s3 && ensure_bucket ;;
    postgres) pg_accepting && ensure_pg_bootstrap && health_postgres ;;
    kafka) is_healthy kafka && ensure_kafka_security ;;
    *) is_healthy "$1" ;;
  esac
}

print_failure() { # <component> <reason>
  local c="$1" lf
  lf="$(log_file "$c")"
  printf '%-13s FAILED: %s\n' "$c" "$2"
  if [ -f "$lf" ]; then
    printf -- '----- last 30 lines of %s -----\n' "$lf"
    tail -n 30 "$lf"
    printf -- '-----\n'
  fi
}

cmd_up() {
  local -a args=()
  local a
  for a in "$@"; do
    if [ "$a" = --secure ]; then KAFKA_SECURE=1; else args+=("$a"); fi
  done
  set -- ${args[@]+"${args[@]}"}
  resolve_kafka_secure
  resolve_components "$@"
  local c t0
  t0="$(now)"
  acquire_lock
  for c in "${COMPONENTS[@]}"; do install_component "$c"; done

  local -a pending=()
  local -A started=()
  # Spawn the fast ones first; Kafka formats its storage synchronously (first run).
  local -a order=()
  for c in postgres s3 iceberg-rest registry kafka pyiceberg; do
    if [[ " ${COMPONENTS[*]} " == *" $c "* ]]; then order+=("$c"); fi
  done
  for c in "${order[@]}"; do
    if ! is_service "$c"; then
      pending+=("$c")
      continue
    fi
    local pid
    pid="$(find_pid "$c")"
    if [ -n "$pid" ]; then
      if is_healthy "$c"; then
        if [ "$c" = kafka ] && [ "$KAFKA_SECURE" = 1 ] && ! tcp_open "$KAFKA_SECURE_PORT"; then
          die "kafka is running without the SASL_SSL listener; restart it: infra.sh down kafka && infra.sh up --secure kafka"
        fi
        printf '%-13s already healthy  %s (pid %s)\n' "$c" "$(endpoint_of "$c")" "$pid"
        [ "$c" = s3 ] && ensure_bucket
        if [ "$c" = kafka ]; then ensure_kafka_security || die "kafka SCRAM users/ACLs could not be set up"; fi
        continue
      fi
      log "$c is running (pid $pid) but not healthy yet; waiting"
    else
      if tcp_open "$(port_of "$c")"; then
        die "$c: port $(port_of "$c") on $HOST is already in use by another process (not started by this script for $K2_DATA_DIR)"
      fi
      start_component "$c"
      started[$c]=1
    fi
    pending+=("$c")
  done

  local deadline failed=0
  deadline=$(($(date +%s) + INFRA_TIMEOUT))
  while [ "${#pending[@]}" -gt 0 ]; do
    local -a still=()
    for c in "${pending[@]}"; do
      if is_service "$c" && [ -z "$(find_pid "$c")" ]; then
        print_failure "$c" "process exited during startup"
        failed=1
        continue
      fi
      if component_ready "$c"; then
        local how="healthy"
        [ -n "${started[$c]:-}" ] && how="started"
        [ "$c" = pyiceberg ] && how="ready"
        printf '%-13s %-16s %s (%ss)\n' "$c" "$how" "$(endpoint_of "$c")" "$(elapsed "$t0")"
      else
        still+=("$c")
      fi
    done
    pending=(${still[@]+"${still[@]}"})
    [ "${#pending[@]}" -eq 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      for c in "${pending[@]}"; do
        print_failure "$c" "not healthy after ${INFRA_TIMEOUT}s"
      done
      failed=1
      break
    fi
    sleep 0.5
  done
  [ "$failed" -eq 0 ] || exit 1
  log "up: all requested components healthy in $(elapsed "$t0")s"
}

# ---------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------
# PostgreSQL ("Shutting Down the Server" in the server docs): SIGTERM is a smart
# shutdown that waits for every client to disconnect (pooled test connections
# would hold it until the SIGKILL); SIGINT is a fast shutdown (rolls back open
# transactions, checkpoints); SIGQUIT an immediate one (crash recovery on the
# next start). SIGKILL on the postmaster would leave its children running.
stop_signal() { if [ "$1" = postgres ]; then echo INT; else echo TERM; fi; }
kill_signal() { if [ "$1" = postgres ]; then echo QUIT; else echo KILL; fi; }

cmd_down() {
  resolve_components "$@"
  acquire_lock
  local c pid t0
  local -A pids=()
  t0="$(now)"
  for c in "${COMPONENTS[@]}"; do
    is_service "$c" || continue
    pid="$(find_pid "$c")"
    if [ -z "$pid" ]; then
      printf '%-13s not running\n' "$c"
      continue
    fi
    kill -"$(stop_signal "$c")" "$pid" 2>/dev/null || true
    pids[$c]="$pid"
  done
  local deadline
  deadline=$(($(date +%s) + STOP_TIMEOUT))
  while :; do
    local alive=0
    for c in "${!pids[@]}"; do
      if is_our_pid "$c" "${pids[$c]}"; then alive=1; fi
    done
    [ "$alive" -eq 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      for c in "${!pids[@]}"; do
        if is_our_pid "$c" "${pids[$c]}"; then
          log "$c did not stop within ${STOP_TIMEOUT}s; sending SIG$(kill_signal "$c")"
          kill -"$(kill_signal "$c")" "${pids[$c]}" 2>/dev/null || true
        fi
      done
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  for c in "${COMPONENTS[@]}"; do
    is_service "$c" || continue
    rm -f "$(pid_file "$c")"
    [ -n "${pids[$c]:-}" ] && printf '%-13s stopped (pid %s, %ss)\n' "$c" "${pids[$c]}" "$(elapsed "$t0")"
  done
  return 0
}

# ---------------------------------------------------------------------------
# Status / env / reset / logs
# ---------------------------------------------------------------------------
cmd_status() {
  resolve_components "$@"
  local c pid state rc=0
  for c in "${COMPONENTS[@]}"; do
    pid=""
    if is_service "$c"; then pid="$(find_pid "$c")"; fi
    if is_healthy "$c"; then
      state="healthy"
      [ -n "$pid" ] && state="healthy (pid $pid)"
      if is_service "$c" && [ -z "$pid" ]; then state="healthy (not started by infra.sh)"; fi
    else
      rc=1
      if [ -n "$pid" ]; then
        state="unhealthy (pid $pid running)"
      elif [ "$c" = pyiceberg ]; then
        state="down (venv missing; run: infra.sh install pyiceberg)"
      else
        state="down"
      fi
    fi
    printf '%-13s %-50s %s\n' "$c" "$(endpoint_of "$c")" "$state"
  done
  return "$rc"
}

urlencode() { # RFC 3986: everything but the unreserved characters is %-encoded (per byte)
  local LC_ALL=C s="$1" out="" ch i
  for ((i = 0; i < ${#s}; i++)); do
    ch="${s:i:1}"
    case "$ch" in
      [A-Za-z0-9._~-]) out+="$ch" ;;
      *) out+="$(printf '%%%02X' "'$ch")" ;;
    esac
  done
  echo "$out"
}

cmd_env() {
  local kv pg_auth
  pg_auth="$(urlencode "$PG_USER"):$(urlencode "$PG_PASSWORD")"
  for kv in \
    "K2_DATA_DIR=$K2_DATA_DIR" \
    "KAFKA_BROKERS=$HOST:$KAFKA_PORT" \
    "KAFKA_BOOTSTRAP_SERVERS=$HOST:$KAFKA_PORT" \
    "SCHEMA_REGISTRY_URL=http://$HOST:$REGISTRY_PORT/apis/ccompat/v7" \
    "APICURIO_REGISTRY_URL=http://$HOST:$REGISTRY_PORT/apis/registry/v3" \
    "ICEBERG_REST_URI=http://$HOST:$ICEBERG_REST_PORT" \
    "ICEBERG_WAREHOUSE=$ICEBERG_WAREHOUSE" \
    "S3_ENDPOINT=http://$HOST:$S3_PORT" \
    "S3_ACCESS_KEY=$S3_ACCESS_KEY" \
    "S3_SECRET_KEY=$S3_SECRET_KEY" \
    "S3_REGION=$S3_REGION" \
    "S3_BUCKET=$S3_BUCKET" \
    "PYICEBERG_PYTHON=$VENV_DIR/bin/python" \
    "PYICEBERG_CATALOG__DEFAULT__TYPE=rest" \
    "PYICEBERG_CATALOG__DEFAULT__URI=http://$HOST:$ICEBERG_REST_PORT" \
    "PYICEBERG_CATALOG__DEFAULT__S3__ENDPOINT=http://$HOST:$S3_PORT" \
    "PYICEBERG_CATALOG__DEFAULT__S3__ACCESS_KEY_ID=$S3_ACCESS_KEY" \
    "PYICEBERG_CATALOG__DEFAULT__S3__SECRET_ACCESS_KEY=$S3_SECRET_KEY" \
    "PYICEBERG_CATALOG__DEFAULT__S3__REGION=$S3_REGION" \
    "PYICEBERG_CATALOG__DEFAULT__S3__PATH_STYLE_ACCESS=true" \
    "ICEBERG_PG_URI=postgresql://$pg_auth@$HOST:$PG_PORT/$(urlencode "$PG_DATABASE")" \
    "PYICEBERG_PG_URI=postgresql+psycopg2://$pg_auth@$HOST:$PG_PORT/$(urlencode "$PG_DATABASE")"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
}

cmd_reset() {
  resolve_components "$@"
  cmd_down "${COMPONENTS[@]}"
  local c d
  for c in "${COMPONENTS[@]}"; do
    case "$c" in
      kafka) d=("$KAFKA_DATA") ;;
      registry) d=("$REGISTRY_DATA") ;;
      iceberg-rest) d=("$ICEBERG_DATA") ;;
      s3) d=("$S3_DATA") ;;
      postgres) d=("$PG_DATA" "$PG_DATA.initdb" "$PG_SOCKET_DIR" "$LOG_DIR/postgres-initdb.log") ;;
      pyiceberg) continue ;; # the venv is an installation, not data
    esac
    log "deleting ${d[*]}"
    rm -rf "${d[@]}"
    rm -f "$(log_file "$c")" "$(log_file "$c").1"
  done
  printf 'reset done (download cache %s and venv kept)\n' "$DIST_DIR"
}

cmd_logs() {
  [ "$#" -eq 1 ] || die "usage: infra.sh logs <component>"
  local c lf
  c="$(canonical_component "$1")"
  lf="$(log_file "$c")"
  [ -f "$lf" ] || die "no log for $c at $lf"
  echo "==> $lf" >&2
  tail -n 100 "$lf"
}

cmd_install() {
  resolve_components "$@"
  local c t0
  t0="$(now)"
  acquire_lock
  for c in "${COMPONENTS[@]}"; do
    install_component "$c"
    printf '%-13s installed\n' "$c"
  done
  log "install done in $(elapsed "$t0")s (cache: $DIST_DIR)"
}

# Kafka CLI: accepts a fully-qualified class, a simple class name or a script name.
cmd_kafka_cli() {
  [ "$#" -ge 1 ] || die "usage: kafka-cli <ClassName|kafka-script-name> [args...]"
  require_java
  install_kafka
  local name="$1" cls=""
  shift
  case "$name" in
    kafka-topics | kafka-topics.sh) cls=org.apache.kafka.tools.TopicCommand ;;
    kafka-console-producer | kafka-console-producer.sh) cls=org.apache.kafka.tools.ConsoleProducer ;;
    kafka-console-consumer | kafka-console-consumer.sh) cls=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-consumer-groups | kafka-consumer-groups.sh) cls=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    kafka-configs | kafka-configs.sh) cls=kafka.admin.ConfigCommand ;;
    kafka-broker-api-versions | kafka-broker-api-versions.sh) cls=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
    kafka-metadata-quorum | kafka-metadata-quorum.sh) cls=org.apache.kafka.tools.MetadataQuorumCommand ;;
    kafka-get-offsets | kafka-get-offsets.sh) cls=org.apache.kafka.tools.GetOffsetShell ;;
    kafka-delete-records | kafka-delete-records.sh) cls=org.apache.kafka.tools.DeleteRecordsCommand ;;
    kafka-transactions | kafka-transactions.sh) cls=org.apache.kafka.tools.TransactionsCommand ;;
    kafka-producer-perf-test | kafka-producer-perf-test.sh) cls=org.apache.kafka.tools.ProducerPerformance ;;
    kafka-consumer-perf-test | kafka-consumer-perf-test.sh) cls=org.apache.kafka.tools.ConsumerPerformance ;;
    kafka-storage | kafka-storage.sh) cls=kafka.tools.StorageTool ;;
    *.*) cls="$name" ;;
    *)
      local pkg jar
      for pkg in org.apache.kafka.tools org.apache.kafka.tools.consumer \
        org.apache.kafka.tools.consumer.group org.apache.kafka.tools.reassign \
        kafka.tools kafka.admin; do
        for jar in "$KAFKA_LIBS"/kafka-tools-*.jar "$KAFKA_LIBS"/kafka_2.13-*.jar; do
          # (no grep -q: with pipefail an early exit would SIGPIPE unzip)
          if unzip -Z1 "$jar" 2>/dev/null | grep -xF "${pkg//.//}/$name.class" >/dev/null; then
            cls="$pkg.$name"
            break 2
          fi
        done
      done
      [ -n "$cls" ] || die "Kafka tool class '$name' not found in $KAFKA_LIBS"
      ;;
  esac
  exec java "${CLI_JVM_OPTS[@]}" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/conf/kafka-tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$cls" "$@"
}

acquire_lock() {
  [ -n "${K2_INFRA_LOCKED:-}" ] && return 0
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 900 9 || die "another infra.sh is running (lock $RUN_DIR/.lock)"
  fi
  K2_INFRA_LOCKED=1
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  [ "$#" -gt 0 ] && shift
  case "$cmd" in
    up | start) cmd_up "$@" ;;
    down | stop) cmd_down "$@" ;;
    restart)
      cmd_down "$@"
      cmd_up "$@"
      ;;
    status) cmd_status "$@" ;;
    install) cmd_install "$@" ;;
    env) cmd_env ;;
    reset) cmd_reset "$@" ;;
    logs) cmd_logs "$@" ;;
    kafka-cli) cmd_kafka_cli "$@" ;;
    kafka-security) cmd_kafka_security ;;
    kafka-dlq-acl) cmd_kafka_dlq_acl "$@" ;;
    -h | --help | help | "") usage ;;
    *)
      usage >&2
      die "unknown command '$cmd'"
      ;;
  esac
}

main "$@"
