import { existsSync, readFileSync } from 'node:fs';
import { cfg, optional } from '@k2/core';
import { kafkaSecurityConfigSpec, kafkaSecurityProblems, librdkafkaSecurity, readSecretFile, type KafkaConnection, type KafkaSecuritySettings } from './security';

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/**
 * KAFKA_BROKERS, the Kafka security variables (`kafkaSecurityConfigSpec`) and the schema registry's URL, basic auth
 * and CA, shared by every service that produces or consumes V2 topics. Check combinations with `kafkaClientProblems`.
 */
export function kafkaClientConfigSpec() {
  return {
    kafkaBrokers: cfg.list({ env: 'KAFKA_BROKERS', default: ['127.0.0.1:9092'], item: BROKER, doc: 'Kafka bootstrap servers, host:port' }),
    ...kafkaSecurityConfigSpec(),
    schemaRegistryUrl: cfg.url({ env: 'SCHEMA_REGISTRY_URL', default: 'http://127.0.0.1:8081/apis/ccompat/v7', doc: 'Confluent-compatible schema registry base URL' }),
    ...schemaRegistryAuthConfigSpec(),
  };
}

/** Basic auth and a private CA for the schema registry (issue 18: `libs/serde` had the options, no service set them). */
export function schemaRegistryAuthConfigSpec() {
  return {
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
