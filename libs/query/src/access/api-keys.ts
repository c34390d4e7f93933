import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ROUTE_PATHS } from '../openapi';
import type { RouteName } from '../params';

/**
 * API keys of query-api (ADR 0011). A key is `k2_<id>_<secret>`: `id` is 12 hex characters, not secret, and finds
 * the entry in O(1); `secret` is 32 random bytes in base64url (256 bits). The server keeps only
 * HMAC-SHA-256(salt, secret) with a per-key random salt, compared in constant time. A fast hash is enough because
 * the secret is a uniformly random 256-bit value, not a password: nothing can be guessed from a dictionary, and a
 * slow KDF (scrypt) would cost tens of milliseconds of CPU on every request.
 */
export const API_KEY_PATTERN = /^k2_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const API_ROUTES = Object.keys(ROUTE_PATHS) as RouteName[];

export interface ApiKeyEntry {
  /** Who holds the key; the only part that appears in logs and metric labels. */
  readonly name: string;
  readonly id: string;
  /** base64url, 16 random bytes. */
  readonly salt: string;
  /** hex HMAC-SHA-256(salt, secret). */
  readonly hash: string;
  /** Token bucket: sustained requests per second and the bucket size. */
  readonly rate_per_s: number;
  readonly burst: number;
  /** Queries of this key in flight at once (streams not counted). */
  readonly max_concurrency: number;
  /** Open SSE streams of this key at once. */
  readonly max_streams: number;
  /** Routes this key may call (trades, quotes, bars, summary, symbols, stream); absent = all. */
  readonly routes?: readonly RouteName[];
  readonly revoked?: boolean;
}

export const DEFAULT_KEY_LIMITS = Object.freeze({ rate_per_s: 20, burst: 40, max_concurrency: 8, max_streams: 5 });

export function hashSecret(secret: string, salt: string): string {
  return createHmac('sha256', Buffer.from(salt, 'base64url')).update(secret, 'utf8').digest('hex');
}

export interface MintOptions {
  name: string;
  rate_per_s?: number;
  burst?: number;
  max_concurrency?: number;
  max_streams?: number;
  routes?: readonly RouteName[];
}

/** A new key and its file entry; the key is shown once to whoever minted it and stored nowhere by K2. */
export function mintApiKey(o: MintOptions): { key: string; entry: ApiKeyEntry } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16).toString('base64url');
  const entry: ApiKeyEntry = {
    name: o.name,
    id,
    salt,
    hash: hashSecret(secret, salt),
    rate_per_s: o.rate_per_s ?? DEFAULT_KEY_LIMITS.rate_per_s,
    burst: o.burst ?? DEFAULT_KEY_LIMITS.burst,
    max_concurrency: o.max_concurrency ?? DEFAULT_KEY_LIMITS.max_concurrency,
    max_streams: o.max_streams ?? DEFAULT_KEY_LIMITS.max_streams,
    ...(o.routes ? { routes: o.routes } : {}),
  };
  const problems = entryProblems({ ...entry }, 0);
  if (problems.length) throw new Error(problems.join('; '));
  return { key: `k2_${id}_${secret}`, entry };
}

/** The non-secret id of a presented key, or undefined when it does not look like a K2 key. */
export function apiKeyId(key: string): string | undefined {
  return API_KEY_PATTERN.exec(key)?.[1];
}

const positive = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= max;
const positiveInt = (v: unknown, max: number): boolean => Number.isSafeInteger(v) && positive(v, max);

