import { Backoff } from '@k2/resilience';
import type { TopicPartition } from '@k2/kafka';

export interface CommitLimits {
  intervalMs: number;
  maxRows: number;
  maxBytes: number;
}

/** What the scheduler needs of the consumer: pausing and resuming fetches. */
export interface Pausable {
  assignments(): TopicPartition[];
  pause(tps: TopicPartition[]): void;
  resume(tps: TopicPartition[]): void;
}

/** Why consumption is paused: commits failing (storage/catalog down) or the buffer share of the budget full. */
export type PauseReason = 'commit-failing' | 'buffer-full';

/**
 * When to commit, and when to stop fetching. A commit failure pauses consumption (the buffer is kept; nothing is
 * acknowledged before it is durable) and the next attempt waits out a backoff of 1 s doubling to 30 s, no jitter
 * (one writer per partition set: nothing to de-synchronise); a success resumes. A full buffer (memory budget)
 * pauses too, until the in-flight commit has made room.
 */
export class CommitScheduler {
  private failing = false;
  private retryAt = 0;
  private readonly backoff: Backoff;
  private pausedTps: TopicPartition[] = [];
  private readonly reasons = new Set<PauseReason>();

  constructor(
    readonly limits: CommitLimits,
    opts: { retryInitialMs?: number; retryMaxMs?: number },
    private readonly onPausedChange: (reasons: ReadonlySet<PauseReason>) => void,
  ) {
    const initialMs = opts.retryInitialMs ?? 1000;
    this.backoff = new Backoff({ initialMs, factor: 2, maxMs: Math.max(initialMs, opts.retryMaxMs ?? 30_000), jitter: 0 });
  }

  get failingNow(): boolean {
    return this.failing;
  }

  isPaused(reason: PauseReason): boolean {
    return this.reasons.has(reason);
  }

  /** Milliseconds until the next attempt (for the log line of a failure). */
  get retryInMs(): number {
    return this.backoff.nominal();
  }

  /** May a flush be attempted now (false while backing off after a failure)? */
  mayAttempt(now: number): boolean {
    return !this.failing || now >= this.retryAt;
  }

  /**
   * Is a table with this much buffered work due (while failing: any work is retried)? With a backlog (the consumer
   * keeps returning full fetches) a fifth of the row limit is enough: the sink only asks when no commit of the table
   * is in flight, so commits then run back to back instead of the writer idling until the interval is up.
   */
  due(now: number, work: { hasWork: boolean; rows: number; bytes: number; firstAt: number | undefined }, backlog = false): boolean {
    if (!work.hasWork) return false;
    if (this.failing) return true;
    const l = this.limits;
    if (backlog && work.rows >= l.maxRows / 5) return true;
    return work.rows >= l.maxRows || work.bytes >= l.maxBytes || now - (work.firstAt ?? now) >= l.intervalMs;
  }

  failed(consumer: Pausable | undefined): void {
    if (!this.failing) {
      this.failing = true;
      this.pause('commit-failing', consumer);
    }
    // Not a blocking retry(): the loop keeps polling the (paused) consumer meanwhile, or the group would evict us.
    this.retryAt = Date.now() + this.backoff.next();
  }

  /** Back to normal: resume what the failure paused. Returns false when nothing was failing. */
  recovered(consumer: Pausable | undefined): boolean {
    if (!this.failing) return false;
    this.failing = false;
    this.backoff.reset();
    this.resume('commit-failing', consumer);
    return true;
  }

  /** Stop fetching (every assigned partition, also ones assigned since an earlier pause). */
  pause(reason: PauseReason, consumer: Pausable | undefined): void {
    const added = !this.reasons.has(reason);
    this.reasons.add(reason);
    const tps = consumer?.assignments() ?? [];
    const known = new Set(this.pausedTps.map((tp) => `${tp.topic}/${tp.partition}`));
    const more = tps.filter((tp) => !known.has(`${tp.topic}/${tp.partition}`));
    if (more.length) {
      consumer?.pause(more);
      this.pausedTps.push(...more);
    }
    if (added) this.onPausedChange(this.reasons);
  }

  resume(reason: PauseReason, consumer: Pausable | undefined): void {
    if (!this.reasons.delete(reason)) return;
    if (this.reasons.size === 0) {
      consumer?.resume(this.pausedTps);
      this.pausedTps = [];
    }
    this.onPausedChange(this.reasons);
  }

  /** The consumer is gone (replaced): nothing paused any more. */
  reset(): void {
    this.failing = false;
    this.pausedTps = [];
    this.reasons.clear();
    this.onPausedChange(this.reasons);
  }

  /** Keep only the paused partitions we still own. */
  retain(owned: (tp: TopicPartition) => boolean): void {
    this.pausedTps = this.pausedTps.filter(owned);
  }
}
