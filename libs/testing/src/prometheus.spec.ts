import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './infra';
import {
  type ActiveAlert,
  AlertRecorder,
  formatPromDuration,
  parseAlertsResponse,
  parsePromDuration,
  parseQueryResponse,
  parseTargetsResponse,
  prometheusConfig,
  type PrometheusHandle,
  promtoolBinary,
  scaleExprDurations,
  scaleRuleDurations,
  startPrometheus,
} from './prometheus';
import { waitFor } from './wait';

function promtool(args: string[]): { ok: boolean; output: string } {
  const r = spawnSync(promtoolBinary(), args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`cannot run ${promtoolBinary()} (bash deploy/tools/install-promtool.sh installs it): ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'k2-prom-spec-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Prometheus durations', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['90s', 90_000],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['1m15s', 75_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1y', 31_536_000_000],
    ['1h1m1s1ms', 3_661_001],
  ])('parses %s', (text, ms) => {
    expect(parsePromDuration(text)).toBe(ms);
  });

  it.each(['', '5', '1.5m', '30s1m', '1m1m', '5 m', '-5m', '1M', 'm'])('rejects %j', (text) => {
    expect(() => parsePromDuration(text)).toThrow('not a Prometheus duration');
  });

  it.each([
    [0, '0s'],
    [500, '500ms'],
    [5000, '5s'],
    [75_000, '1m15s'],
    [5_400_000, '1h30m'],
    [604_800_000, '1w'],
    [3_661_001, '1h1m1s1ms'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatPromDuration(ms)).toBe(text);
    expect(parsePromDuration(text)).toBe(ms);
  });

  it('refuses negative and fractional milliseconds', () => {
    expect(() => formatPromDuration(-1)).toThrow();
    expect(() => formatPromDuration(1.5)).toThrow();
  });
});

describe('scaleExprDurations', () => {
  it.each([
    ['rate(x[1m])', 'rate(x[5s])'],
    ['rate(x[ 5m ])', 'rate(x[ 25s ])'],
    ['increase(x[15m])', 'increase(x[1m15s])'],
    ['max_over_time(rate(x[5m])[1h:1m])', 'max_over_time(rate(x[25s])[5m:5s])'],
    ['max_over_time(rate(x[5m])[1h:])', 'max_over_time(rate(x[25s])[5m:])'],
    ['x unless x offset 10m', 'x unless x offset 50s'],
    ['x OFFSET 10m', 'x OFFSET 50s'],
    ['x offset -10m', 'x offset -50s'],
    ['rate(x[5m] offset 1h)', 'rate(x[25s] offset 5m)'],
    // Not below minSeconds; zero stays zero.
    ['rate(x[10s])', 'rate(x[2s])'],
    ['x offset 0s', 'x offset 0s'],
  ])('%s → %s', (expr, scaled) => {
    expect(scaleExprDurations(expr, 12)).toBe(scaled);
  });

  it('leaves strings, comments, label names and thresholds alone', () => {
    const expr = [
      `rate(x{a=~"[0-9]m", b='[1m]', c=\`offset 5m\`, d="esc\\"[1m]"}[1m]) > 600 # was [10m] offset 5m`,
      'sum by (offset) (y_offset[2m]) / 60',
    ].join('\n');
    expect(scaleExprDurations(expr, 12)).toBe(
      [`rate(x{a=~"[0-9]m", b='[1m]', c=\`offset 5m\`, d="esc\\"[1m]"}[5s]) > 600 # was [10m] offset 5m`, 'sum by (offset) (y_offset[10s]) / 60'].join('\n'),
    );
  });

  it('rejects a malformed duration in a selector', () => {
    expect(() => scaleExprDurations('rate(x[30s1m])', 12)).toThrow('not a Prometheus duration');
  });
});

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rulesOf = (text: string): Rule[] => (parse(text) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

describe('scaleRuleDurations on deploy/prometheus/rules/k2-alerts.yml', () => {
  const source = readFileSync(join(repoRoot(), 'deploy', 'prometheus', 'rules', 'k2-alerts.yml'), 'utf8');
  const scaled = scaleRuleDurations(source, 12);

  it('still passes promtool check rules', () => {
    withTempDir((dir) => {
      const file = join(dir, 'k2-alerts.yml');
      writeFileSync(file, scaled);
      const r = promtool(['check', 'rules', file]);
      expect(r.output).toMatch(/SUCCESS/);
      expect(r).toMatchObject({ ok: true });
    });
  });

  it('divides for, ranges and offsets by 12', () => {
    const rule = (name: string): Rule => rulesOf(scaled).find((r) => r.alert === name)!;
    expect(rule('K2TargetDown').for).toBe('10s');
    expect(rule('K2FeedDisconnected').for).toBe('5s');
    expect(rule('K2FeedDisconnected').expr).toContain('rate(k2_binance_messages_received_total[5s])');
    expect(rule('K2FeedErrorRate').expr).toContain('rate(k2_binance_errors_total[25s])');
    expect(rule('K2FeedErrorRate').for).toBe('50s');
    expect(rule('K2FeedTradesUnfilled').expr).toContain('increase(k2_feed_trades_unfilled_total[50s]) > 0');
    expect(rule('K2FeedTradesUnfilled').expr).toContain('k2_feed_trades_unfilled_total offset 50s');
    expect(rule('K2WriterFreshnessSLOBreach').for).toBe('1m15s');
    expect(rule('K2WriterFreshnessSLOBreach').expr).toContain('[1m15s])) > 15');
    expect(rule('K2QueryErrorRate').expr).toContain('{status=~"5..", status!="503"}[25s]');
    expect(scaled).not.toMatch(/\[\d+m\]|offset \d+m\b/);
  });

  it('changes nothing but the durations', () => {
    const before = rulesOf(source);
    const after = rulesOf(scaled);
    const durations = /\d+(?:ms|[ywdhms])(?:\d+(?:ms|[ywdhms]))*/g;
    expect(after.map((r) => ({ ...r, for: undefined, expr: r.expr.replace(durations, 'D') }))).toEqual(
      before.map((r) => ({ ...r, for: undefined, expr: r.expr.replace(durations, 'D') })),
    );
    for (const [i, r] of before.entries()) {
      expect(after[i].for === undefined).toBe(r.for === undefined);
      if (r.for !== undefined) expect(parsePromDuration(after[i].for!)).toBe(Math.max(2000, Math.round(parsePromDuration(r.for) / 12 / 1000) * 1000));
    }
    // Comments and layout are kept: only lines with a duration differ.
    const a = source.split('\n');
    const b = scaled.split('\n');
    expect(b).toHaveLength(a.length);
    expect(a.filter((l, i) => l !== b[i]).every((l) => /for: |\[\d|offset \d/.test(l))).toBe(true);
  });

  it('scales for, keep_firing_for and a group interval, keeps for: 0', () => {
    const text = 'groups:\n  - name: g\n    interval: 1m\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 0\n      - alert: B\n        expr: up == 0\n        for: 1h\n        keep_firing_for: 2m\n';
    const out = parse(scaleRuleDurations(text, 12)) as { groups: Array<{ interval: string; rules: Rule[] & Array<{ keep_firing_for?: string }> }> };
    expect(out.groups[0].interval).toBe('5s');
    expect(out.groups[0].rules[0].for).toBe(0);
    expect(out.groups[0].rules[1].for).toBe('5m');
    expect(out.groups[0].rules[1].keep_firing_for).toBe('10s');
  });

  it('rejects what is not a rule file or a bad factor', () => {
    expect(() => scaleRuleDurations('foo: 1\n', 12)).toThrow('no `groups` list');
    expect(() => scaleRuleDurations(source, 0)).toThrow('positive');
    expect(() => scaleRuleDurations('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: soon\n', 12)).toThrow('group g, rule A, for');
  });
});

describe('prometheusConfig', () => {
  const targets = { 'binance-streamer': ['127.0.0.1:9401'], 'query-api': ['127.0.0.1:8080', '127.0.0.1:8081'], 'asx-batch-loader': [] };

  it('names each job after its service and sets no service target label', () => {
    const text = prometheusConfig({ targets, ruleFiles: ['/x/rules.yml'], scrapeIntervalSec: 1 });
    expect(parse(text)).toEqual({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '800ms' },
      rule_files: ['/x/rules.yml'],
      scrape_configs: [
        { job_name: 'binance-streamer', static_configs: [{ targets: ['127.0.0.1:9401'] }] },
        { job_name: 'query-api', static_configs: [{ targets: ['127.0.0.1:8080', '127.0.0.1:8081'] }] },
        { job_name: 'asx-batch-loader', static_configs: [{ targets: [] }] },
      ],
    });
    expect(text).not.toMatch(/service:/);
  });

  it('passes promtool check config with the scaled rules', () => {
    withTempDir((dir) => {
      const rules = join(dir, 'k2-alerts.yml');
      writeFileSync(rules, scaleRuleDurations(readFileSync(join(repoRoot(), 'deploy', 'prometheus', 'rules', 'k2-alerts.yml'), 'utf8'), 12));
      writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig({ targets, ruleFiles: [rules], scrapeIntervalSec: 2 }));
      const r = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(r.output).toMatch(/SUCCESS: 16 rules found/);
      expect(r).toMatchObject({ ok: true });
    });
  });

  it('rejects bad targets and intervals', () => {
    expect(() => prometheusConfig({ targets: { a: ['http://x:1/metrics'] }, ruleFiles: [], scrapeIntervalSec: 1 })).toThrow('host:port');
    expect(() => prometheusConfig({ targets: {}, ruleFiles: [], scrapeIntervalSec: 0 })).toThrow('at least 0.1');
  });
});

