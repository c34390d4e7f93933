import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '@k2/testing';

/**
 * Issue 18: docker-compose sets ICEBERG_CATALOG_URI=jdbc:postgresql://postgres:5432/k2_catalog?user=…&password=…,
 * and the writer printed it at start. The real process with such a URI (wrong password, so the catalog refuses it):
 * every line it writes is captured and none holds the password. The consuming writer touches the catalog only once
 * partitions are assigned, so `maintain` (same config, same start-up) exercises the catalog's failure path.
 */
const root = path.resolve(__dirname, '../../..');

it('iceberg-writer never logs the password of its catalog URI', async () => {
  const pgPort = process.env['K2_PG_PORT'] ?? '5433';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-redaction-'));
  const uri = `jdbc:postgresql://127.0.0.1:${pgPort}/k2_catalog?user=k2&password=Wrong-Pw-3&sslmode=disable`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/iceberg-writer/src/main.ts', 'maintain'], {
    cwd: root,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'),
      LOG_LEVEL: 'info',
      METRICS_PORT: String(await freePort()),
      METRICS_HOST: '127.0.0.1',
      ICEBERG_CATALOG: 'sql',
      ICEBERG_CATALOG_URI: uri,
      ICEBERG_WAREHOUSE: pathToFileURL(path.join(dir, 'warehouse')).href,
      WRITER_TMP_DIR: dir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b.toString()));
  child.stderr.on('data', (b: Buffer) => out.push(b.toString()));
  const exited = new Promise((resolve) => child.on('close', resolve));
  try {
    expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000))])).toBe(1);
    expect(out.join('')).toMatch(/"message":"start failed"/);
  } finally {
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const text = out.join('');
  expect(text).toContain('"message":"service starting"');
  expect(text).toContain(`jdbc:postgresql://127.0.0.1:${pgPort}/k2_catalog?user=k2&password=***&sslmode=disable`);
  expect(text).not.toContain('Wrong-Pw');
}, 90_000);
