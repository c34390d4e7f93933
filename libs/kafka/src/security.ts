import { existsSync, readFileSync } from 'node:fs';

/**
 * Kafka transport security (issue 18 item 1): before it, any pod that could reach the broker could produce forged
 * trades. Every service reads the same variables; they map one to one onto librdkafka's CONFIGURATION.md names.
 */
export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];
export const KAFKA_SASL_MECHANISMS = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN', 'OAUTHBEARER'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** The parsed Kafka security variables of `kafkaClientConfigSpec` (libs/kafka/src/config.ts). */
export interface KafkaSecuritySettings {
  readonly kafkaSecurityProtocol?: KafkaSecurityProtocol | undefined;
  readonly kafkaSaslMechanism?: KafkaSaslMechanism | undefined;
  readonly kafkaSaslUsername?: string | undefined;
  readonly kafkaSaslPassword?: string | undefined;
  readonly kafkaSaslPasswordFile?: string | undefined;
  readonly kafkaSaslOauthbearerClientId?: string | undefined;
  readonly kafkaSaslOauthbearerClientSecret?: string | undefined;
  readonly kafkaSaslOauthbearerClientSecretFile?: string | undefined;
  readonly kafkaSaslOauthbearerTokenEndpointUrl?: string | undefined;
  readonly kafkaSaslOauthbearerScope?: string | undefined;
  readonly kafkaSslCaLocation?: string | undefined;
  readonly kafkaSslCertificateLocation?: string | undefined;
  readonly kafkaSslKeyLocation?: string | undefined;
  readonly kafkaSslKeyPasswordFile?: string | undefined;
  readonly kafkaSslVerifyHostname?: boolean | undefined;
}

const usesSasl = (p: KafkaSecurityProtocol) => p === 'SASL_SSL' || p === 'SASL_PLAINTEXT';
const usesTls = (p: KafkaSecurityProtocol) => p === 'SSL' || p === 'SASL_SSL';

/** One line per impossible combination, for `loadConfig`'s `check` (all of them at once, not one per restart). */
export function kafkaSecurityProblems(s: KafkaSecuritySettings, fileExists: (path: string) => boolean = existsSync): string[] {
  const p = s.kafkaSecurityProtocol ?? 'PLAINTEXT';
  const out: string[] = [];
  const mech = s.kafkaSaslMechanism;
  if (mech && !usesSasl(p)) out.push(`KAFKA_SASL_MECHANISM=${mech} needs KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT, not ${p}`);
  if (usesSasl(p) && !mech) out.push(`KAFKA_SECURITY_PROTOCOL=${p} needs KAFKA_SASL_MECHANISM (${KAFKA_SASL_MECHANISMS.join('|')})`);
  if (!usesSasl(p) && (s.kafkaSaslUsername || s.kafkaSaslPassword || s.kafkaSaslPasswordFile)) out.push(`KAFKA_SASL_USERNAME/PASSWORD are set but KAFKA_SECURITY_PROTOCOL=${p} does not use SASL`);
  if (s.kafkaSaslPassword && s.kafkaSaslPasswordFile) out.push('KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set; keep one');
  if (usesSasl(p) && mech && mech !== 'OAUTHBEARER') {
    if (!s.kafkaSaslUsername) out.push(`KAFKA_SASL_MECHANISM=${mech} needs KAFKA_SASL_USERNAME`);
    if (!s.kafkaSaslPassword && !s.kafkaSaslPasswordFile) out.push(`KAFKA_SASL_MECHANISM=${mech} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`);
  }
  if (usesSasl(p) && mech === 'OAUTHBEARER') {
    if (!s.kafkaSaslOauthbearerClientId) out.push('KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_OAUTH_CLIENT_ID');
    if (!s.kafkaSaslOauthbearerClientSecret && !s.kafkaSaslOauthbearerClientSecretFile) out.push('KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_OAUTH_CLIENT_SECRET or _CLIENT_SECRET_FILE');
    if (!s.kafkaSaslOauthbearerTokenEndpointUrl) out.push('KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_OAUTH_TOKEN_ENDPOINT_URL');
  }
  const tlsFiles: Array<[string, string | undefined]> = [
    ['KAFKA_SSL_CA_LOCATION', s.kafkaSslCaLocation],
    ['KAFKA_SSL_CERTIFICATE_LOCATION', s.kafkaSslCertificateLocation],
    ['KAFKA_SSL_KEY_LOCATION', s.kafkaSslKeyLocation],
    ['KAFKA_SSL_KEY_PASSWORD_FILE', s.kafkaSslKeyPasswordFile],
  ];
  const set = tlsFiles.filter(([, v]) => v);
  if (set.length && !usesTls(p)) out.push(`${set.map(([k]) => k).join(', ')} set but KAFKA_SECURITY_PROTOCOL=${p} does not use TLS (SSL or SASL_SSL)`);
  if (s.kafkaSslCertificateLocation && !s.kafkaSslKeyLocation) out.push('KAFKA_SSL_CERTIFICATE_LOCATION needs KAFKA_SSL_KEY_LOCATION (the client key)');
  if (s.kafkaSslKeyLocation && !s.kafkaSslCertificateLocation) out.push('KAFKA_SSL_KEY_LOCATION needs KAFKA_SSL_CERTIFICATE_LOCATION (the client certificate)');
  if (s.kafkaSslKeyPasswordFile && !s.kafkaSslKeyLocation) out.push('KAFKA_SSL_KEY_PASSWORD_FILE needs KAFKA_SSL_KEY_LOCATION');
  const files: Array<[string, string | undefined]> = [...tlsFiles, ['KAFKA_SASL_PASSWORD_FILE', s.kafkaSaslPasswordFile], ['KAFKA_OAUTH_CLIENT_SECRET_FILE', s.kafkaSaslOauthbearerClientSecretFile]];
  for (const [k, v] of files) if (v && !fileExists(v)) out.push(`${k}=${v}: no such file`);
  return out;
}

