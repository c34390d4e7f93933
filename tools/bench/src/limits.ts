/**
 * The machine's own limits, measured in the same run as the figure they judge (issue 20): absolute throughput
 * swings with whatever else runs on the 2 shared cores, a ratio to a limit measured minutes apart does not.
 *
 * - producerPerfLimit: Kafka's own ProducerPerformance (kafka-producer-perf-test, from the jars the local broker
 *   runs, through tools/infra/kafka-cli.sh) with the record size, acks, idempotence and compression of the figure
 *   it judges — the broker + client ceiling on this machine.
 * - wsReceiveLimit: a `ws` client that only counts frames from the exchange simulator — the socket ceiling.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureTopics } from '@k2/kafka';
import { repoRoot } from '@k2/testing';

export interface PerfLimit {
  records: number;
  recordSize: number;
  recordsPerS: number;
  mbPerS: number;
  avgLatencyMs: number;
  p99LatencyMs: number;
}

export interface PerfOptions {
  brokers: string;
  /** A scratch topic (created here with 3 partitions, the platform default; the caller deletes it). */
  topic: string;
  records: number;
  recordSize: number;
  /** Producer properties beyond acks=all, enable.idempotence=true, compression.type=zstd (e.g. linger.ms). */
  props?: Readonly<Record<string, string>>;
}

/** ProducerPerformance's summary: "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, p50, p95, p99, p99.9". */
const SUMMARY = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, (\d+) ms 99th/;

export async function producerPerfLimit(o: PerfOptions): Promise<PerfLimit> {
  await ensureTopics(o.brokers, [{ topic: o.topic }]);
  const props = { 'bootstrap.servers': o.brokers, acks: 'all', 'enable.idempotence': 'true', 'compression.type': 'zstd', ...o.props };
  const args = [
    'kafka-producer-perf-test',
    '--topic', o.topic,
    '--num-records', String(o.records),
    '--record-size', String(o.recordSize),
    '--throughput', '-1',
    '--producer-props', ...Object.entries(props).map(([k, v]) => `${k}=${v}`),
  ];
  const out = await run('bash', [path.join(repoRoot(), 'tools/infra/kafka-cli.sh'), ...args]);
  const m = SUMMARY.exec(out.split('\n').reverse().find((l) => SUMMARY.test(l)) ?? '');
  if (!m) throw new Error(`kafka-producer-perf-test printed no summary:\n${out.slice(-2000)}`);
  return {
    records: Number(m[1]),
    recordSize: o.recordSize,
    recordsPerS: Number(m[2]),
    mbPerS: Number(m[3]),
    avgLatencyMs: Number(m[4]),
    p99LatencyMs: Number(m[5]),
  };
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} ${args[0]?.slice(0, 40)} exited ${code}:\n${out.slice(-2000)}`))));
  });
}

export interface WsLimit {
  frames: number;
  seconds: number;
  framesPerS: number;
}

/**
 * Frames/s a bare `ws` client receives from `url` after sending `subscribe` (one 'message' event per frame, nothing
 * else done with it): what the simulator and the socket deliver, the ceiling of any streamer's receive rate. It runs
 * in its own process so that its buffers do not count in the bench process's peak RSS.
 */
export async function wsReceiveLimit(url: string, subscribe: readonly string[], seconds: number, warmupMs = 1000): Promise<WsLimit> {
  const out = await run(process.execPath, ['-e', WS_CLIENT, url, JSON.stringify(subscribe), String(warmupMs), String(seconds * 1000)], { cwd: repoRoot() });
  const m = /^frames (\d+) seconds ([\d.]+)$/m.exec(out);
  if (!m) throw new Error(`ws receive limit: no result:\n${out.slice(-2000)}`);
  const frames = Number(m[1]);
  const secs = Number(m[2]);
  return { frames, seconds: secs, framesPerS: Math.round(frames / secs) };
}

const WS_CLIENT = `
const WebSocket = require('ws');
const [url, subscribe, warmupMs, windowMs] = process.argv.slice(1);
const ws = new WebSocket(url, { skipUTF8Validation: true });
let frames = 0;
ws.on('message', () => frames++);
ws.on('error', (e) => { console.error(e.message); process.exit(1); });
ws.on('open', () => {
  for (const m of JSON.parse(subscribe)) ws.send(m);
  setTimeout(() => {
    const f0 = frames, t0 = process.hrtime.bigint();
    setTimeout(() => {
      console.log('frames ' + (frames - f0) + ' seconds ' + (Number(process.hrtime.bigint() - t0) / 1e9));
      process.exit(0);
    }, Number(windowMs));
  }, Number(warmupMs));
});
`;

export interface BenchGoal {
  name: string;
  goal: number;
  measured: number;
  unit: string;
  met: boolean;
}

export const atLeast = (name: string, measured: number, goal: number, unit = '≥ ×'): BenchGoal => ({ name, goal, measured: round(measured), unit, met: measured >= goal });
export const atMost = (name: string, measured: number, goal: number, unit: string): BenchGoal => ({ name, goal, measured: round(measured), unit, met: measured <= goal });

export function round(n: number): number {
  return Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000;
}

/** The last line of every bench: `BENCH {json}` with figures, limits, ratios and goals (met or not). */
export function benchLine(name: string, figures: Record<string, unknown>, limits: Record<string, unknown>, ratios: Record<string, number>, goals: readonly BenchGoal[]): string {
  return `BENCH ${JSON.stringify({
    name,
    figures,
    limits,
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v)])),
    goals,
    met: goals.every((g) => g.met),
  })}`;
}
