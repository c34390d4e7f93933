import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './infra';
import { waitFor } from './wait';

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  /** Everything the process wrote (JSON log lines), for assertions and failure messages. */
  readonly output: string[];
  readonly exited: Promise<number | null>;
  metrics(): Promise<string>;
  /** Sum of every series of a metric whose labels contain all of `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface ServiceProcessOptions {
  startTimeoutMs?: number;
  /** Serve on this port (default: a free one). A restarted service keeps its scrape target by reusing its port. */
  port?: number;
  /** Also append everything the process writes to this file (kept across restarts, for post-mortems). */
  logFile?: string;
}

/**
 * Runs an app's `src/main.ts` as its own process (as `nx serve` would, without building), with `env` on top of
 * the test's environment, and waits until /healthz answers.
 */
export async function startServiceProcess(app: string, env: Record<string, string>, opts: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  const startTimeoutMs = opts.startTimeoutMs ?? 60000;
  const root = repoRoot();
  const port = opts.port ?? (await freePort());
  // `node --import tsx` runs the service in this very process (the tsx CLI would fork a child), so a SIGKILL
  // sent by a test really kills the service.
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.base.json'), METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  // 'close' comes after the last stdout/stderr data, 'exit' may not.
  child.once('close', () => log?.end());
  log?.on('error', () => undefined);
  const collect = (b: Buffer) => {
    log?.write(b);
    for (const line of b.toString().split('\n')) if (line.trim()) output.push(line);
    if (output.length > 20000) output.splice(0, output.length - 20000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(
    `${app} /healthz`,
    async () => {
      if (dead) throw new Error(`${app} exited during start:\n${output.slice(-30).join('\n')}`);
      try {
        return (await fetch(`${baseUrl}/healthz`)).ok || undefined;
      } catch {
        return undefined;
      }
    },
    startTimeoutMs,
    200,
  );
  const metrics = async () => (await fetch(`${baseUrl}/metrics`)).text();
  return {
    child,
    port,
    baseUrl,
    output,
    exited,
    metrics,
    async metric(name, labels = {}) {
      const text = await metrics();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const ls = m[2] ?? '';
        if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3]);
      }
      return sum;
    },
    async kill(signal = 'SIGTERM') {
      if (!dead) child.kill(signal);
      return exited;
    },
  };
}
