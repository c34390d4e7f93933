import { isRetriable } from '@k2/core';
import { Backoff, type BackoffOptions } from './backoff';

/**
 * The one retry loop of K2 (issue 18: six hand-written loops, four private `sleep` helpers). Modelled on KafkaJS's
 * retrier (https://kafka.js.org/docs/retry-detailed): exponential backoff with jitter, a bail-out for errors that
 * retrying cannot fix, and the decision taken from the error's `retriable` flag (@k2/core), never from its text.
 * K2 adds what its loops need: an overall deadline, and an abort signal so that "retry until stopped" loops (the
 * writer's consumer and table-offset reads, the streamers' journal replay) are an unbounded policy that `stop()` ends.
 */
export interface RetryPolicy extends BackoffOptions {
  /** Attempts in all, the first included. `Infinity`: until it succeeds, bails, is aborted or passes the deadline. */
  maxAttempts?: number;
  /** Total time budget in ms from the first attempt: no retry is started whose delay would end past it. */
  deadlineMs?: number;
  /** Ends the loop: a pending delay is cut short and no further attempt is made. */
  signal?: AbortSignal;
  /** Which failures are worth another attempt. Default: the error's `retriable` flag (`isRetriable`). */
  retriable?: (err: unknown, attempt: number) => boolean;
  /**
   * A delay this failure dictates instead of the backoff's (e.g. "the breaker is open: look again in 250 ms");
   * undefined keeps the backoff's. It does not advance the backoff.
   */
  delayFor?: (err: unknown, attempt: number) => number | undefined;
  /** Called before each delay (logging, counting). */
  onRetry?: (info: RetryInfo) => void;
  /** Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

export interface RetryInfo {
  readonly error: unknown;
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  readonly delayMs: number;
}

export interface RetryContext {
  /** 1-based. */
  readonly attempt: number;
  readonly signal?: AbortSignal;
  /** Stop retrying now and reject with `err` (KafkaJS's `bail`). */
  bail(err: unknown): never;
}

/**
 * The defaults, in one place (KafkaJS's: 300 ms initial, ×2, 30 s cap, 20 % jitter, 5 retries). Jitter follows
 * `Backoff`: a delay lies in [nominal·(1−jitter), nominal].
 */
export const DEFAULT_RETRY_POLICY = Object.freeze({
  maxAttempts: 6,
  initialMs: 300,
  factor: 2,
  maxMs: 30_000,
  jitter: 0.2,
}) satisfies RetryPolicy;

/** An unbounded policy: retries until the signal aborts (the "until stopped" loops). */
export function untilAborted(signal: AbortSignal, policy: Omit<RetryPolicy, 'signal' | 'maxAttempts'> = {}): RetryPolicy {
  return { ...policy, signal, maxAttempts: Infinity };
}

class Bail {
  constructor(readonly error: unknown) {}
}

/**
 * Runs `fn` until it resolves. A failure is retried while the policy allows: it is retriable, attempts remain, the
 * deadline is not passed, the signal is not aborted. Otherwise the promise rejects with the last failure (with the
 * signal's reason when it was aborted before any attempt).
 */
export async function retry<T>(fn: (ctx: RetryContext) => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const p = { ...DEFAULT_RETRY_POLICY, ...policy };
  const backoff = new Backoff({ initialMs: p.initialMs, factor: p.factor, maxMs: p.maxMs, jitter: p.jitter, random: p.random });
  const now = p.now ?? Date.now;
  const pause = p.sleep ?? sleep;
  const retriable = p.retriable ?? ((err: unknown) => isRetriable(err));
  const started = now();
  if (!(p.maxAttempts >= 1)) throw new RangeError(`invalid retry policy: maxAttempts ${p.maxAttempts}`);
  const bail = (err: unknown): never => {
    throw new Bail(err);
  };
  for (let attempt = 1; ; attempt++) {
    if (p.signal?.aborted) throw p.signal.reason;
    try {
      return await fn({ attempt, signal: p.signal, bail });
    } catch (e) {
      if (e instanceof Bail) throw e.error;
      if (p.signal?.aborted || attempt >= p.maxAttempts || !retriable(e, attempt)) throw e;
      const dictated = p.delayFor?.(e, attempt);
      const delayMs = dictated ?? backoff.next();
      if (p.deadlineMs !== undefined && now() + delayMs - started > p.deadlineMs) throw e;
      p.onRetry?.({ error: e, attempt, delayMs });
      await pause(delayMs, p.signal);
      if (p.signal?.aborted) throw e;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects): the shared delay of every K2 loop. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
