#!/bin/sh
# kafka-init (docker-compose.yml), one-shot and idempotent: the SCRAM users of the K2 roles, each with the password of
# its own compose secret (/run/secrets/k2-kafka-<user>), and their ACLs (acls.sh), with Kafka's own tools over the
# SASL_SSL listener as `admin`. Only this job holds every Kafka password; each service gets its own.
set -eu
here="$(dirname "$0")"
bootstrap=kafka:19092
cfg=/tmp/admin.properties
umask 077
secret() {
  v="$(cat "/run/secrets/k2-kafka-$1")"
  case "$v" in
    '' | *[!A-Za-z0-9._~-]*) echo "kafka-init: secret k2-kafka-$1 must be a non-empty password of letters, digits and ._~-" >&2; exit 1 ;;
  esac
  printf '%s' "$v"
}
admin="$(secret admin)"
printf '%s\n' \
  'security.protocol=SASL_SSL' \
  'sasl.mechanism=SCRAM-SHA-512' \
  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$admin\";" \
  'ssl.truststore.type=PEM' \
  'ssl.truststore.location=/etc/k2/kafka-ca/ca.crt' >"$cfg"

# The K2 roles' users (acls.sh); deploy/src/compose.spec.ts checks that each service's KAFKA_SASL_USERNAME is one.
for user in streamer asx-loader writer query registry; do
  /opt/kafka/bin/kafka-configs.sh --bootstrap-server "$bootstrap" --command-config "$cfg" --alter --entity-type users \
    --entity-name "$user" --add-config "SCRAM-SHA-512=[iterations=8192,password=$(secret "$user")]"
done

kafka_acl() { /opt/kafka/bin/kafka-acls.sh --bootstrap-server "$bootstrap" --command-config "$cfg" --add --force "$@" >/dev/null; }
. "$here/acls.sh"
k2_kafka_acls
echo "kafka-init: users and ACLs in place"
