import { isLosslessNumber, parseLosslessJson, type LosslessJson, type LosslessObject } from '@k2/core';
import type { Connection } from './settings';

/**
 * The HTTP side of k2: query-api's routes with the key in `X-API-Key` (never in the URL, which proxies log), its
 * error bodies `{error:{code,message,parameter?}}` turned into ApiError, and JSON parsed losslessly so a number the
 * API may ever send above 2^53 is printed as sent (decimals and 64-bit ids are strings already, docs/query-api.md).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Codes of failures that happen before query-api answers (its own codes come from @k2/core ErrorCode). */
export const CLI_CODES = {
  unreachable: 'K2_CLI_UNREACHABLE',
  timeout: 'K2_CLI_TIMEOUT',
  http: 'K2_CLI_HTTP_ERROR',
  badResponse: 'K2_CLI_BAD_RESPONSE',
} as const;

export type Params = ReadonlyArray<readonly [string, string]>;

/** 429 and 503 carry Retry-After (docs/query-api.md, limits and admission); k2 waits that long, this many times. */
const RETRIES = 3;
const MAX_RETRY_WAIT_S = 10;

export class ApiClient {
  constructor(
    private readonly conn: Connection,
    private readonly timeoutMs: number | undefined,
  ) {}

  urlOf(path: string, params: Params): string {
    const q = new URLSearchParams();
    for (const [k, v] of params) q.append(k, v);
    const qs = q.toString();
    return `${this.conn.url}${path}${qs ? `?${qs}` : ''}`;
  }

  /** GET and return the response when it is a 2xx; anything else becomes an ApiError. */
  async get(path: string, params: Params, accept: string, signal?: AbortSignal): Promise<Response> {
    const url = this.urlOf(path, params);
    for (let attempt = 0; ; attempt++) {
      const res = await this.fetchOnce(url, accept, signal);
      if (res.ok) return res;
      const wait = Number(res.headers.get('retry-after'));
      if ((res.status === 429 || res.status === 503) && attempt < RETRIES && Number.isFinite(wait) && wait >= 0 && wait <= MAX_RETRY_WAIT_S) {
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, Math.max(wait, 0.2) * 1000));
        continue;
      }
      throw await errorOf(res, url, this.conn);
    }
  }

  /** A JSON answer as an object (lossless numbers). */
  async json(path: string, params: Params): Promise<LosslessObject> {
    const res = await this.get(path, params, 'application/json');
    const text = await res.text();
    let body: LosslessJson;
    try {
      body = parseLosslessJson(text);
    } catch {
      throw new ApiError(CLI_CODES.badResponse, `${this.conn.url}${path} answered something that is not JSON; is --url a query-api?`, res.status);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body) || isLosslessNumber(body)) {
      throw new ApiError(CLI_CODES.badResponse, `${this.conn.url}${path} answered JSON that is not an object`, res.status);
    }
    return body;
  }

  private async fetchOnce(url: string, accept: string, signal: AbortSignal | undefined): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'k2-cli' };
    if (this.conn.apiKey) headers['X-API-Key'] = this.conn.apiKey;
    const signals = [signal, this.timeoutMs ? AbortSignal.timeout(this.timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
    try {
      return await fetch(url, { headers, signal: signals.length ? AbortSignal.any(signals) : undefined });
    } catch (e) {
      throw networkError(e, this.conn.url, this.timeoutMs);
    }
  }
}

function networkError(e: unknown, base: string, timeoutMs: number | undefined): ApiError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return new ApiError(CLI_CODES.timeout, `no answer from ${base} within ${(timeoutMs ?? 0) / 1000} s (--timeout)`);
  if (err?.name === 'AbortError') return new ApiError(CLI_CODES.timeout, 'stopped');
  const why = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
  return new ApiError(CLI_CODES.unreachable, `cannot reach ${base}: ${why}; is query-api running (npm start), and is --url / K2_API_URL right?`);
}

/** The API's JSON error, or for anything else (a proxy's HTML page) the status and the start of the body. */
export async function errorOf(res: Response, url: string, conn: Pick<Connection, 'keySource'>): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let code: string = CLI_CODES.http;
  let message = `HTTP ${res.status} from ${url.split('?')[0]}${text.trim() ? `: ${oneLine(text).slice(0, 300)}` : ''}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string' && typeof body.error.message === 'string') {
      code = body.error.code;
      message = oneLine(body.error.message);
    }
  } catch {
    // not JSON: keep the generic message
  }
  if (res.status === 401 && conn.keySource === 'none') message += ' (no API key: pass --api-key, set K2_API_KEY, or run npm start once for the demo key)';
  if (res.status === 403 && conn.keySource === 'demo-file') message += ' (the demo key from .data/secrets/ was used)';
  return new ApiError(code, message, res.status);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
