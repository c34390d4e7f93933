import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { exportedSeriesNames, promqlMetricNames } from './metric-catalog';
import { promtool } from './promtool';
import { defaultPort, K2_APPS, readRepoFile, repoPath } from './repo';

/**
 * deploy/prometheus: the scrape config and the alerting rules are what promtool accepts, the rules pass their promtool
 * unit tests, use only metrics the services export, and every alert has a runbook and is tested both ways.
 */

const CONFIG = 'deploy/prometheus/prometheus.yml';
const RULES_DIR = 'deploy/prometheus/rules';
const TESTS_DIR = 'deploy/prometheus/tests';
const RUNBOOKS_DIR = 'docs/runbooks';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface ScrapeConfig {
  job_name: string;
  static_configs?: Array<{ targets: string[] }>;
  dns_sd_configs?: Array<{ names: string[]; type?: string; port?: number }>;
  kubernetes_sd_configs?: Array<{ role: string }>;
  relabel_configs?: Array<{ source_labels?: string[]; action?: string; regex?: string; target_label?: string; replacement?: string }>;
}
interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs: ScrapeConfig[];
}
interface PromtoolTestFile {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; eval_time: string; exp_alerts?: unknown[] | null }> }>;
}

const yamlFiles = (dir: string): string[] =>
  readdirSync(repoPath(dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`);

const ruleFiles = yamlFiles(RULES_DIR);
const testFiles = yamlFiles(TESTS_DIR);
const rules: Rule[] = ruleFiles.flatMap((f) => (parse(readRepoFile(f)) as RuleFile).groups.flatMap((g) => g.rules));
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);
const config = parse(readRepoFile(CONFIG)) as PrometheusConfig;

describe('deploy/prometheus', () => {
  it('promtool check config accepts prometheus.yml and the rule files it loads', () => {
    let result = promtool(['check', 'config', CONFIG]);
    if (!result.ok && /field kubernetes_sd_configs not found/.test(result.output)) {
      // Debian's promtool is built without Kubernetes discovery (client-go is not packaged). Check everything else
      // with it — relabeling is discovery-agnostic — by swapping the kubernetes_sd block for a static target.
      const dir = mkdtempSync(path.join(tmpdir(), 'k2-prom-'));
      try {
        const copy: PrometheusConfig = {
          ...config,
          rule_files: (config.rule_files ?? []).map((g) => path.join(repoPath('deploy/prometheus'), g)),
          scrape_configs: config.scrape_configs.map(({ kubernetes_sd_configs, ...job }) =>
            kubernetes_sd_configs ? { ...job, static_configs: [{ targets: ['pod.invalid:9401'] }] } : job,
          ),
        };
        writeFileSync(path.join(dir, 'prometheus.yml'), stringify(copy));
        result = promtool(['check', 'config', path.join(dir, 'prometheus.yml')]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(result.output).toMatch(/SUCCESS/);
    expect(result).toMatchObject({ ok: true });
  });

  it('promtool check rules accepts every rule file', () => {
    const result = promtool(['check', 'rules', ...ruleFiles]);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result).toMatchObject({ ok: true });
  });

  it('the alerts pass their promtool unit tests', () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const result = promtool(['test', 'rules', ...testFiles]);
    if (!result.ok) throw new Error(`promtool test rules failed:\n${result.output}`);
    expect(result.output).toMatch(/SUCCESS/);
  });

  it('rules select only metrics the services export', async () => {
    const exported = await exportedSeriesNames();
    const unknown = rules.flatMap((r) => promqlMetricNames(r.expr).filter((n) => !exported.has(n)).map((n) => `${r.alert ?? r.record}: ${n}`));
    expect(unknown).toEqual([]);
    // The lexer must see the metrics at all, or the check above proves nothing.
    for (const r of rules) expect(promqlMetricNames(r.expr).length).toBeGreaterThan(0);
  });

  it('every alert has a severity, a summary, a description and a runbook in docs/runbooks/<alert>.md', () => {
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    for (const a of alerts) {
      expect({ alert: a.alert, severity: a.labels?.['severity'] }).toEqual({ alert: a.alert, severity: expect.stringMatching(/^(critical|warning|info)$/) });
      expect(a.annotations?.['summary']).toBeTruthy();
      expect(a.annotations?.['description']).toBeTruthy();
      expect(a.annotations?.['runbook_url']).toBe(`${RUNBOOKS_DIR}/${a.alert}.md`);
      expect({ alert: a.alert, runbook: existsSync(repoPath(`${RUNBOOKS_DIR}/${a.alert}.md`)) }).toEqual({ alert: a.alert, runbook: true });
    }
  });

  it('every runbook belongs to an alert', () => {
    const names = new Set(alerts.map((a) => a.alert));
    const orphans = readdirSync(repoPath(RUNBOOKS_DIR))
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .filter((f) => !names.has(f.slice(0, -3)));
    expect(orphans).toEqual([]);
  });

  it('every alert has a promtool case where it fires and one where it must not', () => {
    const cases = testFiles.flatMap((f) => (parse(readRepoFile(f)) as PromtoolTestFile).tests.flatMap((t) => t.alert_rule_test ?? []));
    const coverage = alerts.map((a) => {
      const mine = cases.filter((c) => c.alertname === a.alert);
      return { alert: a.alert, fires: mine.some((c) => (c.exp_alerts ?? []).length > 0), silent: mine.some((c) => (c.exp_alerts ?? []).length === 0) };
    });
    expect(coverage).toEqual(alerts.map((a) => ({ alert: a.alert, fires: true, silent: true })));
    const known = new Set(alerts.map((a) => a.alert));
    expect(cases.filter((c) => !known.has(c.alertname)).map((c) => c.alertname)).toEqual([]);
  });

  it('scrapes every service on its real default port, named job = service', () => {
    for (const app of K2_APPS) {
      const job = config.scrape_configs.find((j) => j.job_name === app);
      expect({ app, targets: job?.dns_sd_configs }).toEqual({ app, targets: [expect.objectContaining({ names: [app], type: 'A', port: defaultPort(app) })] });
    }
    expect(config.rule_files).toEqual(['rules/*.yml']);
  });

  it('docker-compose mounts the rule files where rule_files looks for them', () => {
    const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as { services: Record<string, { volumes?: unknown[] }> };
    const mounts = Object.values(compose.services)
      .flatMap((s) => s.volumes ?? [])
      .filter((v): v is string => typeof v === 'string')
      .map((v) => v.split(':'));
    const target = (source: string) => mounts.find(([src]) => src?.replace(/^\.\//, '') === source)?.[1];
    const configAt = target(CONFIG);
    expect(configAt).toBeDefined();
    for (const glob of config.rule_files ?? []) expect(target(RULES_DIR)).toBe(path.posix.join(path.posix.dirname(configAt ?? ''), path.posix.dirname(glob)));
  });

  it('discovers annotated Kubernetes pods and names them like the compose jobs', () => {
    const k8s = config.scrape_configs.find((j) => j.kubernetes_sd_configs);
    expect(k8s?.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    const relabel = k8s?.relabel_configs ?? [];
    expect(relabel[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' });
    const jobFrom = relabel.filter((r) => r.target_label === 'job').map((r) => r.source_labels?.[0]);
    expect(jobFrom[jobFrom.length - 1]).toBe('__meta_kubernetes_pod_label_app_kubernetes_io_name');
    // A target label named `service` would rename the services' own `service` label to exported_service.
    expect(relabel.filter((r) => r.target_label === 'service')).toEqual([]);
  });
});
