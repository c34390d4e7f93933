// `npm run api-key -- --name alice`: mints a query-api key (docs/query-api.md, "API keys"), or revokes one.
import { parseArgs } from 'node:util';
import { API_KEY_NAME_PATTERN, API_ROUTES, DEFAULT_KEY_LIMITS, mintApiKey, readKeysFile, writeKeysFile, type RouteName } from '@k2/query';

const USAGE = `usage: npm run api-key -- --name NAME [limits] [--file KEYS_FILE]
       npm run api-key -- --revoke ID --file KEYS_FILE

Mints a query-api key. The key is printed once and stored nowhere; the keys file holds only its salted
HMAC-SHA-256 hash. query-api re-reads QUERY_API_KEYS_FILE on change, so adding or revoking needs no restart.

  --name NAME             who holds the key (logs and metrics show only this), ${API_KEY_NAME_PATTERN}
  --rate N                sustained requests per second (default ${DEFAULT_KEY_LIMITS.rate_per_s})
  --burst N               token bucket size (default ${DEFAULT_KEY_LIMITS.burst})
  --max-concurrency N     queries in flight at once (default ${DEFAULT_KEY_LIMITS.max_concurrency})
  --max-streams N         open SSE streams at once (default ${DEFAULT_KEY_LIMITS.max_streams})
  --routes a,b            only these routes: ${API_ROUTES.join(',')} (default all)
  --file KEYS_FILE        add the entry to this keys file (created with mode 0600) instead of printing it
  --revoke ID             mark the key with this id (the 12 hex characters after k2_) revoked in --file

Kubernetes: put the file in the k2-api-keys Secret (key keys.json), see deploy/k8s/README.md.`;

function fail(message: string): never {
  process.stderr.write(`api-key: ${message}\n`);
  process.exit(2);
}

function count(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) fail(`${flag} must be a number > 0`);
  return n;
}

function revoke(id: string, file: string | undefined): void {
  if (!file) fail('--revoke needs --file');
  const entries = readKeysFile(file);
  if (!entries.some((e) => e.id === id)) fail(`no key with id ${id} in ${file}`);
  writeKeysFile(file, entries.map((e) => (e.id === id ? { ...e, revoked: true } : e)));
  process.stdout.write(`revoked ${id} in ${file}\n`);
}

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: {
        name: { type: 'string' },
        rate: { type: 'string' },
        burst: { type: 'string' },
        'max-concurrency': { type: 'string' },
        'max-streams': { type: 'string' },
        routes: { type: 'string' },
        file: { type: 'string' },
        revoke: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    fail(`${(e as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (v.revoke) return revoke(v.revoke, v.file);
  if (!v.name || !API_KEY_NAME_PATTERN.test(v.name)) fail(`--name is required and must match ${API_KEY_NAME_PATTERN}\n\n${USAGE}`);
  const routes = v.routes?.split(',').map((r) => r.trim());
  if (routes?.some((r) => !(API_ROUTES as string[]).includes(r))) fail(`--routes takes ${API_ROUTES.join(',')}`);
  const { key, entry } = mintApiKey({
    name: v.name,
    rate_per_s: count(v.rate, '--rate'),
    burst: count(v.burst, '--burst'),
    max_concurrency: count(v['max-concurrency'], '--max-concurrency'),
    max_streams: count(v['max-streams'], '--max-streams'),
    routes: routes as RouteName[] | undefined,
  });
  if (v.file) {
    const entries = readKeysFile(v.file);
    if (entries.some((e) => e.name === entry.name && !e.revoked)) process.stderr.write(`api-key: note: ${v.file} already has an active key named ${entry.name}\n`);
    writeKeysFile(v.file, [...entries, entry]);
    process.stdout.write(`added ${entry.name} (id ${entry.id}) to ${v.file}\nAPI key (shown only now): ${key}\n`);
    return;
  }
  process.stdout.write(`API key (shown only now): ${key}\nEntry for the keys file (a JSON array of these):\n${JSON.stringify(entry, null, 2)}\n`);
}

main();
