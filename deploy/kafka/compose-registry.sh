#!/bin/sh
# schema-registry (docker-compose.yml): Confluent's registry keeps its schemas in Kafka, so it is a Kafka client too,
# user `registry` over SASL_SSL. Its JAAS line carries the password, which must come from the secret
# k2-kafka-registry rather than the compose file; the image turns SCHEMA_REGISTRY_* variables into its properties,
# so this wrapper sets that one variable and hands over to the image's own start script.
set -eu
pw="$(cat /run/secrets/k2-kafka-registry)"
SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"registry\" password=\"$pw\";"
export SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG
exec /etc/confluent/docker/run
