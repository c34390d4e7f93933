/**
 * Reconnect delays: exponential with "full jitter" around the nominal delay, so that many streamers dropped by the
 * same exchange incident do not reconnect in lockstep (Binance allows 300 connection attempts per 5 min per IP,
 * https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#websocket-limits).
 */
export interface BackoffOptions {
  /** First delay, ms. Default 5000. */
  initialMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /** Upper bound, ms. Default 60000. */
  maxMs?: number;
  /** Fraction of the nominal delay that is randomised: delay ∈ [nominal·(1−jitter), nominal]. Default 0.3. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly factor: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? 5000;
    this.factor = o.factor ?? 2;
    this.maxMs = o.maxMs ?? 60000;
    this.jitter = o.jitter ?? 0.3;
    this.random = o.random ?? Math.random;
    if (!(this.initialMs >= 0 && this.maxMs >= this.initialMs && this.factor >= 1 && this.jitter >= 0 && this.jitter <= 1)) {
      throw new RangeError(`invalid backoff: initial ${this.initialMs} max ${this.maxMs} factor ${this.factor} jitter ${this.jitter}`);
    }
  }

  /** Consecutive failures so far. */
  get attempts(): number {
    return this.failures;
  }

  /** The nominal (un-jittered) delay of the next attempt. */
  nominal(): number {
    return Math.min(this.maxMs, this.initialMs * Math.pow(this.factor, this.failures));
  }

  /** Delay before the next attempt; counts one more failure. */
  next(): number {
    const nominal = this.nominal();
    this.failures++;
    return Math.round(nominal * (1 - this.jitter * this.random()));
  }

  reset(): void {
    this.failures = 0;
  }
}