/** Problems of one entry, by field name only: values (salts, hashes) never appear in a message. */
function entryProblems(e: Record<string, unknown>, i: number): string[] {
  const p: string[] = [];
  const at = `entry ${i}`;
  if (typeof e['name'] !== 'string' || !API_KEY_NAME_PATTERN.test(e['name'])) p.push(`${at}: name must match ${API_KEY_NAME_PATTERN}`);
  if (typeof e['id'] !== 'string' || !/^[0-9a-f]{12}$/.test(e['id'])) p.push(`${at}: id must be 12 lowercase hex characters`);
  if (typeof e['salt'] !== 'string' || !/^[A-Za-z0-9_-]{16,}$/.test(e['salt'])) p.push(`${at}: salt must be base64url, 16+ characters`);
  if (typeof e['hash'] !== 'string' || !/^[0-9a-f]{64}$/.test(e['hash'])) p.push(`${at}: hash must be 64 hex characters (HMAC-SHA-256)`);
  if (!positive(e['rate_per_s'], 100_000)) p.push(`${at}: rate_per_s must be a number > 0`);
  if (!positiveInt(e['burst'], 1_000_000)) p.push(`${at}: burst must be an integer > 0`);
  if (!positiveInt(e['max_concurrency'], 10_000)) p.push(`${at}: max_concurrency must be an integer > 0`);
  if (!positiveInt(e['max_streams'], 10_000)) p.push(`${at}: max_streams must be an integer > 0`);
  const routes = e['routes'];
  if (routes !== undefined && (!Array.isArray(routes) || routes.some((r) => !(API_ROUTES as string[]).includes(r)))) {
    p.push(`${at}: routes must be a list of ${API_ROUTES.join('|')}`);
  }
  if (e['revoked'] !== undefined && typeof e['revoked'] !== 'boolean') p.push(`${at}: revoked must be true or false`);
  const known = new Set(['name', 'id', 'salt', 'hash', 'rate_per_s', 'burst', 'max_concurrency', 'max_streams', 'routes', 'revoked']);
  for (const k of Object.keys(e)) if (!known.has(k)) p.push(`${at}: unknown field ${k.slice(0, 40)}`);
  return p;
}

export class KeyFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'KeyFileError';
  }
}

/** Parses and validates a keys document (a JSON array of entries); throws KeyFileError without echoing content. */
export function parseKeyEntries(text: string): ApiKeyEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeyFileError(['is not valid JSON']);
  }
  if (!Array.isArray(doc)) throw new KeyFileError(['must be a JSON array of key entries']);
  const problems: string[] = [];
  const ids = new Set<string>();
  doc.forEach((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) {
      problems.push(`entry ${i}: must be an object`);
      return;
    }
    problems.push(...entryProblems(e as Record<string, unknown>, i));
    const id = (e as { id?: unknown }).id;
    if (typeof id === 'string' && ids.has(id)) problems.push(`entry ${i}: id is used twice`);
    if (typeof id === 'string') ids.add(id);
  });
  if (problems.length) throw new KeyFileError(problems);
  return (doc as ApiKeyEntry[]).map((e) => Object.freeze({ ...e, routes: e.routes ? Object.freeze([...e.routes]) : undefined }));
}

export type KeyVerdict =
  | { readonly kind: 'ok'; readonly entry: ApiKeyEntry }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'revoked'; readonly entry: ApiKeyEntry };

/** An immutable set of key entries; a reload builds a new ring and swaps it in. */
export class KeyRing {
  private readonly byId: ReadonlyMap<string, ApiKeyEntry>;

  constructor(readonly entries: readonly ApiKeyEntry[]) {
    this.byId = new Map(entries.map((e) => [e.id, e]));
  }

  get active(): number {
    return this.entries.filter((e) => !e.revoked).length;
  }

  /** `revoked` is only said for a key whose secret matched, so guessing ids reveals nothing. */
  verify(key: string): KeyVerdict {
    const [, id, secret] = API_KEY_PATTERN.exec(key) ?? [];
    const entry = id === undefined ? undefined : this.byId.get(id);
    if (!entry || secret === undefined) return { kind: 'unknown' };
    const expected = Buffer.from(entry.hash, 'hex');
    const actual = Buffer.from(hashSecret(secret, entry.salt), 'hex');
    if (!timingSafeEqual(expected, actual)) return { kind: 'unknown' };
    return entry.revoked ? { kind: 'revoked', entry } : { kind: 'ok', entry };
  }
}
