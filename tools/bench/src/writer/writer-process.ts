import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '@k2/testing';
import type { SinkTestEnv } from '@k2/lake-testing';
import { rssSampler } from '../query/api-process';
import type { ChildMessage, CommitMessage, SinkProcessConfig } from './sink-process';

/** The writer (sink-process.ts) running in a child process, its commits and its sampled peak RSS. */
export interface WriterProcess {
  pid: number;
  commits: CommitMessage[];
  /** Resolves when the committed rows reach `n`. */
  rowsCommitted(n: number): Promise<void>;
  /** Highest VmRSS of the writer process so far, bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

export async function startWriterProcess(env: SinkTestEnv, commit: SinkProcessConfig['commit']): Promise<WriterProcess> {
  const root = repoRoot();
  const cfg: SinkProcessConfig = {
    env: {
      suffix: env.suffix,
      exchange: env.exchange,
      namespace: env.namespace,
      dir: env.dir,
      catalogUri: env.catalogUri,
      warehouse: env.warehouse,
      topics: env.topics,
      topicList: env.topicList,
      brokers: env.brokers,
      registryUrl: env.registryUrl,
    },
    commit,
  };
  // The V8 heap cap the deployments give the writer for its default budget (launcher, k8s, compose: ADR 0025).
  const heapArgs = [`--max-old-space-size=${process.env['BENCH_WRITER_HEAP_MIB'] ?? '576'}`];
  const child: ChildProcess = spawn(process.execPath, [...heapArgs, '--import', 'tsx', path.join(root, 'tools/bench/src/writer/sink-process.ts')], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'), K2_BENCH_SINK_CONFIG: JSON.stringify(cfg) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the writer process');
  const sampler = rssSampler(pid);
  const commits: CommitMessage[] = [];
  let written = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let failure: Error | undefined;
  const failWaiters: Array<(e: Error) => void> = [];
  const fail = (e: Error): void => {
    failure ??= e;
    failWaiters.splice(0).forEach((f) => f(e));
  };
  let started: () => void = () => undefined;
  const startedP = new Promise<void>((resolve, reject) => {
    started = resolve;
    failWaiters.push(reject);
  });
  let stopped: () => void = () => undefined;
  const stoppedP = new Promise<void>((r) => (stopped = r));
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'started') started();
    else if (m.type === 'stopped') stopped();
    else if (m.type === 'error') fail(new Error(`writer process failed: ${m.message}`));
    else if (m.type === 'commit') {
      commits.push(m);
      written += m.written;
      for (const w of waiters.filter((x) => written >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  let exited = false;
  const exitedP = new Promise<void>((r) =>
    child.on('exit', (code, signal) => {
      exited = true;
      stopped();
      if (code !== 0) fail(new Error(`writer process exited (code ${code ?? signal})`));
      r();
    }),
  );
  // Never leave the writer running behind a crashed or interrupted bench.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  await startedP;
  return {
    pid,
    commits,
    rowsCommitted: (n) =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        if (written >= n) return resolve();
        waiters.push({ n, resolve });
        failWaiters.push(reject);
      }),
    peakRss: () => sampler.peak(),
    stop: async () => {
      if (!exited) {
        child.send('stop');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await stoppedP;
        await exitedP;
        clearTimeout(timer);
      }
      sampler.stop();
      process.off('exit', killOnExit);
    },
  };
}
