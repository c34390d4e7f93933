import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, K2Error } from '@k2/core';
import { parseIcebergJson, stringifyIcebergJson } from '../json';
import { newTableMetadata, type TableUpdate } from '../metadata';
import type { Schema, Snapshot, TableMetadata } from '../spec';
import { LocalFileIO } from '../io/local-file-io';
import { RestCatalog } from './rest-catalog';

/**
 * A scripted stand-in for an Iceberg REST server: it checks what the client sends (paths, encoding, headers,
 * bodies) and answers the way rest-catalog-open-api.yaml specifies, including the error cases a real server only
 * produces under failure. The real server is exercised in catalog.itest.ts.
 */
interface Req {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Handler = (req: Req) => { status: number; body?: unknown; delayMs?: number } | undefined;

const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'a', required: true, type: 'long' }] };
const spec = { 'spec-id': 0, fields: [] };
const sortOrder = { 'order-id': 0, fields: [] };
const ident = { namespace: ['market', 'crypto'], name: 'trades' };
const TABLE_PATH = '/v1/ws1/namespaces/market%1Fcrypto/tables/trades';

function meta(snapshots: Snapshot[] = []): TableMetadata {
  const m = newTableMetadata({ location: 'file:///wh/market/crypto/trades', schema, spec, sortOrder });
  m.snapshots = snapshots;
  return m;
}

function snap(id: bigint | number): Snapshot {
  return { 'snapshot-id': id, 'sequence-number': 1, 'timestamp-ms': 1, 'manifest-list': 'fake://never-read', summary: { operation: 'append' } };
}

const loadResult = (m: TableMetadata) => ({ 'metadata-location': `${m.location}/metadata/00001-x.metadata.json`, metadata: m });

