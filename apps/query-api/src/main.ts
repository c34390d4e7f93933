import v8 from 'node:v8';
import { createCatalog, createFileIO } from '@k2/iceberg';
import {
  AccessMetrics,
  Exporter,
  createPublicApp,
  HotTier,
  KafkaTail,
  KeyLimits,
  KeyRing,
  KeyStore,
  mountAccessControl,
  mountErrorHandlers,
  mountLivePage,
  mountQueryRoutes,
  startPublicServer,
  QueryEngine,
  QueryMetrics,
  QueryService,
  ReferenceService,
  ReplayMetrics,
  ReplayService,
  type ReplayServiceOptions,
  StreamHub,
  TableView,
  BarsTable,
  TailStore,
  type TailKind,
} from '@k2/query';
import { kafkaConnection, schemaRegistryOptions } from '@k2/kafka';
import { runService } from '@k2/runtime';
import { AvroSerde } from '@k2/serde';
import { CLI } from './cli';
import { loadQueryApiConfig, SERVICE } from './config';
import { heapLimitProblem, TAIL_RECORD_BYTES } from './memory-budget';

const KINDS: readonly TailKind[] = ['trades', 'quotes'];

void runService({
  name: SERVICE,
  cli: CLI,
  config: () => loadQueryApiConfig(),
  start: async (ctx) => {
    const { config, logger, registry, onShutdown, signal } = ctx;
    const heapProblem = heapLimitProblem(config.memory.budget, v8.getHeapStatistics().heap_size_limit);
    if (heapProblem) logger.warn(heapProblem);
    const io = createFileIO(config.s3, { cacheDir: config.cacheDir, cacheMaxBytes: config.cacheMaxBytes });
    onShutdown('file-io', () => io.close());
    const catalog = createCatalog(config.catalog, io, { name: config.catalogName, logger });
    onShutdown('catalog', () => catalog.close());
    const engine = await QueryEngine.create({
      threads: config.duckdbThreads,
      memoryLimit: config.duckdbMemoryLimit,
      connections: config.duckdbConnections,
      // export (issue 16): the Parquet spool is written by DuckDB, so it is allowed too (and nothing else is).
      allowedDirectories: [...config.duckdbAllowedDirs, config.exportSpoolDir],
    });
    onShutdown('duckdb', () => engine.close());
    const metrics = new QueryMetrics(registry);
    const store = new TailStore({ maxRecords: config.tailMaxRecords });
    const hot = config.memory.parts.hot > 0 ? new HotTier({ engine, logger, maxBytes: config.memory.parts.hot }) : undefined;

    const view = (kind: TailKind) =>
      new TableView({
        kind,
        catalog,
        io,
        namespace: config.namespace,
        writerGroupId: config.writerGroupId,
        logger,
        // Same tick as the swap: no request can pair the new snapshot with a tail that still lacks evicted rows,
        // or the old snapshot with a tail that already lost them (requests capture both synchronously).
        onAdvance: (s) => store.evictCommitted(kind, s.offsets),
      });
    const views = { trades: view('trades'), quotes: view('quotes') };

    // Issue 17: whole-minute bars from the writer's bars_1m_v2 when it holds exactly the trades snapshot read.
    const barsTable = new BarsTable({ catalog, io, namespace: config.namespace, engine, logger });
    let tail: KafkaTail | undefined;
    const service = new QueryService({
      bars: barsTable,
      views,
      tail: config.tailEnabled ? { store, isHealthy: () => tail?.isHealthy ?? false } : undefined,
      engine,
      io,
      metrics,
      logger,
      deadlineMs: config.deadlineMs,
      admission: { slots: config.duckdbConnections, queue: config.engineQueue, heavySlots: config.heavySlots, heavyQueue: config.heavyQueue },
      costs: { maxRawRows: config.maxScanRows, maxAggregateRows: config.maxAggregateScanRows, heavyRows: config.heavyScanRows },
      hot,
      minuteBarBytes: config.memory.parts.bars,
    });
    const observeMemory = () => {
      const used: Record<string, number | undefined> = {
        tail: store.size * TAIL_RECORD_BYTES,
        hot: hot?.stats.bytes ?? 0,
        bars: service.minuteBarStats.bytes,
        sse: undefined,
        duckdb: undefined,
      };
      for (const [part, limit] of Object.entries(config.memory.parts)) {
        metrics.memory.set({ part, measure: 'limit' }, limit);
        const u = used[part];
        if (u !== undefined) metrics.memory.set({ part, measure: 'used' }, u);
      }
      metrics.memory.set({ part: 'hot_pending_loads', measure: 'used' }, hot?.stats.pending ?? 0);
      const files = io.cacheStats();
      metrics.memory.set({ part: 'file_cache', measure: 'limit' }, files.maxBytes);
      metrics.memory.set({ part: 'file_cache', measure: 'used' }, files.bytes);
    };
    onShutdown('query-service', () => service.close());
    // export (issue 16): its spool is emptied before the download cache first lists the cache dir.
    const exporter = new Exporter({ service, engine, metrics, logger, deadlineMs: config.exportDeadlineMs, maxRows: config.maxExportRows, spoolDir: config.exportSpoolDir, spoolMaxBytes: config.exportSpoolMaxBytes });
    await exporter.init();

    // Table views: one refresh before the tail starts (its start offsets come from the snapshot), then a loop.
    const refreshAll = async (budgetMs: number) => {
      for (const kind of KINDS) {
        try {
          await service.refreshView(kind, budgetMs);
          metrics.snapshotAge.set({ table: kind }, 0);
          await service.pruneCaches(kind);
        } catch (e) {
          const age = views[kind].state.refreshedAtMs ? (Date.now() - views[kind].state.refreshedAtMs) / 1000 : -1;
          metrics.snapshotAge.set({ table: kind }, age);
          logger.warn('table view refresh failed; answering from the last known snapshot', { table: kind, error: e instanceof Error ? e.message : String(e) });
        }
      }
      await barsTable.refresh().catch((e: unknown) => logger.warn('bars_1m_v2 refresh failed; bars are computed from trades', { error: e instanceof Error ? e.message : String(e) }));
      observeMemory();
    };
    await refreshAll(10_000);
    let refreshing = true;
    const refreshLoop = (async () => {
      while (refreshing && !signal.aborted) {
        await new Promise((r) => setTimeout(r, config.refreshMs));
        if (refreshing) await refreshAll(Math.max(config.refreshMs * 5, 5000));
      }
    })();
    onShutdown('table-refresh', async () => {
      refreshing = false;
      await refreshLoop;
    });

    let hub: StreamHub | undefined;
    let replayKafka: ReplayServiceOptions['kafka'];
    if (config.tailEnabled) {
      const serde = new AvroSerde(schemaRegistryOptions(config));
      const t = new KafkaTail({
        brokers: kafkaConnection(config),
        clientId: SERVICE,
        serde,
        store,
        startOffsets: (kind) => views[kind].state.offsets,
        topics: config.tailTopics,
        logger,
        metrics,
      });
      // Kafka being down at start must not keep the API from answering from Iceberg: connect in the background.
      const connect = async (): Promise<void> => {
        while (!signal.aborted) {
          try {
            await t.start();
            tail = t;
            return;
          } catch (e) {
            metrics.setKafkaHealthy(false);
            logger.warn('kafka tail cannot connect yet; answering from Iceberg only', { error: e instanceof Error ? e.message : String(e) });
            await new Promise((r) => setTimeout(r, 5000));
          }
        }
      };
      const connecting = connect();
      onShutdown('kafka-tail', async () => {
        await connecting;
        await t.stop();
      });
      hub = new StreamHub({ store, metrics, maxClients: config.maxStreamClients, maxBufferedBytes: config.memory.sseClientBytes });
      onShutdown('streams', () => hub?.close());
      // Replay-then-follow (issue 16): Kafka reads back what a live cursor missed.
      replayKafka = { brokers: kafkaConnection(config), clientId: `${SERVICE}-replay`, serde, logger };
    }
    // Replay-then-follow (issue 16): history from the table (and the tail, when on); following live needs the tail.
    const replay = new ReplayService({ views, store, service, logger, follow: config.tailEnabled, metrics: new ReplayMetrics(registry), maxReplays: config.maxStreamClients, kafka: replayKafka });
    onShutdown('replays', () => replay.close());
    // The public port: API, page and stream behind API keys; ctx.app (the ops port) keeps /metrics and the probes.
    const access = new AccessMetrics(registry);
    const limits = new KeyLimits();
    let keys: KeyStore | undefined;
    if (config.auth === 'keys') {
      keys = new KeyStore({ file: config.apiKeysFile, inline: config.apiKeys, pollMs: config.apiKeysPollMs, logger, onChange: (ring) => (access.observeRing(ring), limits.sync(ring.entries)) });
      keys.start();
      onShutdown('api-keys', () => keys?.close());
    } else {
      logger.warn('QUERY_AUTH=none: the API is open to anyone who reaches the port; for local demos only');
    }
    const app = createPublicApp();
    mountLivePage(app, { frameAncestors: config.frameAncestors });
    mountAccessControl(app, { mode: config.auth, ring: () => keys?.ring ?? new KeyRing([]), limits, metrics: access });
    // Reference data (issue 16 part 6): its own view, refreshed when a request finds it older than QUERY_REFRESH_MS.
    const reference = new ReferenceService({
      view: new TableView({ kind: 'reference', catalog, io, namespace: config.namespace, writerGroupId: config.writerGroupId, logger }),
      engine,
      io,
      logger,
      deadlineMs: config.deadlineMs,
      refreshMs: config.refreshMs,
    });
    mountQueryRoutes(app, { service, hub, replay, metrics, logger, version: process.env['npm_package_version'] ?? '0.1.0', reference, exporter });
    mountErrorHandlers(app, { logger, metrics });
    const server = await startPublicServer(app, config.port, config.host, config);
    // Registered last, so it runs first: no new requests, streams ended, queries in flight get the deadline to finish.
    onShutdown('public-http', async () => {
      hub?.close();
      replay.close();
      await server.close(config.deadlineMs + 1000);
    });
    logger.info('query api ready', {
      port: server.port,
      opsPort: ctx.port,
      auth: config.auth,
      catalog: config.catalog.type,
      warehouse: config.catalog.warehouse,
      tail: config.tailEnabled,
      snapshots: Object.fromEntries(KINDS.map((k) => [k, String(views[k].state.snapshotId ?? 'none')])),
      page: `http://127.0.0.1:${server.port}/`,
    });
  },
});
