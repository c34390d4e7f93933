import { ErrorCode, FatalError, K2Error, TransientError, type Logger } from '@k2/core';
import { parseIcebergJson, stringifyIcebergJson } from '../json';
import { commitConflict, type TableRequirement, type TableUpdate } from '../metadata';
import type { TableIdent, TableMetadata } from '../spec';
import type { FileIO } from '../io/file-io';
import type { Catalog, CreateTableRequest, LoadedTable } from './catalog';

export interface RestCatalogOptions {
  /** Base URI without `/v1`, e.g. http://127.0.0.1:8181. */
  uri: string;
  /** Sent as `?warehouse=` to GET /v1/config; the server may answer with a `prefix` for it. */
  warehouse?: string;
  /** Name of this catalog in K2 (logs, metrics); REST has no catalog-name concept. Default `rest`. */
  name?: string;
  /** Static bearer token (`Authorization: Bearer …`); a `token` in the server's config answer is used otherwise. */
  token?: string;
  /** Extra HTTP headers on every request. */
  headers?: Record<string, string>;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Client-side catalog properties, merged as defaults < these < overrides (GET /v1/config semantics). */
  properties?: Record<string, string>;
  logger?: Logger;
  /** For tests. */
  fetch?: typeof fetch;
}

/** REST OpenAPI CatalogConfig. */
interface ConfigResponse {
  defaults?: Record<string, string>;
  overrides?: Record<string, string>;
  endpoints?: string[];
}

/** REST OpenAPI LoadTableResult / CommitTableResponse. */
interface LoadTableResult {
  'metadata-location'?: string;
  metadata: TableMetadata;
  config?: Record<string, string>;
}

interface ErrorModel {
  error?: { message?: string; type?: string; code?: number };
}

interface HttpResult {
  status: number;
  text: string;
}

const TABLE_EXISTS_ENDPOINT = 'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}';

/**
 * Iceberg REST catalog client (https://iceberg.apache.org/rest-catalog-spec/, rest-catalog-open-api.yaml).
 * The server owns metadata files, so `io` is not used for catalog operations; it is kept so every catalog hands
 * the same FileIO to readers and writers. Created tables come back with the server's metadata: servers reassign
 * field ids on create (Java: TypeUtil.assignFreshIds), so callers must use the returned schema, not the request's.
 */
export class RestCatalog implements Catalog {
  readonly name: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly log: Logger | undefined;
  private session: Promise<{ prefix: string; token: string | undefined; separator: string; endpoints: string[] | undefined }> | undefined;

  constructor(
    readonly io: FileIO,
    private readonly opts: RestCatalogOptions,
  ) {
    this.name = opts.name ?? 'rest';
    this.base = opts.uri.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.fetchFn = opts.fetch ?? fetch;
    this.log = opts.logger;
  }

  async createNamespace(namespace: string[], properties: Record<string, string> = {}): Promise<void> {
    const res = await this.send('POST', await this.path('namespaces'), { namespace, properties });
    // 409 AlreadyExistsException: createNamespace is idempotent here.
    if (res.status === 409) return;
    this.check(res, `create namespace ${namespace.join('.')}`);
  }

  async namespaceExists(namespace: string[]): Promise<boolean> {
    const res = await this.send('GET', await this.path(`namespaces/${await this.ns(namespace)}`));
    if (res.status === 404) return false;
    this.check(res, `load namespace ${namespace.join('.')}`);
    return true;
  }

  async listTables(namespace: string[]): Promise<TableIdent[]> {
    const out: TableIdent[] = [];
    const basePath = await this.path(`namespaces/${await this.ns(namespace)}/tables`);
    let pageToken: string | undefined;
    do {
      const res = await this.send('GET', pageToken === undefined ? basePath : `${basePath}?pageToken=${encodeURIComponent(pageToken)}`);
      this.check(res, `list tables in ${namespace.join('.')}`);
      const body = parseIcebergJson<{ identifiers?: Array<{ namespace: string[]; name: string }>; 'next-page-token'?: string | null }>(res.text);
      for (const t of body.identifiers ?? []) out.push({ namespace: t.namespace, name: t.name });
      pageToken = body['next-page-token'] ?? undefined;
    } while (pageToken);
    return out;
  }

