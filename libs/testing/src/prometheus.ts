import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, stringify } from 'yaml';
import { repoRoot } from './infra';
import { freePort } from './service-process';

/*
 * A real Prometheus server for end-to-end tests that assert the alert rules in deploy/prometheus/rules fire during
 * a fault and resolve afterwards. The rules' windows and `for:` durations are minutes, so the server loads a copy
 * with every duration divided by a time scale (scaleRuleDurations) and scrapes and evaluates every second.
 */

// --- Prometheus durations ------------------------------------------------------------------------------------------

// https://prometheus.io/docs/prometheus/latest/querying/basics/#time-durations: units in this order, each at most
// once, integers only (as Prometheus 2.42 parses them). A year is 365 days and a week 7 days.
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
// A candidate duration inside a PromQL expression; parsePromDuration then enforces the unit order.
const DURATION_TOKEN = String.raw`(?:\d+(?:ms|[ywdhms]))+`;

/** Parses a Prometheus duration (`90s`, `1h30m`, `500ms`, `0`) into milliseconds. */
export function parsePromDuration(text: string): number {
  const m = text === '0' ? [] : DURATION_RE.exec(text);
  if (text === '' || !m) throw new Error(`not a Prometheus duration: ${JSON.stringify(text)}`);
  let ms = 0;
  UNITS.forEach(([, unitMs], i) => {
    const n = m[i + 1];
    if (n !== undefined) ms += Number(n) * unitMs;
  });
  if (!Number.isSafeInteger(ms)) throw new Error(`Prometheus duration out of range: ${text}`);
  return ms;
}

/** Formats milliseconds the way Prometheus prints durations: `0s`, `5s`, `1m15s`, `1h30m`, `500ms`. */
export function formatPromDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`cannot format ${ms} ms as a Prometheus duration`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, unitMs] of UNITS) {
    const n = Math.floor(rest / unitMs);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * unitMs;
  }
  return out;
}

function scaleDuration(text: string, factor: number, minSeconds: number): string {
  const ms = parsePromDuration(text);
  // Zero keeps its meaning (`for: 0s` fires at once); anything else stays at least minSeconds so that a range
  // still holds two scrapes (rate() needs two samples).
  if (ms === 0) return text;
  return formatPromDuration(Math.max(minSeconds, Math.round(ms / factor / 1000)) * 1000);
}

/**
 * Scales the durations of a PromQL expression: range selectors `[5m]`, subqueries `[15m:1m]` and `offset 10m`
 * (also negative). String literals and comments are left alone, so a regex such as `=~"[0-9]m"` is never taken for
 * a range. https://prometheus.io/docs/prometheus/latest/querying/basics/#string-literals
 */
export function scaleExprDurations(expr: string, factor: number, minSeconds = 2): string {
  const scale = (d: string): string => scaleDuration(d, factor, minSeconds);
  const range = new RegExp(String.raw`\[(\s*)(${DURATION_TOKEN})(\s*)(?::(\s*)(${DURATION_TOKEN})?(\s*))?\]`, 'g');
  // `offset` is a keyword only where it is not part of a longer identifier (metric and label names have [\w:]).
  const offset = new RegExp(String.raw`(^|[^\w:])(offset)(\s+)(-?)(${DURATION_TOKEN})(?![\w:])`, 'gi');
  const code = (s: string): string =>
    s
      .replace(range, (_all, s1: string, d: string, s2: string, s3?: string, step?: string, s4?: string) => {
        const sub = s3 === undefined ? '' : `:${s3}${step === undefined ? '' : scale(step)}${s4 ?? ''}`;
        return `[${s1}${scale(d)}${s2}${sub}]`;
      })
      .replace(offset, (_all, pre: string, kw: string, sp: string, sign: string, d: string) => `${pre}${kw}${sp}${sign}${scale(d)}`);

  let out = '';
  let start = 0;
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      out += code(expr.slice(start, i));
      let j = i + 1;
      // Backquoted strings are raw; the others have backslash escapes.
      while (j < expr.length && expr[j] !== c) j += c !== '`' && expr[j] === '\\' ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = start = j + 1;
    } else if (c === '#') {
      out += code(expr.slice(start, i));
      const nl = expr.indexOf('\n', i);
      const end = nl < 0 ? expr.length : nl;
      out += expr.slice(i, end);
      i = start = end;
    } else {
      i++;
    }
  }
  return out + code(expr.slice(start));
}

