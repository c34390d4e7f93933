/**
 * The last step of `npm start` (tools/scripts/start.sh has installed, started the infrastructure, created the
 * topics and built the apps): runs the five services (and the exchange simulator with K2_FEEDS=simulated) until
 * Ctrl-C. A service that dies stops the rest and `npm start` exits 1 with its error; see `supervise`.
 * Settings: K2_READY_TIMEOUT_S (300), K2_STOP_GRACE_S (30), K2_STATE_DIR, K2_FEEDS, K2_SIM_RATE, PORT.
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchPlan } from './plan';
import { readyReport, shownPath } from './report';
import { supervise } from './supervisor';

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`${name}=${raw} is not a positive number of seconds\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<number> {
  const root = path.resolve(__dirname, '../../..');
  const env = Object.freeze({ ...process.env });
  const readyTimeoutS = seconds(env, 'K2_READY_TIMEOUT_S', 300);
  const stopGraceS = seconds(env, 'K2_STOP_GRACE_S', 30);
  const plan = launchPlan(env, root);
  for (const dir of plan.dirs) fs.mkdirSync(dir, { recursive: true });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) process.stdout.write(`${signal} received; stopping the services\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.write(`starting ${plan.stages.flat().map((s) => s.name).join(', ')}; logs in ${shownPath(root, plan.logDir)}/\n`);
  return supervise({
    cwd: root,
    logDir: plan.logDir,
    env,
    stages: plan.stages,
    readyTimeoutMs: readyTimeoutS * 1000,
    stopGraceMs: stopGraceS * 1000,
    print: (line) => process.stdout.write(`${line}\n`),
    printError: (line) => process.stderr.write(`${line}\n`),
    stop: stop.signal,
    onReady: (s, children) => process.stdout.write(readyReport(s, plan, children, root)),
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`launcher failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
