import { ErrorCode, isRetriable, K2Error, type Logger } from '@k2/core';
import { CircuitBreaker } from '@k2/resilience';
import type { QueryMetrics } from './metrics';

export type Job<T> = (signal: AbortSignal) => Promise<T>;

/**
 * A request ran out of its own time budget. Deliberately not retriable: the storage breaker counts retriable
 * errors only, and a deadline says nothing about storage (the request may have queued behind others, or asked
 * for a lot). The request still answers from the tail, flagged `storage`.
 */
export class DeadlineExceededError extends K2Error {
  constructor(what: string, ms: number, cause?: unknown) {
    super(ErrorCode.TIMEOUT, `${what} did not finish within its deadline (${ms} ms)`, { retriable: false, cause });
  }
}

export interface StorageGateOptions {
  metrics: QueryMetrics;
  logger: Logger;
  /** Storage breaker: open after this many failures in its window, retried after resetMs. */
  breaker?: { volumeThreshold?: number; resetMs?: number };
}

/**
 * Where query-api's table reads meet storage health. User requests run under the storage breaker and their
 * deadline; only real storage errors (retriable: unreachable object store or catalog, unreadable files) count
 * against the breaker. The table refresh runs beside it with its own deadline: it is never refused by a breaker
 * that user traffic opened, never queued behind user reads (it needs no DuckDB connection), and its failures are
 * storage failures, timeouts included (it is small and waits for nothing else).
 */
export class StorageGate {
  private readonly breaker: CircuitBreaker<[Job<unknown>, AbortSignal], unknown>;
  /**
   * Storage is degraded while either path fails; each path clears only its own flag. A request served from the
   * local file cache succeeds while the object store is stopped, so it must not clear a failing refresh: it did,
   * and with steady traffic k2_degradation_level{component="storage"} flapped 2/0 and K2QueryStorageDegraded never
   * fired when the object store stopped (issue 18).
   */
  private readsFailing = false;
  /** Per table: one table's refresh succeeding (or finding no table yet) says nothing about another's. */
  private readonly refreshFailing = new Set<string>();

  constructor(private readonly o: StorageGateOptions) {
    this.breaker = new CircuitBreaker(
      async (job: Job<unknown>, signal: AbortSignal) => {
        try {
          return await job(signal);
        } catch (e) {
          // Whatever the job failed with after its deadline fired (DuckDB's interrupt, an aborted wait) is the deadline.
          throw signal.aborted ? signal.reason : e;
        }
      },
      {
        name: 'storage',
        timeout: false,
        volumeThreshold: o.breaker?.volumeThreshold ?? 3,
        errorThresholdPercentage: 50,
        resetTimeout: o.breaker?.resetMs ?? 10_000,
      },
    );
    this.breaker.on('state', (s) => {
      if (s === 'open') this.mark('reads', true);
      o.logger[s === 'closed' ? 'info' : 'warn']('storage breaker', { state: s });
    });
    this.breaker.on('failure', (e) => o.metrics.storageFailures.inc({ code: (e as { code?: string }).code ?? 'unknown' }));
  }

  get breakerState(): string {
    return this.breaker.state;
  }

  /**
   * Runs a request's table part under the breaker with the time left until `deadlineAt`. A retriable failure marks
   * the reads degraded (k2_degradation_level{component="storage"}), a success clears that, not a failing refresh.
   */
  request<T>(job: Job<T>, deadlineAt: number): Promise<T> {
    const budget = deadlineAt - Date.now();
    if (budget <= 0) return Promise.reject(new DeadlineExceededError('request', 0));
    return withDeadline('table read', budget, (signal) => this.breaker.fire(job as Job<unknown>, signal) as Promise<T>).then(
      (v) => {
        this.mark('reads', false);
        return v;
      },
      (e: unknown) => {
        if (isRetriable(e)) this.mark('reads', true);
        throw e;
      },
    );
  }

  /**
   * The table refresh: its own budget, outside the breaker; every failure, its deadline included, is a storage
   * failure and keeps storage degraded until a refresh of the same `table` succeeds.
   */
  async refresh<T>(job: Job<T>, budgetMs: number, table = 'table'): Promise<T> {
    let result: T;
    try {
      result = await withDeadline('table refresh', budgetMs, job);
    } catch (e) {
      if (isRetriable(e) || e instanceof DeadlineExceededError) {
        this.o.metrics.storageFailures.inc({ code: (e as { code?: string }).code ?? 'unknown' });
        this.mark(`refresh:${table}`, true);
      }
      throw e;
    }
    this.mark(`refresh:${table}`, false);
    return result;
  }

  /** `reads` for request reads, `refresh:<table>` for a table's refresh. */
  private mark(path: string, failing: boolean): void {
    if (path === 'reads') this.readsFailing = failing;
    else if (failing) this.refreshFailing.add(path);
    else this.refreshFailing.delete(path);
    this.o.metrics.setStorageHealthy(!this.readsFailing && this.refreshFailing.size === 0);
  }

  close(): void {
    this.breaker.shutdown();
  }
}

/** Rejects with DeadlineExceededError after `ms` and aborts the job's signal (DuckDB interrupts its query, waits end). */
export async function withDeadline<T>(what: string, ms: number, job: Job<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new DeadlineExceededError(what, ms);
      ac.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([job(ac.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
