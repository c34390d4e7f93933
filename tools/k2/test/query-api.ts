import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startServiceProcess, waitFor, type ServiceProcess } from '@k2/testing';

/**
 * query-api as apps/query-api/test/api-process.ts runs it for that app's integration tests (its own process, a
 * keys file, the public port apart from the ops port), rebuilt from the same @k2/testing and @k2/query parts:
 * a tool may not import an app's files (eslint.config.mjs layering).
 */
export interface QueryApi extends ServiceProcess {
  readonly url: string;
  readonly key: string;
  get(pathAndQuery: string): Promise<Response>;
}

export async function startQueryApi(env: Record<string, string>): Promise<QueryApi> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-cli-keys-'));
  const keysFile = path.join(dir, 'keys.json');
  // Loaded lazily as k2's replay loads it (a static import next to a lazy one is a lint error).
  const { mintApiKey } = await import('@k2/query');
  const { key, entry } = mintApiKey({ name: 'k2-cli-itest', rate_per_s: 100_000, burst: 100_000, max_concurrency: 64, max_streams: 16 });
  fs.writeFileSync(keysFile, JSON.stringify([entry]), { mode: 0o600 });
  const port = await freePort();
  const proc = await startServiceProcess('query-api', { PORT: String(port), HOST: '127.0.0.1', QUERY_API_KEYS_FILE: keysFile, ...env });
  await waitFor('query-api ready', async () => ((await fetch(`${proc.baseUrl}/readyz`)).ok ? true : undefined), 60_000, 200);
  const url = `http://127.0.0.1:${port}`;
  return Object.assign(proc, { url, key, get: (p: string) => fetch(`${url}${p}`, { headers: { 'X-API-Key': key } }) });
}
