import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import Kafka from 'node-rdkafka';
import { AsxLoader, resolveSources, RowIdFactory, s3ClientFor, type AsxLoadOptions, type FileCheckpoint, type RejectRecord } from '@k2/asx';
import { createLogger } from '@k2/core';
import { dlqTopic } from '@k2/kafka';
import { messageId, type TradeV2 } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import { infraEndpoints, removeScratchTopics, repoRoot, sampleTrades, scratchExchange, uniqueSuffix, waitFor } from '@k2/testing';

const ep = infraEndpoints();
const ROOT = repoRoot();
const SAMPLE = path.join(ROOT, 'data/asx-sample');
const logger = createLogger({ service: 'asx-itest', silent: true });
const serde = new AvroSerde({ registryUrl: ep.registryUrl });
const work = mkdtempSync(path.join(tmpdir(), 'asx-itest-'));
const s3Config = { endpoint: ep.s3Endpoint, region: 'us-east-1', accessKeyId: ep.s3AccessKey, secretAccessKey: ep.s3SecretKey, forcePathStyle: true };

const topicsOf = (exchange: string) => ({
  trades: `market.equities.trades.${exchange}`,
  quotes: `market.equities.quotes.${exchange}`,
  reference: `market.equities.reference.${exchange}`,
});

/** Scratch exchanges (k2test…): no platform subscription names their topics, and they are deleted at the end. */
const scratchTopics: string[] = [];
function testExchange(label: string): string {
  const exchange = scratchExchange('test', label);
  scratchTopics.push(...Object.values(topicsOf(exchange)));
  return exchange;
}
afterAll(() => removeScratchTopics(ep.kafkaBrokers, ep.registryUrl, scratchTopics));

interface Read {
  key: string;
  partition: number;
  offset: number;
  value: Buffer;
}

