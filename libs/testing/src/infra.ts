import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Endpoints of the local infrastructure started by tools/infra/infra.sh (same env overrides as the script). */
export interface InfraEndpoints {
  kafkaBrokers: string;
  registryUrl: string;
  icebergRestUri: string;
  s3Endpoint: string;
  s3AccessKey: string;
  s3SecretKey: string;
  /** libpq URI of the application role on the infra PostgreSQL (Iceberg SQL catalog database). */
  pgUri: string;
  python: string;
  dataDir: string;
}

export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('cannot find the workspace root (nx.json)');
    dir = up;
  }
  return dir;
}

export function infraEndpoints(env: NodeJS.ProcessEnv = process.env): InfraEndpoints {
  const dataDir = env['K2_DATA_DIR'] ?? join(repoRoot(), '.data');
  return {
    kafkaBrokers: env['KAFKA_BROKERS'] ?? `127.0.0.1:${env['K2_KAFKA_PORT'] ?? 9092}`,
    registryUrl: env['SCHEMA_REGISTRY_URL'] ?? `http://127.0.0.1:${env['K2_REGISTRY_PORT'] ?? 8081}/apis/ccompat/v7`,
    icebergRestUri: env['ICEBERG_REST_URI'] ?? `http://127.0.0.1:${env['K2_ICEBERG_REST_PORT'] ?? 8181}`,
    s3Endpoint: env['S3_ENDPOINT'] ?? `http://127.0.0.1:${env['K2_S3_PORT'] ?? 9000}`,
    s3AccessKey: env['S3_ACCESS_KEY'] ?? env['K2_S3_ACCESS_KEY'] ?? 'k2access',
    s3SecretKey: env['S3_SECRET_KEY'] ?? env['K2_S3_SECRET_KEY'] ?? 'k2secret12345',
    pgUri: env['ICEBERG_PG_URI'] ?? pgUri(env),
    python: env['PYICEBERG_PYTHON'] ?? join(dataDir, 'venv', 'bin', 'python'),
    dataDir,
  };
}

function pgUri(env: NodeJS.ProcessEnv): string {
  const user = encodeURIComponent(env['K2_PG_USER'] ?? 'k2');
  const password = encodeURIComponent(env['K2_PG_PASSWORD'] ?? 'k2secret');
  const database = encodeURIComponent(env['K2_PG_DATABASE'] ?? 'k2_catalog');
  return `postgresql://${user}:${password}@127.0.0.1:${env['K2_PG_PORT'] ?? 5433}/${database}`;
}

function infraScript(): string {
  return join(repoRoot(), 'tools', 'infra', 'infra.sh');
}

export function infraHealthy(): boolean {
  return spawnSync('bash', [infraScript(), 'status'], { stdio: 'ignore' }).status === 0;
}

/** Starts the real infrastructure (idempotent); returns true when this call started it. */
export function infraUp(): boolean {
  if (infraHealthy()) return false;
  // The integration suite includes the SASL_SSL path (libs/kafka/src/security.itest.ts): start Kafka with its
  // secure listener unless K2_KAFKA_SECURE=0 says otherwise. PLAINTEXT 9092 is there either way.
  execFileSync('bash', [infraScript(), 'up'], { stdio: 'inherit', env: { ...process.env, K2_KAFKA_SECURE: process.env['K2_KAFKA_SECURE'] ?? '1' } });
  return true;
}

export function infraDown(...components: string[]): void {
  execFileSync('bash', [infraScript(), 'down', ...components], { stdio: 'inherit' });
}

/** Runs a Python snippet in the project venv (PyIceberg, fastavro) with JSON in and out. */
export function runPython<T = unknown>(script: string, input: unknown, timeoutMs = 120000): T {
  const { python } = infraEndpoints();
  const r = spawnSync(python, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as T;
}

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Starts only the named components (e.g. Kafka again after a test stopped it). */
export function infraStart(...components: string[]): void {
  execFileSync('bash', [infraScript(), 'up', ...components], { stdio: 'inherit' });
}

/** SCRAM users `infra.sh up --secure` creates (passwords in `<tlsDir>/<user>.password`). */
export type SecureKafkaUser = 'admin' | 'streamer' | 'writer' | 'query';

/** The SASL_SSL listener of `infra.sh up --secure` (issue 18 item 1): TLS with the local CA, SCRAM-SHA-512 users. */
export interface SecureKafkaEndpoint {
  brokers: string;
  tlsDir: string;
  caLocation: string;
  passwordFile(user: SecureKafkaUser): string;
  /** The service variables that connect as `user` (KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, …). */
  serviceEnv(user: SecureKafkaUser): Record<string, string>;
}

export function secureKafkaEndpoint(env: NodeJS.ProcessEnv = process.env): SecureKafkaEndpoint {
  const tlsDir = join(infraEndpoints(env).dataDir, 'infra', 'conf', 'kafka-tls');
  const brokers = `127.0.0.1:${env['K2_KAFKA_SECURE_PORT'] ?? 9094}`;
  const caLocation = join(tlsDir, 'ca.pem');
  const passwordFile = (user: SecureKafkaUser) => join(tlsDir, `${user}.password`);
  return {
    brokers,
    tlsDir,
    caLocation,
    passwordFile,
    serviceEnv: (user) => ({
      KAFKA_BROKERS: brokers,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: user,
      KAFKA_SASL_PASSWORD_FILE: passwordFile(user),
      KAFKA_SSL_CA_LOCATION: caLocation,
    }),
  };
}

/**
 * Lets the secure listener's `writer` user produce to the dead-letter topic of each data topic (`add`), or no longer
 * (`remove`), with the same ACL infra.sh gives the platform's topics (deploy/kafka/acls.sh, `k2_writer_dlq_acls`):
 * tests with their own topics grant them and withdraw them when done.
 */
export function writerDlqAcl(action: 'add' | 'remove', topics: readonly string[]): void {
  execFileSync('bash', [infraScript(), 'kafka-dlq-acl', action, ...topics], { stdio: ['ignore', 'inherit', 'inherit'] });
}
