#!/usr/bin/env bash
# Run an Apache Kafka CLI tool against the local infrastructure, using the
# same jars as the broker started by tools/infra/infra.sh.
#
# Usage: tools/infra/kafka-cli.sh <Tool> [args...]
#   <Tool> is a script name (kafka-topics, kafka-console-consumer, ...), a
#   simple class name (TopicCommand, ConsumerGroupCommand, ...) or a fully
#   qualified class name.
# Examples:
#   tools/infra/kafka-cli.sh kafka-topics --bootstrap-server 127.0.0.1:9092 --list
#   tools/infra/kafka-cli.sh TopicCommand --bootstrap-server 127.0.0.1:9092 \
#       --create --topic demo --partitions 3
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/infra.sh" kafka-cli "$@"
