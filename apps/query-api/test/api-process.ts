import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintApiKey, type ApiKeyEntry, type MintOptions } from '@k2/query';
import { freePort, startServiceProcess, waitFor, type ServiceProcess } from '@k2/testing';

/**
 * query-api as the integration tests run it: its own process, the public port (API, page, stream) and the ops port
 * (`baseUrl`: /metrics, /readyz) apart, and API keys in a keys file it re-reads, as in production.
 */
export interface QueryApiProcess extends ServiceProcess {
  /** The public port. */
  readonly url: string;
  /** A key with limits high enough for the tests' bursts. */
  readonly key: string;
  /** Its entry in the keys file. */
  readonly entry: ApiKeyEntry;
  readonly keysFile: string;
  /** fetch on the public port with the key. */
  get(pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /** Replaces the keys file (atomically, as a Secret volume update does). */
  writeKeys(entries: readonly ApiKeyEntry[]): void;
}

export const ROOMY: Omit<MintOptions, 'name'> = { rate_per_s: 100_000, burst: 100_000, max_concurrency: 64, max_streams: 16 };

/**
 * query-api's settings for a lake-testing env (its SQL catalog, warehouse, namespace and the writer's group, whose
 * offsets the hybrid read takes from the snapshots); `extra` adds or overrides (QUERY_TAIL_TOPICS, limits…).
 */
export function lakeApiEnv(env: { catalogUri: string; warehouse: string; namespace: readonly string[]; suffix: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ICEBERG_CATALOG: 'sql',
    ICEBERG_CATALOG_URI: env.catalogUri,
    ICEBERG_WAREHOUSE: env.warehouse,
    ICEBERG_NAMESPACE: env.namespace.join('.'),
    QUERY_WRITER_GROUP_ID: `itest-${env.suffix}`,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export async function startQueryApi(env: Record<string, string>, extraKeys: readonly ApiKeyEntry[] = []): Promise<QueryApiProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-query-keys-'));
  const keysFile = path.join(dir, 'keys.json');
  const { key, entry } = mintApiKey({ name: 'itest', ...ROOMY });
  const writeKeys = (entries: readonly ApiKeyEntry[]) => {
    const tmp = `${keysFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(entries, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, keysFile);
  };
  writeKeys([entry, ...extraKeys]);
  const port = await freePort();
  const proc = await startServiceProcess('query-api', {
    PORT: String(port),
    HOST: '127.0.0.1',
    QUERY_API_KEYS_FILE: keysFile,
    QUERY_API_KEYS_POLL_MS: '500',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('api ready', async () => ((await fetch(`${proc.baseUrl}/readyz`)).ok ? true : undefined), 60_000, 200);
  const get = (p: string, init: RequestInit = {}) => fetch(`${url}${p}`, { ...init, headers: { 'X-API-Key': key, ...(init.headers as Record<string, string> | undefined) } });
  return Object.assign(proc, { url, key, entry, keysFile, get, writeKeys });
}
