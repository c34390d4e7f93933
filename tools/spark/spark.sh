#!/usr/bin/env bash
# Apache Spark in local mode on K2's Iceberg tables (issue 19). Spark, Iceberg's Spark runtime, the S3 FileIO
# bundle and the catalog's JDBC drivers come from Maven Central into the infra download cache (like Kafka in
# tools/infra/infra.sh); the session is configured for the same catalog and warehouse as the K2 services.
#
# Usage: npm run spark -- [command] [options]
#   -e "SQL[; SQL…]"      run statements; each query's rows print tab-separated (as spark-sql prints them)
#   -f FILE               run the statements in FILE
#     --header            print column names first;  --json  one JSON object per row (values as exact text)
#   --serve               one statement per stdin line, one JSON answer per stdout line (tests, tools)
#   submit [spark-submit args…]  spark-submit (org.apache.spark.deploy.SparkSubmit) with K2's configuration
#   conf                  print K2's Spark settings as spark-defaults.conf lines (for a cluster: docs/spark.md)
#   install               resolve the jars into the cache and compile the driver; nothing else
#   classpath             print the classpath
#   --conf key=value      extra Spark setting (repeatable; before the command's own arguments)
#   -h, --help            this text
#
# The catalog, as the services read it (docs/spark.md):
#   ICEBERG_CATALOG       sql (default) or rest
#   ICEBERG_CATALOG_URI   sql: jdbc:sqlite:file:… (default .data/iceberg/lake-catalog.db, what `npm start` uses),
#                         postgresql://user:pass@host:port/db or jdbc:postgresql://host:port/db
#   ICEBERG_REST_URI      rest: default http://127.0.0.1:8181
#   ICEBERG_WAREHOUSE     sql: default file://<K2_STATE_DIR>/iceberg/warehouse; s3://bucket/prefix for the S3 server
#   ICEBERG_CATALOG_NAME  the SQL catalog's catalog_name, and the Spark catalog's name (default rest_backend);
#                         it is Spark's default catalog, so `SELECT … FROM trades_v2` needs no prefix
#   ICEBERG_NAMESPACE     default namespace (default market_data)
#   S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION  the S3 server (defaults: the local one, path-style)
# The JVM: K2_SPARK_HEAP (default -Xmx1g), K2_SPARK_MASTER (default local[2]), K2_SPARK_JAVA (default: java on PATH,
# Java 17+). The cache: K2_INFRA_DIST_DIR (default .data/infra/dist); versions: K2_SPARK_VERSION (3.5.8),
# K2_SPARK_ICEBERG_VERSION (1.10.1), K2_MAVEN_REPO_URL.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
K2_DATA_DIR="${K2_DATA_DIR:-$REPO_ROOT/.data}"
DIST_DIR="${K2_INFRA_DIST_DIR:-$K2_DATA_DIR/infra/dist}"
STATE_DIR="${K2_STATE_DIR:-$REPO_ROOT/.data}"

SPARK_VERSION="${K2_SPARK_VERSION:-3.5.8}"
SPARK_BINARY="${SPARK_VERSION%.*}"
SCALA_BINARY=2.13
ICEBERG_VERSION="${K2_SPARK_ICEBERG_VERSION:-1.10.1}"
SPARK_HOME_DIR="$DIST_DIR/spark-${SPARK_VERSION}_$SCALA_BINARY-iceberg-$ICEBERG_VERSION"
JARS_DIR="$SPARK_HOME_DIR/jars"
DRIVER_DIR="$SPARK_HOME_DIR/k2-driver"
DRIVER_SRC="$SCRIPT_DIR/src/java"
JAVA_BIN="${K2_SPARK_JAVA:-java}"

