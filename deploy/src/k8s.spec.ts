import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_MEMORY_BUDGET, parseBytes, splitMemoryBudget } from '@k2/lake-sink';
import { defaultPort, envNamesReadBy, K2_APPS, publicPort, readRepoFile, repoPath } from './repo';

/**
 * Offline checks of deploy/k8s: each kustomization is rendered with the pinned kustomize (what `kubectl apply -k`
 * would send), every object is validated against the Kubernetes JSON schemas of the pinned releases (strict:
 * unknown fields fail, as a misspelt field would be silently dropped by the API server), and then what the
 * schemas cannot know: probes on the ports the apps really serve, resources, non-root security contexts, scrape
 * annotations, PodDisruptionBudgets, the autoscaler, the batch jobs, environment names the apps read, no literal
 * credentials, and `nx run-many -t deploy` applying every object.
 */

const INSTALL_HINT = 'run bash deploy/tools/install.sh';
const KUSTOMIZE = repoPath('.data/tools/bin/kustomize');
const SCHEMA_ROOT = repoPath('.data/tools/k8s-schemas');
// The pins live in the install scripts only, so the test and the installed tools cannot drift apart.
const KUSTOMIZE_VERSION = /^VERSION=(v\S+)$/m.exec(readRepoFile('deploy/tools/install-kustomize.sh'))?.[1] ?? 'unknown';
const K8S_VERSIONS: readonly string[] =
  /^K8S_VERSIONS=\(([^)]*)\)$/m
    .exec(readRepoFile('deploy/tools/install-k8s-schemas.sh'))?.[1]
    ?.trim()
    .split(/\s+/) ?? [];

const NAMESPACE = 'k2';
const NAME = 'app.kubernetes.io/name';
const PART_OF = 'app.kubernetes.io/part-of';
/** `app.kubernetes.io/name` of the objects every app shares (Namespace, ConfigMap, dev Secret); see deploy/k8s/README.md. */
const SHARED = 'k2';
const OVERLAYS = ['dev', 'prod'] as const;
type Overlay = (typeof OVERLAYS)[number];
const RENDERS = ['base', ...OVERLAYS] as const;
type RenderName = (typeof RENDERS)[number];
/** The long-running services and the controller each one must run under. */
const SERVICES: Readonly<Record<string, 'Deployment' | 'StatefulSet'>> = {
  'binance-streamer': 'Deployment',
  'kraken-streamer': 'Deployment',
  'iceberg-writer': 'StatefulSet',
  'query-api': 'Deployment',
};
/** Read by node-postgres, not by a K2 config spec: the catalog role and password (libs/iceberg/src/catalog/sql-dialect.ts). */
const THIRD_PARTY_ENV = new Set(['PGUSER', 'PGPASSWORD', 'NODE_OPTIONS']);
/** Apps that run DuckDB, whose in-memory databases spill to ".tmp" in the working directory. */
const DUCKDB_APPS = new Set(['iceberg-writer', 'query-api']);
const CREDENTIAL_NAME = /KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL/;
const CREDENTIAL_VALUE = /password=|:\/\/[^/@\s:]+:[^/@\s]+@/i;

/**
 * Least privilege (issue 18; deploy/k8s/README.md "Credentials"). A pod role is `<app>/<component>` of the pod
 * labels (the maintenance CronJob shares the writer's app). Each role takes its S3 keys and catalog role from one
 * Secret, or holds no S3 or PostgreSQL credential at all (undefined): the writer and maintenance read-write,
 * query-api read-only, the ASX loader read-only on its landing prefix, the streamers nothing.
 */
const ROLE_SECRET: Readonly<Record<string, string | undefined>> = {
  'binance-streamer/streamer': undefined,
  'kraken-streamer/streamer': undefined,
  'iceberg-writer/writer': 'k2-lake-writer',
  'iceberg-writer/maintenance': 'k2-lake-writer',
  'query-api/api': 'k2-lake-reader',
  'asx-batch-loader/batch-loader': 'k2-asx-input',
};
const WRITER_SECRET = 'k2-lake-writer';
const CREDENTIAL_SECRETS = new Set(Object.values(ROLE_SECRET).filter((v): v is string => v !== undefined));
const S3_ENV = ['S3_ACCESS_KEY', 'S3_SECRET_KEY'];
const PG_ENV = ['PGUSER', 'PGPASSWORD'];
/** The roles that open the Iceberg SQL catalog (the others have no catalog: streamers, loader). */
const CATALOG_ROLES = new Set(['iceberg-writer/writer', 'iceberg-writer/maintenance', 'query-api/api']);

/**
 * The NetworkPolicies (base/network-policies.yaml) that must select each pod role besides the default deny, and no
 * others: DNS for all; Kafka and the registry for the services that produce or consume (not maintenance, which
 * opens neither: apps/iceberg-writer/src/main.ts); PostgreSQL and the object store for those with lake credentials;
 * the internet for the streamers; the API port for query-api; the ops port for Prometheus everywhere.
 */
const DEFAULT_DENY = 'default-deny';
const ROLE_FLOWS: Readonly<Record<string, readonly string[]>> = {
  'binance-streamer/streamer': ['allow-dns-egress', 'allow-kafka-egress', 'allow-schema-registry-egress', 'allow-exchanges-egress', 'allow-metrics-ingress'],
  'kraken-streamer/streamer': ['allow-dns-egress', 'allow-kafka-egress', 'allow-schema-registry-egress', 'allow-exchanges-egress', 'allow-metrics-ingress'],
  'iceberg-writer/writer': ['allow-dns-egress', 'allow-kafka-egress', 'allow-schema-registry-egress', 'allow-postgres-egress', 'allow-object-store-egress', 'allow-metrics-ingress'],
  'iceberg-writer/maintenance': ['allow-dns-egress', 'allow-postgres-egress', 'allow-object-store-egress', 'allow-metrics-ingress'],
  'query-api/api': ['allow-dns-egress', 'allow-kafka-egress', 'allow-schema-registry-egress', 'allow-postgres-egress', 'allow-object-store-egress', 'allow-api-ingress', 'allow-metrics-ingress'],
  'asx-batch-loader/batch-loader': ['allow-dns-egress', 'allow-kafka-egress', 'allow-schema-registry-egress', 'allow-object-store-egress', 'allow-metrics-ingress'],
};
/** Ranges an internet-only egress rule must except: private, carrier-grade NAT, link-local (cloud metadata). */
const NON_INTERNET = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];

// ---------------------------------------------------------------------------------------------------------------
// The slice of the Kubernetes API these checks read (after schema validation, so the shapes hold).

interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: unknown;
  data?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Probe {
  httpGet?: { path?: string; port: number | string };
}
type Quantities = Record<string, string | number>;
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Quantities; limits?: Quantities };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string }>;
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number };
  volumes?: Array<{
    name: string;
    emptyDir?: { sizeLimit?: string };
    persistentVolumeClaim?: { claimName: string };
    secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
    configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  }>;
  topologySpreadConstraints?: unknown[];
  affinity?: { podAntiAffinity?: unknown };
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

