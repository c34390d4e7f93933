# Kafka ACLs of the K2 roles (issue 18: least privilege on the broker), the one list that tools/infra/infra.sh
# (`up --secure`, local SASL_SSL listener), docker-compose.yml (kafka-init) and prod (deploy/k8s/README.md "Kafka
# credentials") apply. Sourced, POSIX sh (the apache/kafka image's /bin/sh runs it too). The caller defines
#   kafka_acl ARGS...   Kafka's AclCommand (kafka-acls.sh) `--add --force ARGS` against an admin connection.
# Every call is idempotent: adding an ACL that exists is a no-op.
#
# Topic names (libs/kafka/src/topics.ts): data `market.<asset_class>.<data_type>.<exchange>`, dead letters
# `<data topic>.dlq`. Kafka matches ACL resources LITERAL or PREFIXED only, never by suffix, so no single pattern
# covers the dead-letter topics without the data topics: a prefix short enough for `.dlq` of every feed
# (`market.`) takes in the data topics too. The writer therefore gets one LITERAL ACL per dead-letter topic of the
# data topics it consumes (k2_writer_dlq_acls); before, it could produce forged trades to every market.* topic.

# The V2 data topics of the platform's feeds: PLATFORM_DATA_TOPICS in libs/kafka/src/topics.ts (deploy/src/kafka.spec.ts
# keeps the two lists equal).
K2_PLATFORM_DATA_TOPICS="market.crypto.trades.binance market.crypto.quotes.binance market.crypto.trades.kraken market.crypto.quotes.kraken market.equities.trades.asx market.equities.quotes.asx market.equities.reference.asx"

# k2_writer_dlq_acls TOPIC...: the writer may create, describe and produce to TOPIC.dlq (its dead letters for the data
# topic TOPIC; libs/lake-sink creates the topic on the first one) and nothing else. Run it for every topic added to
# WRITER_TOPICS.
k2_writer_dlq_acls() {
  for t in "$@"; do
    case "$t" in
      market.*.dlq | *[!a-z0-9._-]*) echo "k2_writer_dlq_acls: $t is not a data topic" >&2; return 1 ;;
      market.*.*.*) ;;
      *) echo "k2_writer_dlq_acls: $t is not a data topic" >&2; return 1 ;;
    esac
    kafka_acl --allow-principal User:writer --operation Write --operation Create --operation Describe --topic "$t.dlq" || return 1
  done
}

# k2_kafka_acls: every role's ACLs. Users (SCRAM-SHA-512): streamer (binance-, kraken-streamer), asx-loader, writer
# (iceberg-writer), query (query-api), registry (the compose schema registry's Kafka store), admin (super user).
k2_kafka_acls() {
  # The streamers produce trades, quotes and their dead letters on market.*, read their own topics to resume
  # (FEED_RESUME_FROM_KAFKA) with k2-* groups.
  kafka_acl --allow-principal User:streamer --operation Write --operation Create --operation Describe --operation Read --resource-pattern-type prefixed --topic market. || return 1
  kafka_acl --allow-principal User:streamer --operation IdempotentWrite --cluster || return 1
  kafka_acl --allow-principal User:streamer --operation Read --resource-pattern-type prefixed --group k2- || return 1
  # The ASX loader: equities topics only.
  kafka_acl --allow-principal User:asx-loader --operation Write --operation Create --operation Describe --operation Read --resource-pattern-type prefixed --topic market.equities. || return 1
  kafka_acl --allow-principal User:asx-loader --operation IdempotentWrite --cluster || return 1
  # The writer consumes market.* (its group k2-iceberg-writer*) and produces only to its dead-letter topics.
  kafka_acl --allow-principal User:writer --operation Read --operation Describe --resource-pattern-type prefixed --topic market. || return 1
  kafka_acl --allow-principal User:writer --operation IdempotentWrite --cluster || return 1
  kafka_acl --allow-principal User:writer --operation Read --resource-pattern-type prefixed --group k2-iceberg-writer || return 1
  # shellcheck disable=SC2086 # a word list on purpose
  k2_writer_dlq_acls $K2_PLATFORM_DATA_TOPICS || return 1
  # query-api only reads (the live tail, replay).
  kafka_acl --allow-principal User:query --operation Read --operation Describe --resource-pattern-type prefixed --topic market. || return 1
  kafka_acl --allow-principal User:query --operation Read --resource-pattern-type prefixed --group query-api || return 1
  # A schema registry that keeps its schemas in Kafka (Confluent's: the _schemas topic; its leader election and store
  # reader use groups named schema-registry*).
  kafka_acl --allow-principal User:registry --operation Read --operation Write --operation Describe --operation DescribeConfigs --operation Create --topic _schemas || return 1
  kafka_acl --allow-principal User:registry --operation Read --operation Describe --resource-pattern-type prefixed --group schema-registry || return 1
}
