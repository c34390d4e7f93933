import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { defaultPort, envNamesReadBy, K2_APPS, publicPort, readRepoFile, repoPath } from './repo';

/**
 * Offline checks of docker-compose.yml: what `docker compose config` would reject (the Compose Specification
 * schema, the one compose-go embeds and Docker Compose validates with), and what Compose accepts but would still
 * not run K2: missing files, unhealthy start order, environment names the apps ignore, endpoints that point nowhere.
 */

const SCHEMA_FILE = '.data/tools/compose-spec.json';
/** The compose-go release deploy/tools/install-compose-schema.sh installs the schema from. */
const SCHEMA_VERSION = /^VERSION=(v\S+)$/m.exec(readRepoFile('deploy/tools/install-compose-schema.sh'))?.[1] ?? 'unknown';

type EnvValue = string | number | boolean | null;
interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Dependency {
  condition?: string;
}
interface VolumeLong {
  type: string;
  source?: string;
  target: string;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  depends_on?: string[] | Record<string, Dependency>;
  healthcheck?: Healthcheck;
  environment?: string[] | Record<string, EnvValue>;
  env_file?: string | Array<string | { path: string }>;
  volumes?: Array<string | VolumeLong>;
  ports?: Array<string | number | { target: number | string }>;
  restart?: string;
  privileged?: boolean | string;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  network_mode?: string;
  pid?: string;
  ipc?: string;
  user?: string;
  secrets?: Array<string | { source: string; target?: string }>;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { file?: string }>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

/**
 * YAML → JSON as compose-go does before validating (schema/schema.go marshals the document to JSON). Merge keys
 * are on: Compose resolves `<<` (https://github.com/compose-spec/compose-spec/blob/main/10-fragments.md).
 */
function loadYaml(rel: string): unknown {
  return JSON.parse(JSON.stringify(parse(readRepoFile(rel), { merge: true }))) as unknown;
}

function composeValidator(): (doc: unknown) => string[] {
  if (!existsSync(repoPath(SCHEMA_FILE))) {
    throw new Error(`${SCHEMA_FILE} is missing: run bash deploy/tools/install.sh`);
  }
  const schema = JSON.parse(readRepoFile(SCHEMA_FILE)) as { $schema?: string };
  expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  // strictTypes only lints schema authoring (union types, `properties` without `type`), which this upstream schema
  // does on purpose; it changes no validation result.
  const ajv = new Ajv2020({ allErrors: true, strictTypes: false });
  const validate = ajv.compile(schema);
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
}

const compose = loadYaml('docker-compose.yml') as ComposeFile;
const services = compose.services;

function env(service: Service): Record<string, string> {
  const e = service.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split('=')[0] ?? '', kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependencies(service: Service): Record<string, Dependency> {
  const d = service.depends_on ?? {};
  return Array.isArray(d) ? Object.fromEntries(d.map((name) => [name, {}])) : d;
}

function argv(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/);
}

/** Short volume syntax SOURCE:TARGET[:MODE]; a source starting with . / or ~ is a host path (spec 05-services.md#volumes). */
function mounts(service: Service): Array<{ type: 'bind' | 'volume'; source: string; target: string }> {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { type: v.type === 'bind' ? 'bind' : 'volume', source: v.source ?? '', target: v.target };
    const [source = '', target = ''] = v.split(':');
    return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target };
  });
}

function secretsOf(service: Service): string[] {
  return (service.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source));
}

function hostPort(url: string): string {
  const u = new URL(url.replace(/^jdbc:/, ''));
  return `${u.hostname}:${u.port}`;
}