interface PolicyPort {
  protocol?: string;
  port?: number | string;
}
interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: Array<{ from?: PolicyPeer[]; ports?: PolicyPort[] }>;
  egress?: Array<{ to?: PolicyPeer[]; ports?: PolicyPort[] }>;
}

/** An object that runs pods, with its pod template wherever the kind keeps it. */
interface Workload {
  object: K8sObject;
  app: string;
  template: PodTemplate;
}

const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const specOf = <T>(o: K8sObject) => (o.spec ?? {}) as T;

function podTemplateOf(o: K8sObject): PodTemplate | undefined {
  switch (o.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return specOf<{ template: PodTemplate }>(o).template;
    case 'CronJob':
      return specOf<{ jobTemplate: { spec: { template: PodTemplate } } }>(o).jobTemplate.spec.template;
    default:
      return undefined;
  }
}

function workloadsOf(objects: readonly K8sObject[]): Workload[] {
  return objects.flatMap((object) => {
    const template = podTemplateOf(object);
    return template ? [{ object, app: object.metadata.labels?.[NAME] ?? '', template }] : [];
  });
}

/** `<app>/<component>` of a pod template: the unit credentials and network flows are granted to. */
const roleOf = (w: Workload) => `${w.app}/${w.template.metadata?.labels?.['app.kubernetes.io/component'] ?? ''}`;

/** The port of an endpoint URL (a JDBC one too) or host:port; without one, the scheme's default or `fallback`. */
function endpointPort(endpoint: string, fallback: number): number {
  const e = endpoint.replace(/^jdbc:/i, '');
  const u = new URL(/^[a-z][\w+.-]*:\/\//i.test(e) ? e : `tcp://${e}`);
  if (u.port) return Number(u.port);
  return u.protocol === 'http:' || u.protocol === 'ws:' ? 80 : u.protocol === 'https:' || u.protocol === 'wss:' ? 443 : fallback;
}

/** The default endpoint URLs in an app's config spec (`default: 'wss://…'` or `default: ['wss://…']`). */
function defaultUrls(app: string): string[] {
  return [...readRepoFile(`apps/${app}/src/config.ts`).matchAll(/default: \[?'((?:wss?|https?):\/\/[^']+)'/g)].map((m) => m[1] ?? '');
}

function selects(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key] ?? '');
    return e.operator === 'In' ? inValues : e.operator === 'NotIn' ? !inValues : e.operator === 'Exists' ? has : !has;
  });
  return byLabels && byExpressions;
}

/** A container port by name or number, as probes and Services refer to it. */
function resolvePort(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

const UNITS: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** Kubernetes quantities ("500m", "3Gi") and DuckDB memory sizes ("1GB", "512MB") as plain numbers. */
function quantity(q: string | number | undefined): number {
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(q ?? '');
  const unit = m?.[2] ?? '';
  if (!m || (unit !== '' && UNITS[unit] === undefined)) throw new Error(`not a quantity: ${String(q)}`);
  return Number(m[1]) * (unit === '' ? 1 : (UNITS[unit] ?? 1));
}

function envOf(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

function isUnder(dir: string, mount: string): boolean {
  const rel = path.posix.relative(mount, dir);
  return rel === '' || (!rel.startsWith('..') && !path.posix.isAbsolute(rel));
}

// ---------------------------------------------------------------------------------------------------------------
// Tools, rendering and schemas.

function requireTools(): void {
  const problems: string[] = [];
  if (!existsSync(KUSTOMIZE)) {
    problems.push(`kustomize ${KUSTOMIZE_VERSION} is not installed at .data/tools/bin/kustomize`);
  } else {
    const version = execFileSync(KUSTOMIZE, ['version'], { encoding: 'utf8' }).trim();
    if (version !== KUSTOMIZE_VERSION) problems.push(`.data/tools/bin/kustomize is ${version}, the pinned version is ${KUSTOMIZE_VERSION}`);
  }
  if (K8S_VERSIONS.length === 0) problems.push('deploy/tools/install-k8s-schemas.sh pins no K8S_VERSIONS');
  for (const v of K8S_VERSIONS) {
    if (!existsSync(path.join(SCHEMA_ROOT, `v${v}-local-strict`, '_definitions.json'))) {
      problems.push(`the Kubernetes ${v} JSON schemas are not installed at .data/tools/k8s-schemas/v${v}-local-strict`);
    }
  }
  if (problems.length > 0) throw new Error(`${problems.join('; ')}: ${INSTALL_HINT}`);
}

function render(name: RenderName): K8sObject[] {
  const dir = repoPath(name === 'base' ? 'deploy/k8s/base' : `deploy/k8s/overlays/${name}`);
  let out: string;
  try {
    out = execFileSync(KUSTOMIZE, ['build', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`kustomize build ${path.relative(repoPath('.'), dir)} failed: ${stderr || String(err)}`);
  }
  return parseAllDocuments(out).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize build ${name} printed invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null) return [];
    // kustomize wraps long base64 Secret values over lines; the API server's decoder (Go's base64) skips the line
    // breaks, the schema's "byte" format does not.
    if (value.kind === 'Secret' && value.data) value.data = Object.fromEntries(Object.entries(value.data).map(([k, v]) => [k, v.replace(/\s+/g, '')]));
    return [value];
  });
}

/**
 * The kubernetes-validate schemas of one Kubernetes release (deploy/tools/install-k8s-schemas.sh): one file per kind
 * with `$ref`s into _definitions.json, found by the x-kubernetes-group-version-kind each file declares.
 */
