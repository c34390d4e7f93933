import v8 from 'node:v8';
import os from 'node:os';
import path from 'node:path';
import { AvroSerde } from '@k2/serde';
import { createCatalog, createFileIO, ParquetWriter, type Catalog, type FileIO } from '@k2/iceberg';
import { K2Producer, kafkaConnection, schemaRegistryOptions } from '@k2/kafka';
import { BarsMaintainer, formatMiB, IcebergSink, runMaintenance } from '@k2/lake-sink';
import { TABLE_BY_KIND } from '@k2/lake';
import { runService, type ServiceContext } from '@k2/runtime';
import { writerCli, writerCommand } from './cli';
import { loadIcebergWriterConfig, SERVICE, type IcebergWriterConfig } from './config';

// `iceberg-writer maintain` runs table maintenance once and exits (the Kubernetes CronJob entry point).
const { command, rest } = writerCommand(process.argv.slice(2));

void runService({
  name: command === 'maintain' ? `${SERVICE}-maintenance` : SERVICE,
  cli: writerCli(command, rest),
  config: () => loadIcebergWriterConfig(),
  start: async (ctx) => {
    const { config, logger, registry, readiness, onShutdown } = ctx;
    const io = createFileIO(config.s3);
    const catalog = createCatalog(config.catalog, io, { name: config.catalogName, logger });
    onShutdown('catalog', () => catalog.close());
    // The minute-bar step's DuckDB takes a quarter of the budget's DuckDB share, so both stay inside WRITER_MEMORY_BUDGET.
    const barsDuckdb = config.bars && command !== 'maintain' ? Math.floor(config.memory.duckdb / 4) : 0;
    const duckdbLimit = barsDuckdb ? formatMiB(config.memory.duckdb - barsDuckdb) : config.duckdbMemoryLimit;
    const parquet = await ParquetWriter.create({ tmpDir: config.tmpDir, threads: config.duckdbThreads, memoryLimit: duckdbLimit });
    onShutdown('duckdb', () => parquet.close());
    if (command === 'maintain') {
      const report = await runMaintenance({ catalog, io, parquet, namespace: [...config.namespace], warehouse: config.catalog.warehouse, logger, registry });
      logger.info('maintenance finished', { report });
      void ctx.shutdown('maintenance finished', 0);
      return;
    }
    // The budget covers buffers, dedup and DuckDB; V8 must not keep garbage beyond it either (docs/iceberg-writer.md).
    const heapLimit = v8.getHeapStatistics().heap_size_limit;
    if (heapLimit > config.memory.total) {
      logger.warn('V8 heap limit is above WRITER_MEMORY_BUDGET; set NODE_OPTIONS=--max-old-space-size to the budget minus the DuckDB share', {
        heapLimitMiB: Math.round(heapLimit / 2 ** 20),
        suggestedMiB: Math.round((config.memory.total - config.memory.duckdb) / 2 ** 20),
      });
    }
    const brokers = kafkaConnection(config);
    const dlqProducer = await K2Producer.connect({ brokers, clientId: `${SERVICE}-dlq`, logger });
    onShutdown('dlq-producer', () => dlqProducer.disconnect());
    const serde = new AvroSerde(schemaRegistryOptions(config));
    const bars = config.bars ? await startBars(ctx, catalog, io, formatMiB(barsDuckdb)) : undefined;
    const sink = new IcebergSink({
      brokers,
      groupId: config.groupId,
      clientId: `${SERVICE}-${config.writerId}`,
      writerId: config.writerId,
      serde,
      catalog,
      io,
      parquet,
      dlqProducer,
      commit: config.commit,
      logger,
      registry,
      namespace: [...config.namespace],
      minEventUs: BigInt(Date.parse(config.minEventTime)) * 1000n,
      maxFutureUs: BigInt(config.maxFutureMs) * 1000n,
      memory: config.memory,
      topics: config.topics,
      onCommit: (table) => {
        if (table === TABLE_BY_KIND.trades) bars?.notify();
      },
      consumerExtra: {
        'session.timeout.ms': config.sessionTimeoutMs,
        ...(config.staticMemberId ? { 'group.instance.id': config.staticMemberId } : {}),
      },
    });
    readiness.add({ name: 'iceberg-commits', check: () => assert(sink.isReady(), 'consuming paused: object store or catalog failing') });
    onShutdown('sink', () => sink.stop());
    await sink.start();
    logger.info('iceberg writer consuming', { group: config.groupId, topics: config.topics, catalog: config.catalog.type, warehouse: config.catalog.warehouse, commit: config.commit });
  },
});

/** The minute-bar step (ADR 0024): its own DuckDB, so it never waits on or delays the trades commits. */
async function startBars(ctx: ServiceContext<IcebergWriterConfig>, catalog: Catalog, io: FileIO, memoryLimit: string): Promise<BarsMaintainer> {
  const { config, logger, registry, onShutdown } = ctx;
  // A directory of its own: ParquetWriter.close() removes its directory.
  const tmpDir = path.join(config.tmpDir ?? os.tmpdir(), `k2-bars-${process.pid}`);
  const parquet = await ParquetWriter.create({ tmpDir, threads: 1, memoryLimit });
  onShutdown('bars-duckdb', () => parquet.close());
  const bars = new BarsMaintainer({ catalog, io, parquet, namespace: [...config.namespace], writerId: config.writerId, logger, registry });
  onShutdown('bars', () => bars.stop());
  bars.start();
  return bars;
}

function assert(ok: boolean, reason: string): void {
  if (!ok) throw new Error(reason);
}