// Captured from Prometheus 2.42.0+ds (Debian) with two alerts on one gauge, `for: 1m` and `for: 10m` scaled by 12.
const REAL_ALERTS =
  '{"status":"success","data":{"alerts":[{"labels":{"alertname":"SmokeGaugeHigh","instance":"127.0.0.1:38567","job":"query-api","service":"fake-svc","severity":"warning"},"annotations":{"summary":"fake-svc gauge is 1"},"state":"firing","activeAt":"2026-11-24T00:15:14.256101896Z","value":"1e+00"},{"labels":{"alertname":"SmokeGaugeSlow","instance":"127.0.0.1:38567","job":"query-api","service":"fake-svc","severity":"critical"},"annotations":{"summary":"slow"},"state":"pending","activeAt":"2026-11-24T00:15:14.256101896Z","value":"1e+00"}]}}';
const REAL_TARGETS =
  '{"status":"success","data":{"activeTargets":[{"discoveredLabels":{"__address__":"127.0.0.1:38567","__metrics_path__":"/metrics","__scheme__":"http","__scrape_interval__":"1s","__scrape_timeout__":"800ms","job":"query-api"},"labels":{"instance":"127.0.0.1:38567","job":"query-api"},"scrapePool":"query-api","scrapeUrl":"http://127.0.0.1:38567/metrics","globalUrl":"http://vm:38567/metrics","lastError":"","lastScrape":"2026-11-24T00:15:19.726049252Z","lastScrapeDuration":0.001381255,"health":"up","scrapeInterval":"1s","scrapeTimeout":"800ms"}],"droppedTargets":[]}}';
