import { EventEmitter } from 'node:events';
import Opossum from 'opossum';
import { ErrorCode, isRetriable, K2Error, TransientError } from '@k2/core';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Shows up in errors, logs and metrics labels, e.g. "kafka-producer". */
  name: string;
  /** Per-call timeout in ms, or false for none. A timed-out call fails with a retriable K2_TIMEOUT. Default 10000. */
  timeout?: number | false;
  /** Failure percentage within the rolling window above which the breaker opens. Default 50. */
  errorThresholdPercentage?: number;
  /** Minimum calls within the rolling window before the breaker may open, so one failure in a quiet period cannot. Default 5. */
  volumeThreshold?: number;
  /** How long the breaker stays open before letting one trial call through (half-open), in ms. Default 30000. */
  resetTimeout?: number;
  /** Length of the rolling statistics window in ms. Default 10000. */
  rollingCountTimeout?: number;
  /** Buckets the rolling window is divided into; must divide rollingCountTimeout evenly. Default 10. */
  rollingCountBuckets?: number;
}

export interface CircuitBreakerStats {
  fires: number;
  successes: number;
  failures: number;
  rejects: number;
}

export interface CircuitBreakerEvents {
  /** Every transition, with the state it came from. */
  state: [state: BreakerState, previous: BreakerState];
  /** A retriable error that counted against the breaker. */
  failure: [error: unknown];
  /** A call failed fast because the breaker was open. */
  reject: [error: CircuitOpenError];
}

/** Thrown instead of calling the action while the breaker is open; `cause` is the failure that opened it. */
export class CircuitOpenError extends TransientError {
  readonly breaker: string;
  constructor(breaker: string, cause: unknown) {
    super(ErrorCode.CIRCUIT_OPEN, `circuit breaker ${breaker} is open`, { cause, context: { breaker } });
    this.breaker = breaker;
  }
}

/**
 * A circuit breaker around one dependency (Kafka producer, schema registry, object store), built on opossum
 * (https://nodeshift.dev/opossum/). Whether an error counts as a failure is decided by the shared error
 * hierarchy's `retriable` flag alone: a retriable error means the dependency is in trouble and counts;
 * anything else (bad input, a foreign error that was never classified) is passed through to the caller without
 * tripping the breaker, through opossum's `errorFilter`. Actions should therefore throw K2 errors
 * (`TransientError` for an unreachable dependency); an unwrapped `Error` never opens the breaker.
 * A non-retriable error during the half-open trial closes the breaker again: the dependency did answer.
 *
 * Timeouts are enforced here rather than by opossum because opossum's own timeout error is a plain Error that
 * the retriable-only filter would ignore. The timed-out action is not cancelled; it keeps running unobserved.
 */
export class CircuitBreaker<A extends unknown[], R> extends EventEmitter<CircuitBreakerEvents> {
  readonly name: string;
  private readonly breaker: Opossum<A, R>;
  private readonly fastFails = new WeakSet<object>();
  private current: BreakerState = 'closed';
  private lastFailureError: unknown;

  constructor(action: (...args: A) => Promise<R>, opts: CircuitBreakerOptions) {
    super();
    this.name = opts.name;
    const timeout = opts.timeout ?? 10_000;
    const run = timeout === false ? action : withTimeout(action, timeout, opts.name);
    this.breaker = new Opossum<A, R>(run, {
      name: opts.name,
      timeout: false,
      errorThresholdPercentage: opts.errorThresholdPercentage ?? 50,
      volumeThreshold: opts.volumeThreshold ?? 5,
      resetTimeout: opts.resetTimeout ?? 30_000,
      rollingCountTimeout: opts.rollingCountTimeout ?? 10_000,
      rollingCountBuckets: opts.rollingCountBuckets ?? 10,
      // true = "do not count this error"; opossum then treats the call as a success for its statistics.
      errorFilter: (err: unknown) => !isRetriable(err),
    });
    this.breaker.on('open', () => this.transition('open'));
    this.breaker.on('halfOpen', () => this.transition('half-open'));
    this.breaker.on('close', () => this.transition('closed'));
    this.breaker.on('failure', (err) => {
      this.lastFailureError = err;
      this.emit('failure', err);
    });
    // opossum emits 'reject' synchronously with the exact error object it then rejects with, which tells a
    // fast-fail apart from an action that happens to throw an error with the same code.
    this.breaker.on('reject', (err) => this.fastFails.add(err));
  }

  get state(): BreakerState {
    return this.current;
  }

  /** The most recent error that counted against the breaker, if any. */
  get lastFailure(): unknown {
    return this.lastFailureError;
  }

  get stats(): CircuitBreakerStats {
    const s = this.breaker.stats;
    return { fires: s.fires, successes: s.successes, failures: s.failures, rejects: s.rejects };
  }

  async fire(...args: A): Promise<R> {
    try {
      return await this.breaker.fire(...args);
    } catch (err) {
      if (err instanceof Error && this.fastFails.has(err)) {
        const open = new CircuitOpenError(this.name, this.lastFailureError ?? err);
        this.emit('reject', open);
        throw open;
      }
      if (this.breaker.isShutdown && !(err instanceof K2Error)) {
        throw new K2Error(ErrorCode.SHUTTING_DOWN, `circuit breaker ${this.name} is shut down`, { cause: err, retriable: true });
      }
      throw err;
    }
  }

  /** Stops the rolling-window timers; later calls fail with K2_SHUTTING_DOWN. */
  shutdown(): void {
    this.breaker.shutdown();
  }

  private transition(next: BreakerState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    this.emit('state', next, previous);
  }
}

export function createCircuitBreaker<A extends unknown[], R>(
  action: (...args: A) => Promise<R>,
  opts: CircuitBreakerOptions,
): CircuitBreaker<A, R> {
  return new CircuitBreaker(action, opts);
}

function withTimeout<A extends unknown[], R>(action: (...args: A) => Promise<R>, ms: number, name: string) {
  return (...args: A): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TransientError(ErrorCode.TIMEOUT, `${name} timed out after ${ms}ms`, { context: { breaker: name, timeoutMs: ms } })),
        ms,
      );
      Promise.resolve()
        .then(() => action(...args))
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
}
