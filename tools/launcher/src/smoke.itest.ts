import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, waitFor } from '@k2/testing';
import { groupMembers, NpmStart, portsInUse } from './npm-start';
import { DEFAULT_API_PORT, METRICS_PORTS, SIMULATOR_PORTS } from './plan';

/**
 * The README's `K2_FEEDS=simulated npm start`, run as a user runs it, on a fresh state directory: the services'
 * catalog, warehouse, ASX checkpoints, journals and logs go to a temp K2_STATE_DIR and the writer uses a consumer
 * group of its own, so the user's lake in .data/ is untouched. Shared with the user: the local infrastructure
 * and the Kafka topics (the simulator's trades and the ASX sample are appended to them, as any
 * `K2_FEEDS=simulated npm start` does; their ids never repeat an earlier run's, and the writer deduplicates the
 * sample). It needs the ports of `npm start` (8080, 9401-9404, 18765-18767) free.
 */

const root = repoRoot();
const PORTS = [DEFAULT_API_PORT, ...Object.values(METRICS_PORTS), ...Object.values(SIMULATOR_PORTS)];
const API = `http://127.0.0.1:${DEFAULT_API_PORT}`;
const READY = /all five services ready in ([\d.]+) s/;
const ASX_SAMPLE = ['BHP', 'DVN', 'MWR'];
const artifacts = path.join(root, 'dist', 'test-artifacts', 'smoke');

function userEnv(stateDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // What the test runner adds (nx task variables, ports of other tests) is not in a user's shell.
  for (const k of Object.keys(env)) if ((k.startsWith('NX_') && k !== 'NX_DAEMON' && k !== 'NX_NO_CLOUD') || k === 'PORT' || k === 'METRICS_PORT') delete env[k];
  const group = `k2-smoke-writer-${process.pid}-${Date.now()}`;
  return { ...env, K2_FEEDS: 'simulated', K2_STATE_DIR: stateDir, WRITER_GROUP_ID: group, QUERY_WRITER_GROUP_ID: group, ...extra };
}

async function getJson(url: string, headers: Record<string, string>): Promise<{ status: number; body: { data?: Array<Record<string, unknown>> } }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as { data?: Array<Record<string, unknown>> } };
}

/** The simulator's first BTCUSDT trade id of this run (its ids start at the launch time, so no earlier run has them). */
async function simulatorFirstId(): Promise<bigint> {
  const state = (await (await fetch(`http://127.0.0.1:${SIMULATOR_PORTS.admin}/state`)).json()) as { binance: { symbols: Record<string, { firstTradeId: string | null }> } };
  const first = state.binance.symbols['BTCUSDT']?.firstTradeId;
  if (!first) throw new Error('the simulator has no BTCUSDT trade yet');
  return BigInt(first);
}

async function stopAndCheckNothingLeft(npm: NpmStart): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  npm.interrupt();
  const exit = await Promise.race([npm.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`npm start still running 90 s after SIGINT:\n${npm.tail()}`)), 90_000))]);
  const left = await waitFor('every process of npm start gone', () => (groupMembers(npm.pgid).length === 0 ? true : undefined), 10_000, 250).catch(() => groupMembers(npm.pgid));
  expect(left).toBe(true);
  return exit;
}

function keepLogs(stateDir: string, name: string): void {
  const logs = path.join(stateDir, 'logs');
  if (fs.existsSync(logs)) fs.cpSync(logs, path.join(artifacts, name), { recursive: true });
}

describe('npm start (fresh state, simulated feeds)', () => {
  let stateDir: string;
  let npm: NpmStart | undefined;

  beforeAll(async () => {
    const busy = await portsInUse(PORTS);
    if (busy.length) throw new Error(`ports ${busy.join(', ')} are in use (is npm start running?); the smoke test runs npm start, which needs ${PORTS.join(', ')}`);
    fs.rmSync(artifacts, { recursive: true, force: true });
  });
  beforeEach(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-smoke-'))));
  afterEach(() => {
    npm?.killGroup();
    npm = undefined;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('gets all five services ready, serves simulator trades and the ASX sample, and Ctrl-C leaves no process', async () => {
    const began = Date.now();
    npm = new NpmStart(root, userEnv(stateDir));
    const [, launcherSeconds] = await npm.waitFor(READY, 6 * 60_000);
    const readySeconds = (Date.now() - began) / 1000;
    // The README quotes this figure (time to ready on a warm machine: infra up, topics, cached build, services).
    process.stdout.write(`smoke: npm start ready in ${readySeconds.toFixed(1)} s (services ${launcherSeconds} s)\n`);
    const key = npm.output.match(/API key \(demo\)\s+(\S+)/)?.[1];
    const headers: Record<string, string> = key ? { 'X-API-Key': key } : {};

    const firstId = await waitFor('the simulator trading BTCUSDT', () => simulatorFirstId().catch(() => undefined), 30_000, 500);
    const trades = await waitFor('simulator BTCUSDT trades from /v1/trades', async () => {
      const { status, body } = await getJson(`${API}/v1/trades?symbol=BTCUSDT&window_minutes=15`, headers);
      const ours = (body.data ?? []).filter((t) => String(t['exchange']).toLowerCase() === 'binance' && BigInt(String(t['trade_id'])) >= firstId);
      return status === 200 && ours.length > 0 ? ours : undefined;
    }, 120_000, 1000);
    expect(trades.every((t) => t['symbol'] === 'BTCUSDT' && Date.parse(String(t['timestamp'])) >= began - 60_000)).toBe(true);

    const symbols = await waitFor('the ASX sample in /v1/symbols', async () => {
      const { status, body } = await getJson(`${API}/v1/symbols?exchange=asx`, headers);
      const names = (body.data ?? []).map((s) => String(s['symbol'])).sort();
      return status === 200 && ASX_SAMPLE.every((s) => names.includes(s)) ? names : undefined;
    }, 120_000, 1000);
    expect(symbols).toEqual(expect.arrayContaining(ASX_SAMPLE));

    const exit = await stopAndCheckNothingLeft(npm);
    keepLogs(stateDir, 'fresh-start');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(npm.output).toContain('every service stopped');
  });

  it('a service that dies stops npm start with a non-zero exit, its name, its error and its log on screen', async () => {
    // A realistic mistake: a symbol listed twice is a config error, so kraken-streamer exits at start.
    npm = new NpmStart(root, userEnv(stateDir, { KRAKEN_SYMBOLS: 'BTC/USD,BTC/USD' }));
    const exit = await Promise.race([npm.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`npm start still running:\n${npm?.tail()}`)), 6 * 60_000))]);
    keepLogs(stateDir, 'dead-service');
    expect(exit.code).not.toBe(0);
    const log = path.join(stateDir, 'logs', 'kraken-streamer.log');
    expect(npm.output).toMatch(/kraken-streamer exited \(code 1\): invalid configuration: invalid configuration for kraken-streamer: KRAKEN_SYMBOLS lists BTC\/USD more than once/);
    expect(npm.output).toContain(`full log: ${log}`);
    expect(fs.readFileSync(log, 'utf8')).toContain('KRAKEN_SYMBOLS lists BTC/USD more than once');
    expect(npm.output).not.toMatch(READY);
    expect(groupMembers(npm.pgid)).toEqual([]);
  });
});