/** A secret read from a mounted file; the trailing newline editors and `kubectl create secret --from-file` leave is dropped. */
export function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

/**
 * librdkafka properties for the settings (CONFIGURATION.md names). Secrets given as files are read here, once, at
 * start. OAUTHBEARER uses librdkafka's built-in OIDC client-credentials flow (`sasl.oauthbearer.method=oidc`): it
 * fetches and refreshes tokens from the token endpoint itself, so no token callback is needed in Node.
 */
export function librdkafkaSecurity(s: KafkaSecuritySettings, readSecret: (path: string) => string = readSecretFile): Record<string, string> {
  const p = s.kafkaSecurityProtocol ?? 'PLAINTEXT';
  const out: Record<string, string> = { 'security.protocol': p.toLowerCase() };
  if (usesSasl(p) && s.kafkaSaslMechanism) {
    out['sasl.mechanisms'] = s.kafkaSaslMechanism;
    if (s.kafkaSaslMechanism === 'OAUTHBEARER') {
      out['sasl.oauthbearer.method'] = 'oidc';
      if (s.kafkaSaslOauthbearerClientId) out['sasl.oauthbearer.client.id'] = s.kafkaSaslOauthbearerClientId;
      const secret = s.kafkaSaslOauthbearerClientSecretFile ? readSecret(s.kafkaSaslOauthbearerClientSecretFile) : s.kafkaSaslOauthbearerClientSecret;
      if (secret !== undefined) out['sasl.oauthbearer.client.secret'] = secret;
      if (s.kafkaSaslOauthbearerTokenEndpointUrl) out['sasl.oauthbearer.token.endpoint.url'] = s.kafkaSaslOauthbearerTokenEndpointUrl;
      if (s.kafkaSaslOauthbearerScope) out['sasl.oauthbearer.scope'] = s.kafkaSaslOauthbearerScope;
    } else {
      if (s.kafkaSaslUsername) out['sasl.username'] = s.kafkaSaslUsername;
      const password = s.kafkaSaslPasswordFile ? readSecret(s.kafkaSaslPasswordFile) : s.kafkaSaslPassword;
      if (password !== undefined) out['sasl.password'] = password;
    }
  }
  if (usesTls(p)) {
    if (s.kafkaSslCaLocation) out['ssl.ca.location'] = s.kafkaSslCaLocation;
    if (s.kafkaSslCertificateLocation) out['ssl.certificate.location'] = s.kafkaSslCertificateLocation;
    if (s.kafkaSslKeyLocation) out['ssl.key.location'] = s.kafkaSslKeyLocation;
    if (s.kafkaSslKeyPasswordFile) out['ssl.key.password'] = readSecret(s.kafkaSslKeyPasswordFile);
    out['ssl.endpoint.identification.algorithm'] = s.kafkaSslVerifyHostname === false ? 'none' : 'https';
  }
  return out;
}

/**
 * Where to connect and how: bootstrap servers plus the librdkafka security properties. Every K2 Kafka client takes
 * this (or a bare `host:port,…` string, which means PLAINTEXT — tests and tools on the local broker).
 */
export interface KafkaConnection {
  readonly brokers: string;
  readonly security?: Readonly<Record<string, string>>;
}
export type KafkaBrokers = string | KafkaConnection;

/** The librdkafka global properties that say where and how to connect. */
export function connectionConfig(b: KafkaBrokers): Record<string, string> {
  if (typeof b === 'string') return { 'metadata.broker.list': b };
  return { ...(b.security ?? {}), 'metadata.broker.list': b.brokers };
}

/** The bootstrap servers alone (log lines, error context). */
export function brokerList(b: KafkaBrokers): string {
  return typeof b === 'string' ? b : b.brokers;
}
