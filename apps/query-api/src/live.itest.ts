import { spawn } from 'node:child_process';
import path from 'node:path';
import { nowMicros, type TradeV2 } from '@k2/schema';
import { makeTrades, produce, sinkTestEnv, type SinkTestEnv } from '@k2/lake-testing';
import { launchBrowser, repoRoot, waitFor, type BrowserHarness } from '@k2/testing';
import { startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * The live views end to end: trades produced to Kafka reach the page in headless Chromium (Debian's chromium,
 * driven by playwright-core) through the SSE stream, and the terminal view prints them. The screenshot is kept
 * in dist/test-artifacts/live-page.png.
 */
const SYMBOL = 'BTCUSDT';
let env: SinkTestEnv;
let api: QueryApiProcess;
let browser: BrowserHarness;

/** Trades stamped now, so they are live in every sense (the page charts event time). */
function liveTrades(from: number, n: number): TradeV2[] {
  return makeTrades(env.exchange, from, n).map((t) => ({ ...t, timestamp: nowMicros(), ingestion_timestamp: nowMicros() }));
}

beforeAll(async () => {
  env = await sinkTestEnv();
  api = await startQueryApi({
    ICEBERG_CATALOG: 'sql',
    ICEBERG_CATALOG_URI: env.catalogUri,
    ICEBERG_WAREHOUSE: env.warehouse,
    ICEBERG_NAMESPACE: env.namespace.join('.'),
    QUERY_TAIL_TOPICS: env.topicList,
    LOG_LEVEL: 'warn',
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await api?.kill();
  await env?.close();
});

describe('live views', () => {
  it('the page charts trades as they arrive over SSE', async () => {
    // The key travels in the fragment, which the browser never sends: the page moves it to the X-API-Key header.
    const page = await browser.page(`${api.url}/?symbol=${SYMBOL}&exchange=${env.exchange.toUpperCase()}#key=${api.key}`);
    await page.waitForFunction(() => document.body.dataset['state'] === 'open', undefined, { timeout: 30_000 });
    expect(page.url()).not.toContain(api.key);
    let last: TradeV2 | undefined;
    let sent = 0;
    for (let round = 0; round < 10; round++) {
      const batch = liveTrades(1 + round * 30, 30).filter((t) => t.symbol === SYMBOL);
      await produce(env, 'trades', batch);
      sent += batch.length;
      last = batch[batch.length - 1];
      await new Promise((r) => setTimeout(r, 300));
    }
    await page.waitForFunction((n) => Number(document.body.dataset['trades'] ?? 0) >= n, sent, { timeout: 30_000 });
    expect(await page.evaluate(() => document.body.dataset['lastPrice'])).toBe(last!.price);
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(5);
    const shot = await browser.screenshot(page, 'live-page.png');
    expect(path.basename(shot)).toBe('live-page.png');
    expect(browser.errors(page).filter((e) => !/favicon/.test(e))).toEqual([]);
  });

  it('npm run tail prints the live trades of a symbol', async () => {
    const root = repoRoot();
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/scripts/tail.ts', '--symbol', SYMBOL, '--exchange', env.exchange, '--url', api.url], {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'), K2_API_KEY: api.key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      // The stream first replays the newest trades held; then produce fresh ones and look for them.
      await new Promise((r) => setTimeout(r, 3000));
      const batch = liveTrades(10_001, 30).filter((t) => t.symbol === SYMBOL);
      await produce(env, 'trades', batch);
      await waitFor('tail printed the trades', () => (batch.every((t) => out.includes(t.price)) ? true : undefined), 30_000, 200);
      const line = out.split('\n').find((l) => l.includes(batch[0].price))!;
      expect(line).toContain(SYMBOL);
      expect(line).toContain(batch[0].quantity);
      expect(line).toContain(batch[0].side);
    } finally {
      child.kill('SIGINT');
    }
  });
});
