import { ErrorCode, FatalError } from '@k2/core';
import type { IcebergType, NestedField, PrimitiveType, Schema } from './spec';
import { maxFieldId } from './metadata';

/**
 * Avro record schema (as registered in the schema registry) → Iceberg schema.
 *  - string/enum → string; int, long, boolean, float, double as they are; bytes+decimal(p,s) → decimal(p, s);
 *    long+timestamp-micros → timestamptz (V2 times are UTC instants); int+date → date
 *  - array<primitive> → list<…>; map<string,string> → string holding JSON (the seeds store vendor_data as JSON
 *    text so engines without map support can read it)
 *  - ["null", T] → optional T; anything else is required.
 * Ids: existing columns keep their id (matched by name), new columns get ids after `lastColumnId`, top-level
 * fields first and nested ids after them — the order Java's TypeUtil.assignFreshIds uses, so a REST catalog
 * that reassigns ids on create ends with the same ids we would pick.
 */
export interface AvroField {
  name: string;
  type: unknown;
  doc?: string;
}

export interface ColumnSource {
  /** How a decoded Avro value becomes the Iceberg value. */
  kind: 'plain' | 'json-map';
}

export interface MappedSchema {
  schema: Schema;
  /** Per top-level Iceberg field id: how to convert the Avro value. */
  sources: Map<number, ColumnSource>;
  lastColumnId: number;
  /** True when fields were added relative to `base`. */
  changed: boolean;
}

interface Mapped {
  type: IcebergType | ((nextId: () => number) => IcebergType);
  required: boolean;
  source: ColumnSource;
}

function unsupported(field: string, t: unknown): never {
  throw new FatalError(ErrorCode.ICEBERG_INVALID, `Avro field "${field}" has a type Iceberg tables here cannot hold: ${JSON.stringify(t)}`);
}

function primitive(field: string, t: unknown): PrimitiveType {
  if (typeof t === 'string') {
    switch (t) {
      case 'string':
      case 'int':
      case 'long':
      case 'boolean':
      case 'float':
      case 'double':
        return t;
      case 'bytes':
        return 'binary';
      default:
        return unsupported(field, t);
    }
  }
  const o = t as { type: string; logicalType?: string; precision?: number; scale?: number; symbols?: string[] };
  if (o.type === 'enum') return 'string';
  if (o.logicalType === 'decimal' && (o.type === 'bytes' || o.type === 'fixed')) return `decimal(${o.precision ?? 0}, ${o.scale ?? 0})`;
  if (o.logicalType === 'timestamp-micros' && o.type === 'long') return 'timestamptz';
  if (o.logicalType === 'date' && o.type === 'int') return 'date';
  if (o.logicalType === undefined || o.logicalType === null) return primitive(field, o.type);
  return unsupported(field, t);
}

function mapType(field: string, t: unknown): Mapped {
  if (Array.isArray(t)) {
    const nonNull = t.filter((x) => x !== 'null');
    if (nonNull.length !== 1 || nonNull.length === t.length) return unsupported(field, t);
    return { ...mapType(field, nonNull[0]), required: false };
  }
  const o = t as { type?: string; items?: unknown; values?: unknown };
  if (o && typeof o === 'object' && o.type === 'array') {
    const element = primitive(field, o.items);
    return { type: (nextId) => ({ type: 'list', 'element-id': nextId(), element, 'element-required': true }), required: true, source: { kind: 'plain' } };
  }
  if (o && typeof o === 'object' && o.type === 'map') {
    if (primitive(field, o.values) !== 'string') return unsupported(field, t);
    return { type: 'string', required: true, source: { kind: 'json-map' } };
  }
  return { type: primitive(field, t), required: true, source: { kind: 'plain' } };
}

export interface SchemaMappingOptions {
  /**
   * Avro string fields that become Iceberg `uuid` (16 bytes in Parquet) when they are new columns, e.g. a new
   * table's message_id (ADR 0022). Existing columns always keep their type: string → uuid is no legal promotion.
   */
  uuidColumns?: readonly string[];
}

export function avroToIcebergSchema(avroFields: readonly AvroField[], base?: Schema, baseLastColumnId?: number, opts: SchemaMappingOptions = {}): MappedSchema {
  let last = baseLastColumnId ?? (base ? maxFieldId(base.fields) : 0);
  const nextId = () => ++last;
  const byName = new Map((base?.fields ?? []).map((f) => [f.name, f]));
  const fields: NestedField[] = base ? base.fields.map((f) => ({ ...f })) : [];
  const sources = new Map<number, ColumnSource>();
  const pendingNested: Array<() => void> = [];
  let changed = false;
  for (const af of avroFields) {
    const m = mapType(af.name, af.type);
    if (m.type === 'string' && m.source.kind === 'plain' && opts.uuidColumns?.includes(af.name)) m.type = 'uuid';
    const existing = byName.get(af.name);
    if (existing) {
      sources.set(existing.id, m.source);
      continue;
    }
    changed = true;
    const id = nextId();
    const f: NestedField = { id, name: af.name, required: base ? false : m.required, type: 'string', ...(af.doc ? { doc: af.doc } : {}) };
    if (typeof m.type === 'function') {
      const build = m.type;
      pendingNested.push(() => (f.type = build(nextId)));
    } else f.type = m.type;
    fields.push(f);
    sources.set(id, m.source);
  }
  pendingNested.forEach((fn) => fn());
  const schemaId = base ? (changed ? base['schema-id'] + 1 : base['schema-id']) : 0;
  return { schema: { type: 'struct', 'schema-id': schemaId, fields }, sources, lastColumnId: last, changed };
}
