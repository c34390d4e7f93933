import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dlqTopic, ensureTopics } from '@k2/kafka';
import { mintApiKey, writeKeysFile } from '@k2/query';
import {
  freePort,
  infraEndpoints,
  removeScratchTopics,
  repoRoot,
  scratchExchange,
  startServiceProcess,
  startSimulatorProcess,
  topicEndOffsets,
  uniqueSuffix,
  waitFor,
  type PartitionOffsets,
  type ServiceProcess,
  type SimulatorHandle,
} from '@k2/testing';
import type { ApiTarget } from './api';
import type { E2eProfile } from './profile';

/**
 * The whole platform as separate processes, wired like `npm start` with K2_FEEDS=simulated but isolated per run:
 * the exchange simulator, both streamers, the ASX loader, the Iceberg writer (PostgreSQL catalog, S3 warehouse)
 * and the query API, all against the real local Kafka, registry, PostgreSQL and S3 (tools/infra/infra.sh).
 *
 * Every topic is a scratch topic of this run (`market.crypto.*.k2teste2eb…`/`k2teste2ek…` through the streamers'
 * FEED_TOPIC_EXCHANGE, `market.equities.*.k2teste2e…` through the loader's ASX_TOPIC_EXCHANGE), deleted at the end:
 * the platform's own topics, which a user's `npm start` reads, are never written. The simulator's ids still start at
 * Date.now()·1000 (a resuming streamer drops ids at or below the last one in the topic).
 * The Iceberg namespace, the warehouse prefix and the writer's consumer group are new, so the tables hold exactly
 * what this run's writer wrote.
 */

