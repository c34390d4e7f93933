import type { Express, NextFunction, Request, Response } from 'express';
import type { Counter, Gauge, Registry } from 'prom-client';
import { registryCounter, registryGauge } from '@k2/runtime';
import { ROUTE_PATHS } from '../openapi';
import type { RouteName } from '../params';
import type { ApiKeyEntry, KeyRing } from './api-keys';
import { KeyLimits, type RateDecision } from './limits';

export type AuthMode = 'keys' | 'none';

export type AuthOutcome = 'ok' | 'missing' | 'invalid' | 'revoked' | 'forbidden' | 'rate_limited' | 'concurrency_limited' | 'stream_limited' | 'anonymous';

export const AUTH_ERROR = {
  missing: 'K2_AUTH_MISSING_KEY',
  invalid: 'K2_AUTH_INVALID_KEY',
  forbidden: 'K2_AUTH_FORBIDDEN',
  rateLimited: 'K2_RATE_LIMITED',
  concurrency: 'K2_CONCURRENCY_LIMITED',
  streams: 'K2_STREAM_LIMITED',
} as const;

/** Distinct key names kept as label values; more (a huge keys file) are counted as `other`. */
const MAX_KEY_LABELS = 200;

/** Access metrics by key NAME (never the key or its hash), with bounded cardinality. */
export class AccessMetrics {
  readonly requests: Counter<'key' | 'outcome'>;
  readonly keys: Gauge<'state'>;
  readonly inUse: Gauge<'key' | 'kind'>;
  private readonly names = new Set<string>();

  constructor(registry: Registry) {
    this.requests = registryCounter(registry, 'k2_query_auth_requests_total', 'API requests by key name and access outcome (ok, missing, invalid, revoked, forbidden, rate_limited, concurrency_limited, stream_limited, anonymous)', ['key', 'outcome']);
    this.keys = registryGauge(registry, 'k2_query_api_keys', 'Configured API keys by state (active|revoked)', ['state']);
    this.inUse = registryGauge(registry, 'k2_query_key_in_use', 'Queries in flight and open streams per key name', ['key', 'kind']);
  }

  label(name: string): string {
    if (this.names.has(name)) return name;
    if (this.names.size >= MAX_KEY_LABELS) return 'other';
    this.names.add(name);
    return name;
  }

  count(key: string, outcome: AuthOutcome): void {
    this.requests.inc({ key: key === '-' ? key : this.label(key), outcome });
  }

  observeRing(ring: KeyRing): void {
    this.keys.set({ state: 'active' }, ring.active);
    this.keys.set({ state: 'revoked' }, ring.entries.length - ring.active);
  }
}

export interface AccessControlOptions {
  mode: AuthMode;
  /** The current ring (it changes on reload); required for mode `keys`. */
  ring: () => KeyRing;
  limits: KeyLimits;
  metrics: AccessMetrics;
  realm?: string;
}

/** The presented key: `X-API-Key` (the original K2 API's header) or `Authorization: Bearer`. */
export function presentedKey(req: Request): string | undefined {
  const header = req.get('x-api-key');
  if (header) return header.trim();
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  return m?.[1];
}

/** Express matches paths case-insensitively and with an optional trailing slash; so must the limits and scopes. */
function routeOfPath(path: string): RouteName | undefined {
  const normal = path.toLowerCase().replace(/\/+$/, '');
  for (const [name, p] of Object.entries(ROUTE_PATHS)) if (p === normal) return name as RouteName;
  return undefined;
}

function fail(res: Response, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.status(status).set(headers).json({ error: { code, message } });
}

function setRateHeaders(res: Response, d: RateDecision): void {
  // IETF draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers), delta seconds.
  res.set({ 'RateLimit-Limit': String(d.limit), 'RateLimit-Remaining': String(d.remaining), 'RateLimit-Reset': String(d.resetS) });
}

/**
 * Access control in front of every `/v1` route: 401 without a key, 403 for an unknown or revoked key or a route
 * the key may not call (with `WWW-Authenticate`), 429 when its token bucket is empty (`Retry-After`), when it has
 * `max_concurrency` queries in flight, or `max_streams` streams open. The page, its asset and /openapi.json carry
 * no data and stay public. With mode `none` every request passes as `anonymous`, without limits.
 */
export function mountAccessControl(app: Express, o: AccessControlOptions): void {
  const realm = o.realm ?? 'k2';
  const challenge = (error?: string) => `Bearer realm="${realm}"${error ? `, error="${error}"` : ''}`;
  app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
    if (o.mode === 'none') {
      o.metrics.count('anonymous', 'anonymous');
      return next();
    }
    const key = presentedKey(req);
    if (!key) {
      o.metrics.count('-', 'missing');
      return fail(res, 401, AUTH_ERROR.missing, 'an API key is required: send it as X-API-Key or Authorization: Bearer', { 'WWW-Authenticate': challenge() });
    }
    const verdict = o.ring().verify(key);
    if (verdict.kind !== 'ok') {
      o.metrics.count(verdict.kind === 'revoked' ? verdict.entry.name : '-', verdict.kind === 'revoked' ? 'revoked' : 'invalid');
      return fail(res, 403, AUTH_ERROR.invalid, 'the API key is unknown or revoked', { 'WWW-Authenticate': challenge('invalid_token') });
    }
    admit(verdict.entry, req, res, next);
  });

  function admit(entry: ApiKeyEntry, req: Request, res: Response, next: NextFunction): void {
    const route = routeOfPath(req.baseUrl + req.path);
    if (entry.routes && (!route || !entry.routes.includes(route))) {
      o.metrics.count(entry.name, 'forbidden');
      return fail(res, 403, AUTH_ERROR.forbidden, `this API key may not call ${route ?? 'this route'}`, { 'WWW-Authenticate': challenge('insufficient_scope') });
    }
    const rate = o.limits.take(entry);
    setRateHeaders(res, rate);
    if (!rate.allowed) {
      o.metrics.count(entry.name, 'rate_limited');
      return fail(res, 429, AUTH_ERROR.rateLimited, `rate limit of ${entry.rate_per_s}/s (burst ${entry.burst}) exceeded`, { 'Retry-After': String(rate.retryAfterS) });
    }
    // A replay (issue 16) is a stream: it holds its connection for as long as it follows.
    const kind = route === 'stream' || route === 'replay' ? 'stream' : 'query';
    const release = o.limits.acquire(entry, kind);
    if (!release) {
      const stream = kind === 'stream';
      o.metrics.count(entry.name, stream ? 'stream_limited' : 'concurrency_limited');
      const message = stream ? `at most ${entry.max_streams} open streams per key` : `at most ${entry.max_concurrency} queries in flight per key`;
      return fail(res, 429, stream ? AUTH_ERROR.streams : AUTH_ERROR.concurrency, message, { 'Retry-After': stream ? '5' : '1' });
    }
    const label = o.metrics.label(entry.name);
    o.metrics.inUse.inc({ key: label, kind });
    res.once('close', () => {
      release();
      o.metrics.inUse.dec({ key: label, kind });
    });
    o.metrics.count(entry.name, 'ok');
    res.locals['apiKeyName'] = entry.name;
    next();
  }
}
