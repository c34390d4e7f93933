import { existsSync, readFileSync } from 'node:fs';
import { cfg, optional } from '@k2/core';
import { KAFKA_SASL_MECHANISMS, KAFKA_SECURITY_PROTOCOLS, kafkaSecurityProblems, librdkafkaSecurity, readSecretFile, type KafkaConnection, type KafkaSaslMechanism, type KafkaSecurityProtocol, type KafkaSecuritySettings } from './security';

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/**
 * KAFKA_BROKERS, the Kafka security variables and the schema registry's URL, basic auth and CA, shared by every
 * service that produces or consumes V2 topics (issue 18 item 1: before, Kafka was PLAINTEXT only and no service could
 * set the registry's auth). The fields map one to one onto librdkafka names (`librdkafkaSecurity`, security.ts).
 * Check combinations with `kafkaClientProblems`. All written out here: deploy/src/repo.ts reads these `env:` names.
 */
export function kafkaClientConfigSpec() {
  return {
    kafkaBrokers: cfg.list({ env: 'KAFKA_BROKERS', default: ['127.0.0.1:9092'], item: BROKER, doc: 'Kafka bootstrap servers, host:port' }),
    // No `default:` on KAFKA_SECURITY_PROTOCOL and KAFKA_SSL_VERIFY_HOSTNAME, so configs that never set them stay as
    // they were (unit tests compare whole configs); unset means PLAINTEXT and a checked hostname.
    kafkaSecurityProtocol: optional(cfg.oneOf<KafkaSecurityProtocol>({ env: 'KAFKA_SECURITY_PROTOCOL', values: KAFKA_SECURITY_PROTOCOLS, doc: 'Kafka transport: PLAINTEXT (when unset), SSL (TLS), SASL_PLAINTEXT or SASL_SSL (TLS + SASL)' })),
    kafkaSaslMechanism: optional(cfg.oneOf<KafkaSaslMechanism>({ env: 'KAFKA_SASL_MECHANISM', values: KAFKA_SASL_MECHANISMS, doc: 'SASL mechanism; needs a SASL_* protocol' })),
    kafkaSaslUsername: optional(cfg.string({ env: 'KAFKA_SASL_USERNAME', doc: 'SASL user (SCRAM, PLAIN)' })),
    kafkaSaslPassword: optional(cfg.string({ env: 'KAFKA_SASL_PASSWORD', secret: true, doc: 'SASL password (prefer KAFKA_SASL_PASSWORD_FILE)' })),
    kafkaSaslPasswordFile: optional(cfg.string({ env: 'KAFKA_SASL_PASSWORD_FILE', doc: 'File holding the SASL password (a mounted Secret); trailing newline ignored' })),
    kafkaSaslOauthbearerClientId: optional(cfg.string({ env: 'KAFKA_OAUTH_CLIENT_ID', doc: 'OAUTHBEARER (OIDC client credentials) client id' })),
    kafkaSaslOauthbearerClientSecret: optional(cfg.string({ env: 'KAFKA_OAUTH_CLIENT_SECRET', secret: true, doc: 'OAUTHBEARER client secret (prefer the _FILE form)' })),
    kafkaSaslOauthbearerClientSecretFile: optional(cfg.string({ env: 'KAFKA_OAUTH_CLIENT_SECRET_FILE', doc: 'File holding the OAUTHBEARER client secret' })),
    kafkaSaslOauthbearerTokenEndpointUrl: optional(cfg.url({ env: 'KAFKA_OAUTH_TOKEN_ENDPOINT_URL', doc: 'OIDC token endpoint librdkafka fetches tokens from' })),
    kafkaSaslOauthbearerScope: optional(cfg.string({ env: 'KAFKA_OAUTH_SCOPE', doc: 'OAUTHBEARER scope(s), space-separated' })),
    kafkaSslCaLocation: optional(cfg.string({ env: 'KAFKA_SSL_CA_LOCATION', doc: 'PEM file of the CA(s) that signed the broker certificates (default: system store)' })),
    kafkaSslCertificateLocation: optional(cfg.string({ env: 'KAFKA_SSL_CERTIFICATE_LOCATION', doc: 'PEM client certificate (mutual TLS); needs KAFKA_SSL_KEY_LOCATION' })),
    kafkaSslKeyLocation: optional(cfg.string({ env: 'KAFKA_SSL_KEY_LOCATION', doc: 'PEM private key of the client certificate' })),
    kafkaSslKeyPasswordFile: optional(cfg.string({ env: 'KAFKA_SSL_KEY_PASSWORD_FILE', doc: 'File holding the passphrase of an encrypted client key' })),
    // librdkafka's ssl.endpoint.identification.algorithm (https|none); a shorter name so --help keeps one line.
    kafkaSslVerifyHostname: optional(cfg.bool({ env: 'KAFKA_SSL_VERIFY_HOSTNAME', doc: 'Check that the broker certificate names the host (true when unset)' })),
    schemaRegistryUrl: cfg.url({ env: 'SCHEMA_REGISTRY_URL', default: 'http://127.0.0.1:8081/apis/ccompat/v7', doc: 'Confluent-compatible schema registry base URL' }),
    schemaRegistryUsername: optional(cfg.string({ env: 'SCHEMA_REGISTRY_USERNAME', doc: 'Schema registry basic-auth user' })),
    schemaRegistryPassword: optional(cfg.string({ env: 'SCHEMA_REGISTRY_PASSWORD', secret: true, doc: 'Schema registry basic-auth password (prefer the _FILE form)' })),
    schemaRegistryPasswordFile: optional(cfg.string({ env: 'SCHEMA_REGISTRY_PASSWORD_FILE', doc: 'File holding the schema registry password' })),
    schemaRegistryCaLocation: optional(cfg.string({ env: 'SCHEMA_REGISTRY_CA_LOCATION', doc: 'PEM file of the CA that signed an https registry certificate' })),
  };
}

