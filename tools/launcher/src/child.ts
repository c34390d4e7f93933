import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { errorLine, listeningPort } from './lines';

export type ReadyWhen =
  /** GET http://127.0.0.1:<port>/readyz answers 200; the port of the "http server listening" line wins (0 = wait for it). */
  | { kind: 'http'; port: number }
  /** A line of its output contains `match` (the exchange simulator's ready line). */
  | { kind: 'line'; match: string };

export interface ChildSpec {
  name: string;
  command: string;
  args: readonly string[];
  /** Added to the supervisor's environment. */
  env?: Readonly<Record<string, string>>;
  ready: ReadyWhen;
  /** A batch job: exit code 0 means done (and counts as ready), not failed. */
  oneShot?: boolean;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One supervised process: its output goes line by line to `<logDir>/<name>.log` and, prefixed with its name, to
 * the terminal; the last error line is kept for the failure report.
 */
export class Child {
  readonly logFile: string;
  readonly exited: Promise<ChildExit>;
  lastError: string | undefined;
  port: number | undefined;
  sawReadyLine = false;
  exit: ChildExit | undefined;
  private readonly proc: ChildProcess;

  constructor(
    readonly spec: ChildSpec,
    o: { cwd: string; logDir: string; env: NodeJS.ProcessEnv; print: (line: string) => void },
  ) {
    this.logFile = path.join(o.logDir, `${spec.name}.log`);
    if (spec.ready.kind === 'http' && spec.ready.port !== 0) this.port = spec.ready.port;
    const log = fs.createWriteStream(this.logFile, { flags: 'w' });
    this.proc = spawn(spec.command, [...spec.args], { cwd: o.cwd, env: { ...o.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = `${spec.name.padEnd(18)}| `;
    const onLine = (line: string) => {
      if (!log.writableEnded) log.write(`${line}\n`);
      o.print(prefix + line);
      this.lastError = errorLine(line) ?? this.lastError;
      this.port = listeningPort(line) ?? this.port;
      if (spec.ready.kind === 'line' && line.includes(spec.ready.match)) this.sawReadyLine = true;
    };
    const streams = [this.proc.stdout, this.proc.stderr].filter((s) => s !== null);
    const streamsDone = streams.map((s) => {
      const rl = readline.createInterface({ input: s, crlfDelay: Infinity });
      rl.on('line', onLine);
      return new Promise<void>((resolve) => rl.once('close', resolve));
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      this.proc.once('error', (err) => {
        this.lastError = `cannot run ${spec.command}: ${err.message}`;
        resolve({ code: null, signal: null });
      });
      this.proc.once('exit', (code, signal) => {
        // The pipes close right after the exit; the last lines (the error) are read before reporting it.
        void Promise.race([Promise.all(streamsDone), new Promise((r) => setTimeout(r, 2000).unref())]).then(() => resolve({ code, signal }));
      });
    }).then(async (e) => {
      this.exit = e;
      // The failure report points at the log file: it must hold the last lines once the exit is reported.
      await new Promise<void>((resolve) => {
        log.once('error', () => resolve());
        log.end(() => resolve());
      });
      return e;
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.proc.pid !== undefined;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.proc.kill(sig);
  }

  /** "exited (code 1)", "exited (signal SIGKILL)". */
  describeExit(): string {
    const e = this.exit;
    if (!e) return 'is running';
    return e.signal ? `exited (signal ${e.signal})` : e.code === null ? 'could not start' : `exited (code ${e.code})`;
  }
}
