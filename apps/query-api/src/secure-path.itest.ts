import fs from 'node:fs';
import path from 'node:path';
import { createCatalog, createFileIO } from '@k2/iceberg';
import { committedRows, infraS3, sinkTestEnv, type SinkTestEnv } from '@k2/lake-testing';
import { secureKafkaEndpoint, startServiceProcess, startSimulatorProcess, waitFor, type ServiceProcess, type SimulatorHandle } from '@k2/testing';
import { startQueryApi, type QueryApiProcess } from '../test/api-process';

/**
 * Issue 18 item 1, the whole path over the broker's SASL_SSL listener (TLS with the local CA, SCRAM-SHA-512): the
 * real binance-streamer (user `streamer`) → Kafka → the real iceberg-writer (user `writer`) → Iceberg → the real
 * query-api (user `query`, which may only read). The PLAINTEXT listener is used only to create and delete the
 * scratch topics.
 */
const secure = secureKafkaEndpoint();
const SYMBOL = 'BTCUSDT';

let env: SinkTestEnv;
let sim: SimulatorHandle | undefined;
let streamer: ServiceProcess | undefined;
let writer: ServiceProcess | undefined;
let api: QueryApiProcess | undefined;

beforeAll(async () => {
  env = await sinkTestEnv();
  sim = await startSimulatorProcess(['--exchanges', 'binance', '--binance-symbols', SYMBOL, '--binance-start-id', String(Date.now() * 1000), '--rate', '50']);
  const journal = fs.mkdtempSync(path.join(env.dir, 'journal-'));
  streamer = await startServiceProcess('binance-streamer', {
    ...secure.serviceEnv('streamer'),
    SCHEMA_REGISTRY_URL: env.registryUrl,
    BINANCE_WS_URLS: sim.binance.ws,
    BINANCE_REST_URL: sim.binance.rest,
    BINANCE_SYMBOLS: SYMBOL,
    FEED_TOPIC_EXCHANGE: env.exchange,
    FEED_JOURNAL_DIR: journal,
    FEED_RESUME_FROM_KAFKA: 'false',
    LOG_LEVEL: 'warn',
  });
  const lake = { ICEBERG_CATALOG: 'sql', ICEBERG_CATALOG_URI: env.catalogUri, ICEBERG_WAREHOUSE: env.warehouse, ICEBERG_NAMESPACE: env.namespace.join('.') };
  // The writer's ACL covers consumer groups named k2-iceberg-writer*.
  const group = `k2-iceberg-writer-secure-${env.suffix}`;
  writer = await startServiceProcess('iceberg-writer', {
    ...secure.serviceEnv('writer'),
    ...lake,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    WRITER_GROUP_ID: group,
    WRITER_TOPICS: env.topicList,
    WRITER_COMMIT_INTERVAL_MS: '1000',
    WRITER_DUCKDB_THREADS: '1',
    LOG_LEVEL: 'warn',
  });
  api = await startQueryApi({ ...secure.serviceEnv('query'), ...lake, SCHEMA_REGISTRY_URL: env.registryUrl, QUERY_WRITER_GROUP_ID: group, QUERY_TAIL_TOPICS: env.topicList, QUERY_REFRESH_MS: '200', LOG_LEVEL: 'warn' });
});

afterAll(async () => {
  await streamer?.kill('SIGTERM');
  await sim?.stop();
  await writer?.kill('SIGTERM');
  await api?.kill('SIGTERM');
  await env?.close();
});

describe('streamer → broker → writer → API over SASL_SSL (issue 18)', () => {
  it('lands live trades in Iceberg and answers them from the API, every hop authenticated', async () => {
    const io = createFileIO(infraS3());
    const catalog = createCatalog({ type: 'sql', uri: env.catalogUri, warehouse: env.warehouse }, io);
    try {
      const rows = await waitFor('trades committed by the writer', async () => {
        const n = await committedRows({ catalog, io }, env.namespace, 'trades_v2').catch(() => 0);
        return n > 0 ? n : undefined;
      }, 120_000, 1000);
      expect(rows).toBeGreaterThan(0);
      const start = new Date(Date.now() - 3600_000).toISOString();
      const end = new Date(Date.now() + 3600_000).toISOString();
      const data = await waitFor('trades from the API', async () => {
        const res = await api!.get(`/v1/trades?symbol=${SYMBOL}&exchange=BINANCE&start=${start}&end=${end}&limit=1000`);
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { data: Array<{ symbol: string; exchange: string }> };
        return body.data.length >= rows ? body.data : undefined;
      }, 60_000, 500);
      expect(data.every((t) => t.symbol === SYMBOL && t.exchange === 'BINANCE')).toBe(true);
      // Every service ran with its own SCRAM user; none fell back or stopped.
      for (const p of [streamer!, writer!, api!]) expect(p.output.join('\n')).not.toMatch(/authorization failed|authentication failed/i);
      // No log line of any of them holds a SCRAM password (issue 18: no password in any log line of any service).
      const passwords = (['streamer', 'writer', 'query'] as const).map((u) => fs.readFileSync(secure.passwordFile(u), 'utf8').trim());
      for (const p of [streamer!, writer!, api!]) expect(passwords.filter((pw) => p.output.join('\n').includes(pw))).toEqual([]);
      expect(await streamer!.metric('k2_binance_connection_status')).toBeGreaterThanOrEqual(1);
    } finally {
      await catalog.close();
    }
  });
});
