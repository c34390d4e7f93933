import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { K2_APPS, repoPath } from './repo';

/**
 * The metric names the K2 services really export, for checking alert rules and dashboards against them. Read from
 * the sources (every metric is declared with registryCounter/registryGauge/registryHistogram of @k2/runtime or a
 * prom-client constructor with a `name:`), so a renamed or removed metric fails the deploy tests instead of leaving
 * an alert that can never fire or a panel that stays empty.
 */

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Series Prometheus itself adds for every target and for alerting (https://prometheus.io/docs/concepts/jobs_instances/). */
const PROMETHEUS_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added', 'ALERTS', 'ALERTS_FOR_STATE'];

const DECLARATION = [
  /registry(Counter|Gauge|Histogram)\(\s*[\w.]+\s*,\s*('[^']*'|`[^`]*`|[A-Za-z_]\w*)/g,
  /new (Counter|Gauge|Histogram)\b[^(]*\(\s*\{\s*name:\s*('[^']*'|`[^`]*`|[A-Za-z_]\w*)/g,
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    // Tests read metrics; only production code declares them.
    else if (e.name.endsWith('.ts') && !/\.(spec|itest)\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

function productionSources(): Map<string, string> {
  const files = new Map<string, string>();
  for (const top of ['libs', 'apps']) {
    for (const project of readdirSync(repoPath(top))) {
      const src = repoPath(`${top}/${project}/src`);
      try {
        for (const f of sourceFiles(src)) files.set(f, readFileSync(f, 'utf8'));
      } catch {
        // a project without src/
      }
    }
  }
  return files;
}

/** `${exchange}` in a per-exchange metric name stands for each streamer app: apps/<exchange>-streamer. */
const TEMPLATE_VALUES: Record<string, readonly string[]> = {
  exchange: K2_APPS.filter((a) => a.endsWith('-streamer')).map((a) => a.slice(0, -'-streamer'.length)),
};

function expandTemplate(template: string, source: string, file: string, depth = 0): string[] {
  const m = /\$\{(\w+)\}/.exec(template);
  if (!m?.[1]) return [template];
  const name = m[1];
  const local = new RegExp(`const ${name} = (\`[^\`]*\`|'[^']*')`).exec(source)?.[1];
  if (local !== undefined && depth < 5) return expandTemplate(template.replace(m[0], local.slice(1, -1)), source, file, depth + 1);
  const values = TEMPLATE_VALUES[name];
  if (!values) throw new Error(`${file}: cannot resolve \${${name}} in metric name \`${template}\`; teach deploy/src/metric-catalog.ts`);
  return values.flatMap((v) => expandTemplate(template.replace(m[0], v), source, file, depth));
}

function resolveName(token: string, source: string, sources: Map<string, string>, file: string): string[] {
  if (token.startsWith("'")) return [token.slice(1, -1)];
  if (token.startsWith('`')) return expandTemplate(token.slice(1, -1), source, file);
  // An identifier: a string constant declared somewhere in the sources (e.g. DEGRADATION_GAUGE).
  for (const s of sources.values()) {
    const v = new RegExp(`const ${token}\\s*=\\s*'([^']+)'`).exec(s)?.[1];
    if (v !== undefined) return [v];
  }
  throw new Error(`${file}: metric name constant ${token} not found`);
}

/** Exported series names → their family type, from the K2 sources plus prom-client's default metrics. */
export async function exportedMetricFamilies(): Promise<Map<string, MetricType>> {
  const families = new Map<string, MetricType>();
  const sources = productionSources();
  for (const [file, source] of sources) {
    for (const re of DECLARATION) {
      for (const m of source.matchAll(re)) {
        const type = (m[1] ?? '').toLowerCase() as MetricType;
        for (const name of resolveName(m[2] ?? '', source, sources, path.relative(repoPath('.'), file))) families.set(name, type);
      }
    }
  }
  // createMetricsRegistry (@k2/runtime) calls collectDefaultMetrics on every service registry.
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  for (const m of await defaults.getMetricsAsJSON()) families.set(m.name, String(m.type) as MetricType);
  defaults.clear();
  return families;
}

/** Every series name a query may select: histogram and summary families expand to their _bucket/_sum/_count series. */
export async function exportedSeriesNames(): Promise<Set<string>> {
  const names = new Set<string>(PROMETHEUS_SERIES);
  for (const [name, type] of await exportedMetricFamilies()) {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. A small lexer rather than a parser: strings, label matchers, range
 * and subquery brackets, grouping label lists and Grafana variables are removed, then every remaining identifier that
 * is not a function call, a keyword or part of a number/duration is a metric name.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, '1m')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    // `sum by (le) (x)`: without the clause, `sum` is directly followed by its parenthesis like any call.
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const id = m[1] ?? '';
    if (!KEYWORDS.has(id.toLowerCase())) names.add(id);
  }
  return [...names];
}