  async tableExists(ident: TableIdent): Promise<boolean> {
    const s = await this.init();
    // HEAD is optional (only when the server lists it in `endpoints`); Java's RESTSessionCatalog falls back to a load.
    const supported = s.endpoints?.includes(TABLE_EXISTS_ENDPOINT) ?? false;
    const res = await this.send(supported ? 'HEAD' : 'GET', await this.tablePath(ident));
    if (res.status === 404) return false;
    this.check(res, `check table ${identName(ident)}`);
    return true;
  }

  async loadTable(ident: TableIdent): Promise<LoadedTable> {
    const res = await this.send('GET', await this.tablePath(ident));
    this.check(res, `load table ${identName(ident)}`);
    return this.loaded(ident, res.text);
  }

  async createTable(ident: TableIdent, req: CreateTableRequest): Promise<LoadedTable> {
    const body = {
      name: ident.name,
      ...(req.location ? { location: req.location } : {}),
      schema: req.schema,
      'partition-spec': req.spec,
      'write-order': req.sortOrder,
      properties: req.properties ?? {},
      'stage-create': false,
    };
    const res = await this.send('POST', await this.path(`namespaces/${await this.ns(ident.namespace)}/tables`), body);
    // 409 AlreadyExistsException → ICEBERG_COMMIT_CONFLICT, as the Catalog contract asks; 404 NoSuchNamespace.
    this.check(res, `create table ${identName(ident)}`);
    return this.loaded(ident, res.text);
  }

