// npm start's demo key: made once, kept in .data/secrets/ (mode 0700/0600), and printed on stdout for start.sh.
// The key itself is in query-api-demo.key (npm run tail reads it); query-api sees only the hashed entry in
// query-api-keys.json (QUERY_API_KEYS_FILE). A key whose entry is missing or revoked is replaced by a new one.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiKeyId, KeyRing, mintApiKey, readKeysFile, writeKeysFile } from '@k2/query';

const DIR = join(process.cwd(), '.data', 'secrets');
const KEY_FILE = join(DIR, 'query-api-demo.key');
const KEYS_FILE = process.env['QUERY_API_KEYS_FILE'] || join(DIR, 'query-api-keys.json');
const NAME = 'demo';

function main(): void {
  mkdirSync(DIR, { recursive: true, mode: 0o700 });
  chmodSync(DIR, 0o700);
  const entries = readKeysFile(KEYS_FILE);
  const existing = existsSync(KEY_FILE) ? readFileSync(KEY_FILE, 'utf8').trim() : '';
  if (existing && new KeyRing(entries).verify(existing).kind === 'ok') {
    process.stdout.write(`${existing}\n`);
    return;
  }
  // Generous limits: one person's browser tabs and terminals on a laptop.
  const { key, entry } = mintApiKey({ name: NAME, rate_per_s: 50, burst: 100, max_concurrency: 8, max_streams: 10 });
  const staleId = existing ? apiKeyId(existing) : undefined;
  writeKeysFile(KEYS_FILE, [...entries.filter((e) => e.id !== staleId && e.name !== NAME), entry]);
  writeFileSync(KEY_FILE, `${key}\n`, { mode: 0o600 });
  chmodSync(KEY_FILE, 0o600);
  process.stdout.write(`${key}\n`);
}

main();
