import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type * as avro from 'avsc';
import { ErrorCode, FatalError, K2Error, TransientError, ValidationError } from '@k2/core';
import { k2AvroOptions, V2_SCHEMAS, type RecordByKind, type RecordKind } from '@k2/schema';
import { HEADER_SIZE, readSchemaId, writeHeader } from './wire-format';

export interface SerdeOptions {
  /** Base URL of a Confluent-compatible API: Confluent SR, or Apicurio's `/apis/ccompat/v7`. */
  registryUrl: string;
  username?: string;
  password?: string;
  /** PEM CA bundle trusted for an https registry (a private CA); the system store otherwise. */
  ca?: string;
  retries?: number;
}

/** Subject naming: TopicNameStrategy, `<topic>-value`. */
export const valueSubject = (topic: string): string => `${topic}-value`;

/**
 * Avro serde over a schema registry. Registration and id lookups go through @kafkajs/confluent-schema-registry
 * (which caches them); the per-message encode/decode is synchronous on the cached avsc Type, because an awaited
 * registry lookup per message would cap throughput far below the bench goals.
 */
export class AvroSerde {
  readonly registry: SchemaRegistry;
  private readonly types = new Map<number, avro.Type>();
  private readonly subjectIds = new Map<string, number>();
  private readonly resolvers = new Map<string, avro.Resolver>();
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private readonly agent: HttpsAgent | undefined;

  constructor(readonly options: SerdeOptions) {
    this.agent = options.ca ? new HttpsAgent({ ca: options.ca, keepAlive: true }) : undefined;
    this.registry = new SchemaRegistry(
      {
        host: options.registryUrl.replace(/\/+$/, ''),
        auth: options.username ? { username: options.username, password: options.password ?? '' } : undefined,
        clientId: 'k2',
        ...(this.agent ? { agent: this.agent } : {}),
        retry: { retries: options.retries ?? 3, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 5 },
      },
      { [SchemaType.AVRO]: k2AvroOptions() },
    );
  }