log() { printf '[spark] %s\n' "$*" >&2; }
die() { printf '[spark] ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

# ---------------------------------------------------------------------------------------------------------------
# Install: Maven resolves the jars once into $JARS_DIR (marker .complete); the driver is recompiled when its
# sources change. Both live in the dist cache, which CI and `infra.sh reset` keep.
# ---------------------------------------------------------------------------------------------------------------
install_jars() {
  [ -f "$JARS_DIR/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to resolve Spark); fix: sudo apt-get install -y maven"
  log "resolving Spark $SPARK_VERSION (Scala $SCALA_BINARY) + Iceberg $ICEBERG_VERSION with Maven (about 330 MB, once)"
  rm -rf "$JARS_DIR"
  mkdir -p "$JARS_DIR"
  local repo=()
  [ -n "${K2_MAVEN_REPO_URL:-}" ] && repo=("-DremoteRepositories=$K2_MAVEN_REPO_URL")
  mvn -B -q -f "$SCRIPT_DIR/pom.xml" \
    -Dmaven.repo.local="$DIST_DIR/m2" \
    -Dspark.version="$SPARK_VERSION" -Dspark.binary="$SPARK_BINARY" -Dscala.binary="$SCALA_BINARY" \
    -Diceberg.version="$ICEBERG_VERSION" ${repo[@]+"${repo[@]}"} \
    dependency:copy-dependencies \
    -DoutputDirectory="$JARS_DIR" -DincludeScope=runtime >"$DIST_DIR/mvn-spark.log" 2>&1 || {
    tail -n 30 "$DIST_DIR/mvn-spark.log" >&2
    die "Maven could not resolve Spark $SPARK_VERSION (log: $DIST_DIR/mvn-spark.log)"
  }
  [ -f "$JARS_DIR/spark-sql_$SCALA_BINARY-$SPARK_VERSION.jar" ] || die "spark-sql jar missing after the Maven run"
  [ -f "$JARS_DIR/iceberg-spark-runtime-${SPARK_BINARY}_$SCALA_BINARY-$ICEBERG_VERSION.jar" ] || die "iceberg-spark-runtime jar missing after the Maven run"
  touch "$JARS_DIR/.complete"
}

install_driver() {
  local sum stamp="$DRIVER_DIR/.source.sha256"
  sum="$(cat "$DRIVER_SRC"/k2/spark/*.java | sha256sum | awk '{print $1}')"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && return 0
  command -v javac >/dev/null 2>&1 || die "javac not found (a JDK 17+ is required)"
  log "compiling the K2 Spark SQL driver"
  rm -rf "$DRIVER_DIR"
  mkdir -p "$DRIVER_DIR"
  javac -nowarn -encoding UTF-8 --release 17 -d "$DRIVER_DIR" -cp "$JARS_DIR/*" "$DRIVER_SRC"/k2/spark/*.java
  echo "$sum" >"$stamp"
}

require_java() {
  local v
  v="$("$JAVA_BIN" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')"
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Java 17+ required for Spark $SPARK_VERSION (found '${v:-none}' at $JAVA_BIN); fix: set K2_SPARK_JAVA"
}

# ---------------------------------------------------------------------------------------------------------------
# Configuration: the services' environment → Spark settings (one "key=value" per line)
# ---------------------------------------------------------------------------------------------------------------
spark_settings() {
  local kind="${ICEBERG_CATALOG:-sql}" cat="${ICEBERG_CATALOG_NAME:-rest_backend}" ns="${ICEBERG_NAMESPACE:-market_data}"
  local p="spark.sql.catalog.$cat"
  [[ $cat =~ ^[A-Za-z0-9_]+$ ]] || die "ICEBERG_CATALOG_NAME '$cat' is not a Spark identifier (letters, digits, _)"
  cat <<CONF
spark.master=${K2_SPARK_MASTER:-local[2]}
spark.ui.enabled=false
spark.driver.host=127.0.0.1
spark.driver.bindAddress=127.0.0.1
spark.sql.shuffle.partitions=4
spark.sql.session.timeZone=UTC
spark.sql.datetime.java8API.enabled=true
spark.sql.iceberg.vectorization.enabled=false
spark.sql.warehouse.dir=${TMPDIR:-/tmp}/k2-spark-warehouse
spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions
spark.sql.defaultCatalog=$cat
$p=org.apache.iceberg.spark.SparkCatalog
$p.default-namespace=$ns
$p.cache-enabled=false
$p.io-impl=org.apache.iceberg.io.ResolvingFileIO
$p.s3.endpoint=${S3_ENDPOINT:-http://127.0.0.1:9000}
$p.s3.path-style-access=true
$p.s3.access-key-id=${S3_ACCESS_KEY:-k2access}
$p.s3.secret-access-key=${S3_SECRET_KEY:-k2secret12345}
$p.client.region=${S3_REGION:-us-east-1}
CONF
  case "$kind" in
    sql)
      local uri="${ICEBERG_CATALOG_URI:-jdbc:sqlite:file:$STATE_DIR/iceberg/lake-catalog.db}"
      local wh="${ICEBERG_WAREHOUSE:-file://$STATE_DIR/iceberg/warehouse}"
      echo "$p.type=jdbc"
      echo "$p.warehouse=$wh"
      echo "$p.jdbc.schema-version=V1"
      if [[ $uri =~ ^(postgresql|postgres)://(([^:@/]*)(:([^@/]*))?@)?([^/]+)/(.*)$ ]]; then
        echo "$p.uri=jdbc:postgresql://${BASH_REMATCH[6]}/${BASH_REMATCH[7]}"
        [ -n "${BASH_REMATCH[3]}" ] && echo "$p.jdbc.user=${BASH_REMATCH[3]}"
        [ -n "${BASH_REMATCH[5]}" ] && echo "$p.jdbc.password=${BASH_REMATCH[5]}"
      elif [[ $uri == jdbc:* ]]; then
        echo "$p.uri=$uri"
      elif [[ $uri == /* ]]; then
        echo "$p.uri=jdbc:sqlite:file:$uri"
      else
        die "ICEBERG_CATALOG_URI '$uri' is neither jdbc:…, postgresql://… nor an absolute SQLite path"
      fi
      ;;
    rest)
      echo "$p.type=rest"
      echo "$p.uri=${ICEBERG_REST_URI:-http://127.0.0.1:8181}"
      [ -n "${ICEBERG_WAREHOUSE:-}" ] && echo "$p.warehouse=$ICEBERG_WAREHOUSE"
      ;;
    *) die "ICEBERG_CATALOG must be sql or rest (got '$kind')" ;;
  esac
  local c
  for c in ${EXTRA_CONF[@]+"${EXTRA_CONF[@]}"}; do echo "$c"; done
}

# Spark 3.5's launcher opens these JDK packages on Java 17 (its JavaModuleOptions); we start the JVM ourselves.
JVM_OPENS=(-XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  -Djdk.reflect.useDirectMethodHandle=false)

run_java() { # <main class> [args…]
  require_java
  local -a props=() heap
  local line
  while IFS= read -r line; do props+=("-D$line"); done < <(spark_settings)
  read -r -a heap <<<"${K2_SPARK_HEAP:--Xmx1g}"
  exec "$JAVA_BIN" "${heap[@]}" -XX:+UseParallelGC -XX:ParallelGCThreads=2 "${JVM_OPENS[@]}" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/conf/log4j2.properties" \
    -Dk2.spark=true "${props[@]}" \
    -cp "$DRIVER_DIR:$JARS_DIR/*" "$@"
}

main() {
  EXTRA_CONF=()
  local cmd=sql
  while [ "$#" -gt 0 ]; do
    case "$1" in
      -h | --help | help) usage; exit 0 ;;
      --conf)
        [ "$#" -ge 2 ] && [[ $2 == *=* ]] || die "--conf needs key=value"
        EXTRA_CONF+=("$2"); shift 2 ;;
      install | conf | classpath | submit | sql) cmd=$1; shift; break ;;
      *) break ;;
    esac
  done
  case "$cmd" in
    install) install_jars; install_driver; log "ready: $SPARK_HOME_DIR" ;;
    conf) spark_settings | sed 's/=/ /' ;;
    classpath) install_jars; install_driver; echo "$DRIVER_DIR:$JARS_DIR/*" ;;
    submit) install_jars; install_driver; run_java org.apache.spark.deploy.SparkSubmit "$@" ;;
    sql)
      [ "$#" -gt 0 ] || { usage >&2; die "give -e SQL, -f FILE or --serve"; }
      install_jars; install_driver; run_java k2.spark.K2SparkSql "$@" ;;
  esac
}

main "$@"
