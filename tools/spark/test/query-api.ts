import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintApiKey } from '@k2/query';
import { freePort, startServiceProcess, waitFor, type ServiceProcess } from '@k2/testing';

/**
 * query-api as apps/query-api/test/api-process.ts runs it (its own process, a keys file, the public port apart
 * from the ops port), rebuilt from @k2/testing and @k2/query: a tool may not import an app's files.
 */
export interface QueryApi extends ServiceProcess {
  readonly url: string;
  /** GET with the key; the parsed JSON body and the status. */
  json<T = Record<string, unknown>>(pathAndQuery: string): Promise<{ status: number; body: T; headers: Headers }>;
}

export async function startQueryApi(env: Record<string, string>, logFile?: string): Promise<QueryApi> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-spark-keys-'));
  const keysFile = path.join(dir, 'keys.json');
  const { key, entry } = mintApiKey({ name: 'spark-itest', rate_per_s: 100_000, burst: 100_000, max_concurrency: 64, max_streams: 16 });
  fs.writeFileSync(keysFile, JSON.stringify([entry]), { mode: 0o600 });
  const port = await freePort();
  const proc = await startServiceProcess('query-api', { PORT: String(port), HOST: '127.0.0.1', QUERY_API_KEYS_FILE: keysFile, ...env }, logFile ? { logFile } : {});
  await waitFor('query-api ready', async () => ((await fetch(`${proc.baseUrl}/readyz`)).ok ? true : undefined), 60_000, 200);
  const url = `http://127.0.0.1:${port}`;
  const get = async (p: string): Promise<Response> => {
    try {
      return await fetch(`${url}${p}`, { headers: { 'X-API-Key': key } });
    } catch (e) {
      // A pooled keep-alive connection the server closed on its idle timeout just as it was reused (undici's
      // "other side closed"): a GET is safe to send again, once, on a new connection.
      if (!/other side closed|ECONNRESET/.test(String((e as { cause?: unknown }).cause ?? e))) throw e;
      return fetch(`${url}${p}`, { headers: { 'X-API-Key': key } });
    }
  };
  const json = async <T,>(p: string) => {
    const res = await get(p);
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  };
  return Object.assign(proc, { url, json });
}