class KubeSchemas {
  private readonly ajv: Ajv2020;
  private readonly files = new Map<string, string>();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly version: string) {
    const dir = path.join(SCHEMA_ROOT, `v${version}-local-strict`);
    // strict: false because the schemas carry OpenAPI extension keywords (x-kubernetes-*) that Ajv does not know
    // and that mean nothing to validation; their formats are registered below so format checks still run.
    this.ajv = new Ajv2020({ allErrors: true, strict: false });
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    this.ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
    this.ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
    this.ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
    for (const file of readdirSync(dir)) {
      if (!file.endsWith('.json')) continue;
      const schema = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
        'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
      };
      if (file === '_definitions.json') {
        this.ajv.addSchema(schema);
        continue;
      }
      for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
        this.files.set(`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`, path.join(dir, file));
      }
    }
  }

  /** Problems of one object, empty when it is valid. */
  validate(o: K8sObject): string[] {
    const key = `${o.apiVersion}/${o.kind}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      const file = this.files.get(key);
      if (!file) return [`${id(o)}: Kubernetes ${this.version} has no ${o.kind} in ${o.apiVersion}`];
      validate = this.ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object);
      this.compiled.set(key, validate);
    }
    if (validate(o)) return [];
    return (validate.errors ?? []).map((e) => `${id(o)}${e.instancePath || '/'}: ${e.message ?? e.keyword} ${e.params ? JSON.stringify(e.params) : ''}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The `deploy` targets (apps/<app>/project.json).

interface DeployTarget {
  executor?: string;
  cache?: boolean;
  parallelism?: boolean;
  options?: { command?: string };
}

function deployTarget(app: string): DeployTarget | undefined {
  const project = JSON.parse(readRepoFile(`apps/${app}/project.json`)) as { targets?: Record<string, DeployTarget> };
  return project.targets?.['deploy'];
}

/** A kubectl `-l` selector (equality- and set-based requirements joined by commas) as a predicate on labels. */
function parseSelector(selector: string): (labels: Record<string, string>) => boolean {
  const requirements = selector.split(/,(?![^(]*\))/).map((r) => r.trim());
  const tests = requirements.map((r): ((labels: Record<string, string>) => boolean) => {
    const set = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(r);
    if (set) {
      const values = (set[3] ?? '').split(',').map((v) => v.trim());
      const key = set[1] ?? '';
      return set[2] === 'in' ? (l) => values.includes(l[key] ?? '\0') : (l) => !values.includes(l[key] ?? '\0');
    }
    const eq = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(r);
    if (eq) {
      const [key, op, value] = [eq[1] ?? '', eq[2], eq[3] ?? ''];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    const exists = /^(!?)([\w./-]+)$/.exec(r);
    if (exists) return exists[1] ? (l) => !((exists[2] ?? '') in l) : (l) => (exists[2] ?? '') in l;
    throw new Error(`unsupported selector requirement "${r}"`);
  });
  return (labels) => tests.every((t) => t(labels));
}

/** What `nx run <app>:deploy` runs: the overlay it applies by default and its label selector. */
function deployCommand(app: string): { overlay: string; select: (labels: Record<string, string>) => boolean; command: string } {
  const command = deployTarget(app)?.options?.command ?? '';
  const overlay = /-k\s+deploy\/k8s\/overlays\/\$\{K2_OVERLAY:-(\w+)\}/.exec(command)?.[1];
  const selector = /(?:-l|--selector)[ =]'([^']+)'/.exec(command)?.[1];
  if (!overlay || !selector) throw new Error(`apps/${app}/project.json deploy: expected "-k deploy/k8s/overlays/\${K2_OVERLAY:-<overlay>}" and "-l '<selector>'" in: ${command}`);
  return { overlay, select: parseSelector(selector), command };
}

// ---------------------------------------------------------------------------------------------------------------

