import Kafka from 'node-rdkafka';
import { ErrorCode, FatalError, K2Error, TransientError } from '@k2/core';

const E = Kafka.CODES.ERRORS;

interface RdKafkaErrorLike {
  code?: number;
  message?: string;
  isFatal?: boolean;
  isRetriable?: boolean;
}

/**
 * Maps librdkafka errors into the K2 hierarchy. librdkafka itself says whether an error is retriable or fatal
 * (rd_kafka_error_is_retriable / is_fatal); transport-level codes (all brokers down, timeouts) are retriable
 * from the caller's point of view even when librdkafka has already given up on the message.
 */
export function kafkaError(err: unknown, what: string, context: Record<string, unknown> = {}): K2Error {
  if (err instanceof K2Error) return err;
  const e = (err ?? {}) as RdKafkaErrorLike;
  const code = typeof e.code === 'number' ? e.code : undefined;
  const message = `kafka: ${what}: ${e.message ?? String(err)}`;
  const ctx = { ...context, rdkafkaCode: code };
  // A consume() callback reports a fatal client state as a plain ERR__FATAL, without isFatal (seen when the group
  // coordinator fenced a static member after a broker restart); either way the client instance is finished.
  if (e.isFatal || code === E.ERR__FATAL) return new FatalError(ErrorCode.KAFKA_FATAL, message, { cause: err, context: ctx });
  const transient = new Set<number>([
    E.ERR__TRANSPORT,
    E.ERR__ALL_BROKERS_DOWN,
    E.ERR__TIMED_OUT,
    E.ERR__MSG_TIMED_OUT,
    E.ERR__QUEUE_FULL,
    E.ERR_REQUEST_TIMED_OUT,
    E.ERR_NOT_ENOUGH_REPLICAS,
    E.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    E.ERR_LEADER_NOT_AVAILABLE,
    E.ERR_NOT_LEADER_FOR_PARTITION,
    E.ERR_BROKER_NOT_AVAILABLE,
    E.ERR_NETWORK_EXCEPTION,
    E.ERR__RESOLVE,
    E.ERR_UNKNOWN_TOPIC_OR_PART,
  ]);
  if (e.isRetriable || (code !== undefined && transient.has(code))) {
    return new TransientError(ErrorCode.KAFKA_UNAVAILABLE, message, { cause: err, context: ctx });
  }
  return new FatalError(ErrorCode.KAFKA_PRODUCE_FAILED, message, { cause: err, context: ctx });
}
