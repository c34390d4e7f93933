import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './infra';

/** The exchange simulator's admin API, typed (see tools/exchange-simulator/README.md). */
export interface SimulatorEndpoints {
  readonly ws: string;
  readonly rest: string;
}

export type SimulatorFaultType = 'drop' | 'stall' | 'malformed' | 'wrong-type' | 'gap' | 'rotate' | 'reject-connections';

export interface SimulatorFault {
  exchange: 'binance' | 'kraken';
  type: SimulatorFaultType;
  durationMs?: number;
  count?: number;
  symbol?: string;
  graceMs?: number;
}

export interface SimulatorHandle {
  readonly binance: SimulatorEndpoints;
  readonly kraken: SimulatorEndpoints;
  readonly admin: string;
  readonly child: ChildProcess;
  state(): Promise<Record<string, unknown>>;
  /** Every trade id the simulator generated for a symbol (its tape: the truth, whatever the WebSocket showed). */
  tradeIds(exchange: 'binance' | 'kraken', symbol: string): Promise<string[]>;
  fault(f: SimulatorFault): Promise<Record<string, unknown>>;
  pause(exchange?: 'binance' | 'kraken'): Promise<void>;
  resume(exchange?: 'binance' | 'kraken'): Promise<void>;
  setRate(rate: number, exchange?: 'binance' | 'kraken'): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** Starts `tools/exchange-simulator` as its own process on ephemeral loopback ports and waits for its ready line. */
export async function startSimulatorProcess(args: string[] = [], timeoutMs = 30000): Promise<SimulatorHandle> {
  const root = repoRoot();
  const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), ['--tsconfig', 'tsconfig.base.json', 'tools/exchange-simulator/src/main.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (b: Buffer) => {
    stderr.push(b.toString());
    if (stderr.length > 200) stderr.shift();
  });
  const ready = await new Promise<{ binance: SimulatorEndpoints; kraken: SimulatorEndpoints; admin: string }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`simulator not ready after ${timeoutMs} ms: ${stderr.join('').slice(-2000)}`)), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code}: ${stderr.join('').slice(-2000)}`));
    });
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const msg = JSON.parse(line) as { event?: string };
        if (msg.event === 'ready') {
          clearTimeout(timer);
          resolve(msg as unknown as { binance: SimulatorEndpoints; kraken: SimulatorEndpoints; admin: string });
        }
      }
    });
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${ready.admin}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${method} ${path} → ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return {
    binance: ready.binance,
    kraken: ready.kraken,
    admin: ready.admin,
    child,
    state: () => call('GET', '/state'),
    tradeIds: async (exchange, symbol) => (await call('GET', `/trades?exchange=${exchange}&symbol=${encodeURIComponent(symbol)}`))['ids'] as string[],
    fault: (f) => call('POST', '/fault', f),
    pause: async (exchange) => void (await call('POST', '/pause', exchange ? { exchange } : {})),
    resume: async (exchange) => void (await call('POST', '/resume', exchange ? { exchange } : {})),
    setRate: async (rate, exchange) => void (await call('POST', '/rate', exchange ? { rate, exchange } : { rate })),
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
