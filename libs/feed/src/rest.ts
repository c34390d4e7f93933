import { ErrorCode, FatalError, redactSecrets, TransientError } from '@k2/core';

export interface RestClientOptions {
  /** Minimum spacing between requests, to stay inside the exchange's REST weight limits. */
  minIntervalMs: number;
  timeoutMs?: number;
  headers?: Record<string, string>;
  exchange: string;
}

/**
 * The backfill HTTP client: spaced requests, a deadline per request, and errors classified once — throttling
 * (429/418), server errors and network failures are retriable; other 4xx mean the request itself is wrong.
 */
export class RestClient {
  private nextAt = 0;

  constructor(private readonly o: RestClientOptions) {}

  async get(url: string): Promise<string> {
    const wait = this.nextAt - Date.now();
    this.nextAt = Math.max(Date.now(), this.nextAt) + this.o.minIntervalMs;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let res: Response;
    try {
      res = await fetch(url, { headers: this.o.headers, signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) });
    } catch (err) {
      throw new TransientError(ErrorCode.EXCHANGE_UNAVAILABLE, `${this.o.exchange} REST ${redact(url)}: ${(err as Error).message}`, { cause: err });
    }
    const body = await res.text();
    if (res.ok) return body;
    const detail = `${this.o.exchange} REST ${redact(url)} answered ${res.status}: ${body.slice(0, 200)}`;
    if (res.status === 429 || res.status === 418 || res.status >= 500) {
      const retryAfter = Number(res.headers.get('retry-after'));
      if (retryAfter > 0) this.nextAt = Date.now() + retryAfter * 1000;
      throw new TransientError(ErrorCode.EXCHANGE_UNAVAILABLE, detail, { context: { status: res.status } });
    }
    throw new FatalError(ErrorCode.EXCHANGE_REJECTED, detail, { context: { status: res.status } });
  }
}

function redact(url: string): string {
  return redactSecrets(url);
}