/**
 * Returns the rule file with every duration divided by `factor` and rounded to whole seconds (at least minSeconds):
 * `for`, `keep_firing_for`, a group's `interval`, and the range selectors, subqueries and offsets of each `expr`.
 * Expressions, thresholds, labels, annotations and comments are otherwise unchanged; the YAML layout is kept.
 * Numeric thresholds that happen to be seconds (e.g. a freshness objective of 15) are not durations and stay.
 */
export function scaleRuleDurations(rulesYamlText: string, factor: number, minSeconds = 2): string {
  if (!(factor > 0) || !Number.isFinite(factor)) throw new Error(`time scale factor must be a positive number, got ${factor}`);
  if (!(minSeconds >= 0)) throw new Error(`minSeconds must be >= 0, got ${minSeconds}`);
  const doc = parseDocument(rulesYamlText);
  if (doc.errors.length > 0) throw new Error(`invalid rule file YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  const groups = isMap(doc.contents) ? doc.contents.get('groups', true) : undefined;
  if (!isSeq(groups)) throw new Error('not a Prometheus rule file: no `groups` list');
  const where = (group: string, rule: string, key: string): string => `group ${group}, rule ${rule}, ${key}`;
  const rewrite = (node: unknown, at: string, f: (s: string) => string): void => {
    if (node === undefined || node === null) return;
    // `for: 0` is read as a number; Prometheus reads every duration as a string.
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) throw new Error(`${at}: expected a duration`);
    try {
      const next = f(String(node.value));
      if (next !== String(node.value)) node.value = next;
    } catch (e) {
      throw new Error(`${at}: ${(e as Error).message}`);
    }
  };
  for (const g of groups.items) {
    if (!isMap(g)) throw new Error('rule group is not a map');
    const gname = String(g.get('name') ?? '?');
    rewrite(g.get('interval', true), `group ${gname}, interval`, (s) => scaleDuration(s, factor, minSeconds));
    const rules = g.get('rules', true);
    if (!isSeq(rules)) continue;
    for (const r of rules.items) {
      if (!isMap(r)) throw new Error(`group ${gname}: rule is not a map`);
      const rname = String(r.get('alert') ?? r.get('record') ?? '?');
      for (const key of ['for', 'keep_firing_for']) {
        rewrite(r.get(key, true), where(gname, rname, key), (s) => scaleDuration(s, factor, minSeconds));
      }
      rewrite(r.get('expr', true), where(gname, rname, 'expr'), (s) => scaleExprDurations(s, factor, minSeconds));
    }
  }
  // lineWidth 0: no re-folding of long annotation strings.
  return doc.toString({ lineWidth: 0 });
}

// --- Configuration -------------------------------------------------------------------------------------------------

export interface PrometheusConfigOptions {
  /** job name → "host:port" targets */
  targets: Record<string, string[]>;
  /** Absolute paths of the rule files. */
  ruleFiles: string[];
  /** Scrape and evaluation interval. */
  scrapeIntervalSec: number;
}

/**
 * prometheus.yml for the harness: one static job per service, named like the service, as in
 * deploy/prometheus/prometheus.yml. No target label is called `service`: the services set that label on every
 * series themselves, and a target label of the same name would rename theirs to `exported_service`.
 */
export function prometheusConfig(o: PrometheusConfigOptions): string {
  const intervalMs = Math.round(o.scrapeIntervalSec * 1000);
  if (!(intervalMs >= 100)) throw new Error(`scrapeIntervalSec must be at least 0.1, got ${o.scrapeIntervalSec}`);
  for (const [job, targets] of Object.entries(o.targets)) {
    if (!/^[a-zA-Z_][\w-]*$/.test(job)) throw new Error(`invalid job name ${JSON.stringify(job)}`);
    for (const t of targets) if (!/^[^\s/]+:\d+$/.test(t)) throw new Error(`job ${job}: target must be host:port, got ${JSON.stringify(t)}`);
  }
  return stringify(
    {
      global: {
        scrape_interval: formatPromDuration(intervalMs),
        evaluation_interval: formatPromDuration(intervalMs),
        // Must not exceed the interval (config validation); a scrape of a local process answers in milliseconds,
        // and one that does not within 80% of the interval is a hung service, which up == 0 should show.
        scrape_timeout: formatPromDuration(Math.floor(intervalMs * 0.8)),
      },
      rule_files: o.ruleFiles,
      scrape_configs: Object.entries(o.targets).map(([job, targets]) => ({
        job_name: job,
        static_configs: [{ targets }],
      })),
    },
    { lineWidth: 0 },
  );
}

// --- API responses -------------------------------------------------------------------------------------------------

export interface ActiveAlert {
  name: string;
  state: 'pending' | 'firing';
  /** Every label of the alert as Prometheus reports it, alertname included. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339 time the alert became pending. */
  activeAt: string;
  /** The expression's value at the last evaluation, as Prometheus formats it (`1e+00`). */
  value: string;
}

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusTarget {
  job: string;
  instance: string;
  /** up, down or unknown (not scraped yet) */
  health: string;
  lastError: string;
}

type Json = unknown;

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: Json, what: string): Record<string, string> {
  if (!isRecord(v) || !Object.values(v).every((x) => typeof x === 'string')) throw new Error(`${what}: expected string map, got ${JSON.stringify(v)}`);
  return v as Record<string, string>;
}

// https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview
function apiData(json: Json, what: string): Record<string, Json> {
  if (!isRecord(json)) throw new Error(`${what}: not a Prometheus API response: ${JSON.stringify(json)}`);
  if (json['status'] !== 'success') throw new Error(`${what}: ${String(json['errorType'] ?? 'error')}: ${String(json['error'] ?? JSON.stringify(json))}`);
  const data = json['data'];
  if (!isRecord(data)) throw new Error(`${what}: response has no data: ${JSON.stringify(json)}`);
  return data;
}

/** Parses a /api/v1/alerts response (https://prometheus.io/docs/prometheus/latest/querying/api/#alerts). */
export function parseAlertsResponse(json: Json): ActiveAlert[] {
  const alerts = apiData(json, '/api/v1/alerts')['alerts'];
  if (!Array.isArray(alerts)) throw new Error(`/api/v1/alerts: data.alerts is not a list: ${JSON.stringify(json)}`);
  return alerts.map((a: Json): ActiveAlert => {
    if (!isRecord(a)) throw new Error(`/api/v1/alerts: not an alert: ${JSON.stringify(a)}`);
    const labels = stringRecord(a['labels'], '/api/v1/alerts labels');
    const { state, activeAt, value } = a;
    // The endpoint lists active alerts only; inactive (resolved) ones are not returned.
    if (state !== 'pending' && state !== 'firing') throw new Error(`/api/v1/alerts: unexpected state ${JSON.stringify(state)}`);
    if (typeof labels['alertname'] !== 'string' || typeof activeAt !== 'string' || typeof value !== 'string') {
      throw new Error(`/api/v1/alerts: malformed alert ${JSON.stringify(a)}`);
    }
    return { name: labels['alertname'], state, labels, annotations: stringRecord(a['annotations'] ?? {}, '/api/v1/alerts annotations'), activeAt, value };
  });
}

/** Parses an instant query response; only instant vectors are accepted. */
export function parseQueryResponse(json: Json): PrometheusSample[] {
  const data = apiData(json, '/api/v1/query');
  if (data['resultType'] !== 'vector' || !Array.isArray(data['result'])) {
    throw new Error(`/api/v1/query: expected an instant vector, got ${JSON.stringify(data['resultType'])}`);
  }
  return data['result'].map((s: Json): PrometheusSample => {
    const v = isRecord(s) ? s['value'] : undefined;
    if (!isRecord(s) || !Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'string') {
      throw new Error(`/api/v1/query: malformed sample ${JSON.stringify(s)}`);
    }
    return { metric: stringRecord(s['metric'], '/api/v1/query metric'), value: [v[0], v[1]] };
  });
}

/** Parses the active targets of a /api/v1/targets response. */
export function parseTargetsResponse(json: Json): PrometheusTarget[] {
  const active = apiData(json, '/api/v1/targets')['activeTargets'];
  if (!Array.isArray(active)) throw new Error(`/api/v1/targets: no activeTargets list: ${JSON.stringify(json)}`);
  return active.map((t: Json): PrometheusTarget => {
    if (!isRecord(t)) throw new Error(`/api/v1/targets: not a target: ${JSON.stringify(t)}`);
    const labels = stringRecord(t['labels'], '/api/v1/targets labels');
    return { job: labels['job'] ?? '', instance: labels['instance'] ?? '', health: String(t['health']), lastError: String(t['lastError'] ?? '') };
  });
}

// --- The server ----------------------------------------------------------------------------------------------------

export interface PrometheusOptions {
  /** job name (the service name: binance-streamer, kraken-streamer, asx-batch-loader, iceberg-writer, query-api) → "127.0.0.1:port" targets */
  targets: Record<string, string[]>;
  /** Default: deploy/prometheus/rules/k2-alerts.yml. */
  rulesFile?: string;
  /** Every rule duration is divided by this (default 12: 1m → 5s, 5m → 25s, 15m → 1m15s). */
  timeScale?: number;
  /** Scrape and rule evaluation interval (default 1). */
  scrapeIntervalSec?: number;
  /** Default: a free loopback port. */
  port?: number;
  /** TSDB directory (kept on stop). Default: inside the harness' temporary directory, removed on stop. */
  dataDir?: string;
  /** Resolve only once every target has been scraped (or failed) once (default true). */
  waitForFirstScrape?: boolean;
  /** For /-/ready and the first scrapes (default 60000). */
  startTimeoutMs?: number;
}

export interface PrometheusHandle {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The scaled copy of the rules that the server loaded. */
  readonly rulesFile: string;
  /** GET /api/v1/alerts: pending and firing alerts. */
  alerts(): Promise<ActiveAlert[]>;
  /** Instant query at the current time; the result must be an instant vector. */
  query(expr: string): Promise<PrometheusSample[]>;
  /** The active targets of /api/v1/targets. */
  targets(): Promise<PrometheusTarget[]>;
  /**
   * Replaces the scrape targets (e.g. a restarted service listens on a new port) by rewriting the configuration and
   * reloading it; series and alert state are kept. Resolves once every target has been scraped unless told not to wait.
   */
  setTargets(targets: Record<string, string[]>, waitForFirstScrape?: boolean): Promise<void>;
  /** SIGTERM, SIGKILL after 10 s; then removes the temporary directory. */
  stop(): Promise<void>;
  /** The last 500 lines Prometheus logged. */
  logs(): string[];
}

/** K2_PROMETHEUS_BIN, else Debian's /usr/bin/prometheus (deploy/tools/install-promtool.sh installs the package). */
export function prometheusBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env['K2_PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
}

/** PROMTOOL (as in deploy/src/promtool.ts), else the promtool next to the Prometheus binary. */
export function promtoolBinary(env: NodeJS.ProcessEnv = process.env): string {
  const bin = prometheusBinary(env);
  return env['PROMTOOL'] ?? (bin.includes('/') ? join(dirname(bin), 'promtool') : 'promtool');
}

const INSTALL_HINT = 'install Debian\'s prometheus package (bash deploy/tools/install-promtool.sh) or set K2_PROMETHEUS_BIN';

function run(bin: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new Error(`${bin} not found: ${INSTALL_HINT}`) : e));
    child.once('close', (code) => resolve({ code, output }));
  });
}

// Servers still running when the test process exits are killed and their directories removed, so a failed test
// never leaves one holding a port.
const live = new Map<ChildProcess, string>();
let exitHook = false;

const LOG_LINES = 500;

/**
 * Starts Prometheus on 127.0.0.1 with a scaled copy of the alert rules, scraping `targets`, and resolves once it is
 * ready (and, by default, has scraped every target once). Set K2_PROMETHEUS_LOGS=1 to copy its log to stderr.
 */
export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = prometheusBinary();
  if (bin.includes('/') && !existsSync(bin)) throw new Error(`Prometheus server not found at ${bin}: ${INSTALL_HINT}`);
  const timeScale = o.timeScale ?? 12;
  const scrapeIntervalSec = o.scrapeIntervalSec ?? 1;
  const startTimeoutMs = o.startTimeoutMs ?? 60000;
  const sourceRules = o.rulesFile ?? join(repoRoot(), 'deploy', 'prometheus', 'rules', 'k2-alerts.yml');
  // A range needs two samples for rate() and increase(), so none is scaled below two scrape intervals.
  const scaled = scaleRuleDurations(await readFile(sourceRules, 'utf8'), timeScale, Math.max(2, Math.ceil(2 * scrapeIntervalSec)));

  const dir = await mkdtemp(join(tmpdir(), 'k2-prometheus-'));
  const rulesFile = join(dir, 'rules', basename(sourceRules));
  const configFile = join(dir, 'prometheus.yml');
  const writeConfig = async (targets: Record<string, string[]>): Promise<void> => {
    await writeFile(configFile, prometheusConfig({ targets, ruleFiles: [rulesFile], scrapeIntervalSec }));
    // promtool says what is wrong with the configuration or a rule; Prometheus itself would only log it and exit.
    const check = await run(promtoolBinary(), ['check', 'config', configFile]);
    if (check.code !== 0) {
      throw new Error(`promtool check config rejected the generated configuration (rules from ${sourceRules}, time scale ${timeScale}):\n${check.output}`);
    }
  };
  try {
    await mkdir(dirname(rulesFile));
    await writeFile(rulesFile, scaled);
    await writeConfig(o.targets);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  const port = o.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${o.dataDir ?? join(dir, 'data')}`,
      // Loopback only: nothing outside the test machine needs it.
      `--web.listen-address=127.0.0.1:${port}`,
      // POST /-/reload, for setTargets.
      '--web.enable-lifecycle',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.set(child, dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const [c, d] of live) {
        c.kill('SIGKILL');
        rmSync(d, { recursive: true, force: true });
      }
    });
  }

  const log: string[] = [];
  let partial = '';
  const echo = process.env['K2_PROMETHEUS_LOGS'] === '1';
  const collect = (b: Buffer): void => {
    if (echo) process.stderr.write(b);
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    log.push(...lines);
    if (log.length > LOG_LINES) log.splice(0, log.length - LOG_LINES);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const logs = (): string[] => (partial ? [...log, partial] : [...log]);
  const tail = (): string => logs().slice(-30).join('\n');
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      spawnError = e.code === 'ENOENT' ? new Error(`${bin} not found: ${INSTALL_HINT}`) : e;
      resolve(null);
    });
    child.once('exit', (code) => resolve(code));
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null && spawnError === undefined;

  const stop = async (): Promise<void> => {
    if (running()) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    }
    live.delete(child);
    await rm(dir, { recursive: true, force: true });
  };

  const request = async (method: 'GET' | 'POST', path: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${url}${path}`, { method, signal: AbortSignal.timeout(10000) });
    return { status: res.status, text: await res.text() };
  };
  const api = async (path: string): Promise<Json> => {
    const { status, text } = await request('GET', path);
    try {
      return JSON.parse(text) as Json;
    } catch {
      throw new Error(`Prometheus GET ${path} answered ${status}: ${text.slice(0, 500)}`);
    }
  };
  const targets = async (): Promise<PrometheusTarget[]> => parseTargetsResponse(await api('/api/v1/targets?state=active'));

  const waitUntil = async (what: string, timeoutMs: number, ok: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!running()) throw spawnError ?? new Error(`Prometheus exited with ${child.exitCode ?? child.signalCode} before ${what}:\n${tail()}`);
      if (await ok().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`Prometheus: no ${what} after ${timeoutMs} ms:\n${tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // The discovery manager hands new targets to the scrape manager at most every 5 s, so the first scrape comes about
  // 5 s after /-/ready (or a reload); until then `up` does not exist and absent()-based rules see no target at all.
  const firstScrapes = (want: Record<string, string[]>, timeoutMs: number): Promise<void> =>
    waitUntil('first scrape of every target', timeoutMs, async () => {
      const ts = await targets();
      return Object.entries(want).every(([job, instances]) =>
        instances.every((instance) => ts.some((t) => t.job === job && t.instance === instance && t.health !== 'unknown')),
      );
    });

  try {
    await waitUntil('answer 200 on /-/ready', startTimeoutMs, async () => (await request('GET', '/-/ready')).status === 200);
    if (o.waitForFirstScrape ?? true) await firstScrapes(o.targets, startTimeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    url,
    child,
    exited,
    rulesFile,
    alerts: async () => parseAlertsResponse(await api('/api/v1/alerts')),
    query: async (expr) => parseQueryResponse(await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)),
    targets,
    async setTargets(next, waitForFirstScrape = true) {
      await writeConfig(next);
      const { status, text } = await request('POST', '/-/reload');
      if (status !== 200) throw new Error(`Prometheus could not reload its configuration (${status}): ${text}\n${tail()}`);
      if (waitForFirstScrape) await firstScrapes(next, 30000);
    },
    stop,
    logs,
  };
}

// --- Alert history -------------------------------------------------------------------------------------------------

export interface AlertEpisode {
  name: string;
  /** Every label, alertname included. */
  labels: Record<string, string>;
  /** When Prometheus says the alert became pending (ms epoch). */
  activeAt: number;
  /** Last state seen. */
  state: 'pending' | 'firing';
  /** Poll times (ms epoch) at which the state was first seen. */
  firstPendingAt?: number;
  firstFiringAt?: number;
  lastSeenAt: number;
  /** First poll at which the alert was no longer listed. */
  resolvedAt?: number;
  annotations: Record<string, string>;
  value: string;
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== 'alertstate')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

function hasLabels(have: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

const clock = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString().slice(11, 23));

/**
 * Polls /api/v1/alerts and keeps the history of every alert as episodes: one per alert label set from the time it
 * is first listed until the first poll that no longer lists it. Prometheus (rules/alerting.go) lists only pending
 * and firing alerts and starts a new alert, with a new activeAt, when a resolved one becomes active again, so a
 * changed activeAt between two polls also ends an episode.
 */
export class AlertRecorder {
  private readonly open = new Map<string, AlertEpisode>();
  private readonly all: AlertEpisode[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private polls = 0;
  private failures = 0;
  private lastFailure: string | undefined;

  constructor(
    private readonly prom: Pick<PrometheusHandle, 'alerts'>,
    private readonly everyMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = (): void => {
      void this.poll().then(() => {
        if (!this.running) return;
        this.timer = setTimeout(tick, this.everyMs);
        this.timer.unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.chain;
  }

  /** One poll; start() calls it every everyMs. A failed request is counted and changes nothing. */
  poll(): Promise<void> {
    this.chain = this.chain.then(() => this.pollOnce());
    return this.chain;
  }

  private async pollOnce(): Promise<void> {
    this.polls++;
    let alerts: ActiveAlert[];
    try {
      alerts = await this.prom.alerts();
    } catch (e) {
      this.failures++;
      this.lastFailure = (e as Error).message;
      return;
    }
    const t = this.now();
    const seen = new Set<string>();
    for (const a of alerts) {
      const key = labelKey(a.labels);
      seen.add(key);
      const activeAt = Date.parse(a.activeAt);
      let ep = this.open.get(key);
      if (ep && ep.activeAt !== activeAt) {
        ep.resolvedAt = t;
        ep = undefined;
      }
      if (!ep) {
        ep = { name: a.name, labels: a.labels, activeAt, state: a.state, lastSeenAt: t, annotations: a.annotations, value: a.value };
        this.open.set(key, ep);
        this.all.push(ep);
      }
      ep.state = a.state;
      ep.lastSeenAt = t;
      ep.annotations = a.annotations;
      ep.value = a.value;
      if (a.state === 'pending') ep.firstPendingAt ??= t;
      if (a.state === 'firing') ep.firstFiringAt ??= t;
    }
    for (const [key, ep] of this.open) {
      if (seen.has(key)) continue;
      ep.resolvedAt = t;
      this.open.delete(key);
    }
  }

  /** Every episode, oldest first (copies). */
  episodes(): AlertEpisode[] {
    return this.all.map((e) => ({ ...e }));
  }

  /** Episodes still listed at the last poll, in state firing. */
  firing(): AlertEpisode[] {
    return this.episodes().filter((e) => e.resolvedAt === undefined && e.state === 'firing');
  }

  /** Whether an alert `name` with (at least) `labels` was seen firing at some poll within [from, to] (ms epoch). */
  firedBetween(name: string, labels: Record<string, string>, from: number, to: number): boolean {
    // Once firing, an alert stays firing until it resolves, so it was firing from firstFiringAt to lastSeenAt.
    return this.all.some((e) => e.name === name && hasLabels(e.labels, labels) && e.firstFiringAt !== undefined && e.firstFiringAt <= to && e.lastSeenAt >= from);
  }

  /** A table of the episodes (UTC times of day, as in Prometheus' log) and the poll count. */
  summary(): string {
    const rows = this.all.map((e) => [
      e.name,
      Object.keys(e.labels)
        .filter((k) => k !== 'alertname')
        .sort()
        .map((k) => `${k}=${e.labels[k]}`)
        .join(','),
      clock(e.firstPendingAt),
      clock(e.firstFiringAt),
      clock(e.resolvedAt),
      e.resolvedAt === undefined ? e.state : 'resolved',
    ]);
    const header = ['alert', 'labels', 'pending', 'firing', 'resolved', 'now'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    const failures = this.failures > 0 ? `, ${this.failures} failed (last: ${this.lastFailure})` : '';
    const footer = `${this.all.length} episode(s) in ${this.polls} poll(s)${failures}`;
    return rows.length === 0 ? `no alerts seen; ${footer}` : [line(header), ...rows.map(line), footer].join('\n');
  }
}