const REAL_QUERY =
  '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"127.0.0.1:19991","job":"fake"},"value":[1795479147.122,"1"]}]}}';
const REAL_ERROR = '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:6: parse error: unclosed left parenthesis"}';

describe('API responses', () => {
  it('parses /api/v1/alerts', () => {
    expect(parseAlertsResponse(JSON.parse(REAL_ALERTS))).toEqual([
      {
        name: 'SmokeGaugeHigh',
        state: 'firing',
        labels: { alertname: 'SmokeGaugeHigh', instance: '127.0.0.1:38567', job: 'query-api', service: 'fake-svc', severity: 'warning' },
        annotations: { summary: 'fake-svc gauge is 1' },
        activeAt: '2026-11-24T00:15:14.256101896Z',
        value: '1e+00',
      },
      {
        name: 'SmokeGaugeSlow',
        state: 'pending',
        labels: { alertname: 'SmokeGaugeSlow', instance: '127.0.0.1:38567', job: 'query-api', service: 'fake-svc', severity: 'critical' },
        annotations: { summary: 'slow' },
        activeAt: '2026-11-24T00:15:14.256101896Z',
        value: '1e+00',
      },
    ]);
    expect(parseAlertsResponse({ status: 'success', data: { alerts: [] } })).toEqual([]);
  });

  it('parses /api/v1/targets and /api/v1/query', () => {
    expect(parseTargetsResponse(JSON.parse(REAL_TARGETS))).toEqual([{ job: 'query-api', instance: '127.0.0.1:38567', health: 'up', lastError: '' }]);
    expect(parseQueryResponse(JSON.parse(REAL_QUERY))).toEqual([{ metric: { __name__: 'up', instance: '127.0.0.1:19991', job: 'fake' }, value: [1795479147.122, '1'] }]);
  });

  it('reports API errors and unexpected shapes', () => {
    expect(() => parseQueryResponse(JSON.parse(REAL_ERROR))).toThrow('/api/v1/query: bad_data: invalid parameter "query": 1:6: parse error');
    expect(() => parseQueryResponse({ status: 'success', data: { resultType: 'scalar', result: [1, '1'] } })).toThrow('expected an instant vector');
    expect(() => parseAlertsResponse({ status: 'success', data: {} })).toThrow('data.alerts is not a list');
    expect(() => parseAlertsResponse({ status: 'success', data: { alerts: [{ labels: { alertname: 'A' }, state: 'inactive', activeAt: 'x', value: '1' }] } })).toThrow(
      'unexpected state "inactive"',
    );
  });
});

