/**
 * The writer under test as its own process (`node --import tsx`, so this pid is the writer's pid and its VmRSS is
 * the writer's RSS, not the bench producer's): the real IcebergSink of @k2/lake-sink started by the lake-testing
 * harness on the bench's scratch topics, temp SQLite catalog and file warehouse. Driven over the IPC channel:
 *   parent → child: {commit} once at start (interval/rows/bytes), 'stop' at the end
 *   child → parent: 'started' {startedMs}, one 'commit' message per snapshot, 'stopped'
 * Freshness (commit time − oldest event in the commit) is taken here, at the moment the commit returns.
 */
import { createLogger } from '@k2/core';
import { nowMicros } from '@k2/schema';
import { startSink, type SinkTestEnv } from '@k2/lake-testing';

export interface SinkProcessConfig {
  env: Pick<SinkTestEnv, 'suffix' | 'exchange' | 'namespace' | 'dir' | 'catalogUri' | 'warehouse' | 'topics' | 'topicList' | 'brokers' | 'registryUrl'>;
  commit: { intervalMs: number; maxRows: number; maxBytes: number };
}

export interface CommitMessage {
  type: 'commit';
  table: string;
  written: number;
  files: number;
  bytes: number;
  seconds: number;
  /** Seconds from the child's start of startSink() to this commit. */
  atSeconds: number;
  /** nowMicros() − oldest event time of the commit, in seconds (undefined: no event times). */
  stalenessSeconds?: number;
}

export type ChildMessage = { type: 'started' } | CommitMessage | { type: 'stopped' } | { type: 'error'; message: string };

function send(m: ChildMessage): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env['K2_BENCH_SINK_CONFIG'] ?? '') as SinkProcessConfig;
  const logger = createLogger({ service: 'writer-bench-sink', level: process.env['K2_TEST_LOG_LEVEL'] ?? 'warn' });
  // The harness only reads these fields of the env (no producer, no serde: the parent produces).
  const env = { ...cfg.env, logger } as unknown as SinkTestEnv;
  const t0 = process.hrtime.bigint();
  const run = await startSink(env, {
    commit: cfg.commit,
    onCommit: (table, r) => {
      const stalenessSeconds = r.minEventUs === undefined ? undefined : Number(nowMicros() - r.minEventUs) / 1e6;
      send({ type: 'commit', table, written: r.written, files: r.files, bytes: r.bytes, seconds: r.seconds, atSeconds: Number(process.hrtime.bigint() - t0) / 1e9, stalenessSeconds });
    },
  });
  send({ type: 'started' });
  await new Promise<void>((resolve) => process.on('message', (m) => m === 'stop' && resolve()));
  await run.stop();
  send({ type: 'stopped' });
}

main().then(
  () => process.disconnect?.(),
  (e: Error) => {
    send({ type: 'error', message: e.stack ?? e.message });
    process.exitCode = 1;
    process.disconnect?.();
  },
);
