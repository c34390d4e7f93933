import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dlqTopic, ensureTopics } from '@k2/kafka';
import { infraEndpoints, removeScratchTopics, repoRoot, scratchExchange, waitFor } from '@k2/testing';
import { groupMembers, NpmStart, portsInUse } from './npm-start';
import { DEFAULT_API_PORT, METRICS_PORTS, QUERY_API_OPS_PORT, SIMULATOR_PORTS } from './plan';

/**
 * The README's `K2_FEEDS=simulated npm start`, run as a user runs it, on fresh state: the services' catalog,
 * warehouse, ASX checkpoints, journals and logs go to a temp K2_STATE_DIR, the writer uses a consumer group of its
 * own, and the data goes to scratch topics of this run (deleted at the end) through the services' own settings
 * (FEED_TOPIC_EXCHANGE — one for both streamers, their records keep their exchange —, ASX_TOPIC_EXCHANGE,
 * WRITER_TOPICS, QUERY_TAIL_TOPICS). So the user's lake in .data/ and the platform topics are untouched; shared with
 * the user are the local infrastructure and what start.sh itself does (setup, infra up, creating the platform
 * topics, building the apps). It needs the ports of `npm start` (8080, 9401-9405, 18765-18767) free.
 */

const root = repoRoot();
const PORTS = [DEFAULT_API_PORT, ...Object.values(METRICS_PORTS), QUERY_API_OPS_PORT, ...Object.values(SIMULATOR_PORTS)];
const API = `http://127.0.0.1:${DEFAULT_API_PORT}`;
const READY = /all five services ready in ([\d.]+) s/;
/** start.sh prints the demo key of query-api in this line; requests send it as X-API-Key. */
const API_KEY_LINE = /API key \(demo\)\s+(\S+)/;
const ASX_SAMPLE = ['BHP', 'DVN', 'MWR'];
const artifacts = path.join(root, 'dist', 'test-artifacts', 'smoke');

const crypto = scratchExchange('test', 'smk');
const asx = scratchExchange('test', 'smka');
const tailTopics = [`market.crypto.trades.${crypto}`, `market.crypto.quotes.${crypto}`, `market.equities.trades.${asx}`, `market.equities.quotes.${asx}`];
const dataTopics = [...tailTopics, `market.equities.reference.${asx}`];

function userEnv(stateDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // What the test runner adds (nx task variables, ports of other tests) is not in a user's shell.
  for (const k of Object.keys(env)) if ((k.startsWith('NX_') && k !== 'NX_DAEMON' && k !== 'NX_NO_CLOUD') || k === 'PORT' || k === 'METRICS_PORT') delete env[k];
  const group = `k2-smoke-writer-${process.pid}-${Date.now()}`;
  const scratch = { FEED_TOPIC_EXCHANGE: crypto, ASX_TOPIC_EXCHANGE: asx, WRITER_TOPICS: dataTopics.join(','), QUERY_TAIL_TOPICS: tailTopics.join(',') };
  return { ...env, K2_FEEDS: 'simulated', K2_STATE_DIR: stateDir, WRITER_GROUP_ID: group, QUERY_WRITER_GROUP_ID: group, ...scratch, ...extra };
}

async function getJson(url: string, headers: Record<string, string>): Promise<{ status: number; body: { data?: Array<Record<string, unknown>> } }> {
  const res = await fetch(url, { headers: { ...headers, connection: 'close' }, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as { data?: Array<Record<string, unknown>> } };
}

/** The simulator's first BTCUSDT trade id of this run (its ids start at the launch time, so no earlier run has them). */
async function simulatorFirstId(): Promise<bigint> {
  const state = (await (await fetch(`http://127.0.0.1:${SIMULATOR_PORTS.admin}/state`, { headers: { connection: 'close' } })).json()) as { binance: { symbols: Record<string, { firstTradeId: string | null }> } };
  const first = state.binance.symbols['BTCUSDT']?.firstTradeId;
  if (!first) throw new Error('the simulator has no BTCUSDT trade yet');
  return BigInt(first);
}

/** `promise`, or a rejection with `message()` after `ms` (the timer is cleared either way, so jest can exit). */
async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopAndCheckNothingLeft(npm: NpmStart): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  npm.interrupt();
  const exit = await within(npm.exited, 90_000, () => `npm start still running 90 s after SIGINT:\n${npm.tail()}`);
  const left = await waitFor('every process of npm start gone', () => (groupMembers(npm.pgid).length === 0 ? true : undefined), 10_000, 250).catch(() => groupMembers(npm.pgid));
  expect(left).toBe(true);
  return exit;
}

