import type { ApiKeyEntry } from './api-keys';

export interface RateDecision {
  readonly allowed: boolean;
  /** RateLimit-Limit: the bucket size (requests that may be sent at once). */
  readonly limit: number;
  /** RateLimit-Remaining: whole tokens left after this request. */
  readonly remaining: number;
  /** RateLimit-Reset: seconds until the bucket is full again. */
  readonly resetS: number;
  /** Retry-After on a refusal: seconds until one token is back. */
  readonly retryAfterS: number;
}

/** A token bucket: `burst` tokens, refilled continuously at `ratePerS`; a request takes one. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private ratePerS: number,
    private burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.at = nowMs;
  }

  /** New limits after a key file reload; tokens already earned are kept up to the new bucket size. */
  resize(ratePerS: number, burst: number, nowMs: number): void {
    this.refill(nowMs);
    this.ratePerS = ratePerS;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  take(nowMs: number): RateDecision {
    this.refill(nowMs);
    const allowed = this.tokens >= 1;
    if (allowed) this.tokens -= 1;
    const remaining = Math.floor(this.tokens);
    return {
      allowed,
      limit: this.burst,
      remaining,
      resetS: Math.ceil((this.burst - this.tokens) / this.ratePerS),
      retryAfterS: allowed ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerS)),
    };
  }

  private refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.at) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerS);
    this.at = nowMs;
  }
}

interface KeyState {
  bucket: TokenBucket;
  queries: number;
  streams: number;
}

export type SlotKind = 'query' | 'stream';

/**
 * Per-key limits of one replica (in memory; N replicas allow N times the rate of a key, docs/query-api.md):
 * the token bucket, queries in flight and open streams. State is keyed by key id, so a reload that changes a
 * key's limits keeps its counters.
 */
export class KeyLimits {
  private readonly state = new Map<string, KeyState>();

  constructor(private readonly now: () => number = Date.now) {}

  take(entry: ApiKeyEntry): RateDecision {
    return this.of(entry).bucket.take(this.now());
  }

  /** A slot for a query or a stream; undefined when the key is at its limit. The release is idempotent. */
  acquire(entry: ApiKeyEntry, kind: SlotKind): (() => void) | undefined {
    const s = this.of(entry);
    const field = kind === 'query' ? 'queries' : 'streams';
    const max = kind === 'query' ? entry.max_concurrency : entry.max_streams;
    if (s[field] >= max) return undefined;
    s[field]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      s[field]--;
    };
  }

  inUse(id: string): { queries: number; streams: number } {
    const s = this.state.get(id);
    return { queries: s?.queries ?? 0, streams: s?.streams ?? 0 };
  }

  /** Applies reloaded limits and forgets keys that are gone and idle. */
  sync(entries: readonly ApiKeyEntry[]): void {
    const byId = new Map(entries.map((e) => [e.id, e]));
    for (const [id, s] of this.state) {
      const e = byId.get(id);
      if (e) s.bucket.resize(e.rate_per_s, e.burst, this.now());
      else if (s.queries === 0 && s.streams === 0) this.state.delete(id);
    }
  }

  private of(entry: ApiKeyEntry): KeyState {
    let s = this.state.get(entry.id);
    if (!s) this.state.set(entry.id, (s = { bucket: new TokenBucket(entry.rate_per_s, entry.burst, this.now()), queries: 0, streams: 0 }));
    return s;
  }
}
