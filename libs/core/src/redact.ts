/**
 * The one place where credentials are taken out of text before it reaches a log line or an error message (issue 18:
 * `ICEBERG_CATALOG_URI=jdbc:postgresql://…?user=k2&password=…`, as docker-compose sets it, was printed at start by
 * the writer and query-api because only key names were checked).
 */
export const REDACTED = '***';

/** `scheme://user:password@host`: everything between the first `:` of the userinfo and its last `@` (RFC 3986 §3.2.1). */
const USERINFO = /(\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s/?#]*@/g;
/**
 * `?password=…`, `&sslpassword=…`, `;password=…` (JDBC), `X-Amz-Signature=…`, `client_secret=…`, `access_token=…`:
 * any parameter whose name holds one of these words; the value runs to the next separator.
 */
const SECRET_PARAM = /([?&;][\w.-]*(?:passw(?:or)?d|pwd|secret|token|apikey|api_key|api-key|signature|credential|access_?key)[\w.-]*=)[^&;#\s"']*/gi;
/** Key names whose values are credentials whatever they look like (config objects). */
const SECRET_KEY = /secret|password|token|credential|accesskey|apikey/i;

/** `text` with the credentials of every URI or connection string in it replaced by `***`. */
export function redactSecrets(text: string): string {
  if (!text.includes('@') && !text.includes('=')) return text;
  return text.replace(USERINFO, `$1${REDACTED}@`).replace(SECRET_PARAM, `$1${REDACTED}`);
}

/**
 * A copy of `value` fit for a log line: strings go through `redactSecrets` at any depth; with `byKey`, values under
 * a credential key name (`s3SecretKey`, `password`) are replaced whole. Objects with `toJSON` (K2Error) are redacted
 * as they serialize; cycles and depths past 8 are cut. `value` itself is never changed.
 */
export function redactValue(value: unknown, byKey = false, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value === null || typeof value !== 'object' || value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (depth > 8 || seen.has(value)) return '[cut]';
  seen.add(value);
  try {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      return redactValue((value as { toJSON(): unknown }).toJSON(), byKey, depth + 1, seen);
    }
    if (Array.isArray(value)) return value.map((v) => redactValue(v, byKey, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = byKey && SECRET_KEY.test(k) && v !== undefined ? '[redacted]' : redactValue(v, byKey, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value); // only ancestors count: an object met twice side by side is not a cycle
  }
}

/** Config as logged at start-up: credential keys replaced, credentials inside URI values masked, the rest verbatim. */
export function redactConfig(config: object): Record<string, unknown> {
  return redactValue(config, true) as Record<string, unknown>;
}
