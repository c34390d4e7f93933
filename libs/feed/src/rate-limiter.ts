/**
 * Spaces outgoing control messages so that at most `max` go out per `perMs` window. Binance disconnects a client
 * that sends more than 5 messages per second (pings, pongs and JSON control messages all count).
 */
export class SendRateLimiter {
  private readonly sentAt: number[] = [];
  private readonly queue: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly perMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    if (!(max >= 1)) throw new RangeError(`rate limit must allow at least one message per window, got ${max}`);
  }

  /** Runs `send` now if the window allows it, else as soon as it does; calls keep their order. */
  submit(send: () => void): void {
    this.queue.push(send);
    this.drain();
  }

  get pending(): number {
    return this.queue.length;
  }

  clear(): void {
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drain(): void {
    if (this.timer) return;
    while (this.queue.length > 0) {
      const t = this.now();
      while (this.sentAt.length > 0 && t - (this.sentAt[0] as number) >= this.perMs) this.sentAt.shift();
      if (this.sentAt.length >= this.max) {
        const wait = this.perMs - (t - (this.sentAt[0] as number)) + 1;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, wait);
        this.timer.unref?.();
        return;
      }
      this.sentAt.push(t);
      (this.queue.shift() as () => void)();
    }
  }
}
