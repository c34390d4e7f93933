import { loadConfig, redactConfig } from '@k2/core';
import { connectionConfig, kafkaClientConfigSpec, kafkaClientProblems, kafkaConnection, librdkafkaSecurity, schemaRegistryOptions } from './index';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const spec = kafkaClientConfigSpec();
const load = (env: Record<string, string>) => loadConfig({ service: 't', spec, env, check: (c) => kafkaClientProblems(c) });
const problems = (env: Record<string, string>): string[] => {
  try {
    load(env);
    return [];
  } catch (e) {
    return (e as { problems?: string[] }).problems ?? [String(e)];
  }
};

describe('Kafka security config (issue 18 item 1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k2-kafka-sec-'));
  const ca = join(dir, 'ca.pem');
  const pw = join(dir, 'password');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
  writeFileSync(pw, 'from-file-secret\n');

  it('defaults to PLAINTEXT with nothing else set', () => {
    const c = load({});
    expect(librdkafkaSecurity(c)).toEqual({ 'security.protocol': 'plaintext' });
    expect(connectionConfig(kafkaConnection(c))).toEqual({ 'security.protocol': 'plaintext', 'metadata.broker.list': '127.0.0.1:9092' });
  });

  it('maps SASL_SSL + SCRAM-SHA-512 onto librdkafka names, password read from its file without the newline', () => {
    const c = load({ KAFKA_BROKERS: 'b1:9094,b2:9094', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'writer', KAFKA_SASL_PASSWORD_FILE: pw, KAFKA_SSL_CA_LOCATION: ca });
    expect(connectionConfig(kafkaConnection(c))).toEqual({
      'metadata.broker.list': 'b1:9094,b2:9094',
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'writer',
      'sasl.password': 'from-file-secret',
      'ssl.ca.location': ca,
      'ssl.endpoint.identification.algorithm': 'https',
    });
  });

  it('maps mutual TLS (SSL with a client certificate) and endpoint identification off', () => {
    const c = load({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_LOCATION: ca, KAFKA_SSL_CERTIFICATE_LOCATION: ca, KAFKA_SSL_KEY_LOCATION: ca, KAFKA_SSL_KEY_PASSWORD_FILE: pw, KAFKA_SSL_VERIFY_HOSTNAME: 'false' });
    expect(librdkafkaSecurity(c)).toEqual({
      'security.protocol': 'ssl',
      'ssl.ca.location': ca,
      'ssl.certificate.location': ca,
      'ssl.key.location': ca,
      'ssl.key.password': 'from-file-secret',
      'ssl.endpoint.identification.algorithm': 'none',
    });
  });

  it('maps OAUTHBEARER onto librdkafka OIDC client credentials', () => {
    const c = load({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_OAUTH_CLIENT_ID: 'k2-writer',
      KAFKA_OAUTH_CLIENT_SECRET_FILE: pw,
      KAFKA_OAUTH_TOKEN_ENDPOINT_URL: 'https://idp.example/token',
      KAFKA_OAUTH_SCOPE: 'kafka',
    });
    expect(librdkafkaSecurity(c)).toMatchObject({
      'sasl.mechanisms': 'OAUTHBEARER',
      'sasl.oauthbearer.method': 'oidc',
      'sasl.oauthbearer.client.id': 'k2-writer',
      'sasl.oauthbearer.client.secret': 'from-file-secret',
      'sasl.oauthbearer.token.endpoint.url': 'https://idp.example/token',
      'sasl.oauthbearer.scope': 'kafka',
    });
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'PLAIN' }, 'KAFKA_SASL_MECHANISM=PLAIN needs KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT, not PLAINTEXT'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }, 'KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM (SCRAM-SHA-512|SCRAM-SHA-256|PLAIN|OAUTHBEARER)'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512' }, 'KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs KAFKA_SASL_USERNAME'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'OAUTHBEARER' }, 'KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_OAUTH_TOKEN_ENDPOINT_URL'],
    [{ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_USERNAME/PASSWORD are set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use SASL'],
    [{ KAFKA_SSL_CA_LOCATION: '/x' }, 'KAFKA_SSL_CA_LOCATION set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use TLS (SSL or SASL_SSL)'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERTIFICATE_LOCATION: '/x' }, 'KAFKA_SSL_CERTIFICATE_LOCATION needs KAFKA_SSL_KEY_LOCATION (the client key)'],
    [{ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_LOCATION: '/nope/ca.pem' }, 'KAFKA_SSL_CA_LOCATION=/nope/ca.pem: no such file'],
    [{ SCHEMA_REGISTRY_USERNAME: 'k2' }, 'SCHEMA_REGISTRY_USERNAME needs SCHEMA_REGISTRY_PASSWORD or SCHEMA_REGISTRY_PASSWORD_FILE'],
    [{ SCHEMA_REGISTRY_CA_LOCATION: '/x' }, 'SCHEMA_REGISTRY_CA_LOCATION is set but SCHEMA_REGISTRY_URL is not https'],
  ])('refuses an impossible combination with one clear line: %j', (env, line) => {
    expect(problems(env as Record<string, string>)).toContain(line);
  });

  it('gives the registry basic auth and CA to the serde options', () => {
    const c = load({ SCHEMA_REGISTRY_URL: 'https://sr.example/apis/ccompat/v7', SCHEMA_REGISTRY_USERNAME: 'k2', SCHEMA_REGISTRY_PASSWORD_FILE: pw, SCHEMA_REGISTRY_CA_LOCATION: ca });
    expect(schemaRegistryOptions(c)).toEqual({ registryUrl: 'https://sr.example/apis/ccompat/v7', username: 'k2', password: 'from-file-secret', ca: '-----BEGIN CERTIFICATE-----\n' });
  });

  it('never logs a password: the start line redaction masks every new secret key', () => {
    const c = load({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'writer', KAFKA_SASL_PASSWORD: 'hunter2-kafka', SCHEMA_REGISTRY_USERNAME: 'k2', SCHEMA_REGISTRY_PASSWORD: 'hunter2-registry' });
    const line = JSON.stringify(redactConfig({ ...c, kafka: kafkaConnection(c) }));
    expect(line).not.toContain('hunter2');
    expect(line).toContain('writer');
  });
});