export interface SchemaRegistrySettings {
  readonly schemaRegistryUrl: string;
  readonly schemaRegistryUsername?: string | undefined;
  readonly schemaRegistryPassword?: string | undefined;
  readonly schemaRegistryPasswordFile?: string | undefined;
  readonly schemaRegistryCaLocation?: string | undefined;
}

export function schemaRegistryProblems(s: SchemaRegistrySettings, fileExists: (path: string) => boolean = existsSync): string[] {
  const out: string[] = [];
  const hasPassword = Boolean(s.schemaRegistryPassword || s.schemaRegistryPasswordFile);
  if (s.schemaRegistryPassword && s.schemaRegistryPasswordFile) out.push('SCHEMA_REGISTRY_PASSWORD and SCHEMA_REGISTRY_PASSWORD_FILE are both set; keep one');
  if (hasPassword && !s.schemaRegistryUsername) out.push('SCHEMA_REGISTRY_PASSWORD needs SCHEMA_REGISTRY_USERNAME');
  if (s.schemaRegistryUsername && !hasPassword) out.push('SCHEMA_REGISTRY_USERNAME needs SCHEMA_REGISTRY_PASSWORD or SCHEMA_REGISTRY_PASSWORD_FILE');
  if (s.schemaRegistryCaLocation && !s.schemaRegistryUrl.startsWith('https:')) out.push('SCHEMA_REGISTRY_CA_LOCATION is set but SCHEMA_REGISTRY_URL is not https');
  for (const [k, v] of [['SCHEMA_REGISTRY_PASSWORD_FILE', s.schemaRegistryPasswordFile], ['SCHEMA_REGISTRY_CA_LOCATION', s.schemaRegistryCaLocation]] as const) {
    if (v && !fileExists(v)) out.push(`${k}=${v}: no such file`);
  }
  return out;
}

/** Every impossible combination of the Kafka and registry variables, one line each (`loadConfig`'s `check`). */
export function kafkaClientProblems(c: KafkaSecuritySettings & SchemaRegistrySettings, fileExists?: (path: string) => boolean): string[] {
  return [...kafkaSecurityProblems(c, fileExists), ...schemaRegistryProblems(c, fileExists)];
}

/** Bootstrap servers and librdkafka security properties from a service config (secret files read now). */
export function kafkaConnection(c: KafkaSecuritySettings & { readonly kafkaBrokers: readonly string[] }): KafkaConnection {
  return { brokers: c.kafkaBrokers.join(','), security: librdkafkaSecurity(c) };
}

/** `@k2/serde`'s `SerdeOptions` for a service config (same shape; `@k2/kafka` does not depend on serde). */
export function schemaRegistryOptions(c: SchemaRegistrySettings): { registryUrl: string; username?: string; password?: string; ca?: string } {
  const password = c.schemaRegistryPasswordFile ? readSecretFile(c.schemaRegistryPasswordFile) : c.schemaRegistryPassword;
  return {
    registryUrl: c.schemaRegistryUrl,
    ...(c.schemaRegistryUsername ? { username: c.schemaRegistryUsername } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(c.schemaRegistryCaLocation ? { ca: readFileSync(c.schemaRegistryCaLocation, 'utf8') } : {}),
  };
}

/** Everything `kafkaClientConfigSpec` parses: what a service config passes on to `kafkaConnection` and `schemaRegistryOptions`. */
export interface KafkaClientSettings extends KafkaSecuritySettings, SchemaRegistrySettings {
  readonly kafkaBrokers: readonly string[];
}

/** The `kafkaClientConfigSpec` fields of a parsed config, for services that build their own config object. */
export function pickKafkaClientSettings(c: KafkaClientSettings): KafkaClientSettings {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(kafkaClientConfigSpec())) out[k] = (c as unknown as Record<string, unknown>)[k];
  return out as unknown as KafkaClientSettings;
}
