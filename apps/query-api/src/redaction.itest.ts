import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, waitFor } from '@k2/testing';

/**
 * Issue 18: docker-compose puts the PostgreSQL password in ICEBERG_CATALOG_URI, and query-api printed it at start.
 * The real process, a catalog URI with a wrong password in userinfo and a query parameter: every line it writes
 * (start-up config, the failing refresh, shutdown) is captured and none holds a password.
 */
const root = path.resolve(__dirname, '../../..');

it('query-api never logs the password of its catalog URI', async () => {
  const pgPort = process.env['K2_PG_PORT'] ?? '5433';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-redaction-'));
  const uri = `postgresql://k2:Wrong-Pw-1@127.0.0.1:${pgPort}/k2_catalog?sslmode=disable&sslpassword=Wrong-Pw-2`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/query-api/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'),
      LOG_LEVEL: 'info',
      PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      QUERY_AUTH: 'none',
      QUERY_TAIL_ENABLED: 'false',
      QUERY_REFRESH_MS: '500',
      QUERY_CACHE_DIR: path.join(dir, 'cache'),
      ICEBERG_CATALOG: 'sql',
      ICEBERG_CATALOG_URI: uri,
      ICEBERG_WAREHOUSE: pathToFileURL(path.join(dir, 'warehouse')).href,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b.toString()));
  child.stderr.on('data', (b: Buffer) => out.push(b.toString()));
  const exited = new Promise((resolve) => child.on('close', resolve));
  try {
    // The catalog refuses the password: the refresh fails and says so.
    await waitFor('a catalog failure in the log', async () => (/table view refresh failed|start failed/.test(out.join('')) ? true : undefined), 60_000, 200);
  } finally {
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const text = out.join('');
  expect(text).toContain('"message":"service starting"');
  expect(text).toContain(`postgresql://k2:***@127.0.0.1:${pgPort}/k2_catalog?sslmode=disable&sslpassword=***`);
  expect(text).not.toContain('Wrong-Pw');
}, 90_000);