/** Every message of a topic, read by direct assignment up to its current end (throws rather than stop short). */
async function readTopic(topic: string, partitions = topic.endsWith('.dlq') ? 1 : 3): Promise<Read[]> {
  const out: Read[] = [];
  const c = new Kafka.KafkaConsumer({ 'metadata.broker.list': ep.kafkaBrokers, 'group.id': `asx-itest-${uniqueSuffix()}`, 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((res, rej) => c.connect({ timeout: 15000 }, (e) => (e ? rej(e) : res())));
  try {
    const ends = new Map<number, number>();
    for (let p = 0; p < partitions; p++) {
      const w = await new Promise<{ highOffset: number }>((res, rej) => c.queryWatermarkOffsets(topic, p, 10000, (e, o) => (e ? rej(e) : res(o))));
      if (w.highOffset > 0) ends.set(p, w.highOffset);
    }
    c.assign([...ends.keys()].map((partition) => ({ topic, partition, offset: 0 })));
    c.setDefaultConsumeTimeout(200);
    const deadline = Date.now() + 120000;
    while (ends.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} timed out`);
      const batch = await new Promise<Array<{ partition: number; offset: number; key?: unknown; value: Buffer | null }>>((res, rej) =>
        c.consume(10000, (e, m) => (e ? rej(e) : res(m))),
      );
      for (const m of batch) {
        out.push({ key: String(m.key), partition: m.partition, offset: m.offset, value: m.value ?? Buffer.alloc(0) });
        if (m.offset >= (ends.get(m.partition) ?? Infinity) - 1) ends.delete(m.partition);
      }
    }
  } finally {
    await new Promise<void>((res) => c.disconnect(() => res()));
  }
  return out;
}

async function readTrades(topic: string): Promise<Array<TradeV2 & { key: string; partition: number; offset: number }>> {
  const msgs = await readTopic(topic);
  const out = [];
  for (const m of msgs) out.push({ ...(await serde.decode<TradeV2>(m.value)), key: m.key, partition: m.partition, offset: m.offset });
  return out;
}

function loadOptions(exchange: string, input: AsxLoadOptions['input'], extra: Partial<AsxLoadOptions> = {}): AsxLoadOptions {
  return {
    input,
    brokers: ep.kafkaBrokers,
    registryUrl: ep.registryUrl,
    logger,
    checkpointDir: mkdtempSync(path.join(work, 'cp-')),
    topicExchange: exchange,
    progress: false,
    s3: s3Config,
    ...extra,
  };
}

const sampleLines = (file: string) => readFileSync(path.join(SAMPLE, file), 'utf8').split('\r\n').filter(Boolean);
const count = <T>(xs: T[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<T, number>());

describe('asx-batch-loader against the real Kafka and schema registry', () => {
  const exchange = testExchange('asxit');
  const topics = topicsOf(exchange);
  let firstIds: string[] = [];

  it('loads the sample trades: every row once, counts and field values exact', async () => {
    const s = await new AsxLoader(loadOptions(exchange, { kind: 'local', path: path.join(SAMPLE, 'trades') })).run();
    expect(s).toMatchObject({ status: 'completed', exitCode: 0, rowsRead: 91874, rowsProduced: 91874, rowsRejected: 0 });
    expect(s.perSymbol).toEqual({
      MWR: { trades: { read: 11, produced: 11, rejected: 0 } },
      BHP: { trades: { read: 91631, produced: 91631, rejected: 0 } },
      DVN: { trades: { read: 232, produced: 232, rejected: 0 } },
    });

    const trades = await readTrades(topics.trades);
    expect(trades).toHaveLength(91874);
    firstIds = trades.map((t) => t.message_id);
    expect(new Set(firstIds).size).toBe(91874);
    expect(Object.fromEntries(count(trades.map((t) => t.key)))).toEqual({ BHP: 91631, MWR: 11, DVN: 232 });
    for (const t of trades) expect(t.key).toBe(t.symbol);

    // One symbol, one partition, file order: the line numbers in trade_id increase with the offset.
    const bhp = trades.filter((t) => t.symbol === 'BHP').sort((a, b) => a.offset - b.offset);
    expect(new Set(bhp.map((t) => t.partition)).size).toBe(1);
    expect(bhp.map((t) => Number(t.trade_id.split(':').pop()))).toEqual(Array.from({ length: 91631 }, (_, i) => i + 1));

    const strip = ({ key: _k, partition: _p, offset: _o, ingestion_timestamp: _i, ...rest }: (typeof trades)[number]) => rest;
    const { ingestion_timestamp: _i, ...foundationSample } = sampleTrades().find((t) => t.exchange === 'ASX')!;
    expect(strip(bhp[0]!)).toEqual(foundationSample);
    expect(strip(trades.find((t) => t.trade_id === '7181:trades/7181.csv:232')!)).toEqual({
      message_id: messageId('ASX', 'DVN', '7181:trades/7181.csv:232'),
      trade_id: '7181:trades/7181.csv:232',
      symbol: 'DVN',
      exchange: 'ASX',
      asset_class: 'equities',
      timestamp: 1394773171631000n, // 03/14/2014 15:59:31.631 AEDT
      price: '0.63000000',
      quantity: '341.00000000',
      currency: 'AUD',
      side: 'UNKNOWN',
      trade_conditions: ['0'],
      source_sequence: null,
      platform_sequence: null,
      vendor_data: { company_id: '7181', qualifiers: '0', venue: '', filtered_price: '' },
    });
    expect(trades.find((t) => t.trade_id === '7078:trades/7078.csv:1927')).toMatchObject({ price: '36.76000000', quantity: '8.00000000', vendor_data: { filtered_price: '36.79' } });
    const ingested = trades.map((t) => t.ingestion_timestamp);
    expect(ingested.every((x) => x > 1_700_000_000_000_000n)).toBe(true);
    expect(await readTopic(dlqTopic(topics.trades))).toEqual([]);
  });

  it('loading the same file again produces identical message ids (downstream dedups them)', async () => {
    const s = await new AsxLoader(loadOptions(exchange, { kind: 'local', path: path.join(SAMPLE, 'trades') })).run();
    expect(s).toMatchObject({ status: 'completed', rowsProduced: 91874 });
    const ids = (await readTrades(topics.trades)).map((t) => t.message_id);
    expect(ids).toHaveLength(2 * 91874);
    const counts = count(ids);
    expect(counts.size).toBe(91874);
    expect([...counts.values()].every((n) => n === 2)).toBe(true);
    expect(new Set(counts.keys())).toEqual(new Set(firstIds));
  });

  it('reads gzip files from S3 (s3proxy) and gives the same ids as the local plain files', async () => {
    const prefix = `asx-itest-${uniqueSuffix()}`;
    const s3 = s3ClientFor({ s3: s3Config });
    const put = (key: string, body: Buffer) => s3.send(new PutObjectCommand({ Bucket: 'k2-warehouse', Key: `${prefix}/${key}`, Body: body }));
    for (const id of ['3153', '7078', '7181']) await put(`trades/${id}.csv.gz`, gzipSync(readFileSync(path.join(SAMPLE, `trades/${id}.csv`))));
    await put('reference-data/company_info.csv', readFileSync(path.join(SAMPLE, 'reference-data/company_info.csv')));
    await put('README.md', Buffer.from('not data'));

    const s3Exchange = testExchange('asxs3');
    const s = await new AsxLoader(loadOptions(s3Exchange, { kind: 's3', bucket: 'k2-warehouse', key: `${prefix}/trades/` })).run();
    expect(s).toMatchObject({ status: 'completed', rowsProduced: 91874, rowsRejected: 0 });
    expect(s.files.map((f) => f.location)).toEqual(['3153', '7078', '7181'].map((id) => `s3://k2-warehouse/${prefix}/trades/${id}.csv.gz`));
    const ids = (await readTrades(topicsOf(s3Exchange).trades)).map((t) => t.message_id);
    expect(new Set(ids)).toEqual(new Set(firstIds));
    expect(ids).toHaveLength(91874);

    // Resuming reads a plain object from the checkpointed offset with a ranged GET, a gzip one by inflating and skipping.
    const plain = readFileSync(path.join(SAMPLE, 'quotes/7181.csv'));
    await put('quotes/7181.csv', plain);
    const [gz] = await resolveSources({ kind: 's3', bucket: 'k2-warehouse', key: `${prefix}/trades/7181.csv.gz` }, { s3: s3Config });
    const [q] = await resolveSources({ kind: 's3', bucket: 'k2-warehouse', key: `${prefix}/quotes/` }, { s3: s3Config });
    const readAll = async (stream: NodeJS.ReadableStream) => {
      const parts: Buffer[] = [];
      for await (const c of stream as AsyncIterable<Buffer>) parts.push(c);
      return Buffer.concat(parts);
    };
    expect(q!.identity).toBe('quotes/7181.csv');
    expect(await readAll(q!.open(12345))).toEqual(plain.subarray(12345));
    expect(await readAll(gz!.open(4000))).toEqual(readFileSync(path.join(SAMPLE, 'trades/7181.csv')).subarray(4000));
  });

  it('bad rows go to the DLQ and the reject file with file, line, raw text and reason; good rows still load', async () => {
    const dir = mkdtempSync(path.join(work, 'dirty-'));
    cpSync(path.join(SAMPLE, 'reference-data'), path.join(dir, 'reference-data'), { recursive: true });
    mkdirSync(path.join(dir, 'quotes'));
    const lines = sampleLines('quotes/7181.csv');
    const bad: Array<[number, string, string]> = [
      [5, '03/10/2014,10:12:29.504,0.665,0.67,15000', 'FIELD_COUNT'],
      [50, '03/10/2014,10:12:29.504,0.665,0.67,15000,abc', 'BAD_SIZE'],
      [100, '03/10/2014,10:12:29.504,0.0,0.67,15000,13469', 'EMPTY_SIDE'],
      [200, '03/10/2014,10:12:29.504,0.6651234567,0.67,15000,13469', 'BAD_PRICE'],
    ];
    for (const [n, raw] of bad) lines.splice(n - 1, 0, raw);
    writeFileSync(path.join(dir, 'quotes/7181.csv'), `${lines.join('\r\n')}\r\n`);

    const ex = testExchange('asxdlq');
    const o = loadOptions(ex, { kind: 'local', path: path.join(dir, 'quotes') });
    const s = await new AsxLoader(o).run();
    expect(s).toMatchObject({ status: 'completed', exitCode: 0, rowsRead: 553, rowsProduced: 549, rowsRejected: 4 });
    expect(s.rejectedByReason).toEqual({ FIELD_COUNT: 1, BAD_SIZE: 1, EMPTY_SIDE: 1, BAD_PRICE: 1 });

    expect(await readTopic(topicsOf(ex).quotes)).toHaveLength(549);
    const dlq = (await readTopic(dlqTopic(topicsOf(ex).quotes))).map((m) => ({ key: m.key, ...(JSON.parse(m.value.toString()) as RejectRecord) }));
    const fromFile = readFileSync(path.join(o.checkpointDir, 'rejects.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RejectRecord);
    for (const rejects of [dlq, fromFile]) {
      expect(rejects.map((r) => [r.line, r.raw, r.reason])).toEqual(bad);
      for (const r of rejects) {
        expect(r).toMatchObject({ file: path.join(dir, 'quotes/7181.csv'), source_identity: 'quotes/7181.csv', symbol: 'DVN', kind: 'quotes', topic: topicsOf(ex).quotes });
        expect(r.message_id).toBe(messageId('ASX', 'DVN', `7181:quotes/7181.csv:${r.line}`, 'reject'));
      }
    }
    expect(dlq.every((r) => r.key === 'DVN')).toBe(true);
  });
});

describe('the asx-batch-loader process', () => {
  let main: string;

  beforeAll(() => {
    // A real process without tsx's wrapper, so SIGKILL hits the loader itself.
    const out = path.join(ROOT, 'tmp', `asx-itest-${uniqueSuffix()}`);
    main = path.join(out, 'main.js');
    execFileSync(
      path.join(ROOT, 'node_modules/.bin/esbuild'),
      ['apps/asx-batch-loader/src/main.ts', '--bundle', '--platform=node', '--target=node20', '--packages=external', '--log-level=warning', `--outfile=${main}`],
      { cwd: ROOT, stdio: 'inherit' },
    );
  });
  afterAll(() => rmSync(path.dirname(main), { recursive: true, force: true }));

  function run(env: Record<string, string>, args: string[] = []): { child: ChildProcess; output: string[]; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
    const child = spawn(process.execPath, [main, ...args], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: ep.kafkaBrokers, SCHEMA_REGISTRY_URL: ep.registryUrl, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const collect = (b: Buffer) => output.push(...b.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    return { child, output, exit };
  }

  it('killed with SIGKILL mid-load and restarted: no row missing, none duplicated by id, each reject once', async () => {
    // BHP trades five times over (458,155 lines, ~17 MB) with a bad row every 40,000 lines, then DVN trades.
    const dir = mkdtempSync(path.join(work, 'kill-'));
    cpSync(path.join(SAMPLE, 'reference-data'), path.join(dir, 'reference-data'), { recursive: true });
    mkdirSync(path.join(dir, 'trades'));
    const bhp = sampleLines('trades/7078.csv');
    const big: string[] = [];
    for (let k = 0; k < 5; k++) big.push(...bhp);
    const badLines: number[] = [];
    for (let n = 40_000; n <= big.length; n += 40_000) {
      big[n - 1] = `${big[n - 1]},extra`;
      badLines.push(n);
    }
    writeFileSync(path.join(dir, 'trades/7078.csv'), `${big.join('\r\n')}\r\n`);
    cpSync(path.join(SAMPLE, 'trades/7181.csv'), path.join(dir, 'trades/7181.csv'));

    const ex = testExchange('asxkill');
    const checkpointDir = path.join(dir, 'checkpoints');
    const env = { ASX_INPUT: path.join(dir, 'trades'), ASX_TOPIC_EXCHANGE: ex, ASX_CHECKPOINT_DIR: checkpointDir, ASX_CHECKPOINT_INTERVAL_MS: '300' };
    const cpFile = path.join(checkpointDir, 'trades__7078.csv.json');
    const readCp = () => (existsSync(cpFile) ? (JSON.parse(readFileSync(cpFile, 'utf8')) as FileCheckpoint) : undefined);

    const first = run(env);
    const seen = await waitFor(
      'a checkpoint well inside the big file',
      () => {
        const cp = readCp();
        return cp && cp.line >= 100_000 ? cp : undefined;
      },
      120000,
      20,
    ).catch((e) => {
      throw new Error(`${String(e)}\n${first.output.slice(-20).join('\n')}`);
    });
    first.child.kill('SIGKILL');
    expect(await first.exit).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = readCp()!;
    expect(atKill.done).toBe(false);
    expect(atKill.line).toBeGreaterThanOrEqual(seen.line);
    expect(atKill.line).toBeLessThan(big.length);

    const second = run(env);
    const { code } = await second.exit;
    expect({ code, tail: code === 0 ? [] : second.output.slice(-20) }).toEqual({ code: 0, tail: [] });
    const resumeLog = second.output.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['message'] === 'resume scan done');
    // The killed run had sent rows past its last checkpoint; the resumed run found them and did not send them again.
    expect(Number(resumeLog?.['idsFound'])).toBeGreaterThan(0);
    const final = readCp()!;
    expect(final).toMatchObject({ done: true, line: big.length });
    expect(final.counts.alreadyInKafka).toBe(Number(resumeLog?.['idsFound']));

    const ids = new RowIdFactory('trade', 'ASX', 'BHP', '7078:trades/7078.csv:');
    const expected = new Set<string>();
    for (let n = 1; n <= big.length; n++) if (!badLines.includes(n)) expected.add(ids.id(n));
    const dvn = new RowIdFactory('trade', 'ASX', 'DVN', '7181:trades/7181.csv:');
    for (let n = 1; n <= 232; n++) expected.add(dvn.id(n));

    const got = (await readTopic(topicsOf(ex).trades)).map((m) => m.value);
    const gotIds: string[] = [];
    for (const v of got) gotIds.push((await serde.decode<TradeV2>(v)).message_id);
    const dup = [...count(gotIds)].filter(([, n]) => n > 1);
    expect(dup).toEqual([]);
    expect(gotIds).toHaveLength(expected.size);
    expect(new Set(gotIds)).toEqual(expected);

    const dlq = (await readTopic(dlqTopic(topicsOf(ex).trades))).map((m) => JSON.parse(m.value.toString()) as RejectRecord);
    expect(dlq.map((r) => r.line).sort((a, b) => a - b)).toEqual(badLines);
    const rejectFile = readFileSync(path.join(checkpointDir, 'rejects.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RejectRecord);
    expect(rejectFile.map((r) => r.line)).toEqual(badLines);

    // A third run finds both files done and sends nothing.
    const third = run(env);
    expect((await third.exit).code).toBe(0);
    expect(await readTopic(topicsOf(ex).trades)).toHaveLength(expected.size);
  });

  it('stopped with SIGTERM mid-load: drains, checkpoints, exits 1; the next run completes without duplicates', async () => {
    const dir = mkdtempSync(path.join(work, 'term-'));
    cpSync(path.join(SAMPLE, 'reference-data'), path.join(dir, 'reference-data'), { recursive: true });
    mkdirSync(path.join(dir, 'trades'));
    const bhp = sampleLines('trades/7078.csv');
    // Large enough that the reader (at most ~100k rows ahead of the acknowledgements) is mid-file at the signal.
    const big = [...bhp, ...bhp, ...bhp, ...bhp, ...bhp];
    writeFileSync(path.join(dir, 'trades/7078.csv'), `${big.join('\r\n')}\r\n`);
    const ex = testExchange('asxterm');
    const checkpointDir = path.join(dir, 'checkpoints');
    const env = { ASX_INPUT: path.join(dir, 'trades'), ASX_TOPIC_EXCHANGE: ex, ASX_CHECKPOINT_DIR: checkpointDir, ASX_CHECKPOINT_INTERVAL_MS: '300' };
    const cpFile = path.join(checkpointDir, 'trades__7078.csv.json');
    const readCp = () => (existsSync(cpFile) ? (JSON.parse(readFileSync(cpFile, 'utf8')) as FileCheckpoint) : undefined);

    const first = run(env);
    await waitFor('a checkpoint inside the file', () => ((readCp()?.line ?? 0) >= 50_000 ? true : undefined), 120000, 20);
    first.child.kill('SIGTERM');
    expect((await first.exit).code).toBe(1);
    const stopped = readCp()!;
    expect(stopped.done).toBe(false);
    expect(stopped.line).toBeLessThan(big.length);
    // A graceful stop waits for every acknowledgement before its last checkpoint: nothing is in Kafka beyond it.
    expect(stopped.counts.produced).toBe(stopped.line);
    expect(first.output.some((l) => l.includes('"status":"interrupted"'))).toBe(true);

    const second = run(env);
    expect((await second.exit).code).toBe(0);
    expect(readCp()).toMatchObject({ done: true, line: big.length, counts: { produced: big.length, alreadyInKafka: 0 } });
    const ids: string[] = [];
    for (const m of await readTopic(topicsOf(ex).trades)) ids.push((await serde.decode<TradeV2>(m.value)).message_id);
    expect(ids).toHaveLength(big.length);
    expect(new Set(ids).size).toBe(big.length);
  });

  it('exits 2 when more rows than --max-errors are bad, and 0 after a clean dry run that produced nothing', async () => {
    const dir = mkdtempSync(path.join(work, 'maxerr-'));
    cpSync(path.join(SAMPLE, 'reference-data'), path.join(dir, 'reference-data'), { recursive: true });
    mkdirSync(path.join(dir, 'trades'));
    const lines = sampleLines('trades/7181.csv');
    lines[9] = 'garbage';
    lines[19] = 'garbage';
    lines[29] = 'garbage';
    writeFileSync(path.join(dir, 'trades/7181.csv'), `${lines.join('\r\n')}\r\n`);
    const ex = testExchange('asxmax');
    const base = { ASX_INPUT: path.join(dir, 'trades'), ASX_TOPIC_EXCHANGE: ex };

    const dry = run({ ...base, ASX_CHECKPOINT_DIR: path.join(dir, 'cp-dry') }, ['--dry-run']);
    expect((await dry.exit).code).toBe(0);
    const summary = dry.output.map((l) => JSON.parse(l) as { message?: string; summary?: Record<string, unknown> }).find((l) => l.message === 'asx load summary')?.summary;
    expect(summary).toMatchObject({ dryRun: true, rowsRead: 232, rowsRejected: 3, rowsProduced: 0 });

    const strict = run({ ...base, ASX_CHECKPOINT_DIR: path.join(dir, 'cp-strict') }, ['--max-errors', '2']);
    expect((await strict.exit).code).toBe(2);
    expect(strict.output.some((l) => l.includes('"status":"max_errors_exceeded"'))).toBe(true);

    const lenient = run({ ...base, ASX_CHECKPOINT_DIR: path.join(dir, 'cp-lenient') }, ['--max-errors=3']);
    expect((await lenient.exit).code).toBe(0);
    // The strict run stopped at line 30 after producing the 27 good rows before it; the lenient run all 229.
    expect(await readTopic(topicsOf(ex).trades)).toHaveLength(27 + 229);
  });
});
