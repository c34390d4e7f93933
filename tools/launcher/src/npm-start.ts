import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';

/**
 * `npm start` as a user runs it, for the smoke test: its own process group (a terminal's Ctrl-C reaches the whole
 * foreground group; `interrupt` does the same), every output line collected.
 */
export class NpmStart {
  readonly lines: string[] = [];
  readonly pgid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly proc: ChildProcess;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.proc = spawn('npm', ['start'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.proc.pid === undefined) throw new Error('npm start did not spawn');
    this.pgid = this.proc.pid;
    for (const s of [this.proc.stdout, this.proc.stderr].filter((x) => x !== null)) readline.createInterface({ input: s, crlfDelay: Infinity }).on('line', (l) => this.lines.push(l));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get output(): string {
    return this.lines.join('\n');
  }

  tail(n = 60): string {
    return this.lines.slice(-n).join('\n');
  }

  /** The first match of `re` in the output; fails early when npm start exits first. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void this.exited.then(() => (done = true));
    for (;;) {
      const m = this.output.match(re);
      if (m) return m;
      if (done) throw new Error(`npm start exited before printing ${re}; its output ends with:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`npm start did not print ${re} within ${timeoutMs / 1000} s; its output ends with:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Ctrl-C: SIGINT to the whole process group. */
  interrupt(): void {
    process.kill(-this.pgid, 'SIGINT');
  }

  /** Cleanup after a failed test: SIGKILL whatever is left of the group. */
  killGroup(): void {
    try {
      process.kill(-this.pgid, 'SIGKILL');
    } catch {
      // nothing left
    }
  }
}

/** Processes still in a process group: "pid command" lines, empty when none. */
export function groupMembers(pgid: number): string[] {
  const ps = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && Number(f[1]) === pgid)
    .map((f) => `${f[0]} ${f.slice(2).join(' ')}`);
}

/** The ports (of `wanted`) something already listens on, on any interface. */
export async function portsInUse(wanted: readonly number[]): Promise<number[]> {
  const busy: number[] = [];
  for (const port of wanted) {
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
    });
    if (!free) busy.push(port);
  }
  return busy;
}