describe(`deploy/k8s (kustomize ${KUSTOMIZE_VERSION}; Kubernetes ${K8S_VERSIONS.join(', ')} schemas)`, () => {
  const rendered = new Map<RenderName, K8sObject[]>();
  const objectsOf = (name: RenderName): K8sObject[] => {
    const objects = rendered.get(name);
    if (!objects) throw new Error(`${name} was not rendered`);
    return objects;
  };

  beforeAll(() => {
    requireTools();
    for (const name of RENDERS) rendered.set(name, render(name));
  });

  describe.each(RENDERS)('%s', (name) => {
    test.each(K8S_VERSIONS)('every object is valid for Kubernetes %s (strict schemas)', (version) => {
      const schemas = new KubeSchemas(version);
      const objects = objectsOf(name);
      expect(objects.length).toBeGreaterThan(0);
      expect(objects.flatMap((o) => schemas.validate(o))).toEqual([]);
    });

    test(`everything lives in namespace ${NAMESPACE}, labelled for the per-app deploy`, () => {
      const objects = objectsOf(name);
      const ns = objects.find((o) => o.kind === 'Namespace');
      expect(ns?.metadata.name).toBe(NAMESPACE);
      // The pods meet the "restricted" Pod Security Standard, so the namespace enforces it.
      expect(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
      const problems = objects.flatMap((o) => {
        const p: string[] = [];
        if (o.kind !== 'Namespace' && o.metadata.namespace !== NAMESPACE) p.push(`${id(o)} is in namespace ${String(o.metadata.namespace)}`);
        if (o.metadata.labels?.[PART_OF] !== 'k2') p.push(`${id(o)} lacks ${PART_OF}=k2`);
        const app = o.metadata.labels?.[NAME] ?? '';
        if (app !== SHARED && !K2_APPS.includes(app)) p.push(`${id(o)}: ${NAME}="${app}" is neither an app under apps/ nor "${SHARED}"`);
        return p;
      });
      expect(problems).toEqual([]);
    });

    test('the services run under the intended controllers with liveness (/healthz) and readiness (/readyz) probes on the port each app serves', () => {
      const workloads = workloadsOf(objectsOf(name));
      const problems: string[] = [];
      for (const [app, kind] of Object.entries(SERVICES)) {
        const found = workloads.filter((w) => w.app === app && w.object.kind === kind);
        if (found.length !== 1) problems.push(`expected one ${kind} for ${app}, found ${found.length}`);
      }
      for (const w of workloads.filter((w) => w.object.kind === 'Deployment' || w.object.kind === 'StatefulSet')) {
        const port = defaultPort(w.app);
        for (const c of w.template.spec.containers) {
          const where = `${id(w.object)} container ${c.name}`;
          if (c.livenessProbe?.httpGet?.path !== '/healthz') problems.push(`${where}: livenessProbe is not GET /healthz`);
          if (c.readinessProbe?.httpGet?.path !== '/readyz') problems.push(`${where}: readinessProbe is not GET /readyz`);
          for (const [kind, probe] of [
            ['liveness', c.livenessProbe],
            ['readiness', c.readinessProbe],
          ] as const) {
            const p = resolvePort(c, probe?.httpGet?.port);
            if (p !== port) problems.push(`${where}: ${kind} probe port ${String(p)}, but ${w.app} serves its probes on ${port}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    test('every pod: the app port set explicitly and scraped by Prometheus (prometheus.io annotations)', () => {
      const problems: string[] = [];
      for (const w of workloadsOf(objectsOf(name))) {
        const port = defaultPort(w.app);
        const a = w.template.metadata?.annotations ?? {};
        if (a['prometheus.io/scrape'] !== 'true') problems.push(`${id(w.object)}: pod annotation prometheus.io/scrape is not "true"`);
        if (a['prometheus.io/port'] !== String(port)) problems.push(`${id(w.object)}: prometheus.io/port is ${String(a['prometheus.io/port'])}, ${w.app} serves /metrics on ${port}`);
        if (a['prometheus.io/path'] !== '/metrics') problems.push(`${id(w.object)}: prometheus.io/path is not /metrics`);
        for (const c of w.template.spec.containers) {
          if (!c.ports?.some((p) => p.containerPort === port)) problems.push(`${id(w.object)} container ${c.name} does not declare port ${port}`);
          // METRICS_PORT sets the ops port of every app (apps/*/src/config.ts); query-api's PORT is its public API.
          const set = envOf(c, 'METRICS_PORT');
          if (set !== String(port)) problems.push(`${id(w.object)} container ${c.name}: PORT/METRICS_PORT is ${String(set)}, expected ${port}`);
        }
      }
      expect(problems).toEqual([]);
    });

    test('every container: requests and limits for cpu and memory (requests <= limits), DuckDB inside the memory limit', () => {
      const problems: string[] = [];
      for (const w of workloadsOf(objectsOf(name))) {
        for (const c of w.template.spec.containers) {
          const where = `${id(w.object)} container ${c.name}`;
          for (const r of ['cpu', 'memory']) {
            const req = c.resources?.requests?.[r];
            const lim = c.resources?.limits?.[r];
            if (req === undefined || lim === undefined) problems.push(`${where}: ${r} request and limit required`);
            else if (quantity(req) > quantity(lim)) problems.push(`${where}: ${r} request ${req} above limit ${lim}`);
          }
          for (const env of ['WRITER_DUCKDB_MEMORY_LIMIT', 'QUERY_DUCKDB_MEMORY_LIMIT', 'QUERY_MEMORY_BUDGET']) {
            const duck = envOf(c, env);
            const lim = c.resources?.limits?.['memory'];
            if (duck !== undefined && lim !== undefined && quantity(duck) >= quantity(lim)) problems.push(`${where}: ${env}=${duck} leaves nothing of the ${lim} limit for Node`);
          }
          // query-api's download cache evicts below its cap; past the emptyDir's sizeLimit the kubelet would evict the pod.
          const cacheCap = envOf(c, 'QUERY_CACHE_MAX_BYTES');
          const cacheLimit = w.template.spec.volumes?.find((v) => v.name === 'cache')?.emptyDir?.sizeLimit;
          if (cacheCap !== undefined && (cacheLimit === undefined || quantity(cacheCap) >= quantity(cacheLimit))) {
            problems.push(`${where}: QUERY_CACHE_MAX_BYTES=${cacheCap} must stay below the cache volume's sizeLimit (${cacheLimit ?? 'none'})`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    test('writer image: WRITER_MEMORY_BUDGET splits by the writer\'s own rule, fits the memory limit, and caps the V8 heap inside it', () => {
      // A budget the writer rejects (issue 17: an explicit DuckDB limit above its share, a removed variable) stops
      // the pod at start; the V8 heap unbounded grows past the container (ADR 0025).
      const problems: string[] = [];
      for (const w of workloadsOf(objectsOf(name))) {
        for (const c of w.template.spec.containers.filter((x) => /\/iceberg-writer[:@]/.test(x.image ?? ''))) {
          const where = `${id(w.object)} container ${c.name}`;
          if (envOf(c, 'WRITER_DEDUP_MAX_IDS') !== undefined) problems.push(`${where}: WRITER_DEDUP_MAX_IDS is no longer supported`);
          const total = parseBytes(envOf(c, 'WRITER_MEMORY_BUDGET') ?? '') ?? DEFAULT_MEMORY_BUDGET;
          const duckText = envOf(c, 'WRITER_DUCKDB_MEMORY_LIMIT');
          const split = splitMemoryBudget(total, duckText === undefined ? {} : { duckdb: parseBytes(duckText.replace(/\s+/g, '')) });
          if (typeof split === 'string') problems.push(`${where}: ${split}`);
          const lim = quantity(c.resources?.limits?.['memory']);
          if (!(total < lim)) problems.push(`${where}: WRITER_MEMORY_BUDGET ${total} B must stay below the ${c.resources?.limits?.['memory']} limit`);
          const heap = /--max-old-space-size=(\d+)/.exec(envOf(c, 'NODE_OPTIONS') ?? '');
          if (!heap) problems.push(`${where}: NODE_OPTIONS must cap the V8 heap (--max-old-space-size) inside the budget`);
          else if (Number(heap[1]) * 2 ** 20 > total) problems.push(`${where}: V8 heap ${heap[1]} MiB above WRITER_MEMORY_BUDGET`);
        }
      }
      expect(problems).toEqual([]);
    });

    test('every pod runs as uid 10001, non-root, read-only root filesystem, with writable volumes where the apps write', () => {
      const problems: string[] = [];
      for (const w of workloadsOf(objectsOf(name))) {
        const pod = w.template.spec;
        const workdir = /^WORKDIR\s+(\S+)/m.exec(readRepoFile(`deploy/docker/${w.app}.Dockerfile`))?.[1] ?? '/app';
        for (const c of pod.containers) {
          const where = `${id(w.object)} container ${c.name}`;
          const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
          const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
          if (nonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
          if (uid !== 10001) problems.push(`${where}: runAsUser is ${String(uid)}, the images' user is 10001`);
          if (c.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
          if (c.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
          const writable = (c.volumeMounts ?? []).filter((m) => m.readOnly !== true).map((m) => m.mountPath);
          const onVolume = (dir: string) => writable.some((m) => isUnder(dir, m));
          // os.tmpdir(): Parquet staging, the S3 read cache, Node itself.
          if (!writable.includes('/tmp')) problems.push(`${where}: no writable volume at /tmp`);
          if (DUCKDB_APPS.has(w.app) && !onVolume(path.posix.join(workdir, '.tmp'))) problems.push(`${where}: DuckDB spills to ${workdir}/.tmp, which is on no volume`);
          for (const e of c.env ?? []) {
            if (!/_DIR$/.test(e.name)) continue;
            if (!e.value?.startsWith('/') || !onVolume(e.value)) problems.push(`${where}: ${e.name}=${String(e.value)} is not on a writable volume`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    test('environment names are ones the apps read; ConfigMap and Secret references resolve', () => {
      const objects = objectsOf(name);
      const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o]));
      const secrets = new Map(objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, o]));
      const problems: string[] = [];
      const readSomewhere = new Set<string>();
      for (const w of workloadsOf(objects)) {
        const known = envNamesReadBy(w.app);
        for (const c of w.template.spec.containers) {
          const where = `${id(w.object)} container ${c.name}`;
          for (const e of c.env ?? []) {
            if (!known.has(e.name) && !THIRD_PARTY_ENV.has(e.name)) problems.push(`${where}: ${e.name} is read by no config spec of ${w.app}`);
            const ref = e.valueFrom?.secretKeyRef;
            // The Secret of the base and prod is created out of band (README.md); dev generates it.
            if (ref && secrets.size > 0) {
              const s = secrets.get(ref.name);
              if (!s) problems.push(`${where}: ${e.name} refers to Secret ${ref.name}, which is not rendered`);
              else if (!(ref.key in (s.data ?? {}))) problems.push(`${where}: Secret ${ref.name} has no key ${ref.key}`);
            }
            if (ref && secrets.size === 0 && !CREDENTIAL_SECRETS.has(ref.name)) problems.push(`${where}: ${e.name} refers to Secret ${ref.name}, none of ${[...CREDENTIAL_SECRETS].join(', ')}`);
          }
          for (const from of c.envFrom ?? []) {
            const cm = from.configMapRef ? configMaps.get(from.configMapRef.name) : undefined;
            if (!cm) {
              problems.push(`${where}: envFrom ${JSON.stringify(from)} resolves to no rendered ConfigMap`);
              continue;
            }
            for (const key of Object.keys(cm.data ?? {})) if (known.has(key)) readSomewhere.add(key);
          }
        }
      }
      const shared = [...configMaps.values()].filter((o) => o.metadata.name.startsWith('k2-config'));
      expect(shared).toHaveLength(1);
      for (const key of Object.keys(shared[0]?.data ?? {})) {
        if (!readSomewhere.has(key)) problems.push(`ConfigMap key ${key} is read by none of the apps that load the ConfigMap`);
      }
      expect(problems).toEqual([]);
    });

    test('no credentials in plain text: env credentials come from secretKeyRef; the ConfigMap holds none', () => {
      const objects = objectsOf(name);
      const problems: string[] = [];
      if (name !== 'dev') {
        for (const o of objects.filter((o) => o.kind === 'Secret')) problems.push(`${id(o)} is rendered by ${name}; only dev may generate a Secret`);
      }
      for (const w of workloadsOf(objects)) {
        for (const c of w.template.spec.containers) {
          for (const e of c.env ?? []) {
            // *_FILE names a path to a mounted Secret (QUERY_API_KEYS_FILE), not a credential.
            if (CREDENTIAL_NAME.test(e.name) && !e.name.endsWith('_FILE') && !e.valueFrom?.secretKeyRef) problems.push(`${id(w.object)}: ${e.name} must come from a secretKeyRef`);
          }
        }
      }
      for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
        for (const [k, v] of Object.entries(cm.data ?? {})) {
          if (CREDENTIAL_NAME.test(k) || CREDENTIAL_VALUE.test(v)) problems.push(`${id(cm)}: ${k} looks like a credential`);
        }
      }
      expect(problems).toEqual([]);
    });

    test('least privilege: each pod role takes S3 keys and its catalog role from its own Secret; query-api and the loader never the writer\'s, the streamers none', () => {
      const objects = objectsOf(name);
      const rendered = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
      // dev's generated Secrets carry a content hash; base and prod refer to the plain names.
      const secretName = (n: string) => (rendered.has(n) ? n.replace(/-[a-z0-9]{10}$/, '') : n);
      const problems: string[] = [];
      for (const w of workloadsOf(objects)) {
        const role = roleOf(w);
        if (!(role in ROLE_SECRET)) {
          problems.push(`${id(w.object)}: pod role ${role} has no entry in ROLE_SECRET`);
          continue;
        }
        const expected = ROLE_SECRET[role];
        for (const c of w.template.spec.containers) {
          const where = `${id(w.object)} (${role}) container ${c.name}`;
          const env = new Map((c.env ?? []).map((e) => [e.name, e]));
          const refs = (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [{ env: e.name, secret: secretName(e.valueFrom.secretKeyRef.name) }] : []));
          // envFrom a Secret would hand the pod every key of it, whatever it needs.
          if ((c.envFrom ?? []).some((f) => f.secretRef)) problems.push(`${where}: envFrom a Secret`);
          for (const r of refs) if (r.secret !== expected) problems.push(`${where}: ${r.env} from Secret ${r.secret}, expected ${expected ?? 'no Secret'}`);
          if ((role === 'query-api/api' || role.startsWith('asx-batch-loader/')) && refs.some((r) => r.secret === WRITER_SECRET)) problems.push(`${where}: holds the writer's credentials`);
          const wantS3 = expected !== undefined;
          const wantPg = CATALOG_ROLES.has(role);
          for (const n of S3_ENV) if (env.has(n) !== wantS3) problems.push(`${where}: ${n} ${wantS3 ? 'missing' : 'set, but this role has no object-store access'}`);
          for (const n of PG_ENV) if (env.has(n) !== wantPg) problems.push(`${where}: ${n} ${wantPg ? 'missing' : 'set, but this role has no catalog'}`);
        }
      }
      // One URI for every role: the user is each pod's PGUSER, so the URI must not name one.
      const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('k2-config'));
      const uri = new URL((config?.data?.['ICEBERG_CATALOG_URI'] ?? '').replace(/^jdbc:/, ''));
      if (uri.username || uri.searchParams.has('user')) problems.push(`k2-config: ICEBERG_CATALOG_URI names a user; each role's comes from PGUSER`);
      expect(problems).toEqual([]);
    });

    test('NetworkPolicies: a default deny of all ingress and egress, and each pod role allowed exactly the flows it needs', () => {
      const objects = objectsOf(name);
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
      const deny = policies.find((p) => p.metadata.name === DEFAULT_DENY);
      const denySpec = specOf<NetworkPolicySpec>(deny ?? ({} as K8sObject));
      // Every pod of the namespace, both directions, no rule: nothing flows that an allow policy does not name.
      expect({ podSelector: denySpec.podSelector, policyTypes: [...(denySpec.policyTypes ?? [])].sort(), ingress: denySpec.ingress, egress: denySpec.egress }).toEqual({
        podSelector: {},
        policyTypes: ['Egress', 'Ingress'],
        ingress: undefined,
        egress: undefined,
      });
      const problems: string[] = [];
      for (const w of workloadsOf(objects)) {
        const role = roleOf(w);
        const labels = w.template.metadata?.labels;
        const selecting = policies.filter((p) => selects(specOf<NetworkPolicySpec>(p).podSelector, labels)).map((p) => p.metadata.name);
        if (!selecting.includes(DEFAULT_DENY)) problems.push(`${id(w.object)}: not selected by ${DEFAULT_DENY}`);
        const allowed = selecting.filter((n) => n !== DEFAULT_DENY).sort();
        const expected = [...(ROLE_FLOWS[role] ?? [])].sort();
        if (allowed.length === 0) problems.push(`${id(w.object)} (${role}): selected by no allow policy`);
        if (JSON.stringify(allowed) !== JSON.stringify(expected)) problems.push(`${id(w.object)} (${role}): allowed ${allowed.join(', ')}; expected ${expected.join(', ')}`);
      }
      // An allow policy says which direction it allows and names its ports: no rule opens every port.
      for (const p of policies.filter((x) => x.metadata.name !== DEFAULT_DENY)) {
        const spec = specOf<NetworkPolicySpec>(p);
        const rules = [...(spec.ingress ?? []), ...(spec.egress ?? [])];
        if (rules.length === 0) problems.push(`${id(p)} has no rule`);
        if (rules.some((r) => (r.ports ?? []).length === 0)) problems.push(`${id(p)} has a rule for every port`);
        const types = [...(spec.policyTypes ?? [])].sort();
        const want = [...(spec.ingress ? ['Ingress'] : []), ...(spec.egress ? ['Egress'] : [])];
        if (JSON.stringify(types) !== JSON.stringify(want)) problems.push(`${id(p)}: policyTypes ${types.join(',')} but rules for ${want.join(',')}`);
      }
      expect(problems).toEqual([]);
    });

    test('NetworkPolicies: the allowed ports are those of the k2-config endpoints, the exchanges and the pods\' named ports', () => {
      const objects = objectsOf(name);
      const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('k2-config'))?.data ?? {};
      const policy = (n: string) => specOf<NetworkPolicySpec>(objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === n) ?? ({} as K8sObject));
      const egressPorts = (n: string, protocol = 'TCP') =>
        new Set((policy(n).egress ?? []).flatMap((r) => (r.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === protocol).map((p) => p.port)));
      const problems: string[] = [];
      const need = (n: string, port: number, what: string, protocol = 'TCP') => {
        if (!egressPorts(n, protocol).has(port)) problems.push(`${n} does not allow ${protocol} ${port} (${what})`);
      };
      for (const b of (config['KAFKA_BROKERS'] ?? '').split(',')) need('allow-kafka-egress', endpointPort(b, 9092), `KAFKA_BROKERS ${b}`);
      need('allow-schema-registry-egress', endpointPort(config['SCHEMA_REGISTRY_URL'] ?? '', 8081), 'SCHEMA_REGISTRY_URL');
      need('allow-postgres-egress', endpointPort(config['ICEBERG_CATALOG_URI'] ?? '', 5432), 'ICEBERG_CATALOG_URI');
      need('allow-object-store-egress', config['S3_ENDPOINT'] ? endpointPort(config['S3_ENDPOINT'], 443) : 443, 'S3_ENDPOINT');
      for (const app of ['binance-streamer', 'kraken-streamer']) for (const url of defaultUrls(app)) need('allow-exchanges-egress', endpointPort(url, 443), `${app} ${url}`);
      need('allow-dns-egress', 53, 'DNS', 'UDP');
      need('allow-dns-egress', 53, 'DNS', 'TCP');
      for (const r of policy('allow-dns-egress').egress ?? []) {
        if (!(r.to ?? []).every((t) => t.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'kube-system')) problems.push('allow-dns-egress reaches beyond kube-system');
      }
      // The internet, not the cluster or the metadata endpoint.
      for (const r of policy('allow-exchanges-egress').egress ?? []) {
        for (const t of r.to ?? [{}]) {
          const block = t.ipBlock;
          if (!block) problems.push('allow-exchanges-egress: a peer that is not an ipBlock');
          else if (block.cidr === '0.0.0.0/0' && !NON_INTERNET.every((c) => block.except?.includes(c))) problems.push(`allow-exchanges-egress: 0.0.0.0/0 must except ${NON_INTERNET.join(', ')}`);
        }
      }
      // Ingress: named ports that resolve on the selected pods, from a namespace only.
      const workloads = workloadsOf(objects);
      for (const [n, portOf] of [
        ['allow-api-ingress', () => publicPort('query-api')],
        ['allow-metrics-ingress', (w: Workload) => Number(w.template.metadata?.annotations?.['prometheus.io/port'])],
      ] as const) {
        const spec = policy(n);
        for (const r of spec.ingress ?? []) {
          if (!(r.from ?? []).length || !(r.from ?? []).every((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] && !f.ipBlock)) problems.push(`${n}: ingress from something other than a named namespace`);
        }
        for (const w of workloads.filter((x) => selects(spec.podSelector, x.template.metadata?.labels))) {
          const c = w.template.spec.containers[0]!;
          const open = (spec.ingress ?? []).flatMap((r) => (r.ports ?? []).map((p) => resolvePort(c, p.port))).filter((p) => p !== undefined);
          if (JSON.stringify([...new Set(open)]) !== JSON.stringify([portOf(w)])) problems.push(`${n} opens ${open.join(', ')} on ${id(w.object)}, expected only ${portOf(w)}`);
        }
      }
      expect(problems).toEqual([]);
    });

    test('a PodDisruptionBudget per long-running service, which never blocks a drain of a single replica', () => {
      const objects = objectsOf(name);
      const workloads = workloadsOf(objects);
      const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
      const problems: string[] = [];
      for (const app of Object.keys(SERVICES)) {
        const w = workloads.find((x) => x.app === app && x.object.kind === SERVICES[app]);
        if (!w) continue; // reported by the controller test
        const labels = w.template.metadata?.labels;
        const matching = pdbs.filter((p) => selects(specOf<{ selector: LabelSelector }>(p).selector, labels));
        if (matching.length !== 1) {
          problems.push(`${app}: ${matching.length} PodDisruptionBudgets select its pods, expected 1`);
          continue;
        }
        const pdb = specOf<{ minAvailable?: number | string; maxUnavailable?: number | string }>(matching[0]!);
        const replicas = specOf<{ replicas?: number }>(w.object).replicas ?? 1;
        if (replicas <= 1 && pdb.minAvailable !== undefined && pdb.minAvailable !== 0 && pdb.minAvailable !== '0%') {
          problems.push(`${app}: minAvailable ${pdb.minAvailable} with ${replicas} replica blocks every drain`);
        }
        if (pdb.maxUnavailable === 0 || pdb.maxUnavailable === '0%') problems.push(`${app}: maxUnavailable 0 blocks every drain`);
      }
      // A budget must not count the batch pods (the maintenance CronJob shares the writer's app name).
      for (const p of pdbs) {
        const selected = workloads.filter((w) => selects(specOf<{ selector: LabelSelector }>(p).selector, w.template.metadata?.labels));
        if (selected.length !== 1) problems.push(`${id(p)} selects ${selected.map((w) => id(w.object)).join(', ') || 'nothing'}`);
      }
      expect(problems).toEqual([]);
    });

    test('query-api: API keys from the Secret k2-api-keys mounted as a directory (reloads need the symlink swap), API on http, ops on ops', () => {
      const objects = objectsOf(name);
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'query-api')!;
      const pod = podTemplateOf(deployment)!.spec;
      const c = pod.containers[0]!;
      const volume = pod.volumes?.find((v) => v.secret !== undefined);
      expect(volume?.secret?.secretName).toMatch(/^k2-api-keys/);
      const mount = c.volumeMounts!.find((m) => m.name === volume!.name)!;
      expect(mount.readOnly).toBe(true);
      expect(mount.subPath).toBeUndefined();
      const item = volume!.secret!.items!.find((i) => i.key === 'keys.json')!;
      expect(envOf(c, 'QUERY_API_KEYS_FILE')).toBe(`${mount.mountPath}/${item.path}`);
      expect(envOf(c, 'PORT')).toBe(String(publicPort('query-api')));
      expect(resolvePort(c, 'http')).toBe(publicPort('query-api'));
      expect(resolvePort(c, 'ops')).toBe(defaultPort('query-api'));
      const secrets = objects.filter((o) => o.kind === 'Secret' && o.metadata.name === volume!.secret!.secretName);
      // dev generates the Secret; base and prod reference one created out of band.
      expect(secrets.map((s) => Object.keys(s.data ?? {}))).toEqual(name === 'dev' ? [['keys.json']] : []);
    });

    test('query-api: ClusterIP Service on the public port and an autoscaling/v2 HPA on CPU that owns the replica count', () => {
      const objects = objectsOf(name);
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'query-api');
      const svcSpec = specOf<{ type?: string; ports: Array<{ port: number; targetPort?: number | string }> }>(svc!);
      expect(svcSpec.type ?? 'ClusterIP').toBe('ClusterIP');
      // The public port only: the ops port (metrics, probes) is scraped per pod, never exposed through the Service.
      expect(svcSpec.ports.map((p) => p.port)).toEqual([publicPort('query-api')]);
      const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
      expect(hpas.map((h) => h.apiVersion)).toEqual(['autoscaling/v2']);
      const hpa = specOf<{
        scaleTargetRef: { apiVersion: string; kind: string; name: string };
        minReplicas?: number;
        maxReplicas: number;
        metrics?: Array<{ type: string; resource?: { name: string; target: { type: string } } }>;
      }>(hpas[0]!);
      expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'query-api' });
      expect(hpa.metrics?.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization')).toBe(true);
      expect(hpa.minReplicas ?? 1).toBeLessThanOrEqual(hpa.maxReplicas);
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'query-api')!;
      // A replicas field would be re-applied by every deploy, fighting the autoscaler.
      expect(specOf<{ replicas?: number }>(deployment).replicas).toBeUndefined();
      // Utilization is relative to the CPU request.
      const c = podTemplateOf(deployment)!.spec.containers[0]!;
      expect(c.resources?.requests?.['cpu']).toBeDefined();
    });

    test('every Service selects pods of one workload and targets a port they declare', () => {
      const objects = objectsOf(name);
      const workloads = workloadsOf(objects);
      const problems: string[] = [];
      for (const svc of objects.filter((o) => o.kind === 'Service')) {
        const spec = specOf<{ selector?: Record<string, string>; ports: Array<{ port: number; targetPort?: number | string }> }>(svc);
        const selected = workloads.filter((w) => selects({ matchLabels: spec.selector ?? {} }, w.template.metadata?.labels));
        if (selected.length !== 1) {
          problems.push(`${id(svc)} selects ${selected.length} workloads`);
          continue;
        }
        const c = selected[0]!.template.spec.containers[0]!;
        for (const p of spec.ports) {
          if (resolvePort(c, p.targetPort ?? p.port) === undefined) problems.push(`${id(svc)} port ${p.port} targets ${String(p.targetPort)}, which ${c.name} does not declare`);
        }
      }
      const writer = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'iceberg-writer');
      const governing = objects.find((o) => o.kind === 'Service' && o.metadata.name === specOf<{ serviceName?: string }>(writer!).serviceName);
      expect(specOf<{ clusterIP?: string }>(governing!).clusterIP).toBe('None');
      expect(problems).toEqual([]);
    });

    test('iceberg-writer: WRITER_ID is the pod name (Kafka static membership)', () => {
      const writer = objectsOf(name).find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'iceberg-writer')!;
      const c = podTemplateOf(writer)!.spec.containers[0]!;
      expect(c.env?.find((e) => e.name === 'WRITER_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    });

    test('Iceberg maintenance: a CronJob running the writer image with `maintain`', () => {
      const objects = objectsOf(name);
      const cron = workloadsOf(objects).filter((w) => w.object.kind === 'CronJob' && w.app === 'iceberg-writer');
      expect(cron).toHaveLength(1);
      const c = cron[0]!.template.spec.containers[0]!;
      expect(c.image).toMatch(/(^|\/)k2\/iceberg-writer[:@]/);
      // The image's CMD is node + the bundle; `maintain` must be main.js's first argument (process.argv[2] in
      // apps/iceberg-writer/src/main.ts).
      const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readRepoFile('deploy/docker/iceberg-writer.Dockerfile'))?.[1];
      expect(c.command).toEqual(JSON.parse(cmd ?? '[]'));
      expect(c.args).toEqual(['maintain']);
      expect(readRepoFile('apps/iceberg-writer/src/main.ts')).toContain("command === 'maintain'");
      expect(specOf<{ concurrencyPolicy?: string }>(cron[0]!.object).concurrencyPolicy).toBe('Forbid');
    });

    test('ASX loader: a CronJob (or Job) with ASX_INPUT on S3 or a mounted volume and checkpoints on a persistent volume', () => {
      const workloads = workloadsOf(objectsOf(name)).filter((w) => w.app === 'asx-batch-loader');
      expect(workloads.map((w) => w.object.kind).every((k) => k === 'CronJob' || k === 'Job')).toBe(true);
      expect(workloads.length).toBeGreaterThan(0);
      for (const w of workloads) {
        const c = w.template.spec.containers[0]!;
        expect(c.image).toMatch(/(^|\/)k2\/asx-batch-loader[:@]/);
        const mounts = c.volumeMounts ?? [];
        const input = envOf(c, 'ASX_INPUT') ?? '';
        // apps/asx-batch-loader/src/config.ts: s3://bucket/prefix or a local path or glob.
        const onS3 = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(input);
        const onVolume = input.startsWith('/') && mounts.some((m) => isUnder(input.replace(/[*?{[].*$/, ''), m.mountPath));
        expect({ ASX_INPUT: input, onS3OrVolume: onS3 || onVolume }).toEqual({ ASX_INPUT: input, onS3OrVolume: true });
        const checkpoints = envOf(c, 'ASX_CHECKPOINT_DIR') ?? '';
        const mount = mounts.find((m) => isUnder(checkpoints, m.mountPath));
        const volume = w.template.spec.volumes?.find((v) => v.name === mount?.name);
        expect(volume?.persistentVolumeClaim?.claimName).toBeDefined();
        if (w.object.kind === 'CronJob') expect(specOf<{ concurrencyPolicy?: string }>(w.object).concurrencyPolicy).toBe('Forbid');
      }
    });

    test('images: k2/<app>, pinned tags in prod', () => {
      const problems: string[] = [];
      for (const w of workloadsOf(objectsOf(name))) {
        for (const c of w.template.spec.containers) {
          const m = /^(?:(.+)\/)?k2\/([a-z0-9-]+)(?::([\w.-]+))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(c.image);
          if (!m || m[2] !== w.app) problems.push(`${id(w.object)}: image ${c.image} is not k2/${w.app}`);
          else if (name === 'prod' && !m[4] && (!m[3] || m[3] === 'latest')) problems.push(`${id(w.object)}: prod image ${c.image} is not pinned`);
        }
      }
      expect(problems).toEqual([]);
    });
  });

  describe('overlays', () => {
    const find = (overlay: Overlay, kind: string, objName: string) => objectsOf(overlay).find((o) => o.kind === kind && o.metadata.name === objName)!;
    const container = (overlay: Overlay, kind: string, objName: string) => podTemplateOf(find(overlay, kind, objName))!.spec.containers[0]!;

    test('dev: one replica of each service, generated dev Secrets labelled as shared', () => {
      for (const [app, kind] of Object.entries(SERVICES)) {
        const replicas = app === 'query-api' ? specOf<{ minReplicas?: number }>(find('dev', 'HorizontalPodAutoscaler', app)).minReplicas : specOf<{ replicas?: number }>(find('dev', kind, app)).replicas;
        expect({ app, replicas }).toEqual({ app, replicas: 1 });
      }
      const secret = objectsOf('dev').filter((o) => o.kind === 'Secret');
      expect(secret.map((s) => s.metadata.name.replace(/-[a-z0-9]{10}$/, '')).sort()).toEqual(['k2-api-keys', ...CREDENTIAL_SECRETS].sort());
      for (const s of secret) expect(s.metadata.labels?.[NAME]).toBe(SHARED);
    });

    test('dev: each generated credential Secret is a different S3 user and PostgreSQL role', () => {
      const secrets = objectsOf('dev').filter((o) => o.kind === 'Secret' && CREDENTIAL_SECRETS.has(o.metadata.name.replace(/-[a-z0-9]{10}$/, '')));
      const decoded = (s: K8sObject, key: string) => (s.data?.[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8'));
      expect(secrets).toHaveLength(CREDENTIAL_SECRETS.size);
      const s3Users = secrets.map((s) => decoded(s, 's3-access-key'));
      expect(new Set(s3Users).size).toBe(secrets.length);
      const pgUsers = secrets.map((s) => decoded(s, 'postgres-user')).filter((u) => u !== undefined);
      expect(new Set(pgUsers).size).toBe(pgUsers.length);
      // The catalog roles go to the roles that open the catalog, the writer's and the reader's.
      expect(pgUsers).toHaveLength(2);
    });

    test('prod: the catalog over TLS with the server verified (sslmode=verify-full) against a CA mounted where the catalog is opened', () => {
      const objects = objectsOf('prod');
      const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('k2-config'))!;
      const uri = new URL(config.data!['ICEBERG_CATALOG_URI']!.replace(/^jdbc:/, ''));
      // pg-connection-string: sslmode=verify-full keeps rejectUnauthorized and the host name check; sslrootcert is
      // read from the file when the pool connects (node_modules/pg-connection-string/index.js).
      expect(uri.searchParams.get('sslmode')).toBe('verify-full');
      const ca = uri.searchParams.get('sslrootcert') ?? '';
      expect(ca).toMatch(/^\//);
      const problems: string[] = [];
      for (const w of workloadsOf(objects).filter((x) => CATALOG_ROLES.has(roleOf(x)))) {
        const c = w.template.spec.containers[0]!;
        const mount = (c.volumeMounts ?? []).find((m) => isUnder(ca, m.mountPath));
        const volume = w.template.spec.volumes?.find((v) => v.name === mount?.name);
        const item = (volume?.configMap?.items ?? volume?.secret?.items ?? []).find((i) => path.posix.join(mount?.mountPath ?? '', i.path) === ca);
        if (!mount?.readOnly || !item) problems.push(`${id(w.object)}: sslrootcert ${ca} is not an item of a read-only ConfigMap or Secret mount`);
      }
      expect(problems).toEqual([]);
    });

    test('prod: every egress rule except DNS names its destinations (namespace or address range), none opens all of them', () => {
      const problems: string[] = [];
      for (const p of objectsOf('prod').filter((o) => o.kind === 'NetworkPolicy')) {
        for (const r of specOf<NetworkPolicySpec>(p).egress ?? []) {
          if ((r.to ?? []).length === 0) problems.push(`${id(p)}: an egress rule to any address`);
          for (const t of r.to ?? []) if (t.ipBlock?.cidr === '0.0.0.0/0' && !NON_INTERNET.every((c) => t.ipBlock?.except?.includes(c))) problems.push(`${id(p)}: 0.0.0.0/0 reaches the cluster`);
        }
      }
      expect(problems).toEqual([]);
    });

    test('prod: more query-api replicas, bigger resources, spread over nodes and zones', () => {
      const hpa = (o: Overlay) => specOf<{ minReplicas?: number; maxReplicas: number }>(find(o, 'HorizontalPodAutoscaler', 'query-api'));
      expect(hpa('prod').minReplicas ?? 1).toBeGreaterThan(hpa('dev').minReplicas ?? 1);
      expect(hpa('prod').maxReplicas).toBeGreaterThan(hpa('dev').maxReplicas);
      for (const [app, kind] of Object.entries(SERVICES)) {
        for (const r of ['cpu', 'memory']) {
          const dev = quantity(container('dev', kind, app).resources?.requests?.[r]);
          const prod = quantity(container('prod', kind, app).resources?.requests?.[r]);
          expect({ app, r, prodAboveDev: prod > dev }).toEqual({ app, r, prodAboveDev: true });
        }
      }
      const pod = podTemplateOf(find('prod', 'Deployment', 'query-api'))!.spec;
      const keys = (pod.topologySpreadConstraints ?? []).map((t) => (t as { topologyKey: string }).topologyKey);
      expect(keys.length > 0 || pod.affinity?.podAntiAffinity !== undefined).toBe(true);
      expect(keys).toEqual(expect.arrayContaining(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']));
    });
  });

  describe('nx run-many -t deploy', () => {
    test.each(K2_APPS)('%s has a deploy target: kubectl apply -k of an overlay, only its own and the shared objects, never in parallel', (app) => {
      const target = deployTarget(app);
      expect(target?.executor).toBe('nx:run-commands');
      expect(target?.cache).toBe(false);
      // Every app's apply also applies the shared objects; serial runs keep two applies from racing to create them.
      expect(target?.parallelism).toBe(false);
      const { overlay, select, command } = deployCommand(app);
      expect(command).toMatch(/^kubectl apply /);
      expect(OVERLAYS).toContain(overlay);
      expect(select({ [NAME]: app })).toBe(true);
      expect(select({ [NAME]: SHARED })).toBe(true);
      for (const other of K2_APPS.filter((a) => a !== app)) expect(select({ [NAME]: other })).toBe(false);
    });

    test.each(OVERLAYS)('together the apps apply every object of %s, each app-owned object once', (overlay) => {
      const selectors = K2_APPS.map((app) => ({ app, select: deployCommand(app).select }));
      const problems: string[] = [];
      for (const o of objectsOf(overlay)) {
        const by = selectors.filter((s) => s.select(o.metadata.labels ?? {})).map((s) => s.app);
        const shared = o.metadata.labels?.[NAME] === SHARED;
        if (by.length === 0) problems.push(`${id(o)} is applied by no app's deploy target`);
        else if (!shared && by.length > 1) problems.push(`${id(o)} is applied by ${by.join(', ')}`);
        else if (shared && by.length !== K2_APPS.length) problems.push(`shared ${id(o)} is applied by ${by.join(', ')} only; each app's deploy needs it`);
      }
      expect(problems).toEqual([]);
    });
  });
});
