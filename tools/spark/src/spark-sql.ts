import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** One answer of the driver's --serve mode (tools/spark/src/java/k2/spark/K2SparkSql.java). */
export type SparkAnswer = { ok: true; columns: string[]; rows: Array<Array<SparkValue>>; ms: number } | { ok: false; error: string };
/** Every value arrives as text (decimals exact, timestamps ISO-8601 UTC), arrays as lists, maps/structs as objects. */
export type SparkValue = string | null | SparkValue[] | { [k: string]: SparkValue };

export interface SparkSqlOptions {
  /** The catalog environment spark.sh reads (ICEBERG_CATALOG, ICEBERG_CATALOG_URI, ICEBERG_WAREHOUSE, …). */
  env?: Record<string, string>;
  /** Extra Spark settings (`--conf key=value`). */
  conf?: Record<string, string>;
  /** Repository root (spark.sh lives in tools/spark). */
  root: string;
  /** How long the JVM may take to answer `ready` (default 180 s: a first run also resolves the jars). */
  startTimeoutMs?: number;
}

/** A statement on one line, as --serve reads it (newlines inside string literals are not supported there). */
export function oneLine(sql: string): string {
  const s = sql.replace(/--[^\n]*(\n|$)/g, ' ').replace(/\s+/g, ' ').trim().replace(/;$/, '');
  if (!s) throw new Error('empty SQL statement');
  return s;
}

/** Parses one --serve answer line; throws on anything that is not one. */
export function parseAnswer(line: string): SparkAnswer {
  const a = JSON.parse(line) as SparkAnswer;
  if (typeof a !== 'object' || a === null || typeof (a as { ok?: unknown }).ok !== 'boolean') throw new Error(`not a driver answer: ${line.slice(0, 200)}`);
  return a;
}

/** Rows as objects keyed by column name. */
export function records(a: Extract<SparkAnswer, { ok: true }>): Array<Record<string, SparkValue>> {
  return a.rows.map((r) => Object.fromEntries(a.columns.map((c, i) => [c, r[i] ?? null])));
}

/**
 * One long-lived Spark driver (local mode) that statements are sent to one at a time: a suite pays the JVM's start
 * once. Statements run in order; `sql` rejects with Spark's message when a statement fails.
 */
export class SparkSql {
  private readonly pending: Array<{ resolve: (a: SparkAnswer) => void; reject: (e: Error) => void }> = [];
  private readonly stderr: string[] = [];
  private exitError: Error | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  readonly version: string;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    version: string,
  ) {
    this.version = version;
  }

  static async start(opts: SparkSqlOptions): Promise<SparkSql> {
    const conf = Object.entries(opts.conf ?? {}).flatMap(([k, v]) => ['--conf', `${k}=${v}`]);
    const child = spawn('bash', [path.join(opts.root, 'tools/spark/spark.sh'), ...conf, 'sql', '--serve'], {
      cwd: opts.root,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr.push(d);
      if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
    });
    const lines = createInterface({ input: child.stdout });
    const ready = await new Promise<{ spark: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`spark driver not ready after ${opts.startTimeoutMs ?? 180_000} ms:\n${stderr.join('')}`)), opts.startTimeoutMs ?? 180_000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`spark driver exited (${code}) before it was ready:\n${stderr.join('')}`));
      };
      child.once('exit', onExit);
      lines.once('line', (l) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        try {
          resolve(JSON.parse(l) as { spark: string });
        } catch {
          reject(new Error(`unexpected first line from the spark driver: ${l}`));
        }
      });
    });
    const s = new SparkSql(child, ready.spark);
    s.stderr.push(...stderr);
    child.stderr.on('data', (d: string) => {
      s.stderr.push(d);
      if (s.stderr.length > 200) s.stderr.splice(0, s.stderr.length - 200);
    });
    lines.on('line', (l) => {
      const p = s.pending.shift();
      if (!p) return;
      try {
        p.resolve(parseAnswer(l));
      } catch (e) {
        p.reject(e as Error);
      }
    });
    child.once('exit', (code) => {
      s.exitError = new Error(`spark driver exited (${code}):\n${s.stderr.join('').slice(-4000)}`);
      for (const p of s.pending.splice(0)) p.reject(s.exitError);
    });
    return s;
  }

  /** Runs one statement; resolves with its answer, rejects with Spark's error. */
  async sql(statement: string): Promise<Extract<SparkAnswer, { ok: true }>> {
    const a = await this.answer(statement);
    if (!a.ok) throw new Error(`spark: ${a.error}\n  in: ${oneLine(statement).slice(0, 300)}`);
    return a;
  }

  /** Runs one statement; a failed statement is an answer with ok=false, not a rejection. */
  answer(statement: string): Promise<SparkAnswer> {
    const line = oneLine(statement);
    const run = this.chain.then(
      () =>
        new Promise<SparkAnswer>((resolve, reject) => {
          if (this.exitError) return reject(this.exitError);
          this.pending.push({ resolve, reject });
          this.child.stdin.write(`${line}\n`);
        }),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Ends the driver: stdin closed, then SIGTERM after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGTERM'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
