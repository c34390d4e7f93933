import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { exportedSeriesNames, promqlMetricNames } from './metric-catalog';
import { promtool } from './promtool';
import { K2_APPS, readRepoFile, repoPath } from './repo';

/**
 * deploy/grafana: the provisioning files parse and agree with each other and with docker-compose's mounts, every
 * dashboard is well-formed, uses the provisioned data source, defines the variables it uses and queries only metrics
 * the services export.
 */

const DASHBOARDS_DIR = 'deploy/grafana/dashboards';
const DATASOURCES = 'deploy/grafana/provisioning/datasources/prometheus.yml';
const PROVIDERS = 'deploy/grafana/provisioning/dashboards/k2.yml';

interface DataSourceRef {
  type?: string;
  uid?: string;
}
interface Target {
  refId?: string;
  expr?: string;
  datasource?: DataSourceRef;
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: DataSourceRef;
  targets?: Target[];
  panels?: Panel[];
  options?: { mode?: string; content?: string };
}
interface Variable {
  name: string;
  type: string;
  datasource?: DataSourceRef;
  definition?: string;
  query?: string | { query?: string };
}
interface Dashboard {
  uid?: string;
  title?: string;
  tags?: string[];
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
  annotations?: { list?: Array<{ datasource?: DataSourceRef }> };
}
interface DataSourcesFile {
  apiVersion: number;
  datasources: Array<{ name: string; uid: string; type: string; url: string; isDefault?: boolean }>;
}
interface ProvidersFile {
  apiVersion: number;
  providers: Array<{ name: string; type: string; options: { path: string } }>;
}
interface ComposeService {
  volumes?: Array<string | { source?: string; target: string }>;
}

const dashboardFiles = readdirSync(repoPath(DASHBOARDS_DIR))
  .filter((f) => f.endsWith('.json'))
  .sort();
const dashboards = new Map<string, Dashboard>(dashboardFiles.map((f) => [f, JSON.parse(readRepoFile(`${DASHBOARDS_DIR}/${f}`)) as Dashboard]));
const datasources = parse(readRepoFile(DATASOURCES)) as DataSourcesFile;
const providers = parse(readRepoFile(PROVIDERS)) as ProvidersFile;
const PROM_UID = datasources.datasources.find((d) => d.type === 'prometheus')?.uid;

/** Row panels hold their children in `panels` when collapsed; flatten both layouts. */
function allPanels(d: Dashboard): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? '');
}

/** The PromQL inside a variable query: label_values(<expr>, label) or query_result(<expr>). */
function variablePromql(q: string): string | undefined {
  const m = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(q) ?? /^\s*query_result\((.*)\)\s*$/s.exec(q);
  return m?.[1];
}

function exprs(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ where: `${d.uid}/${p.title}/${t.refId}`, expr: t.expr });
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const expr = variablePromql(variableQuery(v));
    if (expr !== undefined) out.push({ where: `${d.uid}/$${v.name}`, expr });
  }
  return out;
}