describe('RestCatalog', () => {
  let server: http.Server;
  let uri: string;
  let requests: Req[];
  let handler: Handler;
  let config: { defaults?: Record<string, string>; overrides?: Record<string, string>; endpoints?: string[] };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const r: Req = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
        requests.push(r);
        const a = r.url.startsWith('/v1/config') ? { status: 200, body: config } : (handler(r) ?? { status: 500, body: { error: { message: 'unscripted', type: 'X', code: 500 } } });
        const send = () => {
          res.writeHead(a.status, { 'Content-Type': 'application/json' });
          res.end(a.body === undefined ? '' : stringifyIcebergJson(a.body));
        };
        if (a.delayMs) setTimeout(send, a.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    requests = [];
    handler = () => undefined;
    config = { defaults: { prefix: 'unused' }, overrides: { prefix: 'ws1' } };
  });

  const catalog = (extra: Partial<ConstructorParameters<typeof RestCatalog>[1]> = {}) =>
    new RestCatalog(new LocalFileIO(), { uri: `${uri}/`, warehouse: 's3://wh/x', ...extra });

  async function rejection(p: Promise<unknown>): Promise<K2Error> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(K2Error);
      return e as K2Error;
    }
    throw new Error('expected a rejection');
  }

  it('reads /v1/config once with the warehouse, uses the override prefix, %1F-joined namespaces and the bearer token', async () => {
    handler = (r) => (r.url === '/v1/ws1/namespaces/market%1Fcrypto' ? { status: 200, body: { namespace: ['market', 'crypto'], properties: {} } } : undefined);
    const c = catalog({ token: 't0k' });
    expect(await c.namespaceExists(['market', 'crypto'])).toBe(true);
    expect(await c.namespaceExists(['market', 'crypto'])).toBe(true);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/config?warehouse=s3%3A%2F%2Fwh%2Fx',
      'GET /v1/ws1/namespaces/market%1Fcrypto',
      'GET /v1/ws1/namespaces/market%1Fcrypto',
    ]);
    expect(requests.every((r) => r.headers.authorization === 'Bearer t0k')).toBe(true);
  });

  it('omits the prefix when the server sets none, and takes a token from the config answer', async () => {
    config = { defaults: { token: 'from-server' } };
    handler = () => ({ status: 404, body: { error: { message: 'no', type: 'NoSuchNamespaceException', code: 404 } } });
    expect(await catalog({ warehouse: undefined }).namespaceExists(['x'])).toBe(false);
    expect(requests.map((r) => r.url)).toEqual(['/v1/config', '/v1/namespaces/x']);
    expect(requests[0].headers.authorization).toBeUndefined();
    expect(requests[1].headers.authorization).toBe('Bearer from-server');
  });

  it('treats 409 on namespace creation as success', async () => {
    handler = (r) => (r.method === 'POST' && r.url === '/v1/ws1/namespaces' ? { status: 409, body: { error: { message: 'exists', type: 'AlreadyExistsException', code: 409 } } } : undefined);
    await catalog().createNamespace(['market', 'crypto'], { owner: 'k2' });
    expect(JSON.parse(requests[1].body)).toEqual({ namespace: ['market', 'crypto'], properties: { owner: 'k2' } });
  });

  it('creates a table with the REST CreateTableRequest and returns the server metadata', async () => {
    // The server reassigns ids (TypeUtil.assignFreshIds); the client must hand back what it got.
    const server = meta();
    server.schemas[0] = { ...schema, fields: [{ id: 7, name: 'a', required: true, type: 'long' }] };
    handler = (r) => (r.method === 'POST' && r.url === '/v1/ws1/namespaces/market%1Fcrypto/tables' ? { status: 200, body: loadResult(server) } : undefined);
    const t = await catalog().createTable(ident, { schema, spec, sortOrder, properties: { p: '1' } });
    expect(t.metadata.schemas[0].fields[0].id).toBe(7);
    expect(t.metadataLocation).toBe('file:///wh/market/crypto/trades/metadata/00001-x.metadata.json');
    expect(JSON.parse(requests[1].body)).toEqual({
      name: 'trades',
      schema,
      'partition-spec': spec,
      'write-order': sortOrder,
      properties: { p: '1' },
      'stage-create': false,
    });
  });

  it('maps 409 on create to ICEBERG_COMMIT_CONFLICT and 404 to ICEBERG_NOT_FOUND', async () => {
    handler = () => ({ status: 409, body: { error: { message: 'Table already exists', type: 'AlreadyExistsException', code: 409 } } });
    const e1 = await rejection(catalog().createTable(ident, { schema, spec, sortOrder }));
    expect(e1.code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
    expect(e1.message).toContain('AlreadyExistsException: Table already exists');
    handler = () => ({ status: 404, body: { error: { message: 'Namespace does not exist', type: 'NoSuchNamespaceException', code: 404 } } });
    expect((await rejection(catalog().loadTable(ident))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
  });

  it('keeps 63-bit snapshot ids exact in both directions', async () => {
    const big = 2n ** 63n - 25n;
    const m = meta([snap(big)]);
    m['current-snapshot-id'] = big;
    handler = (r) => {
      if (r.method === 'GET' && r.url === TABLE_PATH) return { status: 200, body: loadResult(m) };
      if (r.method === 'POST' && r.url === TABLE_PATH) return { status: 200, body: loadResult(m) };
      return undefined;
    };
    const c = catalog();
    const t = await c.loadTable(ident);
    expect(t.metadata['current-snapshot-id']).toBe(big);
    await c.commitTable(ident, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': big }], []);
    const sent = requests.find((r) => r.method === 'POST')!.body;
    expect(sent).toContain(`"snapshot-id":${big}`);
    expect(parseIcebergJson<{ identifier: unknown }>(sent).identifier).toEqual({ namespace: ['market', 'crypto'], name: 'trades' });
  });

  describe('commit', () => {
    const add = (id: bigint | number): TableUpdate[] => [
      { action: 'add-snapshot', snapshot: snap(id) },
      { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
    ];

    it('maps 409 CommitFailedException to a retriable ICEBERG_COMMIT_CONFLICT', async () => {
      handler = () => ({ status: 409, body: { error: { message: 'Requirement failed: branch main has changed', type: 'CommitFailedException', code: 409 } } });
      const e = await rejection(catalog().commitTable(ident, [], add(5)));
      expect(e.code).toBe(ErrorCode.ICEBERG_COMMIT_CONFLICT);
      expect(e.retriable).toBe(true);
    });

    it('maps 404 to ICEBERG_NOT_FOUND and 400 to ICEBERG_INVALID', async () => {
      handler = () => ({ status: 404, body: { error: { message: 'Table does not exist', type: 'NoSuchTableException', code: 404 } } });
      expect((await rejection(catalog().commitTable(ident, [], add(5)))).code).toBe(ErrorCode.ICEBERG_NOT_FOUND);
      handler = () => ({ status: 400, body: { error: { message: 'bad', type: 'BadRequestException', code: 400 } } });
      const e = await rejection(catalog().commitTable(ident, [], add(5)));
      expect(e.code).toBe(ErrorCode.ICEBERG_INVALID);
      expect(e.retriable).toBe(false);
    });

    it('returns the reloaded table when a 502 commit actually landed', async () => {
      const landed = meta([snap(77n)]);
      handler = (r) => (r.method === 'POST' ? { status: 502, body: 'bad gateway' } : { status: 200, body: loadResult(landed) });
      const t = await catalog().commitTable(ident, [], add(77));
      expect(t.metadata.snapshots!.map((s) => s['snapshot-id'])).toEqual([77]);
    });

    it('reports a 500 commit whose snapshot is absent as retriable, not applied', async () => {
      handler = (r) => (r.method === 'POST' ? { status: 500, body: { error: { message: 'boom', type: 'RuntimeException', code: 500 } } } : { status: 200, body: loadResult(meta()) });
      const e = await rejection(catalog().commitTable(ident, [], add(78)));
      expect(e.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
      expect(e.retriable).toBe(true);
      expect(e.context['commitState']).toBe('not-applied');
    });

    it('reports commit state unknown when there is no snapshot to look for', async () => {
      handler = (r) => (r.method === 'POST' ? { status: 504 } : { status: 200, body: loadResult(meta()) });
      const e = await rejection(catalog().commitTable(ident, [], [{ action: 'set-properties', updates: { a: 'b' } }]));
      expect(e.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
      expect(e.context['commitState']).toBe('unknown');
    });

    it('treats a timed-out commit as unknown even when the snapshot is not there yet', async () => {
      handler = (r) => (r.method === 'POST' ? { status: 200, body: loadResult(meta()), delayMs: 300 } : { status: 200, body: loadResult(meta()) });
      const e = await rejection(catalog({ timeoutMs: 100 }).commitTable(ident, [], add(79)));
      expect(e.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
      expect(e.context['commitState']).toBe('unknown');
      expect(e.message).toContain('timed out');
    });

    it('stays unknown when the reload fails too', async () => {
      handler = () => ({ status: 503 });
      const e = await rejection(catalog().commitTable(ident, [], add(80)));
      expect(e.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
      expect(e.context['commitState']).toBe('unknown');
    });
  });

  it('uses HEAD for tableExists only when the server lists that endpoint', async () => {
    handler = (r) => (r.url === TABLE_PATH ? { status: r.method === 'HEAD' ? 204 : 200, body: r.method === 'HEAD' ? undefined : loadResult(meta()) } : undefined);
    expect(await catalog().tableExists(ident)).toBe(true);
    expect(requests[1].method).toBe('GET');
    requests = [];
    config = { overrides: { prefix: 'ws1' }, endpoints: ['HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}'] };
    expect(await catalog().tableExists(ident)).toBe(true);
    expect(requests[1].method).toBe('HEAD');
  });

  it('lists tables across pages', async () => {
    handler = (r) => {
      if (r.url === '/v1/ws1/namespaces/market%1Fcrypto/tables') return { status: 200, body: { identifiers: [{ namespace: ['market', 'crypto'], name: 'a' }], 'next-page-token': 'p2' } };
      if (r.url === '/v1/ws1/namespaces/market%1Fcrypto/tables?pageToken=p2') return { status: 200, body: { identifiers: [{ namespace: ['market', 'crypto'], name: 'b' }] } };
      return undefined;
    };
    expect((await catalog().listTables(['market', 'crypto'])).map((t) => t.name)).toEqual(['a', 'b']);
  });

  it('maps auth failures to STORAGE_REJECTED and unreachable servers to STORAGE_UNAVAILABLE', async () => {
    handler = () => ({ status: 403, body: { error: { message: 'forbidden', type: 'ForbiddenException', code: 403 } } });
    const e1 = await rejection(catalog().loadTable(ident));
    expect(e1.code).toBe(ErrorCode.STORAGE_REJECTED);
    expect(e1.retriable).toBe(false);
    const e2 = await rejection(new RestCatalog(new LocalFileIO(), { uri: 'http://127.0.0.1:1' }).loadTable(ident));
    expect(e2.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
    expect(e2.retriable).toBe(true);
  });

  it('drops a table without purge', async () => {
    handler = (r) => (r.method === 'DELETE' ? { status: 204 } : undefined);
    await catalog().dropTable(ident);
    expect(requests[1].url).toBe(`${TABLE_PATH}?purgeRequested=false`);
  });
});