export const SERVICES = ['binance-streamer', 'kraken-streamer', 'asx-batch-loader', 'iceberg-writer', 'query-api'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const BINANCE_SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
export const KRAKEN_SYMBOLS = ['BTC/USD', 'ETH/USD'];
/** Kraken's symbols as they appear in V2 records. */
export const KRAKEN_RECORD_SYMBOLS = ['BTCUSD', 'ETHUSD'];

export interface CryptoTopics {
  binance: { trades: string; quotes: string };
  kraken: { trades: string; quotes: string };
}

export interface Platform {
  readonly suffix: string;
  readonly startId: number;
  readonly sim: SimulatorHandle;
  readonly services: Record<ServiceName, ServiceProcess>;
  readonly ports: Record<ServiceName, number>;
  readonly topics: CryptoTopics & { asx: { trades: string; quotes: string; reference: string } };
  /** End offsets of the crypto topics before the streamers started: this run's records are after them. */
  readonly from: Map<string, PartitionOffsets>;
  readonly namespace: string;
  readonly catalogUri: string;
  readonly warehouse: string;
  readonly writerGroup: string;
  /** query-api's public port and key; `services['query-api'].baseUrl` is its ops port. */
  readonly api: ApiTarget;
  kill(name: ServiceName): Promise<void>;
  restart(name: ServiceName): Promise<ServiceProcess>;
  /** Last lines of every service's output, for failure messages. */
  outputTail(lines?: number): string;
  close(): Promise<void>;
}

const root = repoRoot();

export async function startPlatform(profile: E2eProfile): Promise<Platform> {
  const ep = infraEndpoints();
  const suffix = uniqueSuffix().replace(/[^a-z0-9]/g, '');
  const startId = Date.now() * 1000;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-e2e-'));
  // Every process' full output, across restarts, for the post-mortem of a failed run.
  const logDir = path.join(root, 'dist', 'test-artifacts', 'e2e-logs');
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  // A scratch exchange (k2test…): no platform subscription names these topics, and close() deletes them.
  const asxExchange = scratchExchange('test', 'e2e');
  // Scratch exchanges for the streamers too (FEED_TOPIC_EXCHANGE): the platform's binance/kraken topics are a user's.
  const cryptoExchange = { binance: scratchExchange('test', 'e2eb'), kraken: scratchExchange('test', 'e2ek') };
  const cryptoTopics = (exchange: string) => ({ trades: `market.crypto.trades.${exchange}`, quotes: `market.crypto.quotes.${exchange}` });
  const topics = {
    binance: cryptoTopics(cryptoExchange.binance),
    kraken: cryptoTopics(cryptoExchange.kraken),
    asx: { trades: `market.equities.trades.${asxExchange}`, quotes: `market.equities.quotes.${asxExchange}`, reference: `market.equities.reference.${asxExchange}` },
  };
  const crypto = [topics.binance.trades, topics.binance.quotes, topics.kraken.trades, topics.kraken.quotes];
  await ensureTopics(ep.kafkaBrokers, [
    ...crypto.flatMap((topic) => [{ topic }, { topic: dlqTopic(topic), partitions: 1 }]),
    ...Object.values(topics.asx).flatMap((topic) => [{ topic }, { topic: dlqTopic(topic), partitions: 1 }]),
  ]);
  const from = new Map<string, PartitionOffsets>();
  for (const t of crypto) from.set(t, await waitFor(`end offsets of ${t}`, () => topicEndOffsets(ep.kafkaBrokers, t).catch(() => undefined), 60_000, 1000));

  const namespace = `e2e_${suffix}`;
  const catalogUri = ep.pgUri;
  const warehouse = `s3://k2-warehouse/e2e-${suffix}`;
  const writerGroup = `e2e-writer-${suffix}`;
  const tailTopics = [...crypto, topics.asx.trades, topics.asx.quotes];
  const dataTopics = [...tailTopics, topics.asx.reference];
  // query-api runs with API keys as in production: one key for the run's checks, high limits (a probe polls 4 Hz).
  const apiKey = mintApiKey({ name: 'e2e', rate_per_s: 10_000, burst: 10_000, max_concurrency: 64, max_streams: 16 });
  const keysFile = path.join(work, 'query-api-keys.json');
  writeKeysFile(keysFile, [apiKey.entry]);
  const apiPort = await freePort();
  const base = { KAFKA_BROKERS: ep.kafkaBrokers, SCHEMA_REGISTRY_URL: ep.registryUrl, LOG_LEVEL: 'info' };
  const s3 = { S3_ENDPOINT: ep.s3Endpoint, S3_ACCESS_KEY: ep.s3AccessKey, S3_SECRET_KEY: ep.s3SecretKey, S3_FORCE_PATH_STYLE: 'true', S3_REGION: 'us-east-1' };
  const lake = { ...s3, ICEBERG_CATALOG: 'sql', ICEBERG_CATALOG_URI: catalogUri, ICEBERG_WAREHOUSE: warehouse, ICEBERG_NAMESPACE: namespace };

  const sim = await startSimulatorProcess([
    '--binance-symbols', BINANCE_SYMBOLS.join(','),
    '--kraken-symbols', KRAKEN_SYMBOLS.join(','),
    '--rate', String(profile.rate),
    '--binance-start-id', String(startId),
    '--binance-book-start-id', String(startId),
    '--kraken-start-id', String(startId),
    '--ping-interval-ms', '1000',
  ]);

  // Fast reconnects and stale detection (seconds, not the production minutes) so faults fit a test run; the journal
  // directory outlives a SIGKILL, as a pod's volume would.
  const feed = (exchange: 'binance' | 'kraken') => ({
    ...base,
    FEED_BACKOFF_INITIAL_MS: '200',
    FEED_BACKOFF_MAX_MS: '2000',
    FEED_STABLE_AFTER_MS: '500',
    FEED_STALE_TIMEOUT_MS: '3000',
    FEED_BREAKER_RESET_MS: '1000',
    KAFKA_DELIVERY_TIMEOUT_MS: '5000',
    // A first start is a new deployment: earlier runs' ids in the shared topics are not this exchange's history
    // (resuming from them would declare the ids in between lost). Restarts resume from the topic (see `start`).
    FEED_RESUME_FROM_KAFKA: 'false',
    FEED_JOURNAL_DIR: path.join(work, `journal-${exchange}`),
    FEED_TOPIC_EXCHANGE: cryptoExchange[exchange],
  });
  const envs: Record<ServiceName, Record<string, string>> = {
    'binance-streamer': { ...feed('binance'), BINANCE_WS_URLS: sim.binance.ws, BINANCE_REST_URL: sim.binance.rest, BINANCE_SYMBOLS: BINANCE_SYMBOLS.join(',') },
    'kraken-streamer': { ...feed('kraken'), KRAKEN_WS_URLS: sim.kraken.ws, KRAKEN_REST_URL: sim.kraken.rest, KRAKEN_SYMBOLS: KRAKEN_SYMBOLS.join(',') },
    'asx-batch-loader': {
      ...base,
      ...s3,
      ASX_INPUT: path.join(root, 'data', 'asx-sample'),
      ASX_TOPIC_EXCHANGE: asxExchange,
      ASX_CHECKPOINT_DIR: path.join(work, 'asx-checkpoints'),
      ASX_REJECT_FILE: path.join(work, 'asx-rejects.jsonl'),
      ASX_STAY_ALIVE: 'true',
    },
    'iceberg-writer': {
      ...base,
      ...lake,
      WRITER_GROUP_ID: writerGroup,
      // Static membership, as the StatefulSet runs it: a restarted writer takes its partitions back at once.
      WRITER_ID: `e2e-writer-0-${suffix}`,
      WRITER_TOPICS: dataTopics.join(','),
      WRITER_COMMIT_INTERVAL_MS: String(profile.writerCommitMs),
      WRITER_DUCKDB_THREADS: '1',
      WRITER_TMP_DIR: path.join(work, 'writer-tmp'),
      // The writer's 10 s debug heartbeat has each partition's position: what a stuck partition needs explained.
      LOG_LEVEL: 'debug',
    },
    'query-api': {
      ...base,
      ...lake,
      // The public port stays the same across restarts, like the ops port (ports below).
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      QUERY_API_KEYS_FILE: keysFile,
      QUERY_WRITER_GROUP_ID: writerGroup,
      QUERY_TAIL_TOPICS: tailTopics.join(','),
      QUERY_CACHE_DIR: path.join(work, 'query-cache'),
      QUERY_REFRESH_MS: '1000',
      LOG_LEVEL: 'warn',
    },
  };
  fs.mkdirSync(envs['iceberg-writer']['WRITER_TMP_DIR'] as string, { recursive: true });
  fs.mkdirSync(envs['query-api']['QUERY_CACHE_DIR'] as string, { recursive: true });

  const services = {} as Record<ServiceName, ServiceProcess>;
  const ports = {} as Record<ServiceName, number>;
  const start = async (name: ServiceName) => {
    const restart = services[name] !== undefined;
    const env = restart && name.endsWith('-streamer') ? { ...envs[name], FEED_RESUME_FROM_KAFKA: 'true' } : envs[name];
    const p = await startServiceProcess(name, env, { port: ports[name], startTimeoutMs: 120_000, logFile: path.join(logDir, `${name}.log`) });
    services[name] = p;
    ports[name] = p.port;
    return p;
  };
  const platform: Platform = {
    suffix,
    startId,
    sim,
    services,
    ports,
    topics,
    from,
    namespace,
    catalogUri,
    warehouse,
    writerGroup,
    api: { url: `http://127.0.0.1:${apiPort}`, key: apiKey.key },
    kill: async (name) => void (await services[name].kill('SIGKILL')),
    restart: start,
    outputTail: (lines = 25) =>
      SERVICES.filter((s) => services[s])
        .map((s) => `--- ${s}\n${services[s].output.filter((l) => !l.includes('"level":"debug"')).slice(-lines).join('\n')}`)
        .join('\n'),
    close: async () => {
      for (const s of SERVICES) await services[s]?.kill('SIGTERM');
      await sim.stop();
      fs.rmSync(work, { recursive: true, force: true });
      await removeScratchTopics(ep.kafkaBrokers, ep.registryUrl, [...crypto, ...Object.values(topics.asx)]);
    },
  };

  try {
    // The ASX sample first: its topics then exist when the writer subscribes (a listed topic created later only
    // joins at the next metadata refresh), and the writer starts with a backlog to catch up on.
    await start('asx-batch-loader');
    await waitFor('ASX sample loaded', () => services['asx-batch-loader'].output.find((l) => l.includes('batch finished')), 180_000, 500);
    await start('binance-streamer');
    await start('kraken-streamer');
    await start('iceberg-writer');
    await start('query-api');
    await waitFor('query-api ready', async () => ((await fetch(`${services['query-api'].baseUrl}/readyz`)).ok ? true : undefined), 120_000, 500);
  } catch (err) {
    const tail = platform.outputTail();
    await platform.close();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  return platform;
}
