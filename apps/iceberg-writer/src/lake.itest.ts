import { infraEndpoints, uniqueSuffix } from '@k2/testing';
import { compactTable } from '@k2/lake-sink';
import { TRADE_V2_SCHEMA } from '@k2/schema';
import {
  committedRows,
  makeTrades,
  produce,
  pyRead,
  pySqlCatalog,
  sinkTestEnv,
  startSink,
  waitUntil,
  type SinkTestEnv,
} from '@k2/lake-testing';
import { createCatalog, createFileIO, liveDataFiles, ParquetWriter } from '@k2/iceberg';

/** The writer against each real backend the issue names, each checked by PyIceberg. */
describe('iceberg writer backends and table evolution', () => {
  const envs: SinkTestEnv[] = [];
  afterAll(async () => {
    for (const e of envs) await e.close();
  });
  async function newEnv(opts?: Parameters<typeof sinkTestEnv>[0]): Promise<SinkTestEnv> {
    const e = await sinkTestEnv(opts);
    envs.push(e);
    return e;
  }
  const tableName = (env: SinkTestEnv) => `${env.namespace.join('.')}.trades_v2`;

  it('two writer instances in one consumer group land every trade exactly once', async () => {
    const env = await newEnv();
    const a = await startSink(env);
    const b = await startSink(env);
    try {
      // Both members own part of the 6 partitions (2 topics × 3) before any data flows.
      await waitUntil('partitions split between the two writers', () =>
        a.sink.assignedPartitions > 0 && b.sink.assignedPartitions > 0 && a.sink.assignedPartitions + b.sink.assignedPartitions === 6 ? true : undefined,
      );
      for (let i = 0; i < 5; i++) await produce(env, 'trades', makeTrades(env.exchange, 1 + i * 1000, 1000));

      await waitUntil('5000 trades', async () => ((await committedRows(a, env.namespace, 'trades_v2')) >= 5000 ? true : undefined));
    } finally {
      await a.stop();
      await b.stop();
    }
    const t = await a.catalog.loadTable({ namespace: env.namespace, name: 'trades_v2' }).catch(() => undefined);
    const writers = new Set((t?.metadata.snapshots ?? []).map((s) => s.summary['k2.writer-id']).filter(Boolean));
    const read = pyRead(pySqlCatalog(env.catalogUri, env.warehouse), tableName(env));
    expect(read.count).toBe(5000);
    expect(new Set(read.ids).size).toBe(5000);
    expect(writers.size).toBe(2); // both instances committed (3 partitions split between them)
  });

  it('writes to an S3 warehouse (s3proxy) that PyIceberg reads through S3', async () => {
    const env = await newEnv({ warehouse: `s3://k2-warehouse/it-${uniqueSuffix()}` });
    const run = await startSink(env);
    try {
      await produce(env, 'trades', makeTrades(env.exchange, 1, 2000));
      await waitUntil('2000 trades on S3', async () => ((await committedRows(run, env.namespace, 'trades_v2')) === 2000 ? true : undefined));
      const t = await run.catalog.loadTable({ namespace: env.namespace, name: 'trades_v2' });
      expect(t.metadata.location).toMatch(/^s3:\/\/k2-warehouse\//);
      expect(t.metadataLocation).toMatch(/^s3:\/\//);
    } finally {
      await run.stop();
    }
    const read = pyRead(pySqlCatalog(env.catalogUri, env.warehouse), tableName(env));
    expect(read.count).toBe(2000);
  });

  it('commits through a PostgreSQL catalog that PyIceberg SqlCatalog reads', async () => {
    const env = await newEnv({ catalogUri: infraEndpoints().pgUri });
    const run = await startSink(env);
    try {
      await produce(env, 'trades', makeTrades(env.exchange, 1, 1500));
      await waitUntil('1500 trades via PostgreSQL', async () => ((await committedRows(run, env.namespace, 'trades_v2')) === 1500 ? true : undefined));
    } finally {
      await run.stop();
    }
    const read = pyRead(pySqlCatalog(env.catalogUri, env.warehouse), tableName(env));
    expect(read.count).toBe(1500);
  });

  it('commits through the Iceberg REST catalog; PyIceberg reads it via REST', async () => {
    const env = await newEnv();
    const rest = infraEndpoints().icebergRestUri;
    const run = await startSink(env, {}, { type: 'rest', uri: rest, warehouse: undefined });
    try {
      await produce(env, 'trades', makeTrades(env.exchange, 1, 1200));
      await waitUntil('1200 trades via REST', async () => ((await committedRows(run, env.namespace, 'trades_v2')) === 1200 ? true : undefined));
    } finally {
      await run.stop();
    }
    const read = pyRead({ name: 'default', props: { type: 'rest', uri: rest } }, tableName(env));
    expect(read.count).toBe(1200);
  });

  it('adds a column when the registry schema gains an optional field; old rows read as null', async () => {
    const env = await newEnv();
    const run = await startSink(env);
    try {
      const old = makeTrades(env.exchange, 1, 300);
      await produce(env, 'trades', old);
      await waitUntil('300 trades', async () => ((await committedRows(run, env.namespace, 'trades_v2')) === 300 ? true : undefined));
      const base = TRADE_V2_SCHEMA as unknown as { fields: unknown[] };
      const evolvedId = await env.serde.register(env.topics.trades, { ...base, fields: [...base.fields, { name: 'venue', type: ['null', 'string'], default: null }] });
      const fresh = makeTrades(env.exchange, 301, 200).map((t) => ({ ...t, venue: 'XNAS' }));
      await Promise.all(fresh.map((r) => env.producer.send({ topic: env.topics.trades, key: r.symbol, value: env.serde.encode(evolvedId, r) })));
      await waitUntil('500 trades', async () => ((await committedRows(run, env.namespace, 'trades_v2')) === 500 ? true : undefined));
      const t = await run.catalog.loadTable({ namespace: env.namespace, name: 'trades_v2' });
      expect(t.metadata.schemas.length).toBe(2);
      const venue = t.metadata.schemas[1].fields.find((f) => f.name === 'venue')!;
      expect(venue.id).toBe(17);
      expect(venue.required).toBe(false);
      const read = pyRead(pySqlCatalog(env.catalogUri, env.warehouse), tableName(env), [old[0].message_id, fresh[0].message_id]);
      expect(read.schema).toContain('venue');
      expect(read.count).toBe(500);
      expect(read.rows.find((r) => r['message_id'] === old[0].message_id)!['venue']).toBeNull();
      expect(read.rows.find((r) => r['message_id'] === fresh[0].message_id)!['venue']).toBe('XNAS');
    } finally {
      await run.stop();
    }
  });

  it('compaction rewrites small files into fewer files with the same rows, and keeps the offsets', async () => {
    const env = await newEnv();
    const run = await startSink(env, { commit: { intervalMs: 200, maxRows: 100_000, maxBytes: 64 << 20 } });
    try {
      for (let i = 0; i < 5; i++) {
        await produce(env, 'trades', makeTrades(env.exchange, 1 + i * 200, 200));
        const want = (i + 1) * 200;
        await waitUntil(`${want} trades`, async () => ((await committedRows(run, env.namespace, 'trades_v2')) === want ? true : undefined));
      }
    } finally {
      await run.stop();
    }
    const ident = { namespace: env.namespace, name: 'trades_v2' };
    const before = await liveDataFiles(run.io, await run.catalog.loadTable(ident));
    const parquet = await ParquetWriter.create({ threads: 1 });
    const io = createFileIO({ endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false });
    const catalog = createCatalog({ type: 'sql', uri: env.catalogUri, warehouse: env.warehouse }, io);
    try {
      const partitions = await compactTable({ catalog, io, parquet, namespace: env.namespace, logger: env.logger }, ident);
      expect(partitions).toBe(2);
      const t = await catalog.loadTable(ident);
      const after = await liveDataFiles(io, t);
      expect(before.length).toBeGreaterThanOrEqual(10);
      expect(after.length).toBe(2);
      expect(t.metadata.snapshots!.at(-1)!.summary.operation).toBe('replace');
      expect(Object.keys(t.metadata.snapshots!.at(-1)!.summary).some((k) => k.startsWith('k2.kafka.offsets.'))).toBe(true);
    } finally {
      await parquet.close();
      await catalog.close();
    }
    const read = pyRead(pySqlCatalog(env.catalogUri, env.warehouse), tableName(env));
    expect(read.count).toBe(1000);
    expect(new Set(read.ids).size).toBe(1000);
    expect(read.files).toBe(2);
  });
});
