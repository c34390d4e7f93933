import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TradeV2 } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import { dlqTopic, ensureTopics } from '@k2/kafka';
import {
  infraEndpoints,
  readTopicFrom,
  removeScratchTopics,
  scratchExchange,
  startServiceProcess,
  startSimulatorProcess,
  topicEndOffsets,
  waitFor,
  type PartitionOffsets,
  type ServiceProcess,
  type SimulatorHandle,
} from '@k2/testing';

/** How one exchange's streamer is driven black-box against the simulator. */
export interface StreamerUnderTest {
  exchange: 'binance' | 'kraken';
  app: string;
  /** Symbols as configured (env and simulator), and as they appear in records. */
  symbols: string[];
  recordSymbols: string[];
  simArgs: (startId: number) => string[];
  env: (sim: SimulatorHandle) => Record<string, string>;
}

export interface StreamerRun {
  readonly sut: StreamerUnderTest;
  readonly sim: SimulatorHandle;
  streamer: ServiceProcess;
  readonly startId: number;
  readonly topics: { trades: string; quotes: string; dlq: string };
  readonly from: { trades: PartitionOffsets; quotes: PartitionOffsets; dlq: PartitionOffsets };
  readonly env: Record<string, string>;
  readonly journal: string;
}

const { kafkaBrokers, registryUrl } = infraEndpoints();
const serde = new AvroSerde({ registryUrl });

export async function startStreamerRun(sut: StreamerUnderTest, extraSimArgs: string[] = [], extraEnv: Record<string, string> = {}): Promise<StreamerRun> {
  // Ids unique to this run and above every earlier run's (a streamer resuming from the topic drops ids at or
  // below the last one published): 1000 ids per elapsed millisecond, far more than a run generates.
  const startId = Date.now() * 1000;
  const sim = await startSimulatorProcess([...sut.simArgs(startId), ...extraSimArgs]);
  // Scratch topics (k2test…, via FEED_TOPIC_EXCHANGE): never the platform's, which a user's `npm start` reads;
  // deleted by stopStreamerRun.
  const topicExchange = scratchExchange('test', sut.exchange);
  const topics = {
    trades: `market.crypto.trades.${topicExchange}`,
    quotes: `market.crypto.quotes.${topicExchange}`,
    dlq: `market.crypto.trades.${topicExchange}.dlq`,
  };
  await ensureTopics(kafkaBrokers, [topics.trades, topics.quotes].flatMap((topic) => [{ topic }, { topic: dlqTopic(topic), partitions: 1 }]));
  const ends = (topic: string) =>
    waitFor(`end offsets of ${topic}`, () => topicEndOffsets(kafkaBrokers, topic).catch(() => undefined), 60000, 1000);
  const from = { trades: await ends(topics.trades), quotes: await ends(topics.quotes), dlq: await ends(topics.dlq) };
  const journal = fs.mkdtempSync(path.join(os.tmpdir(), `k2-${sut.exchange}-journal-`));
  const env = {
    KAFKA_BROKERS: kafkaBrokers,
    SCHEMA_REGISTRY_URL: registryUrl,
    FEED_BACKOFF_INITIAL_MS: '200',
    FEED_BACKOFF_MAX_MS: '2000',
    FEED_STABLE_AFTER_MS: '500',
    FEED_STALE_TIMEOUT_MS: '3000',
    FEED_JOURNAL_DIR: journal,
    FEED_RESUME_FROM_KAFKA: 'false',
    FEED_TOPIC_EXCHANGE: topicExchange,
    ...sut.env(sim),
    ...extraEnv,
  };
  const streamer = await startServiceProcess(sut.app, env);
  await waitForConnection(sut, streamer);
  return { sut, sim, streamer, startId, topics, from, env, journal };
}

export async function waitForConnection(sut: StreamerUnderTest, streamer: ServiceProcess): Promise<void> {
  await waitFor(`${sut.app} connected`, async () => ((await streamer.metric(`k2_${sut.exchange}_connection_status`)) >= 1) || undefined, 30000);
}

export async function stopStreamerRun(r: StreamerRun | undefined): Promise<void> {
  if (!r) return;
  await r.streamer.kill('SIGTERM');
  await r.sim.stop();
  fs.rmSync(r.journal, { recursive: true, force: true });
  await removeScratchTopics(kafkaBrokers, registryUrl, [r.topics.trades, r.topics.quotes]);
}

