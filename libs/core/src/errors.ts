import { redactSecrets, redactValue } from './redact';

/**
 * The one error hierarchy of K2. Retry loops and circuit breakers decide on `retriable`, never on message text;
 * dashboards and DLQ records group by the stable `code`.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'K2_CONFIG_INVALID',
  VALIDATION_FAILED: 'K2_VALIDATION_FAILED',
  DECIMAL_INVALID: 'K2_DECIMAL_INVALID',
  JSON_INVALID: 'K2_JSON_INVALID',
  TOPIC_NAME_INVALID: 'K2_TOPIC_NAME_INVALID',
  SCHEMA_INVALID: 'K2_SCHEMA_INVALID',
  SERDE_FAILED: 'K2_SERDE_FAILED',
  REGISTRY_UNAVAILABLE: 'K2_REGISTRY_UNAVAILABLE',
  REGISTRY_REJECTED: 'K2_REGISTRY_REJECTED',
  KAFKA_UNAVAILABLE: 'K2_KAFKA_UNAVAILABLE',
  KAFKA_PRODUCE_FAILED: 'K2_KAFKA_PRODUCE_FAILED',
  KAFKA_FATAL: 'K2_KAFKA_FATAL',
  CIRCUIT_OPEN: 'K2_CIRCUIT_OPEN',
  TIMEOUT: 'K2_TIMEOUT',
  SHUTTING_DOWN: 'K2_SHUTTING_DOWN',
  EXCHANGE_UNAVAILABLE: 'K2_EXCHANGE_UNAVAILABLE',
  EXCHANGE_REJECTED: 'K2_EXCHANGE_REJECTED',
  /** Object store / catalog unreachable (retriable). */
  STORAGE_UNAVAILABLE: 'K2_STORAGE_UNAVAILABLE',
  /** Object store / catalog refused the request (not retriable: credentials, missing bucket, bad metadata). */
  STORAGE_REJECTED: 'K2_STORAGE_REJECTED',
  /** An optimistic Iceberg commit lost its compare-and-swap: reload the table and retry. */
  ICEBERG_COMMIT_CONFLICT: 'K2_ICEBERG_COMMIT_CONFLICT',
  ICEBERG_NOT_FOUND: 'K2_ICEBERG_NOT_FOUND',
  ICEBERG_INVALID: 'K2_ICEBERG_INVALID',
  /** A query-api request parameter is missing, malformed, out of range or unknown (HTTP 400). */
  QUERY_INVALID_PARAMETER: 'K2_QUERY_INVALID_PARAMETER',
  /** No such query-api route (HTTP 404). */
  QUERY_NOT_FOUND: 'K2_QUERY_NOT_FOUND',
  /** query-api's engine queue is full; nothing was done, retry after the Retry-After header (HTTP 503). */
  QUERY_OVERLOADED: 'K2_QUERY_OVERLOADED',
  /** A query-api request would scan more rows than its route's cap; narrow the window (HTTP 422). */
  QUERY_TOO_EXPENSIVE: 'K2_QUERY_TOO_EXPENSIVE',
  /** Replay-then-follow (issue 16): the live phase outran a slow reader's bounded queue; resume with the last event id. */
  QUERY_REPLAY_OVERRUN: 'K2_QUERY_REPLAY_OVERRUN',
  INTERNAL: 'K2_INTERNAL',
  /** Time travel (issue 16): `as_of` names a snapshot id the table never had (HTTP 404). */
  QUERY_SNAPSHOT_NOT_FOUND: 'K2_QUERY_SNAPSHOT_NOT_FOUND',
  /** Time travel (issue 16): `as_of` is older than the oldest snapshot snapshot expiry retained (HTTP 410). */
  QUERY_SNAPSHOT_EXPIRED: 'K2_QUERY_SNAPSHOT_EXPIRED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface K2ErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  context?: Readonly<Record<string, unknown>>;
}

export class K2Error extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: K2ErrorOptions = {}) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }

  /** A log- and DLQ-friendly shape; the cause chain is flattened to codes and messages. */
  toJSON(): Record<string, unknown> {
    const causes: Array<{ name: string; code?: string; message: string }> = [];
    let c: unknown = this.cause;
    while (c instanceof Error && causes.length < 8) {
      causes.push({ name: c.name, code: (c as Partial<K2Error>).code, message: redactSecrets(c.message) });
      c = c.cause;
    }
    return { name: this.name, code: this.code, message: this.message, retriable: this.retriable, context: redactValue(this.context), causes };
  }
}

/** Bad input: never retriable, it goes to a dead-letter topic with this message as the reason. */
export class ValidationError extends K2Error {
  constructor(message: string, options: Omit<K2ErrorOptions, 'retriable'> & { code?: ErrorCode } = {}) {
    super(options.code ?? ErrorCode.VALIDATION_FAILED, message, { ...options, retriable: false });
  }
}

export class ConfigError extends K2Error {
  readonly problems: readonly string[];
  constructor(service: string, problems: readonly string[]) {
    super(ErrorCode.CONFIG_INVALID, `invalid configuration for ${service}: ${problems.join('; ')}`, {
      retriable: false,
      context: { service },
    });
    this.problems = Object.freeze([...problems]);
  }
}

/** A dependency (Kafka, registry, object store) is unreachable or overloaded: try again later. */
export class TransientError extends K2Error {
  constructor(code: ErrorCode, message: string, options: Omit<K2ErrorOptions, 'retriable'> = {}) {
    super(code, message, { ...options, retriable: true });
  }
}

export class FatalError extends K2Error {
  constructor(code: ErrorCode, message: string, options: Omit<K2ErrorOptions, 'retriable'> = {}) {
    super(code, message, { ...options, retriable: false });
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof K2Error && err.retriable;
}

/** Wraps anything thrown into a K2Error without losing it (it becomes the cause). */
export function toK2Error(err: unknown, fallback: ErrorCode = ErrorCode.INTERNAL): K2Error {
  if (err instanceof K2Error) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new K2Error(fallback, message, { cause: err });
}