  /**
   * Registers `schema` under `<topic>-value` (compatibility BACKWARD, set on every call so a subject left at
   * another level is corrected) and returns its id; the same schema always yields the same id.
   */
  async register(topic: string, schema: object): Promise<number> {
    const subject = valueSubject(topic);
    try {
      // Set BACKWARD explicitly before registering: Confluent reports an unset subject as 404, but Apicurio's
      // ccompat API answers with the global level (NONE), which the library would treat as a mismatch.
      await this.setCompatibility(subject, COMPATIBILITY.BACKWARD);
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, compatibility: COMPATIBILITY.BACKWARD },
      );
      await this.loadType(id);
      this.subjectIds.set(subject, id);
      return id;
    } catch (err) {
      throw registryError(err, `registering ${subject}`);
    }
  }

  /** Registers the V2 schema of `kind` for `topic`. */
  registerV2(topic: string, kind: RecordKind): Promise<number> {
    return this.register(topic, V2_SCHEMAS[kind]);
  }

  /** Id of the latest schema of `<topic>-value` (cached after the first call). */
  async latestId(topic: string): Promise<number> {
    const subject = valueSubject(topic);
    const cached = this.subjectIds.get(subject);
    if (cached !== undefined) return cached;
    try {
      const id = await this.registry.getLatestSchemaId(subject);
      await this.loadType(id);
      this.subjectIds.set(subject, id);
      return id;
    } catch (err) {
      throw registryError(err, `looking up ${subject}`);
    }
  }

  /** Frames `record` with `schemaId`. The id must have been registered or loaded before (register/latestId/decode). */
  encode<K extends RecordKind>(schemaId: number, record: RecordByKind[K] | Record<string, unknown>): Buffer {
    const type = this.types.get(schemaId);
    if (!type) throw new FatalError(ErrorCode.SERDE_FAILED, `schema id ${schemaId} is not loaded; register it first`);
    for (;;) {
      let end: number;
      try {
        end = type.encode(record, this.scratch, HEADER_SIZE);
      } catch (err) {
        if (err instanceof K2Error) throw err;
        throw new ValidationError(`record does not match schema ${schemaId}: ${(err as Error).message}`, {
          code: ErrorCode.SERDE_FAILED,
          cause: err,
        });
      }
      if (end >= 0) {
        writeHeader(this.scratch, schemaId);
        return Buffer.from(this.scratch.subarray(0, end));
      }
      // avsc returns -(bytes needed) when the buffer is too small.
      this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, HEADER_SIZE - end));
    }
  }

  /** Decodes a framed message, fetching an unknown writer schema once. With `readerSchemaId`, resolves into it. */
  async decode<T = Record<string, unknown>>(buf: Buffer, readerSchemaId?: number): Promise<T> {
    const id = readSchemaId(buf);
    if (!this.types.has(id)) await this.loadType(id);
    if (readerSchemaId !== undefined && !this.types.has(readerSchemaId)) await this.loadType(readerSchemaId);
    return this.decodeLoaded<T>(buf, readerSchemaId);
  }

  /** Synchronous decode for hot loops; throws if the writer schema is not loaded yet. */
  decodeLoaded<T = Record<string, unknown>>(buf: Buffer, readerSchemaId?: number): T {
    const id = readSchemaId(buf);
    const writer = this.types.get(id);
    if (!writer) throw new FatalError(ErrorCode.SERDE_FAILED, `schema id ${id} is not loaded`);
    try {
      if (readerSchemaId === undefined || readerSchemaId === id) {
        return writer.decode(buf, HEADER_SIZE).value as T;
      }
      const reader = this.types.get(readerSchemaId)!;
      const key = `${id}>${readerSchemaId}`;
      let resolver = this.resolvers.get(key);
      if (!resolver) {
        resolver = reader.createResolver(writer);
        this.resolvers.set(key, resolver);
      }
      return reader.decode(buf, HEADER_SIZE, resolver).value as T;
    } catch (err) {
      throw new ValidationError(`cannot decode message with schema id ${id}: ${(err as Error).message}`, {
        code: ErrorCode.SERDE_FAILED,
        cause: err,
      });
    }
  }

  /** PUT /config/{subject} (same call on Confluent and Apicurio ccompat). */
  async setCompatibility(subject: string, level: string): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
    if (this.options.username) {
      headers['authorization'] = `Basic ${Buffer.from(`${this.options.username}:${this.options.password ?? ''}`).toString('base64')}`;
    }
    const url = `${this.options.registryUrl.replace(/\/+$/, '')}/config/${encodeURIComponent(subject)}`;
    const res = await put(url, headers, JSON.stringify({ compatibility: level }), this.agent);
    if (res.status < 200 || res.status >= 300) throw Object.assign(new Error(`PUT /config/${subject} answered ${res.status}: ${res.body}`), { status: res.status });
  }

  /** The avsc Type of a loaded schema id (its `schema()` is the registered Avro schema). */
  typeOf(schemaId: number): avro.Type {
    const t = this.types.get(schemaId);
    if (!t) throw new FatalError(ErrorCode.SERDE_FAILED, `schema id ${schemaId} is not loaded`);
    return t;
  }

  isLoaded(schemaId: number): boolean {
    return this.types.has(schemaId);
  }

  private async loadType(id: number): Promise<avro.Type> {
    const known = this.types.get(id);
    if (known) return known;
    try {
      const type = (await this.registry.getSchema(id)) as unknown as avro.Type;
      this.types.set(id, type);
      return type;
    } catch (err) {
      throw registryError(err, `fetching schema id ${id}`);
    }
  }
}

function registryError(err: unknown, what: string): K2Error {
  if (err instanceof K2Error) return err;
  const e = err as { status?: number; message?: string; name?: string };
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const msg = `schema registry: ${what} failed: ${e?.message ?? String(err)}`;
  // 409 = incompatible with the subject's compatibility level; 422 = invalid schema; other 4xx = our mistake.
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new FatalError(ErrorCode.REGISTRY_REJECTED, msg, { cause: err, context: { status } });
  }
  if (e?.name === 'ConfluentSchemaRegistryCompatibilityError' || e?.name === 'ConfluentSchemaRegistryArgumentError') {
    return new FatalError(ErrorCode.REGISTRY_REJECTED, msg, { cause: err });
  }
  return new TransientError(ErrorCode.REGISTRY_UNAVAILABLE, msg, { cause: err, context: status ? { status } : {} });
}

/**
 * One PUT over node:http(s), so the registry's private CA (`SerdeOptions.ca`, through the same https Agent the
 * registry client uses) applies here too; global fetch cannot take an Agent.
 */
function put(url: string, headers: Record<string, string>, body: string, agent: HttpsAgent | undefined): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, { method: 'PUT', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, ...(agent && u.protocol === 'https:' ? { agent } : {}), timeout: 10000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`PUT ${u.pathname} timed out after 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}
