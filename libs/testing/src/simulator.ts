import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './infra';

/*
 * Test handle for tools/exchange-simulator run as its own process (the streamers' black-box tests). The types
 * below mirror the simulator's admin API (tools/exchange-simulator/README.md, "Admin API"); they are copied,
 * not imported, because libraries may not depend on tools.
 */

export type SimulatorExchange = 'binance' | 'kraken';

export interface SimulatorEndpoints {
  /** Binance: base URL (append /ws/<stream> or /stream?streams=...); Kraken: the /v2 WebSocket URL. */
  readonly ws: string;
  readonly rest: string;
}

export type SimulatorFaultType = 'drop' | 'stall' | 'malformed' | 'wrong-type' | 'gap' | 'rotate' | 'reject-connections';

export interface SimulatorFault {
  exchange: SimulatorExchange;
  type: SimulatorFaultType;
  /** stall, reject-connections */
  durationMs?: number;
  /** malformed / wrong-type: frames per connection (default 1); gap: trades hidden from the WebSocket */
  count?: number;
  /** gap: only this symbol (default: the next trades of any symbol) */
  symbol?: string;
  /** rotate (Binance): ms between serverShutdown and the close (default 1000) */
  graceMs?: number;
  /** rotate (Binance): false closes without the serverShutdown event (default true) */
  notify?: boolean;
}

export interface SimulatorFaultResult {
  ok: true;
  exchange: SimulatorExchange;
  type: SimulatorFaultType;
  /** Connections affected; for gap, the number of trades that will be hidden; 0 for reject-connections. */
  affected: number;
  /** stall, reject-connections: epoch ms when the fault ends. */
  until?: number;
}

export interface SimulatorSymbolState {
  /** Ids are decimal strings; null before the first trade. */
  firstTradeId: string | null;
  lastTradeId: string | null;
  count: number;
  oldestRestTradeId: string | null;
  firstAggTradeId?: string | null;
  lastAggTradeId?: string | null;
}

export interface SimulatorExchangeState {
  symbols: Record<string, SimulatorSymbolState>;
  connections: number;
  generating: boolean;
  paused: boolean;
  rate: number;
  rejectingConnections: boolean;
}

export interface SimulatorState {
  mode: 'synthetic' | 'replay';
  seed: number;
  binance?: SimulatorExchangeState;
  kraken?: SimulatorExchangeState;
}

export interface SimulatorHandle {
  /** Throws on access when the exchange was left out with --exchanges. */
  readonly binance: SimulatorEndpoints;
  readonly kraken: SimulatorEndpoints;
  readonly admin: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The simulator's stderr so far (JSON log lines), newest last, at most 1000 lines. */
  logs(): string[];
  state(): Promise<SimulatorState>;
  /** Every trade id the simulator generated for a symbol (its tape: the truth, whatever the WebSocket showed). */
  tradeIds(exchange: SimulatorExchange, symbol: string): Promise<string[]>;
  fault(f: SimulatorFault): Promise<SimulatorFaultResult>;
  pause(exchange?: SimulatorExchange): Promise<void>;
  resume(exchange?: SimulatorExchange): Promise<void>;
  setRate(rate: number, exchange?: SimulatorExchange): Promise<void>;
  /** Signals the simulator's process group (default SIGKILL) and resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (clean shutdown), SIGKILL after 10 s; resolves on exit. */
  stop(): Promise<void>;
}

interface ReadyLine {
  event: 'ready';
  binance?: SimulatorEndpoints;
  kraken?: SimulatorEndpoints;
  admin: string;
}

// Simulators still running when the test process exits are killed with their process group, so a failed test
// never leaves one holding ports.
const live = new Set<number>();
let exitHook = false;
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function notSimulated(exchange: string): SimulatorEndpoints {
  const fail = (): never => {
    throw new Error(`${exchange} is not simulated (see --exchanges)`);
  };
  return {
    get ws(): string {
      return fail();
    },
    get rest(): string {
      return fail();
    },
  };
}

/**
 * Starts `tools/exchange-simulator` from the repository root on ephemeral loopback ports with the given CLI
 * arguments and resolves once it has printed its ready line. Set K2_SIMULATOR_LOGS=1 to copy its logs to stderr.
 *
 * It runs as `node --import tsx main.ts` with tsx's tsconfig variable, which is what `tsx --tsconfig
 * tsconfig.base.json main.ts` (npm run simulator) runs, minus the tsx CLI process in front: that process starts
 * the simulator in a session of its own, so killing it (SIGKILL cannot be relayed) would leave the simulator
 * running and holding its ports. Here the pid is the simulator's, leading its own process group.
 */
export async function startSimulatorProcess(args: string[] = [], timeoutMs = 60000): Promise<SimulatorHandle> {
  const root = repoRoot();
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/exchange-simulator/src/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.base.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the exchange simulator');
  live.add(pid);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const p of live) killGroup(p, 'SIGKILL');
    });
  }
  const stderr: string[] = [];
  let partial = '';
  const echo = process.env['K2_SIMULATOR_LOGS'] === '1';
  child.stderr?.on('data', (b: Buffer) => {
    if (echo) process.stderr.write(b);
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    stderr.push(...lines);
    if (stderr.length > 1000) stderr.splice(0, stderr.length - 1000);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(pid);
      resolve(code);
    }),
  );
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    let buf = '';
    const tail = (): string => [...stderr, partial].join('\n').slice(-2000);
    const timer = setTimeout(() => {
      killGroup(pid, 'SIGKILL');
      reject(new Error(`exchange simulator not ready after ${timeoutMs} ms: ${tail()}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exchange simulator exited with ${code} before it was ready: ${tail()}`));
    });
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const msg = JSON.parse(line) as ReadyLine;
        if (msg.event === 'ready') {
          clearTimeout(timer);
          resolve(msg);
        }
      }
    });
  });

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${ready.admin}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`exchange simulator ${method} ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) killGroup(pid, signal);
    await exited;
  };

  return {
    binance: ready.binance ?? notSimulated('binance'),
    kraken: ready.kraken ?? notSimulated('kraken'),
    admin: ready.admin,
    child,
    pid,
    exited,
    logs: () => [...stderr],
    state: () => call<SimulatorState>('GET', '/state'),
    tradeIds: async (exchange, symbol) => (await call<{ ids: string[] }>('GET', `/trades?exchange=${exchange}&symbol=${encodeURIComponent(symbol)}`)).ids,
    fault: (f) => call<SimulatorFaultResult>('POST', '/fault', f),
    pause: async (exchange) => void (await call('POST', '/pause', exchange ? { exchange } : {})),
    resume: async (exchange) => void (await call('POST', '/resume', exchange ? { exchange } : {})),
    setRate: async (rate, exchange) => void (await call('POST', '/rate', exchange ? { rate, exchange } : { rate })),
    kill,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // The simulator closes its sockets on SIGTERM and exits 0.
      child.kill('SIGTERM');
      const t = setTimeout(() => killGroup(pid, 'SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    },
  };
}
