import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import * as avro from 'avsc';
import { ErrorCode, FatalError } from '@k2/core';

/**
 * Avro object container files (Avro 1.11 spec, "Object Container Files"), synchronous and in memory: manifests
 * and manifest lists are small, and we need the exact schema JSON (with Iceberg's `field-id`, `element-id` and
 * `logicalType: map` attributes) in the header, which Iceberg readers use to resolve columns by id.
 */

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1

const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});

const LONG = avro.Type.forSchema('long');

/** Avro long that stays a number while safe and becomes a bigint beyond 2^53 (63-bit snapshot ids). */
export const SafeLongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const v = buf.readBigInt64LE();
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  },
  toBuffer: (n: number | bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  },
  fromJSON: (v: unknown) => (typeof v === 'bigint' ? v : Number(v)),
  toJSON: (n: number | bigint) => (typeof n === 'bigint' ? n.toString() : n),
  isValid: (n: unknown) => (typeof n === 'number' && Number.isSafeInteger(n)) || typeof n === 'bigint',
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

export function avroType(schema: object): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: SafeLongType }, wrapUnions: false });
}

export interface AvroFileOptions {
  /** Extra header metadata (Iceberg puts schema, partition-spec, format-version, snapshot-id… here). */
  metadata?: Record<string, string>;
  codec?: 'null' | 'deflate';
  blockSize?: number;
}

export function writeAvroFile(schema: object, records: readonly unknown[], opts: AvroFileOptions = {}): Buffer {
  const type = avroType(schema);
  const codec = opts.codec ?? 'deflate';
  const sync = randomBytes(16);
  const meta: Record<string, Buffer> = { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from(codec) };
  for (const [k, v] of Object.entries(opts.metadata ?? {})) meta[k] = Buffer.from(v);
  const parts: Buffer[] = [HEADER.toBuffer({ magic: MAGIC, meta, sync })];
  const blockRecords = opts.blockSize ?? 1000;
  for (let i = 0; i < records.length; i += blockRecords) {
    const chunk = records.slice(i, i + blockRecords);
    let body: Buffer = Buffer.concat(chunk.map((r) => type.toBuffer(r)));
    if (codec === 'deflate') body = zlib.deflateRawSync(body);
    parts.push(LONG.toBuffer(chunk.length), LONG.toBuffer(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

export interface AvroFile<T> {
  schema: Record<string, unknown>;
  metadata: Record<string, string>;
  records: T[];
}

/** Reads a container file with its own (writer) schema. */
export function readAvroFile<T = Record<string, unknown>>(buf: Buffer, what = 'avro file'): AvroFile<T> {
  try {
    if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error('not an Avro object container file');
    const h = HEADER.decode(buf, 0);
    if (h.offset < 0) throw new Error('truncated header');
    const header = h.value as { meta: Record<string, Buffer>; sync: Buffer };
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(header.meta)) metadata[k] = v.toString('utf8');
    const schema = JSON.parse(metadata['avro.schema']) as Record<string, unknown>;
    const type = avroType(schema);
    const codec = metadata['avro.codec'] ?? 'null';
    if (codec !== 'null' && codec !== 'deflate') throw new Error(`unsupported codec ${codec}`);
    const records: T[] = [];
    let pos = h.offset;
    while (pos < buf.length) {
      const count = LONG.decode(buf, pos);
      const size = LONG.decode(buf, count.offset);
      const start = size.offset;
      const end = start + (size.value as number);
      let body = buf.subarray(start, end);
      if (codec === 'deflate') body = zlib.inflateRawSync(body);
      let p = 0;
      for (let i = 0; i < (count.value as number); i++) {
        const r = type.decode(body, p);
        if (r.offset < 0) throw new Error('truncated block');
        records.push(r.value as T);
        p = r.offset;
      }
      if (!buf.subarray(end, end + 16).equals(header.sync)) throw new Error('sync marker mismatch');
      pos = end + 16;
    }
    return { schema, metadata, records };
  } catch (e) {
    throw new FatalError(ErrorCode.ICEBERG_INVALID, `cannot read ${what}: ${(e as Error).message}`, { cause: e });
  }
}