describe('AlertRecorder', () => {
  const alert = (name: string, state: 'pending' | 'firing', activeAt: string, labels: Record<string, string> = {}): ActiveAlert => ({
    name,
    state,
    labels: { alertname: name, job: 'query-api', instance: '127.0.0.1:1', ...labels },
    annotations: { summary: `${name} summary` },
    activeAt,
    value: '1e+00',
  });
  const T0 = '2026-01-01T00:00:00.123456789Z';
  const T1 = '2026-01-01T00:00:20Z';

  /** A fake handle answering from a script; each poll takes the next entry, at t = 1000 × poll number. */
  function scripted(script: Array<ActiveAlert[] | Error>): { rec: AlertRecorder; pollAll: () => Promise<void> } {
    let i = 0;
    let now = 0;
    const fake = {
      alerts: async (): Promise<ActiveAlert[]> => {
        const next = script[i++];
        now = i * 1000;
        if (next instanceof Error) throw next;
        return next;
      },
    };
    const rec = new AlertRecorder(fake, 1000, () => now);
    return { rec, pollAll: async () => void (await Promise.all(script.map(() => rec.poll()))) };
  }

  it('tracks pending → firing → resolved, and a reappearance as a new episode', async () => {
    const { rec, pollAll } = scripted([
      [], // 1
      [alert('A', 'pending', T0)], // 2
      [alert('A', 'firing', T0), alert('B', 'pending', T0, { exchange: 'kraken' })], // 3
      new Error('fetch failed'), // 4: changes nothing
      [alert('A', 'firing', T0)], // 5: B never fired and is gone
      [], // 6: A resolved
      [alert('A', 'pending', T1)], // 7: A again
      [alert('A', 'firing', T1)], // 8
    ]);
    await pollAll();
    expect(rec.episodes()).toEqual([
      expect.objectContaining({ name: 'A', activeAt: Date.parse(T0), firstPendingAt: 2000, firstFiringAt: 3000, lastSeenAt: 5000, resolvedAt: 6000 }),
      expect.objectContaining({ name: 'B', labels: expect.objectContaining({ exchange: 'kraken' }), firstPendingAt: 3000, lastSeenAt: 3000, resolvedAt: 5000 }),
      expect.objectContaining({ name: 'A', activeAt: Date.parse(T1), firstPendingAt: 7000, firstFiringAt: 8000, lastSeenAt: 8000, state: 'firing' }),
    ]);
    expect(rec.episodes()[1].firstFiringAt).toBeUndefined();
    expect(rec.episodes()[2].resolvedAt).toBeUndefined();
    expect(rec.firing()).toEqual([expect.objectContaining({ name: 'A', firstFiringAt: 8000 })]);

    expect(rec.firedBetween('A', {}, 0, 2999)).toBe(false);
    expect(rec.firedBetween('A', { job: 'query-api' }, 3000, 3000)).toBe(true);
    expect(rec.firedBetween('A', {}, 5500, 7999)).toBe(false);
    expect(rec.firedBetween('A', {}, 7999, 100000)).toBe(true);
    expect(rec.firedBetween('A', { job: 'kraken-streamer' }, 0, 100000)).toBe(false);
    expect(rec.firedBetween('B', {}, 0, 100000)).toBe(false);

    const summary = rec.summary();
    expect(summary).toMatch(/^alert\s+labels\s+pending\s+firing\s+resolved\s+now$/m);
    expect(summary).toMatch(/^A\s+instance=127\.0\.0\.1:1,job=query-api\s+00:00:02\.000\s+00:00:03\.000\s+00:00:06\.000\s+resolved$/m);
    expect(summary).toMatch(/^B\s+exchange=kraken,instance=127\.0\.0\.1:1,job=query-api\s+00:00:03\.000\s+-\s+00:00:05\.000\s+resolved$/m);
    expect(summary).toMatch(/^A\s+\S+\s+00:00:07\.000\s+00:00:08\.000\s+-\s+firing$/m);
    expect(summary).toContain('3 episode(s) in 8 poll(s), 1 failed (last: fetch failed)');
  });

  it('keys episodes by the whole label set, ignoring alertstate', async () => {
    const { rec, pollAll } = scripted([
      [alert('A', 'firing', T0, { exchange: 'binance' }), alert('A', 'firing', T0, { exchange: 'kraken' })],
      [alert('A', 'firing', T0, { exchange: 'kraken', alertstate: 'firing' }), alert('A', 'firing', T0, { exchange: 'binance' })],
      [alert('A', 'firing', T0, { exchange: 'binance' })],
    ]);
    await pollAll();
    expect(rec.episodes().map((e) => [e.labels['exchange'], e.lastSeenAt, e.resolvedAt])).toEqual([
      ['binance', 3000, undefined],
      ['kraken', 2000, 3000],
    ]);
    expect(rec.firedBetween('A', { exchange: 'kraken' }, 2500, 2600)).toBe(false);
    expect(rec.firedBetween('A', { exchange: 'binance' }, 2500, 2600)).toBe(true);
  });

  it('ends an episode whose alert resolved and came back between two polls', async () => {
    const { rec, pollAll } = scripted([[alert('A', 'firing', T0)], [alert('A', 'pending', T1)]]);
    await pollAll();
    expect(rec.episodes()).toEqual([
      expect.objectContaining({ activeAt: Date.parse(T0), firstFiringAt: 1000, resolvedAt: 2000 }),
      expect.objectContaining({ activeAt: Date.parse(T1), firstPendingAt: 2000, state: 'pending' }),
    ]);
    expect(rec.firing()).toEqual([]);
  });

  it('polls every everyMs between start and stop', async () => {
    let calls = 0;
    const rec = new AlertRecorder({ alerts: async () => (calls++, []) }, 5);
    rec.start();
    await waitFor('three polls', () => (calls >= 3 ? true : undefined), 2000, 5);
    await rec.stop();
    const after = calls;
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(after);
    expect(rec.summary()).toMatch(/^no alerts seen; 0 episode\(s\) in \d+ poll\(s\)$/);
  });
});