describe('docker-compose.yml', () => {
  it(`is valid under the Compose Specification schema (compose-go ${SCHEMA_VERSION})`, () => {
    expect(composeValidator()(loadYaml('docker-compose.yml'))).toEqual([]);
  });

  it('has a schema check that rejects what Compose rejects', () => {
    const validate = composeValidator();
    const broken = loadYaml('docker-compose.yml') as ComposeFile;
    const kafka = broken.services['kafka'] as Service & Record<string, unknown>;
    kafka['restart_policy'] = 'always';
    // An unquoted `r.ok ? 0 : 1` in a block sequence item is a mapping (`: ` starts a value); Compose rejects that test.
    kafka.healthcheck = { test: ['CMD', { 'x ? 0': '1' }] as unknown as string[] };
    const errors = validate(broken);
    expect(errors).toEqual(expect.arrayContaining(['/services/kafka must NOT have unevaluated properties', '/services/kafka/healthcheck/test/1 must be string']));
  });

  it('runs every K2 app, built from its Dockerfile and tagged as its docker-build target tags it', () => {
    for (const app of K2_APPS) {
      const s = services[app];
      expect({ app, build: s?.build, image: s?.image }).toEqual({
        app,
        build: { context: '.', dockerfile: `deploy/docker/${app}.Dockerfile` },
        image: `k2/${app}:latest`,
      });
    }
  });

  it('references only files and directories that exist in the repository', () => {
    const refs: Array<{ from: string; path: string }> = [];
    for (const [name, s] of Object.entries(services)) {
      if (s.build !== undefined) {
        const context = typeof s.build === 'string' ? s.build : (s.build.context ?? '.');
        refs.push({ from: `${name} build context`, path: context });
        if (typeof s.build !== 'string' && s.build.dockerfile) refs.push({ from: `${name} dockerfile`, path: path.posix.join(context, s.build.dockerfile) });
      }
      for (const m of mounts(s)) if (m.type === 'bind') refs.push({ from: `${name} bind mount`, path: m.source });
      const envFiles = s.env_file === undefined ? [] : Array.isArray(s.env_file) ? s.env_file : [s.env_file];
      for (const f of envFiles) refs.push({ from: `${name} env_file`, path: typeof f === 'string' ? f : f.path });
    }
    for (const [kind, entries] of [['config', compose.configs], ['secret', compose.secrets]] as const) {
      for (const [name, e] of Object.entries(entries ?? {})) if (e.file) refs.push({ from: `${kind} ${name}`, path: e.file });
    }
    expect(refs.length).toBeGreaterThan(K2_APPS.length * 2);
    expect(refs.filter((r) => !existsSync(repoPath(r.path)))).toEqual([]);
  });

  it('mounts only named volumes that it declares', () => {
    const used = Object.values(services).flatMap((s) => mounts(s).filter((m) => m.type === 'volume').map((m) => m.source));
    expect(used.filter((v) => !(v in (compose.volumes ?? {})))).toEqual([]);
  });

  it('gives every K2 service a /healthz health check and starts it only after what it needs is healthy', () => {
    for (const app of K2_APPS) {
      const s = services[app] ?? {};
      expect({ app, disabled: s.healthcheck?.disable ?? false, probe: argv(s.healthcheck?.test).join(' ') }).toEqual({
        app,
        disabled: false,
        probe: expect.stringContaining('/healthz'),
      });
      const deps = dependencies(s);
      expect({ app, deps: Object.keys(deps) }).toEqual({ app, deps: expect.arrayContaining(['kafka', 'schema-registry']) });
      if ('ICEBERG_CATALOG_URI' in env(s)) {
        expect({ app, deps: Object.keys(deps) }).toEqual({ app, deps: expect.arrayContaining(['postgres', 'postgres-init', 'minio-init']) });
      }
      for (const [dep, d] of Object.entries(deps)) {
        expect({ app, dep, condition: d.condition }).toEqual({ app, dep, condition: expect.stringMatching(/^service_(healthy|completed_successfully)$/) });
      }
    }
  });

  it('waits only on health checks that exist and on one-shot jobs that do not restart', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, d] of Object.entries(dependencies(s))) {
        const target = services[dep];
        expect({ name, dep, defined: target !== undefined }).toEqual({ name, dep, defined: true });
        if (d.condition === 'service_healthy') {
          expect({ dep, probe: argv(target?.healthcheck?.test).length > 0 && target?.healthcheck?.disable !== true }).toEqual({ dep, probe: true });
        }
        if (d.condition === 'service_completed_successfully') {
          expect({ dep, restart: target?.restart ?? 'no' }).toEqual({ dep, restart: 'no' });
        }
      }
    }
  });

  it('runs nothing privileged, and the K2 services without capabilities or privilege escalation', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({
        name,
        privileged: s.privileged === true || s.privileged === 'true',
        capAdd: s.cap_add ?? [],
        hostNamespaces: [s.network_mode, s.pid, s.ipc].filter((v) => v === 'host'),
        root: s.user !== undefined && /^(root|0)(:|$)/.test(s.user),
      }).toEqual({ name, privileged: false, capAdd: [], hostNamespaces: [], root: false });
    }
    for (const app of K2_APPS) {
      const s = services[app] ?? {};
      expect({ app, capDrop: s.cap_drop, securityOpt: s.security_opt }).toEqual({
        app,
        capDrop: ['ALL'],
        securityOpt: expect.arrayContaining(['no-new-privileges:true']),
      });
    }
  });

  it('sets on each K2 service only environment variables that the app reads', () => {
    for (const app of K2_APPS) {
      const read = envNamesReadBy(app);
      // NODE_OPTIONS is Node's own (query-api's V8 heap limit, which goes with its memory budget); PGUSER and
      // PGPASSWORD are node-postgres's (the catalog role, as in the Kubernetes manifests).
      const unknown = Object.keys(env(services[app] ?? {})).filter((k) => !read.has(k) && !['NODE_OPTIONS', 'PGUSER', 'PGPASSWORD'].includes(k));
      expect({ app, unknown }).toEqual({ app, unknown: [] });
    }
  });

  it('serves each K2 app on its default ports and publishes the public one (query-api: the API, not its ops port)', () => {
    for (const app of K2_APPS) {
      const s = services[app] ?? {};
      const e = env(s);
      const port = String(defaultPort(app));
      const api = publicPort(app);
      const published = (s.ports ?? []).map((p) => (typeof p === 'object' ? String(p.target) : String(p).split(':').at(-1)));
      expect({ app, port: e['METRICS_PORT'], api: e['PORT'], published }).toEqual({ app, port, api: api === undefined ? undefined : String(api), published: [String(api ?? port)] });
    }
  });

  it('points the K2 services at the containers of this file', () => {
    const kafkaEnv = env(services['kafka'] ?? {});
    const advertised = (kafkaEnv['KAFKA_ADVERTISED_LISTENERS'] ?? '').split(',').map((l) => l.replace(/^\w+:\/\//, ''));
    const bucketInit = argv(services['minio-init']?.command).find((a) => /^\w+\/[a-z0-9.-]+$/.test(a));
    for (const app of K2_APPS) {
      const e = env(services[app] ?? {});
      for (const broker of (e['KAFKA_BROKERS'] ?? '').split(',')) expect({ app, broker, advertised: advertised.includes(broker) }).toEqual({ app, broker, advertised: true });
      expect({ app, registry: hostPort(e['SCHEMA_REGISTRY_URL'] ?? '') }).toEqual({ app, registry: 'schema-registry:8081' });
      if (e['ICEBERG_CATALOG'] === 'sql') {
        expect({ app, catalog: hostPort(e['ICEBERG_CATALOG_URI'] ?? ''), s3: hostPort(e['S3_ENDPOINT'] ?? '') }).toEqual({ app, catalog: 'postgres:5432', s3: 'minio:9000' });
        const bucket = /^s3:\/\/([^/]+)/.exec(e['ICEBERG_WAREHOUSE'] ?? '')?.[1];
        expect({ app, bucket: `${bucket}` }).toEqual({ app, bucket: bucketInit?.split('/')[1] });
        expect({ app, pathStyle: e['S3_FORCE_PATH_STYLE'] }).toEqual({ app, pathStyle: 'true' });
      }
    }
  });

  it('gives each K2 service its own S3 user and catalog role, created by the init jobs: the writer read-write, query-api read-only, the others none', () => {
    // The `user NAME SECRET POLICY` lines of deploy/minio/init.sh: MinIO user -> policy file.
    const policies = new Map([...readRepoFile('deploy/minio/init.sh').matchAll(/^user (\S+) "\$\w+" (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
    const actions = (user: string) =>
      (JSON.parse(readRepoFile(`deploy/minio/${policies.get(user) ?? 'none'}.json`)) as { Statement: Array<{ Action: string[] }> }).Statement.flatMap((st) => st.Action);
    const initArgs = argv(services['postgres-init']?.command);
    const role = (v: string) => initArgs.find((a) => a.startsWith(`${v}=`))?.slice(v.length + 1);
    const catalogUser = (app: string) => env(services[app] ?? {})['PGUSER'];
    const s3User = (app: string) => env(services[app] ?? {})['S3_ACCESS_KEY'];
    const admins = [env(services['minio'] ?? {})['MINIO_ROOT_USER'], env(services['postgres'] ?? {})['POSTGRES_USER']];
    expect({ writer: catalogUser('iceberg-writer'), query: catalogUser('query-api') }).toEqual({ writer: role('writer_role'), query: role('query_role') });
    expect(actions(s3User('iceberg-writer') ?? '')).toEqual(expect.arrayContaining(['s3:PutObject', 's3:DeleteObject']));
    expect(actions(s3User('query-api') ?? '').filter((a) => !/^s3:(Get|List)/.test(a))).toEqual([]);
    expect(actions(s3User('query-api') ?? '')).toContain('s3:GetObject');
    for (const app of K2_APPS) {
      const e = env(services[app] ?? {});
      const held = [s3User(app), catalogUser(app)].filter((u) => u !== undefined && u !== null);
      expect({ app, admin: held.filter((u) => admins.includes(u)) }).toEqual({ app, admin: [] });
      if (app === 'iceberg-writer' || app === 'query-api') continue;
      // The streamers have no lake; the loader reads a local sample here (ASX_INPUT), so it needs no S3 user either.
      expect({ app, lake: Object.keys(e).filter((k) => /^(S3_|ICEBERG_CATALOG_URI$)/.test(k)) }).toEqual({ app, lake: [] });
    }
  });

  it('names no user or password in a catalog URI: the role comes from PGUSER and PGPASSWORD (a URI is logged at start)', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [k, v] of Object.entries(env(s))) {
        if (!/^jdbc:|^postgres(ql)?:/.test(v)) continue;
        const u = new URL(v.replace(/^jdbc:/, ''));
        expect({ name, k, user: u.username || u.searchParams.get('user'), password: u.password || u.searchParams.get('password') }).toEqual({ name, k, user: null, password: null });
      }
    }
    for (const app of ['iceberg-writer', 'query-api']) {
      expect({ app, pgUser: env(services[app] ?? {})['PGUSER'], pgPassword: Boolean(env(services[app] ?? {})['PGPASSWORD']) }).toEqual({ app, pgUser: expect.any(String), pgPassword: true });
    }
  });

  it('runs Kafka with SASL_SSL on every listener that another container or the host can reach, ACLs enforced', () => {
    const e = env(services['kafka'] ?? {});
    const protocols = new Map((e['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP'] ?? '').split(',').map((kv) => kv.split(':') as [string, string]));
    const listeners = (e['KAFKA_LISTENERS'] ?? '').split(',').map((l) => {
      const m = /^(\w+):\/\/([^:]*):(\d+)$/.exec(l);
      return { name: m?.[1] ?? l, host: m?.[2] ?? '', port: m?.[3] ?? '' };
    });
    expect(listeners.length).toBeGreaterThan(0);
    for (const l of listeners) {
      const protocol = protocols.get(l.name);
      // Loopback-only listeners (controller, inter-broker, health check) may stay PLAINTEXT: only the broker's own
      // container reaches them.
      expect({ listener: l.name, protocol: l.host === '127.0.0.1' ? 'loopback' : protocol }).toEqual({ listener: l.name, protocol: l.host === '127.0.0.1' ? 'loopback' : 'SASL_SSL' });
    }
    const published = (services['kafka']?.ports ?? []).map((p) => String(p).split(':').at(-1));
    expect(published.map((p) => listeners.find((l) => l.port === p && l.host !== '127.0.0.1')?.name).map((n) => protocols.get(n ?? ''))).toEqual(published.map(() => 'SASL_SSL'));
    expect({ authorizer: e['KAFKA_AUTHORIZER_CLASS_NAME'], noAclMeansDeny: e['KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND'], mechanisms: e['KAFKA_SASL_ENABLED_MECHANISMS'] }).toEqual({
      authorizer: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      noAclMeansDeny: 'false',
      mechanisms: 'SCRAM-SHA-512',
    });
    // The registry's Kafka store is a client like the others.
    const registry = env(services['schema-registry'] ?? {});
    expect({ store: registry['SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL'], bootstrap: registry['SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS'] }).toEqual({ store: 'SASL_SSL', bootstrap: 'SASL_SSL://kafka:19092' });
  });

  it('connects every K2 service to Kafka over SASL_SSL as its own SCRAM user, the password from its own secret, the CA from kafka-ca', () => {
    // The users kafka-init creates (`for user in …` in deploy/kafka/compose-init.sh).
    const created = (/^for user in ([^;]+);/m.exec(readRepoFile('deploy/kafka/compose-init.sh'))?.[1] ?? '').trim().split(/\s+/);
    const declared = compose.secrets ?? {};
    for (const app of K2_APPS) {
      const s = services[app] ?? {};
      const e = env(s);
      const user = e['KAFKA_SASL_USERNAME'] ?? '';
      const secret = `k2-kafka-${user}`;
      const caMount = mounts(s).find((m) => m.type === 'volume' && m.source === 'kafka-ca');
      expect({
        app,
        protocol: e['KAFKA_SECURITY_PROTOCOL'],
        mechanism: e['KAFKA_SASL_MECHANISM'],
        userCreated: created.includes(user),
        passwordFile: e['KAFKA_SASL_PASSWORD_FILE'],
        inlinePassword: 'KAFKA_SASL_PASSWORD' in e,
        secretGranted: secretsOf(s).includes(secret),
        secretFromEnvironment: declared[secret]?.environment,
        ca: caMount !== undefined && e['KAFKA_SSL_CA_LOCATION']?.startsWith(`${caMount.target}/`),
        caReadOnly: (s.volumes ?? []).some((v) => typeof v === 'string' && v.startsWith('kafka-ca:') && v.endsWith(':ro')),
      }).toEqual({
        app,
        protocol: 'SASL_SSL',
        mechanism: 'SCRAM-SHA-512',
        userCreated: true,
        passwordFile: `/run/secrets/${secret}`,
        inlinePassword: false,
        secretGranted: true,
        secretFromEnvironment: expect.stringMatching(/^K2_KAFKA_\w+_PASSWORD$/),
        ca: true,
        caReadOnly: true,
      });
    }
    // kafka-init sets a password for every user from that user's secret, so each must be declared.
    for (const user of [...created, 'admin']) expect({ user, declared: `k2-kafka-${user}` in declared }).toEqual({ user, declared: true });
  });

  it("gives no service another's secret: each Kafka password only to its user's services, the keystore only to the broker", () => {
    const registryUser = /username=\\"(\w+)\\"/.exec(readRepoFile('deploy/kafka/compose-registry.sh'))?.[1];
    /** Who may hold each secret: the services that log in as its user, plus the jobs that create the users. */
    const owner = (name: string, s: Service): string | undefined => {
      if (name === 'kafka-init') return '*';
      if (name === 'kafka') return 'admin';
      if (name === 'schema-registry') return registryUser;
      return env(s)['KAFKA_SASL_USERNAME'];
    };
    const leaks: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const secret of secretsOf(s)) {
        if (secret === 'k2-api-keys') {
          if (name !== 'query-api') leaks.push(`${name}: ${secret}`);
          continue;
        }
        const user = /^k2-kafka-(.+)$/.exec(secret)?.[1];
        const o = owner(name, s);
        if (user === undefined || (o !== '*' && o !== user)) leaks.push(`${name}: ${secret}`);
      }
      // The broker's private key and keystore password.
      if (mounts(s).some((m) => m.type === 'volume' && m.source === 'kafka-tls') && !['kafka', 'kafka-tls-init'].includes(name)) leaks.push(`${name}: volume kafka-tls`);
      // No secret inline: passwords of Kafka users only through files.
      for (const [k, v] of Object.entries(env(s))) if (/^KAFKA_.*PASSWORD$|SASL_JAAS_CONFIG$/.test(k) && v !== '') leaks.push(`${name}: ${k} inline`);
    }
    expect(leaks).toEqual([]);
    expect(registryUser).toBe('registry');
  });

  it('has the one-shot TLS job make the certificate the clients check: the name kafka, localhost and 127.0.0.1', () => {
    const tls = readRepoFile('deploy/kafka/compose-tls.sh');
    const san = /-ext SAN=(\S+)/.exec(tls)?.[1]?.split(',') ?? [];
    const bootstrapHosts = new Set(K2_APPS.flatMap((app) => (env(services[app] ?? {})['KAFKA_BROKERS'] ?? '').split(',').map((b) => b.split(':')[0])));
    for (const host of [...bootstrapHosts, '127.0.0.1']) expect({ host, named: san.includes(/^\d/.test(host ?? '') ? `ip:${host}` : `dns:${host}`) }).toEqual({ host, named: true });
    // The services never turn hostname verification off.
    for (const app of K2_APPS) expect({ app, verify: env(services[app] ?? {})['KAFKA_SSL_VERIFY_HOSTNAME'] }).toEqual({ app, verify: undefined });
  });

  it('gives Kafka a well-formed KRaft cluster id (16 bytes, URL-safe base64 without padding)', () => {
    const id = env(services['kafka'] ?? {})['CLUSTER_ID'] ?? '';
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('lets Prometheus load the mounted rules and scrape every K2 service', () => {
    const prometheus = services['prometheus'] ?? {};
    const binds = mounts(prometheus).filter((m) => m.type === 'bind');
    const configMount = binds.find((m) => m.target === '/etc/prometheus/prometheus.yml');
    expect(configMount?.source).toBe('./deploy/prometheus/prometheus.yml');
    const config = loadYaml('deploy/prometheus/prometheus.yml') as {
      rule_files?: string[];
      scrape_configs?: Array<{
        static_configs?: Array<{ targets?: string[] }>;
        dns_sd_configs?: Array<{ names?: string[]; port?: number }>;
      }>;
    };
    // rule_files are relative to the config file's directory (Prometheus configuration docs, <rule_files>).
    for (const glob of config.rule_files ?? []) {
      const inContainer = path.posix.resolve('/etc/prometheus', glob);
      const mount = binds.find((m) => inContainer.startsWith(`${m.target}/`));
      expect({ glob, mounted: mount !== undefined }).toEqual({ glob, mounted: true });
      const hostDir = repoPath(path.posix.join(mount?.source ?? '', path.posix.dirname(inContainer.slice((mount?.target.length ?? 0) + 1))));
      const pattern = new RegExp(`^${path.posix.basename(glob).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      const matched = existsSync(hostDir) ? readdirSync(hostDir).filter((f) => pattern.test(f)) : [];
      expect({ glob, matched: matched.length > 0 }).toEqual({ glob, matched: true });
    }
    expect(config.rule_files?.length ?? 0).toBeGreaterThan(0);
    // Compose service names resolve through Docker's DNS, as static targets or as dns_sd_configs names.
    const targets = (config.scrape_configs ?? []).flatMap((c) => [
      ...(c.static_configs ?? []).flatMap((s) => s.targets ?? []),
      ...(c.dns_sd_configs ?? []).flatMap((d) => (d.names ?? []).map((n) => `${n}:${d.port ?? ''}`)),
    ]);
    const missing = K2_APPS.map((app) => `${app}:${defaultPort(app)}`).filter((t) => !targets.includes(t));
    expect(missing).toEqual([]);
  });

  it('lets Grafana find the mounted dashboards and the Prometheus of this file', () => {
    const grafana = services['grafana'] ?? {};
    const binds = mounts(grafana).filter((m) => m.type === 'bind');
    expect(binds.map((m) => `${m.source}:${m.target}`)).toEqual(
      expect.arrayContaining(['./deploy/grafana/provisioning:/etc/grafana/provisioning', './deploy/grafana/dashboards:/var/lib/grafana/dashboards']),
    );
    const yamlIn = (dir: string): string[] =>
      existsSync(repoPath(dir)) && statSync(repoPath(dir)).isDirectory()
        ? readdirSync(repoPath(dir))
            .filter((f) => /\.ya?ml$/.test(f))
            .map((f) => `${dir}/${f}`)
        : [];
    const providers = yamlIn('deploy/grafana/provisioning/dashboards').flatMap(
      (f) => (loadYaml(f) as { providers?: Array<{ options?: { path?: string } }> }).providers ?? [],
    );
    expect(providers.length).toBeGreaterThan(0);
    for (const p of providers) {
      const target = p.options?.path ?? '';
      const mount = binds.find((m) => target === m.target || target.startsWith(`${m.target}/`));
      expect({ target, mounted: mount?.source }).toEqual({ target, mounted: expect.any(String) });
      const hostDir = repoPath(path.posix.join(mount?.source ?? '', target.slice(mount?.target.length ?? 0)));
      const dashboards = existsSync(hostDir) ? readdirSync(hostDir, { recursive: true }).filter((f) => String(f).endsWith('.json')) : [];
      expect({ target, dashboards: dashboards.length > 0 }).toEqual({ target, dashboards: true });
    }
    const datasources = yamlIn('deploy/grafana/provisioning/datasources').flatMap(
      (f) => (loadYaml(f) as { datasources?: Array<{ type?: string; url?: string }> }).datasources ?? [],
    );
    const prometheusUrls = datasources.filter((d) => d.type === 'prometheus').map((d) => hostPort(d.url ?? ''));
    expect(prometheusUrls).toContain('prometheus:9090');
  });
});
