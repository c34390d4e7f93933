import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './infra';

/**
 * Headless Chromium for tests that look at a page as a person would. It drives the distribution's Chromium
 * (Debian package `chromium`) through playwright-core, because a browser download at install time is not
 * possible on the project's machines and playwright-core itself downloads nothing.
 */

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The Chromium binary: `K2_CHROMIUM` when set, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  const fromEnv = process.env['K2_CHROMIUM'];
  const path = fromEnv && fromEnv.trim() !== '' ? fromEnv : DEFAULT_CHROMIUM;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      fromEnv
        ? `K2_CHROMIUM=${fromEnv} is not an executable file`
        : `Chromium not found at ${DEFAULT_CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does), or point K2_CHROMIUM at a Chromium binary`,
    );
  }
  return path;
}

// Tests run as root in containers: the setuid/namespace sandbox is unavailable there, and /dev/shm is often
// 64 MB, too small for the renderer's shared memory. No GPU either, so rasterise in software.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--mute-audio', '--hide-scrollbars'];

/** Where tests leave screenshots and other things to look at after a run (under dist/, so git ignores it). */
export function artifactPath(name: string): string {
  const path = join(repoRoot(), 'dist', 'test-artifacts', name);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

export interface BrowserPageOptions {
  width?: number;
  height?: number;
  /** How long `goto` waits for the load event, in ms. */
  timeoutMs?: number;
}

export interface BrowserHarness {
  readonly browser: Browser;
  /** Opens `url` in a fresh context (no shared cookies or storage) and waits for its load event. */
  page(url: string, options?: BrowserPageOptions): Promise<Page>;
  /**
   * Uncaught exceptions, console errors and failed requests of a page opened by `page()`, so a test can assert
   * that a page that looks fine did not throw behind the scenes.
   */
  errors(page: Page): string[];
  /** Saves a full-page PNG as dist/test-artifacts/<name> and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(options: { args?: string[] } = {}): Promise<BrowserHarness> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  const problems = new WeakMap<Page, string[]>();
  return {
    browser,
    async page(url, pageOptions = {}) {
      const context = await browser.newContext({ viewport: { width: pageOptions.width ?? 1280, height: pageOptions.height ?? 800 } });
      const page = await context.newPage();
      const list: string[] = [];
      problems.set(page, list);
      page.on('pageerror', (err) => list.push(`pageerror: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') list.push(`console: ${msg.text()}`);
      });
      page.on('requestfailed', (req) => {
        // A closed EventSource or a navigation away aborts requests on purpose; those are not failures.
        const reason = req.failure()?.errorText ?? '';
        if (reason !== 'net::ERR_ABORTED') list.push(`requestfailed: ${req.url()} ${reason}`);
      });
      page.on('close', () => void context.close().catch(() => undefined));
      await page.goto(url, { waitUntil: 'load', timeout: pageOptions.timeoutMs ?? 30000 });
      return page;
    },
    errors(page) {
      return problems.get(page) ?? [];
    },
    async screenshot(page, name) {
      const path = artifactPath(name);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await browser.close();
    },
  };
}