describe('startPrometheus', () => {
  it('fails clearly when the Prometheus binary is missing', async () => {
    const saved = process.env['K2_PROMETHEUS_BIN'];
    process.env['K2_PROMETHEUS_BIN'] = '/nonexistent/prometheus';
    try {
      await expect(startPrometheus({ targets: {} })).rejects.toThrow('Prometheus server not found at /nonexistent/prometheus: install');
    } finally {
      if (saved === undefined) delete process.env['K2_PROMETHEUS_BIN'];
      else process.env['K2_PROMETHEUS_BIN'] = saved;
    }
  });

  it('reports a rule file promtool rejects', async () => {
    await withTempDirAsync(async (dir) => {
      const rules = join(dir, 'bad.yml');
      writeFileSync(rules, 'groups:\n  - name: g\n    rules:\n      - alert: Bad\n        expr: rate(x[1m]\n');
      await expect(startPrometheus({ targets: {}, rulesFile: rules })).rejects.toThrow(/promtool check config rejected .*\n[\s\S]*unclosed left parenthesis/);
    });
  });
});

async function withTempDirAsync(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'k2-prom-spec-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One gauge in the text exposition format, labelled like a K2 service labels its series. */
function gaugeServer(): { server: Server; set: (v: number) => void; listen: () => Promise<string> } {
  let value = 1;
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`# HELP k2_test_gauge A test gauge.\n# TYPE k2_test_gauge gauge\nk2_test_gauge{service="query-api"} ${value}\n`);
  });
  return {
    server,
    set: (v) => (value = v),
    listen: () =>
      new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as { port: number }).port}`))),
  };
}

// A real server (CI installs it with deploy/tools/install-promtool.sh); about 20 s, most of it Prometheus' 5 s
// target discovery delay (at start and after a reload) and the scaled 5 s `for`.
describe('startPrometheus with a real server', () => {
  const a = gaugeServer();
  const b = gaugeServer();
  let dir: string;
  let targetA: string;
  let prom: PrometheusHandle;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k2-prom-spec-'));
    // for: 1m at time scale 12 is 5 s.
    writeFileSync(
      join(dir, 'smoke.yml'),
      'groups:\n  - name: smoke\n    rules:\n      - alert: SmokeGaugeHigh\n        expr: k2_test_gauge > 0\n        for: 1m\n        labels:\n          severity: warning\n        annotations:\n          summary: "{{ $labels.service }} gauge is {{ $value }}"\n',
    );
    targetA = await a.listen();
    prom = await startPrometheus({ targets: { 'query-api': [targetA] }, rulesFile: join(dir, 'smoke.yml') });
  }, 30000);

  afterAll(async () => {
    await prom?.stop();
    a.server.close();
    b.server.close();
    rmSync(dir, { recursive: true, force: true });
  }, 15000);

  it('loads the scaled rules and scrapes each target as job=<service>, keeping its service label', async () => {
    expect(readFileSync(prom.rulesFile, 'utf8')).toContain('for: 5s');
    expect(await prom.targets()).toEqual([{ job: 'query-api', instance: targetA, health: 'up', lastError: '' }]);
    const [sample] = await prom.query('k2_test_gauge');
    expect(sample.metric).toEqual({ __name__: 'k2_test_gauge', job: 'query-api', instance: targetA, service: 'query-api' });
    await expect(prom.query('rate(')).rejects.toThrow('bad_data');
  });

  it('sees the alert go pending, fire after the scaled for, and resolve', async () => {
    const rec = new AlertRecorder(prom, 200);
    rec.start();
    try {
      const fired = await waitFor('SmokeGaugeHigh to fire', () => rec.firing().find((e) => e.name === 'SmokeGaugeHigh'), 15000, 100);
      expect(fired.firstPendingAt).toBeDefined();
      expect(fired.labels).toMatchObject({ job: 'query-api', service: 'query-api', severity: 'warning' });
      expect(fired.annotations['summary']).toBe('query-api gauge is 1');
      // Pending for the scaled 5 s, give or take an evaluation interval and a poll.
      expect(fired.firstFiringAt! - fired.activeAt).toBeGreaterThanOrEqual(4500);
      expect(fired.firstFiringAt! - fired.activeAt).toBeLessThan(7500);
      const clearedAt = Date.now();
      a.set(0);
      const done = await waitFor('SmokeGaugeHigh to resolve', () => rec.episodes().find((e) => e.resolvedAt !== undefined), 10000, 100);
      expect(done.resolvedAt! - clearedAt).toBeLessThan(5000);
      expect(rec.firedBetween('SmokeGaugeHigh', { job: 'query-api' }, fired.firstFiringAt!, clearedAt)).toBe(true);
      expect(rec.firedBetween('SmokeGaugeHigh', {}, done.resolvedAt! + 1, Date.now())).toBe(false);
    } finally {
      await rec.stop();
    }
  }, 30000);

  it('moves a job to a new target on setTargets', async () => {
    const targetB = await b.listen();
    b.set(2);
    await prom.setTargets({ 'query-api': [targetB] });
    expect((await prom.targets()).filter((t) => t.health === 'up')).toEqual([{ job: 'query-api', instance: targetB, health: 'up', lastError: '' }]);
    const samples = await waitFor('only the new target', async () => {
      const s = await prom.query('k2_test_gauge');
      return s.length === 1 ? s : undefined;
    }, 5000);
    expect(samples[0].metric['instance']).toBe(targetB);
    expect(samples[0].value[1]).toBe('2');
  }, 30000);
});
