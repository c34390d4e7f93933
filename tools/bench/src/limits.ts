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
import WebSocket from 'ws';
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
  const out = await run(path.join(repoRoot(), 'tools/infra/kafka-cli.sh'), args);
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

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} ${args[0]} exited ${code}:\n${out.slice(-2000)}`))));
  });
}

export interface WsLimit {
  frames: number;
  seconds: number;
  framesPerS: number;
}

/**
 * Frames/s a bare `ws` client receives from `url` after sending `subscribe` (one 'message' event per frame, nothing
 * else done with it): what the simulator and the socket deliver, the ceiling of any streamer's receive rate.
 */
export async function wsReceiveLimit(url: string, subscribe: readonly string[], seconds: number, warmupMs = 1000): Promise<WsLimit> {
  const ws = new WebSocket(url, { skipUTF8Validation: true });
  let frames = 0;
  ws.on('message', () => frames++);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  for (const m of subscribe) ws.send(m);
  await new Promise((r) => setTimeout(r, warmupMs));
  const f0 = frames;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = frames - f0;
  ws.terminate();
  return { frames: n, seconds: secs, framesPerS: Math.round(n / secs) };
}

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