/** This run's trades in the topic, by record symbol: trade id → copies. */
export async function tradesInTopic(r: StreamerRun): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>(r.sut.recordSymbols.map((s) => [s, new Map()]));
  const exchange = r.sut.exchange.toUpperCase();
  for (const m of await readTopicFrom(kafkaBrokers, r.topics.trades, r.from.trades)) {
    if (!m.value) continue;
    const t = await serde.decode<TradeV2>(m.value);
    const ids = out.get(t.symbol);
    if (t.exchange !== exchange || !ids) continue;
    ids.set(t.trade_id, (ids.get(t.trade_id) ?? 0) + 1);
  }
  return out;
}

export interface ExactlyOnceResult {
  total: number;
  perSymbol: Record<string, number>;
}

/**
 * Pauses the simulator's generation, then waits until the topic holds every simulator trade id; asserts there is
 * nothing else and nothing twice. Throws with the missing counts and the streamer's last log lines otherwise.
 */
export async function expectExactlyOnce(r: StreamerRun, timeoutMs = 90000): Promise<ExactlyOnceResult> {
  await r.sim.pause();
  const tape = new Map<string, string[]>();
  for (let i = 0; i < r.sut.symbols.length; i++) {
    tape.set(r.sut.recordSymbols[i] as string, await r.sim.tradeIds(r.sut.exchange, r.sut.symbols[i] as string));
  }
  let last = new Map<string, Map<string, number>>();
  // The streamer owes every trade from the first one it saw: trades the simulator made before the streamer's
  // first connection (without a resume point) are history, not loss.
  const truth = new Map<string, string[]>();
  const owed = () => {
    for (const [sym, ids] of tape) {
      const seen = [...(last.get(sym)?.keys() ?? [])].map(BigInt);
      const from = seen.length ? seen.reduce((a, b) => (b < a ? b : a)) : 0n;
      truth.set(sym, ids.filter((id) => BigInt(id) >= from));
    }
  };
  const missing = () =>
    [...truth.entries()]
      .map(([s, ids]) => {
        const gone = ids.filter((id) => !last.get(s)?.has(id));
        return [s, gone.length, ranges(gone)] as const;
      })
      .filter(([, n]) => n > 0);
  try {
    await waitFor(
      'every simulator trade in Kafka',
      async () => {
        try {
          last = await tradesInTopic(r);
        } catch {
          return undefined; // the broker may still be electing leaders after a restart
        }
        owed();
        return missing().length === 0 || undefined;
      },
      timeoutMs,
      1000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; missing ${JSON.stringify(missing())}\n${r.streamer.output.slice(-40).join('\n')}`);
  }
  const problems: string[] = [];
  const perSymbol: Record<string, number> = {};
  for (const [s, want] of truth) {
    const got = last.get(s) as Map<string, number>;
    const wanted = new Set(want);
    const extra = [...got.keys()].filter((id) => !wanted.has(id));
    const twice = [...got.entries()].filter(([, n]) => n !== 1);
    if (want.length === 0) problems.push(`${s}: simulator produced no trades`);
    if (extra.length) problems.push(`${s}: ${extra.length} ids not in the simulator tape, e.g. ${extra.slice(0, 3).join(',')}`);
    if (twice.length) problems.push(`${s}: ${twice.length} ids more than once, e.g. ${JSON.stringify(twice.slice(0, 3))}`);
    perSymbol[s] = want.length;
  }
  if (problems.length) throw new Error(`${problems.join('; ')}\n${r.streamer.output.filter((l) => !l.includes('"level":"debug"')).slice(-30).join('\n')}`);
  return { total: Object.values(perSymbol).reduce((a, b) => a + b, 0), perSymbol };
}

export async function dlqRecords(r: StreamerRun): Promise<Array<Record<string, string>>> {
  return (await readTopicFrom(kafkaBrokers, r.topics.dlq, r.from.dlq)).map((m) => JSON.parse((m.value as Buffer).toString()) as Record<string, string>);
}

export const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "5-9,12" style summary of sorted numeric id strings. */
function ranges(ids: string[]): string {
  const out: string[] = [];
  let start: bigint | undefined;
  let prev: bigint | undefined;
  for (const id of ids.map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (prev !== undefined && id === prev + 1n) {
      prev = id;
      continue;
    }
    if (start !== undefined) out.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = prev = id;
  }
  if (start !== undefined) out.push(start === prev ? `${start}` : `${start}-${prev}`);
  return out.slice(0, 20).join(',');
}
