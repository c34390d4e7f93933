#!/bin/sh
# The kafka service of docker-compose.yml: Kafka in KRaft mode, clients only over SASL_SSL with SCRAM-SHA-512 and
# ACLs (issue 18; the same broker settings as tools/infra/infra.sh `up --secure`). The listeners and the other broker
# settings come from the service's KAFKA_* variables (KAFKA_LOG_DIRS -> log.dirs); this script adds what must not be
# in the environment: the keystore password (from kafka-tls-init's volume) and the SCRAM user `admin`, whose password
# (the secret k2-kafka-admin) is stored when the storage is formatted (kafka-storage format --add-scram, KIP-900), so
# kafka-init can create the other users over SASL_SSL. The PLAINTEXT listeners (controller, inter-broker) bind to
# 127.0.0.1: only this container reaches them, and only there is the unauthenticated principal a super user.
set -eu
props=/tmp/server.properties
pw="$(cat /etc/kafka/secrets/keystore.password)"
admin="$(cat /run/secrets/k2-kafka-admin)"
case "$admin" in
  '' | *[!A-Za-z0-9._~-]*) echo "k2-kafka-admin must be a non-empty password of letters, digits and ._~- (kafka-storage --add-scram syntax)" >&2; exit 1 ;;
esac
: "${CLUSTER_ID:?CLUSTER_ID must be set}"
umask 077
{
  # KAFKA_FOO_BAR=v -> foo.bar=v, except the launcher's own variables (kafka-run-class.sh).
  env | sed -n 's/^KAFKA_\([A-Z0-9_]*\)=\(.*\)$/\1=\2/p' | while IFS='=' read -r k v; do
    case "$k" in HEAP_OPTS | OPTS | JVM_PERFORMANCE_OPTS | LOG4J_OPTS | JMX_OPTS | GC_LOG_OPTS | DEBUG) continue ;; esac
    printf '%s=%s\n' "$(printf '%s' "$k" | tr 'A-Z_' 'a-z.')" "$v"
  done
  for l in internal external; do
    printf 'listener.name.%s.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n' "$l"
  done
  printf 'ssl.keystore.type=PKCS12\nssl.keystore.location=/etc/kafka/secrets/broker.p12\nssl.keystore.password=%s\nssl.key.password=%s\n' "$pw" "$pw"
} >"$props"
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$props" \
  --add-scram "SCRAM-SHA-512=[name=admin,password=$admin]"
exec /opt/kafka/bin/kafka-server-start.sh "$props"
