import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildSpec } from './child';

/** The five services `npm start` runs, in start order, with their /metrics /healthz /readyz ports. */
export const SERVICES = ['binance-streamer', 'kraken-streamer', 'asx-batch-loader', 'iceberg-writer', 'query-api'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const METRICS_PORTS: Record<Exclude<ServiceName, 'query-api'>, number> = {
  'binance-streamer': 9401,
  'kraken-streamer': 9402,
  'asx-batch-loader': 9403,
  'iceberg-writer': 9404,
};
export const DEFAULT_API_PORT = 8080;
/** query-api's ops port (/metrics, /healthz, /readyz); PORT is its public API only (apps/query-api/src/config.ts). */
export const QUERY_API_OPS_PORT = 9405;
/** K2_FEEDS=simulated: the exchange simulator's fixed ports. */
export const SIMULATOR_PORTS = { binance: 18765, kraken: 18766, admin: 18767 } as const;
export const SIMULATOR = 'exchange-simulator';

export interface LaunchPlan {
  stages: ChildSpec[][];
  /** K2_STATE_DIR, default <repo>/.data: the services' state and logs (the infrastructure's is K2_DATA_DIR, infra.sh). */
  stateDir: string;
  logDir: string;
  /** Directories the services expect to exist. */
  dirs: string[];
  apiPort: number;
  simulated: boolean;
}

/**
 * What `npm start` runs, from its environment (start.sh has exported the infrastructure's endpoints):
 * - K2_FEEDS=simulated: first the exchange simulator (ports 18765-18767, trade ids starting at the launch time in
 *   µs, so a restart never repeats an earlier run's ids and message ids), then the streamers pointed at it;
 * - K2_STATE_DIR: the services' state goes there instead of .data/ (catalog, warehouse, ASX checkpoints, journals,
 *   logs), for a throwaway run such as the smoke test; settings given explicitly still win.
 * Each service runs as `node --enable-source-maps dist/apps/<name>/main.js`, the apps' `serve` target.
 */
export function launchPlan(env: NodeJS.ProcessEnv, root: string, now = Date.now()): LaunchPlan {
  const stateDir = env['K2_STATE_DIR'] ? path.resolve(root, env['K2_STATE_DIR']) : path.join(root, '.data');
  const simulated = env['K2_FEEDS'] === 'simulated';
  const apiPort = Number(env['PORT'] || DEFAULT_API_PORT);
  const apiOpsPort = Number(env['METRICS_PORT'] || QUERY_API_OPS_PORT);
  const state = env['K2_STATE_DIR'] ? stateEnv(env, stateDir) : { shared: {}, perService: {} };
  const sim = simulated ? simulatorEnv() : {};
  const services: ChildSpec[] = SERVICES.map((name) => ({
    name,
    command: process.execPath,
    args: ['--enable-source-maps', ...heapArgs(name, env), `dist/apps/${name}/main.js`],
    env: { ...state.shared, ...(state.perService[name] ?? {}), ...(name.endsWith('-streamer') ? sim : {}) },
    ready: { kind: 'http', port: name === 'query-api' ? apiOpsPort : METRICS_PORTS[name] },
    // ASX_STAY_ALIVE=false: the loader loads its input and exits 0.
    oneShot: name === 'asx-batch-loader' && env['ASX_STAY_ALIVE'] === 'false',
  }));
  const stages = simulated ? [[simulatorSpec(env, now)], services] : [services];
  const dirs = env['K2_STATE_DIR'] ? [path.join(stateDir, 'iceberg', 'warehouse')] : [];
  return { stages, stateDir, logDir: path.join(stateDir, 'logs'), dirs, apiPort, simulated };
}

/**
 * query-api's V8 heap limit for its default QUERY_MEMORY_BUDGET (768 MiB → 461 MiB, apps/query-api memory-budget.ts
 * heapLimitMiB): without it the heap is sized from the machine and garbage can push RSS past the budget. A user who
 * sets the budget or NODE_OPTIONS chooses the limit too (query-api warns at start when the heap may outgrow it).
 */
export function queryApiHeapArgs(env: NodeJS.ProcessEnv): string[] {
  if (env['QUERY_MEMORY_BUDGET'] || /max-old-space-size/.test(env['NODE_OPTIONS'] ?? '')) return [];
  return [`--max-old-space-size=${DEFAULT_QUERY_HEAP_MIB}`];
}

const DEFAULT_QUERY_HEAP_MIB = 461;

/**
 * iceberg-writer's V8 heap limit for its default WRITER_MEMORY_BUDGET (768 MiB minus DuckDB's quarter → 576 MiB,
 * ADR 0025): without it V8 sizes the heap from the machine and the writer's garbage took RSS to 1.6 GB in
 * bench:writer. As for query-api, a user who sets the budget or NODE_OPTIONS chooses the limit too.
 */
export function writerHeapArgs(env: NodeJS.ProcessEnv): string[] {
  if (env['WRITER_MEMORY_BUDGET'] || /max-old-space-size/.test(env['NODE_OPTIONS'] ?? '')) return [];
  return [`--max-old-space-size=${DEFAULT_WRITER_HEAP_MIB}`];
}

const DEFAULT_WRITER_HEAP_MIB = 576;

function heapArgs(name: string, env: NodeJS.ProcessEnv): string[] {
  if (name === 'query-api') return queryApiHeapArgs(env);
  if (name === 'iceberg-writer') return writerHeapArgs(env);
  return [];
}

function simulatorSpec(env: NodeJS.ProcessEnv, now: number): ChildSpec {
  const firstId = String(now * 1000);
  return {
    name: SIMULATOR,
    command: process.execPath,
    // tsx as a loader, in this process: a stop signal reaches the simulator itself, not a wrapper.
    args: [
      '--import', 'tsx', 'tools/exchange-simulator/src/main.ts',
      '--binance-port', String(SIMULATOR_PORTS.binance),
      '--kraken-port', String(SIMULATOR_PORTS.kraken),
      '--admin-port', String(SIMULATOR_PORTS.admin),
      '--rate', env['K2_SIM_RATE'] || '20',
      '--binance-start-id', firstId,
      '--binance-book-start-id', firstId,
      '--kraken-start-id', firstId,
    ],
    env: { TSX_TSCONFIG_PATH: 'tsconfig.base.json' },
    ready: { kind: 'line', match: '"event":"ready"' },
  };
}

function simulatorEnv(): Record<string, string> {
  return {
    BINANCE_WS_URLS: `ws://127.0.0.1:${SIMULATOR_PORTS.binance}`,
    BINANCE_REST_URL: `http://127.0.0.1:${SIMULATOR_PORTS.binance}`,
    KRAKEN_WS_URLS: `ws://127.0.0.1:${SIMULATOR_PORTS.kraken}/v2`,
    KRAKEN_REST_URL: `http://127.0.0.1:${SIMULATOR_PORTS.kraken}`,
    // A new simulator's ids continue no earlier run, so resuming after ids found in Kafka would declare a gap.
    FEED_RESUME_FROM_KAFKA: 'false',
  };
}

function stateEnv(env: NodeJS.ProcessEnv, stateDir: string) {
  const unlessSet = (entries: Record<string, string>) => Object.fromEntries(Object.entries(entries).filter(([k]) => !env[k]));
  const sql = (env['ICEBERG_CATALOG'] ?? 'sql') === 'sql';
  const shared = unlessSet({
    ...(sql
      ? {
          ICEBERG_CATALOG_URI: `jdbc:sqlite:file:${path.join(stateDir, 'iceberg', 'lake-catalog.db')}`,
          ICEBERG_WAREHOUSE: pathToFileURL(path.join(stateDir, 'iceberg', 'warehouse')).href,
        }
      : {}),
  });
  const perService: Partial<Record<ServiceName, Record<string, string>>> = {
    'binance-streamer': unlessSet({ FEED_JOURNAL_DIR: path.join(stateDir, 'journal', 'binance') }),
    'kraken-streamer': unlessSet({ FEED_JOURNAL_DIR: path.join(stateDir, 'journal', 'kraken') }),
    'asx-batch-loader': unlessSet({ ASX_CHECKPOINT_DIR: path.join(stateDir, 'asx-loader', 'checkpoints') }),
  };
  return { shared, perService };
}
