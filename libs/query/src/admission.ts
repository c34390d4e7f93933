import { ErrorCode, K2Error } from '@k2/core';

/**
 * A request refused before any work was done, with its HTTP status. Not retriable in the K2 sense: it says
 * nothing about storage, so the storage breaker never counts it (the client may retry, see Retry-After).
 */
export class QueryRejectedError extends K2Error {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    readonly parameter?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message, { retriable: false, context: parameter ? { parameter } : {} });
  }
}

/** 503 + Retry-After: every engine slot is busy and the wait queue of the request's cost class is full. */
export class QueryOverloadedError extends QueryRejectedError {
  constructor(cls: CostClass, retryAfterSeconds: number) {
    super(ErrorCode.QUERY_OVERLOADED, `the query engine is busy (${cls} queue full); retry after ${retryAfterSeconds} s`, 503, undefined, retryAfterSeconds);
  }
}

/** 422: the request would scan more rows than its route allows; `parameter` names what to narrow. */
export class QueryTooExpensiveError extends QueryRejectedError {
  constructor(parameter: string, message: string) {
    super(ErrorCode.QUERY_TOO_EXPENSIVE, message, 422, parameter);
  }
}

/** Light requests (a planned scan below the heavy threshold) may use every slot; heavy ones only some. */
export type CostClass = 'light' | 'heavy';

export interface AdmissionOptions {
  /** Requests whose table part may run at once: the DuckDB connections (an admitted request runs one statement at a time). */
  slots: number;
  /** Light requests that may wait for a slot; one more is refused with 503. */
  queue: number;
  /** Slots heavy requests may hold at once (< slots, so light requests always find one free soon). */
  heavySlots: number;
  /** Heavy requests that may wait. */
  heavyQueue: number;
  /** Sent as Retry-After on a 503. */
  retryAfterSeconds: number;
}

interface Waiter {
  cls: CostClass;
  grant: () => void;
}

/**
 * Admission control in front of the DuckDB engine, decided before a request downloads or scans anything. Without
 * it a few clients asking for month-long raw windows hold every connection, the queue behind them grows without
 * bound and well-behaved requests wait past their deadline. Here the queue is bounded (503 + Retry-After when
 * full), heavy requests get at most `heavySlots` and their own small queue, and a freed slot goes to a waiting
 * light request first.
 */
export class Admission {
  private running = 0;
  private runningHeavy = 0;
  private readonly waiting: Record<CostClass, Waiter[]> = { light: [], heavy: [] };

  constructor(private readonly o: AdmissionOptions) {
    if (o.slots < 1 || o.heavySlots < 1 || o.heavySlots > o.slots) throw new RangeError('admission: need 1 <= heavySlots <= slots');
  }

  get stats(): { running: number; runningHeavy: number; waitingLight: number; waitingHeavy: number } {
    return { running: this.running, runningHeavy: this.runningHeavy, waitingLight: this.waiting.light.length, waitingHeavy: this.waiting.heavy.length };
  }

  /**
   * Resolves with a release function once the request holds a slot; rejects at once with QueryOverloadedError
   * when it would have to wait and its class's queue is full, or with `signal.reason` when it is aborted while
   * waiting. The release is idempotent.
   */
  enter(cls: CostClass, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.canRun(cls) && this.waiting.light.length === 0) return Promise.resolve(this.take(cls));
    const queue = this.waiting[cls];
    if (queue.length >= (cls === 'heavy' ? this.o.heavyQueue : this.o.queue)) return Promise.reject(new QueryOverloadedError(cls, this.o.retryAfterSeconds));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        cls,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.take(cls));
        },
      };
      const onAbort = () => {
        const i = queue.indexOf(w);
        if (i >= 0) queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      queue.push(w);
    });
  }

  private canRun(cls: CostClass): boolean {
    return this.running < this.o.slots && (cls === 'light' || this.runningHeavy < this.o.heavySlots);
  }

  private take(cls: CostClass): () => void {
    this.running++;
    if (cls === 'heavy') this.runningHeavy++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running--;
      if (cls === 'heavy') this.runningHeavy--;
      this.dispatch();
    };
  }

  private dispatch(): void {
    while (this.running < this.o.slots) {
      const next = this.waiting.light.length > 0 ? this.waiting.light.shift() : this.canRun('heavy') ? this.waiting.heavy.shift() : undefined;
      if (!next) return;
      next.grant();
    }
  }
}
