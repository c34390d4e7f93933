import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '@k2/testing';

/**
 * query-api as a child process, started the way `nx serve`/the integration tests do (`node --import tsx`, which runs
 * the service in that very process, so the child's pid is the API's pid and its RSS is the API's RSS).
 */
export interface ApiProcess {
  baseUrl: string;
  /** The ops port (/metrics, /readyz). */
  opsUrl: string;
  pid: number;
  /** Last lines the process wrote, for failure messages. */
  output: string[];
  /** Highest VmRSS seen so far, bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

/**
 * Waits until the API's hot tier has loaded what it schedules at refresh (the table's last 24 h): the gauge
 * k2_query_memory_bytes{part="hot_pending_loads"} at 0. Returns the seconds waited (undefined: no such gauge).
 */
export async function waitHotWarm(opsUrl: string, timeoutMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    const m = /k2_query_memory_bytes\{part="hot_pending_loads"[^}]*\} (\d+)/.exec(text);
    if (!m) return undefined;
    if (m[1] === '0') return (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
  }
  return (Date.now() - t0) / 1000;
}

/** VmRSS of a process in bytes, from /proc (undefined once it is gone or off Linux). */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs`; the peak is what a pod's memory limit would have to allow. */
export function rssSampler(pid: number, everyMs = 200): { peak(): number; stop(): void } {
  let peak = rssOf(pid) ?? 0;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid) ?? 0)), everyMs);
  timer.unref();
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

export async function waitReady(baseUrl: string, timeoutMs: number, alive: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(dead);
    try {
      const r = await fetch(`${baseUrl}/readyz`);
      if (r.status === 200) return;
      last = `${r.status} ${(await r.text()).slice(0, 500)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) throw new Error(`${baseUrl}/readyz not 200 within ${timeoutMs / 1000} s (last: ${last})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts apps/query-api with `env` on top of this process's environment (minus variables that would contradict
 * it) and waits for GET /readyz = 200.
 */
export async function startQueryApi(root: string, env: Record<string, string>, readyTimeoutMs = 120_000): Promise<ApiProcess> {
  const port = await freePort();
  const opsPort = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  // An inherited ICEBERG_REST_URI contradicts ICEBERG_CATALOG=sql; inherited key settings would contradict
  // QUERY_AUTH=none: the bench measures the query path, the key check costs one HMAC-SHA-256 per request.
  for (const k of ['ICEBERG_REST_URI', 'QUERY_API_KEYS_FILE', 'QUERY_API_KEYS']) delete childEnv[k];
  Object.assign(
    childEnv,
    { TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'), PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(opsPort), METRICS_HOST: '127.0.0.1', QUERY_AUTH: 'none' },
    env,
  );
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'apps/query-api/src/main.ts'], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (b: Buffer): void => {
    for (const line of b.toString().split('\n')) if (line.trim()) output.push(line);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve();
    }),
  );
  // Never leave the API running behind a crashed or interrupted bench.
  const killOnExit = (): void => {
    if (exitCode === undefined) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const stop = async (): Promise<void> => {
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start query-api');
  const sampler = rssSampler(pid);
  try {
    await waitReady(opsUrl, readyTimeoutMs, () =>
      exitCode === undefined ? undefined : `query-api exited (code ${exitCode}) during start:\n${output.slice(-30).join('\n')}`,
    );
  } catch (e) {
    sampler.stop();
    await stop();
    throw e;
  }
  return {
    baseUrl,
    opsUrl,
    pid,
    output,
    peakRss: () => sampler.peak(),
    stop: async () => {
      sampler.stop();
      await stop();
    },
  };
}
