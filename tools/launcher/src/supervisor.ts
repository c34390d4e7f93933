import fs from 'node:fs';
import { Child, type ChildSpec } from './child';

export interface SuperviseOptions {
  cwd: string;
  logDir: string;
  env: NodeJS.ProcessEnv;
  /** Started in order, each stage ready before the next starts (the exchange simulator before the streamers). */
  stages: ReadonlyArray<readonly ChildSpec[]>;
  /** From the start until every child is ready. */
  readyTimeoutMs: number;
  /** SIGTERM, then SIGKILL after this long (the services' own shutdown deadline is 25 s). */
  stopGraceMs: number;
  pollMs?: number;
  /** The children's prefixed lines and progress (stdout). */
  print: (line: string) => void;
  /** The failure report (stderr). */
  printError: (line: string) => void;
  /** Aborted on SIGINT / SIGTERM: stop every child and resolve. */
  stop: AbortSignal;
  /** Once every child is ready: seconds since the start, and the children (their ports). */
  onReady?: (seconds: number, children: readonly Child[]) => void;
}

interface Failure {
  child: Child;
  /** "exited (code 1)" or "not ready after 300 s". */
  what: string;
  detail: string;
}

const NEVER = new Promise<never>(() => undefined);

/**
 * Runs the children until one fails or `stop` is aborted, and returns the exit code for the process:
 * - a child that exits (a one-shot child: with a non-zero code) or is not ready in time stops all the others
 *   (SIGTERM, SIGKILL after the grace) and then `<name> exited (code 1): <its last error line>` and
 *   `full log: <file>` are printed: 1;
 * - `stop`: every child stopped (SIGTERM, SIGKILL after the grace): 0 when all stopped by themselves within the
 *   grace, 1 when one had to be killed. A child that stops with a non-zero code (the ASX loader interrupted in the
 *   middle of a batch) is named, but a stop that was asked for is still a clean stop.
 */
export async function supervise(o: SuperviseOptions): Promise<number> {
  fs.mkdirSync(o.logDir, { recursive: true });
  const began = Date.now();
  const deadline = began + o.readyTimeoutMs;
  const children: Child[] = [];
  let stopping = false;
  let fail!: (f: Failure) => void;
  const failed = new Promise<Failure>((resolve) => (fail = resolve));
  const stopped = new Promise<'stop'>((resolve) => {
    if (o.stop.aborted) resolve('stop');
    o.stop.addEventListener('abort', () => resolve('stop'), { once: true });
  });

  const startAll = async (): Promise<'ready'> => {
    for (const stage of o.stages) {
      if (stopping || o.stop.aborted) return NEVER;
      const started = stage.map((spec) => new Child(spec, { cwd: o.cwd, logDir: o.logDir, env: o.env, print: o.print }));
      children.push(...started);
      for (const c of started) {
        void c.exited.then((e) => {
          if (!stopping && !(c.spec.oneShot && e.code === 0)) fail({ child: c, what: c.describeExit(), detail: c.lastError ?? 'no error line in its output' });
        });
      }
      const waits = await Promise.all(started.map(async (c) => ({ c, late: await waitReady(c, deadline, o.pollMs ?? 250, () => stopping) })));
      const late = waits.find((w) => w.late !== undefined);
      if (late) {
        const detail = `${late.late}; ${late.c.lastError ?? 'no error line in its output'}`;
        fail({ child: late.c, what: `not ready after ${Math.round(o.readyTimeoutMs / 1000)} s`, detail });
        return NEVER;
      }
    }
    return 'ready';
  };

  let outcome = await Promise.race([startAll(), failed, stopped]);
  if (outcome === 'ready') {
    o.onReady?.((Date.now() - began) / 1000, children);
    outcome = await Promise.race([failed, stopped]);
  }
  stopping = true;
  if (outcome === 'stop') {
    o.print('stopping every service');
    const { killed, nonZero } = await stopAll(children, o);
    if (nonZero.length) o.print(`stopped with a non-zero exit code (see their logs): ${nonZero.join(', ')}`);
    o.print(killed.length === 0 ? 'every service stopped' : `every service stopped; killed after the grace: ${killed.join(', ')}`);
    return killed.length === 0 ? 0 : 1;
  }
  o.printError(`${outcome.child.spec.name} ${outcome.what}; stopping the others`);
  await stopAll(children, o);
  o.printError(`${outcome.child.spec.name} ${outcome.what}: ${outcome.detail}`);
  o.printError(`full log: ${outcome.child.logFile}`);
  return 1;
}

/** Undefined once ready (or a one-shot child finished); the reason when the deadline passed. Never settles for a dead child. */
async function waitReady(c: Child, deadline: number, pollMs: number, cancelled: () => boolean): Promise<string | undefined> {
  let reason = 'not started yet';
  while (!cancelled()) {
    if (c.exit) return c.spec.oneShot && c.exit.code === 0 ? undefined : NEVER;
    if (c.spec.ready.kind === 'line') {
      if (c.sawReadyLine) return undefined;
      reason = `no line with ${c.spec.ready.match} yet`;
    } else if (c.port === undefined) {
      reason = 'its HTTP server is not listening yet';
    } else {
      const probe = await probeReadyz(c.port);
      if (probe === undefined) return undefined;
      reason = probe;
    }
    if (Date.now() > deadline) return reason;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return NEVER;
}

/** Undefined when http://127.0.0.1:<port>/readyz answers 200, else why not (the failing checks). */
async function probeReadyz(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000), headers: { connection: 'close' } });
    if (res.ok) return undefined;
    const body = (await res.json().catch(() => ({}))) as { failing?: Array<{ name?: string; reason?: string }> };
    const failing = (body.failing ?? []).map((f) => `${f.name}: ${f.reason}`).join(', ');
    return `/readyz on port ${port} says ${res.status}${failing ? ` (${failing})` : ''}`;
  } catch (err) {
    return `/readyz on port ${port} does not answer (${(err as Error).message})`;
  }
}

/** SIGTERM to every running child, SIGKILL to those still running after the grace; who was killed, who exited non-zero. */
async function stopAll(children: readonly Child[], o: Pick<SuperviseOptions, 'stopGraceMs' | 'printError'>): Promise<{ killed: string[]; nonZero: string[] }> {
  const running = children.filter((c) => c.running);
  for (const c of running) c.signal('SIGTERM');
  const all = Promise.all(running.map((c) => c.exited));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, o.stopGraceMs)))]);
  clearTimeout(timer);
  const killed: string[] = [];
  for (const c of running) {
    if (!c.running) continue;
    o.printError(`${c.spec.name} did not stop within ${Math.round(o.stopGraceMs / 1000)} s; sending SIGKILL`);
    c.signal('SIGKILL');
    killed.push(c.spec.name);
  }
  await all;
  const nonZero = running.filter((c) => !killed.includes(c.spec.name) && c.exit?.code !== 0).map((c) => `${c.spec.name} ${c.describeExit()}`);
  return { killed, nonZero };
}
