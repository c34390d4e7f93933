import Kafka from 'node-rdkafka';
import { ConfigError } from '@k2/core';
import type { Compression } from './producer';

/**
 * The codec every K2 consumer needs: topics are created with `compression.type=zstd` (see `ensureTopics`), so the
 * broker stores and hands out zstd batches whatever codec the producer used.
 */
export const TOPIC_CODEC: Compression = 'zstd';

/** How to get a librdkafka with the codec; zstd is the only one that depends on a system library at build time. */
export const CODEC_FIX = 'apt-get install libzstd-dev && npm rebuild node-rdkafka (or: bash tools/scripts/setup.sh)';

/**
 * Throws a ConfigError, one line, when the librdkafka inside node-rdkafka was built without `codec`. Without the
 * check such a client does not fail clearly: a producer with `compression.codec=zstd` fails to construct with
 * librdkafka's "libzstd not available at build time", and a consumer fetching zstd batches logs "Local: Not
 * implemented" forever. `role` says why the codec is needed: a producer compresses with it, a consumer (or reader)
 * decodes the topics stored with it. `features` defaults to node-rdkafka's `Kafka.features` (librdkafka's
 * `builtin.features`); tests pass their own.
 */
export function requireCodec(codec: Compression, role: 'producer' | 'consumer', client: string, features: readonly string[] = Kafka.features): void {
  if (codec === 'none' || features.includes(codec)) return;
  const why = role === 'producer' ? `the producer compresses with ${codec} (compression.codec)` : `K2 topics are stored ${codec}-compressed (compression.type) and a consumer must decode them`;
  throw new ConfigError(`kafka client ${client}`, [`librdkafka in node-rdkafka was built without ${codec}, but ${why}; fix: ${CODEC_FIX}`]);
}