  /**
   * POST /v1/{prefix}/namespaces/{ns}/tables/{t}. 409 CommitFailedException → ICEBERG_COMMIT_CONFLICT.
   * 500/502/504 mean CommitStateUnknownException in the spec, and a timeout or dropped connection leaves the same
   * doubt, so the table is reloaded before answering: if the commit adds snapshots, their presence decides
   * (snapshot ids are unique) and a landed commit is returned as a success. Otherwise the error stays a retriable
   * STORAGE_UNAVAILABLE with context.commitState 'not-applied' (5xx answered and our snapshots absent) or
   * 'unknown' (no snapshots to look for, or the request may still be running on the server). After 'unknown' a
   * writer must check its own idempotency marker (e.g. a snapshot summary property) before re-applying; the
   * requirements of a retry stop a blind double commit on the same base.
   */
  async commitTable(ident: TableIdent, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable> {
    const body = { identifier: { namespace: ident.namespace, name: ident.name }, requirements, updates };
    const path = await this.tablePath(ident);
    let res: HttpResult;
    try {
      res = await this.send('POST', path, body);
    } catch (e) {
      if (e instanceof K2Error && e.code === ErrorCode.STORAGE_UNAVAILABLE) return this.reconcile(ident, updates, e, false);
      throw e;
    }
    if (res.status >= 500) return this.reconcile(ident, updates, this.error(res, `commit table ${identName(ident)}`), true);
    this.check(res, `commit table ${identName(ident)}`);
    return this.loaded(ident, res.text);
  }

  async dropTable(ident: TableIdent): Promise<void> {
    const res = await this.send('DELETE', `${await this.tablePath(ident)}?purgeRequested=false`);
    this.check(res, `drop table ${identName(ident)}`);
  }

  async close(): Promise<void> {
    // fetch keeps no per-catalog connections to release.
  }

  private async reconcile(ident: TableIdent, updates: TableUpdate[], cause: K2Error, answered: boolean): Promise<LoadedTable> {
    const ours = updates.flatMap((u) => (u.action === 'add-snapshot' ? [String(u.snapshot['snapshot-id'])] : []));
    let current: LoadedTable;
    try {
      current = await this.loadTable(ident);
    } catch (e) {
      throw unknownCommit(ident, cause, 'unknown', e);
    }
    if (ours.length > 0) {
      const present = new Set((current.metadata.snapshots ?? []).map((s) => String(s['snapshot-id'])));
      const landed = ours.filter((id) => present.has(id)).length;
      if (landed === ours.length) {
        this.log?.warn('iceberg rest catalog: commit answered with an error but landed', { table: identName(ident), error: cause.message });
        return current;
      }
      if (landed === 0 && answered) throw unknownCommit(ident, cause, 'not-applied', cause);
    }
    throw unknownCommit(ident, cause, 'unknown', cause);
  }

  private loaded(ident: TableIdent, text: string): LoadedTable {
    const body = parseIcebergJson<LoadTableResult>(text);
    const loc = body['metadata-location'];
    if (!loc || !body.metadata) throw new FatalError(ErrorCode.ICEBERG_INVALID, `REST catalog returned no metadata location for ${identName(ident)}`);
    return { ident, metadata: body.metadata, metadataLocation: loc };
  }

  private init() {
    this.session ??= this.loadConfig().catch((e: unknown) => {
      this.session = undefined;
      throw e;
    });
    return this.session;
  }

  /** GET /v1/config: properties are defaults < client < overrides; `prefix` goes into every later path. */
  private async loadConfig() {
    const q = this.opts.warehouse ? `?warehouse=${encodeURIComponent(this.opts.warehouse)}` : '';
    const res = await this.send('GET', `v1/config${q}`, undefined, this.opts.token);
    this.check(res, 'load catalog config');
    const cfg = parseIcebergJson<ConfigResponse>(res.text);
    const merged = { ...(cfg.defaults ?? {}), ...(this.opts.properties ?? {}), ...(cfg.overrides ?? {}) };
    return {
      prefix: (merged['prefix'] ?? '').replace(/^\/+|\/+$/g, ''),
      token: this.opts.token ?? merged['token'],
      // Iceberg 1.10 lets a server announce another separator; the spec's default is the unit separator 0x1F.
      separator: merged['namespace-separator'] ? decodeURIComponent(merged['namespace-separator']) : '\u001f',
      endpoints: cfg.endpoints,
    };
  }

  private async path(rest: string): Promise<string> {
    const { prefix } = await this.init();
    return prefix ? `v1/${prefix}/${rest}` : `v1/${rest}`;
  }

  private async ns(namespace: string[]): Promise<string> {
    if (namespace.length === 0) throw new FatalError(ErrorCode.ICEBERG_INVALID, 'namespace must have at least one level');
    const { separator } = await this.init();
    return encodeURIComponent(namespace.join(separator));
  }

  private async tablePath(ident: TableIdent): Promise<string> {
    return this.path(`namespaces/${await this.ns(ident.namespace)}/tables/${encodeURIComponent(ident.name)}`);
  }

  private async send(method: string, path: string, body?: unknown, token?: string): Promise<HttpResult> {
    const bearer = token ?? (path.startsWith('v1/config') ? undefined : (await this.init()).token);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'k2-iceberg', ...(this.opts.headers ?? {}) };
    if (bearer) headers['Authorization'] = `Bearer ${bearer}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const url = `${this.base}/${path}`;
    try {
      const res = await this.fetchFn(url, {
        method,
        headers,
        body: body === undefined ? undefined : stringifyIcebergJson(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: res.status, text: method === 'HEAD' ? '' : await res.text() };
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : describeFetchError(e);
      throw new TransientError(ErrorCode.STORAGE_UNAVAILABLE, `REST catalog ${method} ${url}: ${why}`, { cause: e });
    }
  }

  private check(res: HttpResult, what: string): void {
    if (res.status >= 200 && res.status < 300) return;
    throw this.error(res, what);
  }

  /** REST OpenAPI error responses (ErrorModel) mapped onto K2's codes. */
  private error(res: HttpResult, what: string): K2Error {
    let detail = res.text.slice(0, 500);
    try {
      const e = parseIcebergJson<ErrorModel>(res.text).error;
      if (e?.message || e?.type) detail = `${e.type ?? 'error'}: ${e.message ?? ''}`;
    } catch {
      // not JSON (a proxy's HTML page): keep the raw text
    }
    const msg = `REST catalog: ${what} failed with HTTP ${res.status}: ${detail}`;
    const s = res.status;
    if (s === 409) return commitConflict(msg);
    if (s === 404) return new FatalError(ErrorCode.ICEBERG_NOT_FOUND, msg);
    if (s === 400 || s === 422) return new FatalError(ErrorCode.ICEBERG_INVALID, msg);
    if (s === 408 || s === 429 || s >= 500) return new TransientError(ErrorCode.STORAGE_UNAVAILABLE, msg);
    // 401/403/419 (credentials), 406 (unsupported operation) and anything unexpected.
    return new FatalError(ErrorCode.STORAGE_REJECTED, msg);
  }
}

function unknownCommit(ident: TableIdent, cause: K2Error, state: 'not-applied' | 'unknown', err: unknown): TransientError {
  const what = state === 'not-applied' ? 'commit was not applied' : 'commit state unknown';
  return new TransientError(ErrorCode.STORAGE_UNAVAILABLE, `${identName(ident)}: ${what} (${cause.message})`, {
    cause: err,
    context: { commitState: state },
  });
}

function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

const identName = (t: TableIdent): string => [...t.namespace, t.name].join('.');