describe('deploy/grafana', () => {
  it('provisions one Prometheus data source with a fixed uid', () => {
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', uid: 'k2-prometheus', url: 'http://prometheus:9090', isDefault: true })]);
  });

  it('provisions the dashboards from the directory docker-compose mounts them into', () => {
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: expect.stringMatching(/^\//) }) })]);
    const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
    const mounts = Object.values(compose.services).flatMap((s) =>
      (s.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0] ?? '', target: v.split(':')[1] ?? '' } : { source: v.source ?? '', target: v.target })),
    );
    const target = (dir: string) => mounts.filter((m) => m.source.replace(/^\.\//, '').replace(/\/$/, '') === dir).map((m) => m.target);
    expect(target('deploy/grafana/dashboards')).toEqual([providers.providers[0]?.options.path]);
    expect(target('deploy/grafana/provisioning')).toEqual(['/etc/grafana/provisioning']);
  });

  it('has a dashboard per service and an overview', () => {
    expect(dashboardFiles).toEqual([...K2_APPS.map((a) => `${a}.json`), 'overview.json'].sort());
    for (const app of K2_APPS) {
      const d = dashboards.get(`${app}.json`);
      expect({ app, uid: d?.uid }).toEqual({ app, uid: `k2-${app}` });
      // Each service dashboard shows that service: every query selects its job (the overview spans them all).
      const foreign = exprs(d ?? {}).filter((e) => !e.expr.includes(`job="${app}"`));
      expect(foreign).toEqual([]);
    }
  });

  it('every dashboard is well-formed: uid, title, tags, panels with ids, types, titles and a 24-column grid', () => {
    const uids = new Set<string>();
    const titles = new Set<string>();
    for (const [file, d] of dashboards) {
      expect({ file, uid: typeof d.uid === 'string' && /^[A-Za-z0-9_-]{1,40}$/.test(d.uid) }).toEqual({ file, uid: true });
      expect({ file, title: typeof d.title === 'string' && d.title.length > 0 }).toEqual({ file, title: true });
      uids.add(d.uid ?? '');
      titles.add(d.title ?? '');
      expect(d.tags).toContain('k2');
      expect(typeof d.schemaVersion).toBe('number');
      const panels = allPanels(d);
      expect(panels.length).toBeGreaterThan(0);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of panels) {
        const where = `${file}: ${p.title ?? p.id}`;
        expect({ where, type: typeof p.type, title: typeof p.title }).toEqual({ where, type: 'string', title: 'string' });
        const g = p.gridPos;
        expect({ where, grid: g !== undefined && g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24 }).toEqual({ where, grid: true });
        if (p.type !== 'row' && p.type !== 'text') expect({ where, targets: (p.targets ?? []).length > 0 }).toEqual({ where, targets: true });
      }
    }
    expect(uids.size).toBe(dashboards.size);
    expect(titles.size).toBe(dashboards.size);
  });

  it('every data source reference is the provisioned Prometheus (or Grafana built-in annotations)', () => {
    expect(PROM_UID).toBe('k2-prometheus');
    const bad: string[] = [];
    const check = (where: string, ref: DataSourceRef | undefined) => {
      if (ref === undefined) return;
      if (!(ref.type === 'prometheus' && ref.uid === PROM_UID)) bad.push(`${where}: ${JSON.stringify(ref)}`);
    };
    for (const [file, d] of dashboards) {
      for (const p of allPanels(d)) {
        check(`${file}/${p.title}`, p.datasource);
        for (const t of p.targets ?? []) check(`${file}/${p.title}/${t.refId}`, t.datasource);
        // A panel whose queries carry no data source would fall back to whatever default the Grafana has.
        if ((p.targets ?? []).length > 0 && p.datasource === undefined) bad.push(`${file}/${p.title}: no datasource`);
      }
      for (const v of d.templating?.list ?? []) if (v.type === 'query') check(`${file}/$${v.name}`, v.datasource);
      for (const a of d.annotations?.list ?? []) if (a.datasource?.type !== 'grafana') check(`${file}/annotation`, a.datasource);
    }
    expect(bad).toEqual([]);
  });

  it('queries select only metrics the services export and only variables the dashboard defines', async () => {
    const exported = await exportedSeriesNames();
    const unknown: string[] = [];
    const undefinedVars: string[] = [];
    let checked = 0;
    for (const d of dashboards.values()) {
      const vars = new Set((d.templating?.list ?? []).map((v) => v.name));
      for (const { where, expr } of exprs(d)) {
        const names = promqlMetricNames(expr);
        if (names.length === 0) unknown.push(`${where}: no metric found in ${expr}`);
        for (const n of names) if (!exported.has(n)) unknown.push(`${where}: ${n}`);
        for (const m of expr.matchAll(/\$\{?(\w+)/g)) if (!m[1]?.startsWith('__') && !vars.has(m[1] ?? '')) undefinedVars.push(`${where}: $${m[1]}`);
        checked++;
      }
    }
    expect(unknown).toEqual([]);
    expect(undefinedVars).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it('every query is valid PromQL (promtool parses it as a recording rule)', () => {
    // Grafana substitutes its variables before Prometheus sees a query: ranges like $__rate_interval become a
    // duration, and the dashboards use their own variables only inside label matchers (=~"$instance").
    const all = [...dashboards.values()].flatMap(exprs);
    const rules = all.map((e, i) => ({ record: `k2:dashboard_query:${i}`, expr: e.expr.replace(/\$__\w+/g, '5m').replace(/\$\{?\w+\}?/g, '.*') }));
    const dir = mkdtempSync(path.join(tmpdir(), 'k2-grafana-'));
    try {
      writeFileSync(path.join(dir, 'queries.yml'), stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
      const result = promtool(['check', 'rules', path.join(dir, 'queries.yml')]);
      if (!result.ok) throw new Error(`promtool rejects dashboard queries:\n${result.output}\n${all.map((e, i) => `${i}: ${e.where}`).join('\n')}`);
      expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the overview has the live BTC price panel, explained', () => {
    const live = allPanels(dashboards.get('overview.json') ?? {}).find((p) => p.title === 'Live BTC price');
    expect(live?.type).toBe('text');
    expect(live?.options?.mode).toBe('html');
    expect(live?.options?.content).toContain('/?symbol=BTCUSDT');
    expect(live?.description).toMatch(/no price metric/);
  });
});