/** The services' logs and what npm start printed, under dist/test-artifacts/smoke/<name>/ for a post-mortem. */
function keepLogs(stateDir: string, name: string, npm: NpmStart): void {
  const logs = path.join(stateDir, 'logs');
  if (fs.existsSync(logs)) fs.cpSync(logs, path.join(artifacts, name), { recursive: true });
  fs.mkdirSync(path.join(artifacts, name), { recursive: true });
  // The demo API key start.sh prints is a credential: not in an artifact.
  const key = npm.output.match(API_KEY_LINE)?.[1];
  fs.writeFileSync(path.join(artifacts, name, 'npm-start.out'), `${key ? npm.output.replaceAll(key, '[demo key]') : npm.output}\n`);
}

describe('npm start (fresh state, simulated feeds)', () => {
  let stateDir = '';
  let npm: NpmStart | undefined;

  beforeAll(async () => {
    const busy = await portsInUse(PORTS);
    if (busy.length) throw new Error(`ports ${busy.join(', ')} are in use (is npm start running?); the smoke test runs npm start, which needs ${PORTS.join(', ')}`);
    fs.rmSync(artifacts, { recursive: true, force: true });
    await ensureTopics(infraEndpoints().kafkaBrokers, dataTopics.flatMap((topic) => [{ topic }, { topic: dlqTopic(topic), partitions: 1 }]));
  });
  afterAll(async () => {
    const { kafkaBrokers, registryUrl } = infraEndpoints();
    await removeScratchTopics(kafkaBrokers, registryUrl, dataTopics);
  });
  beforeEach(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-smoke-'))));
  afterEach(() => {
    npm?.killGroup();
    if (npm) keepLogs(stateDir, (expect.getState().currentTestName ?? 'test').replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60), npm);
    npm = undefined;
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('gets all five services ready, serves simulator trades and the ASX sample, and Ctrl-C leaves no process', async () => {
    const began = Date.now();
    npm = new NpmStart(root, userEnv(stateDir));
    const [, launcherSeconds] = await npm.waitFor(READY, 6 * 60_000);
    const readySeconds = (Date.now() - began) / 1000;
    // The README quotes this figure (time to ready on a warm machine: infra up, topics, cached build, services).
    process.stdout.write(`smoke: npm start ready in ${readySeconds.toFixed(1)} s (services ${launcherSeconds} s)\n`);
    const key = npm.output.match(API_KEY_LINE)?.[1];
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
    expect(exit).toEqual({ code: 0, signal: null });
    expect(npm.output).toContain('every service stopped');
  });

  it('a service that dies stops npm start with a non-zero exit, its name, its error and its log on screen', async () => {
    // A realistic mistake: a symbol listed twice is a config error, so kraken-streamer exits at start.
    npm = new NpmStart(root, userEnv(stateDir, { KRAKEN_SYMBOLS: 'BTC/USD,BTC/USD' }));
    const exit = await within(npm.exited, 6 * 60_000, () => `npm start still running:\n${npm?.tail()}`);
    expect(exit.code).not.toBe(0);
    const log = path.join(stateDir, 'logs', 'kraken-streamer.log');
    expect(npm.output).toMatch(/kraken-streamer exited \(code 1\): invalid configuration for kraken-streamer: KRAKEN_SYMBOLS lists BTC\/USD more than once/);
    expect(npm.output).toContain(`full log: ${log}`);
    expect(fs.readFileSync(log, 'utf8')).toContain('KRAKEN_SYMBOLS lists BTC/USD more than once');
    expect(npm.output).not.toMatch(READY);
    expect(groupMembers(npm.pgid)).toEqual([]);
  });
});
