import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './args';

/**
 * Where k2 connects and with which key. The URL: --url, else K2_API_URL, else the query-api of `npm start`
 * (PORT 8080 on 127.0.0.1, apps/query-api/src/config.ts and tools/launcher/src/plan.ts). The key: --api-key, else
 * K2_API_KEY, else the demo key `npm start` keeps in .data/secrets/ (tools/scripts/demo-key.ts; the same fallback as
 * `npm run tail`). An empty K2_API_KEY means "no key" and skips the demo key. The key is never printed.
 */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
export const DEMO_KEY_FILE = path.join('.data', 'secrets', 'query-api-demo.key');

export interface Connection {
  readonly url: string;
  readonly apiKey: string | undefined;
  /** Where the key came from, for hints in error messages (never the key itself). */
  readonly keySource: 'flag' | 'env' | 'demo-file' | 'none';
}

/** npm runs scripts from the repository root; the repository root of this file covers `npx k2` from elsewhere. */
function demoKey(cwd: string, root: string): string | undefined {
  for (const dir of [cwd, root]) {
    const file = path.join(dir, DEMO_KEY_FILE);
    if (!existsSync(file)) continue;
    const key = readFileSync(file, 'utf8').trim();
    if (key) return key;
  }
  return undefined;
}

export function resolveConnection(
  flags: { url: string | undefined; apiKey: string | undefined },
  env: NodeJS.ProcessEnv,
  dirs: { cwd: string; root: string },
): Connection {
  const url = (flags.url ?? (env['K2_API_URL'] || DEFAULT_API_URL)).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url ${url} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url ${url} is not an http(s) URL`);
  if (parsed.username || parsed.password) throw new UsageError('--url must not carry credentials; pass the key with --api-key or K2_API_KEY');
  if (flags.apiKey !== undefined) return { url, apiKey: flags.apiKey.trim() || undefined, keySource: flags.apiKey.trim() ? 'flag' : 'none' };
  const fromEnv = env['K2_API_KEY'];
  if (fromEnv !== undefined) return { url, apiKey: fromEnv.trim() || undefined, keySource: fromEnv.trim() ? 'env' : 'none' };
  const demo = demoKey(dirs.cwd, dirs.root);
  return { url, apiKey: demo, keySource: demo ? 'demo-file' : 'none' };
}
