/**
 * npm run bench:asx — ASX batch load end to end into the real local Kafka: read, parse, map, Avro encode, produce,
 * and every message acknowledged (acks=all, idempotent), exactly as asx-batch-loader runs it.
 *
 * Loads the bundled sample trades (data/asx-sample/trades, 91,874 rows) and a synthetic file of ten times the BHP
 * sample (916,310 rows, ~35 MB) generated into .data/bench/asx/, each into fresh scratch topics
 * (market.equities.trades.k2benchasx<id>, which no platform subscription names; deleted at the end, also when the
 * bench fails). Also times a dry run of the big file (everything but Kafka) and the producer alone on pre-encoded
 * rows, to tell our CPU cost from the Kafka side. Prints rows/s and the peak RSS.
 * In the same run, the limit (issue 20): Kafka's own kafka-producer-perf-test at the loader's average record size
 * (acks=all, idempotent, zstd). Goal: the big file end to end >= 0.7x of it. Ends with one `BENCH {json}` line.
 * Env: BENCH_ASX_COPIES (copies of the BHP sample in the big file, default 10), BENCH_PRODUCER_ROWS (default 300,000),
 * BENCH_PERF_RECORDS (producer-perf records, default 1,000,000).
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AckBatch, AsxLoader, BatchProducer, ExchangeClock, parseCompanyInfo, TradeMapper, type LoadSummary } from '@k2/asx';
import { createLogger } from '@k2/core';
import { DATA_TYPES, ensureTopics, topicName } from '@k2/kafka';
import { nowMicros } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import { infraEndpoints, infraUp, removeScratchTopics, repoRoot, scratchExchange } from '@k2/testing';
import { benchCli } from './cli';
import { atLeast, benchLine, producerPerfLimit } from './limits';

benchCli('asx');

const ROOT = repoRoot();
const SAMPLE = path.join(ROOT, 'data/asx-sample');
const COPIES = Number(process.env['BENCH_ASX_COPIES'] ?? 10);
const PRODUCER_ROWS = Number(process.env['BENCH_PRODUCER_ROWS'] ?? 300_000);
const PERF_RECORDS = Number(process.env['BENCH_PERF_RECORDS'] ?? 1_000_000);
/** Every topic this run may create (the loader's trades/quotes/reference, the producer-only topic); see cleanUp. */
const scratchTopics: string[] = [];
const scratchDirs: string[] = [];

/** A fresh scratch exchange, its three topics recorded for deletion. */
function benchExchange(): string {
  const exchange = scratchExchange('bench', 'asx');
  const topics = DATA_TYPES.map((dataType) => topicName({ assetClass: 'equities', dataType, exchange }));
  scratchTopics.push(...topics);
  console.log(`bench scratch topics: ${topics.join(',')}`);
  return exchange;
}

function scratchDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'asx-bench-'));
  scratchDirs.push(dir);
  return dir;
}

async function cleanUp(): Promise<void> {
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
  const ep = infraEndpoints();
  const removed = await removeScratchTopics(ep.kafkaBrokers, ep.registryUrl, scratchTopics);
  console.log(`bench scratch topics removed: ${removed.join(',')}`);
}

/**
 * Ten copies of the BHP sample, copy k moved k weeks later (Mon 10 March 2014 + 7k days), so timestamps keep
 * increasing and the load crosses the 6 April daylight-saving change like a real multi-week file would.
 */
function syntheticInput(): string {
  const dir = path.join(ROOT, `.data/bench/asx/x${COPIES}`);
  const file = path.join(dir, 'trades/7078.csv');
  const done = `${file}.complete`;
  if (existsSync(done) && existsSync(file)) return dir;
  const lines = readFileSync(path.join(SAMPLE, 'trades/7078.csv'), 'utf8').split('\r\n').filter(Boolean);
  mkdirSync(path.join(dir, 'trades'), { recursive: true });
  mkdirSync(path.join(dir, 'reference-data'), { recursive: true });
  writeFileSync(path.join(dir, 'reference-data/company_info.csv'), readFileSync(path.join(SAMPLE, 'reference-data/company_info.csv')));
  const fd = openSync(file, 'w');
  for (let k = 0; k < COPIES; k++) {
    const out: string[] = [];
    for (const l of lines) {
      const d = new Date(Date.UTC(Number(l.slice(6, 10)), Number(l.slice(0, 2)) - 1, Number(l.slice(3, 5)) + 7 * k));
      out.push(`${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${d.getUTCFullYear()}${l.slice(10)}\r\n`);
    }
    writeSync(fd, out.join(''));
  }
  closeSync(fd);
  writeFileSync(done, `${lines.length * COPIES}\n`);
  return dir;
}

async function load(name: string, input: string, dryRun: boolean): Promise<{ name: string; s: LoadSummary; rssMb: number; bytes: number }> {
  const ep = infraEndpoints();
  const s = await new AsxLoader({
    input: { kind: 'local', path: input },
    brokers: ep.kafkaBrokers,
    registryUrl: ep.registryUrl,
    logger: createLogger({ service: 'bench-asx', level: 'warn' }),
    checkpointDir: scratchDir(),
    topicExchange: benchExchange(),
    dryRun,
    progress: false,
  }).run();
  if (s.status !== 'completed' || s.rowsRejected !== 0) throw new Error(`${name}: load ${s.status}, ${s.rowsRejected} rejected: ${JSON.stringify(s.error)}`);
  const bytes = s.files.reduce((n, f) => n + (f.kind === 'trades' ? statSync(f.location).size : 0), 0);
  return { name, s, rssMb: process.resourceUsage().maxRSS / 1024, bytes };
}

/**
 * The producer alone: the first PRODUCER_ROWS rows of the big file mapped and encoded beforehand (not timed), then
 * only produce + acknowledgements timed, through the loader's BatchProducer. The ceiling the Kafka side sets here.
 */
async function producerOnly(input: string): Promise<{ rows: number; ms: number; avgBytes: number }> {
  const ep = infraEndpoints();
  const clock = new ExchangeClock();
  const { companies } = parseCompanyInfo(readFileSync(path.join(SAMPLE, 'reference-data/company_info.csv'), 'utf8'), clock);
  const mapper = new TradeMapper({ identity: 'trades/7078.csv', currency: 'AUD', clock, company: companies.get('7078'), companies });
  mapper.ingestionTimestamp = nowMicros();
  const topic = topicName({ assetClass: 'equities', dataType: 'trades', exchange: benchExchange() });
  await ensureTopics(ep.kafkaBrokers, [{ topic }]);
  const serde = new AvroSerde({ registryUrl: ep.registryUrl });
  const id = await serde.registerV2(topic, 'trades');
  const values: Buffer[] = [];
  let line = 0;
  for (const text of readFileSync(path.join(input, 'trades/7078.csv'), 'utf8').split('\r\n')) {
    if (!text || values.length >= PRODUCER_ROWS) break;
    values.push(serde.encode(id, mapper.map(text, ++line)));
  }
  const producer = await BatchProducer.connect({ brokers: ep.kafkaBrokers, clientId: 'bench-asx' });
  const key = Buffer.from('BHP');
  const t0 = Date.now();
  const batches: AckBatch[] = [];
  for (let i = 0; i < values.length; i += 20_000) {
    const b = new AckBatch();
    for (const v of values.slice(i, i + 20_000)) producer.send(topic, key, v, b);
    b.seal();
    batches.push(b);
    if (producer.inFlight > 100_000) await producer.waitInFlightAtMost(50_000);
  }
  for (const b of batches) await b.whenSettled();
  const ms = Date.now() - t0;
  await producer.disconnect();
  if (batches.some((b) => b.failed > 0)) throw new Error('producer-only run had failed deliveries');
  return { rows: values.length, ms, avgBytes: values.reduce((n, v) => n + v.length, 0) / values.length };
}

async function main(): Promise<void> {
  infraUp();
  try {
    await run();
  } finally {
    await cleanUp();
  }
}

async function run(): Promise<void> {
  const big = syntheticInput();
  const runs = [
    await load('sample trades -> Kafka', path.join(SAMPLE, 'trades'), false),
    await load(`${COPIES}x synthetic -> Kafka`, path.join(big, 'trades'), false),
    await load(`${COPIES}x synthetic, dry run`, path.join(big, 'trades'), true),
  ];
  const kafkaOnly = await producerOnly(big);
  const perfTopic = topicName({ assetClass: 'equities', dataType: 'trades', exchange: benchExchange() });
  const perf = await producerPerfLimit({ brokers: infraEndpoints().kafkaBrokers, topic: perfTopic, records: PERF_RECORDS, recordSize: Math.round(kafkaOnly.avgBytes) });
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rate = (rows: number, ms: number) => (rows * 1000) / ms;
  console.log(`asx bench: node ${process.version}, end to end = read + parse + map + encode + produce + every ack (acks=all, idempotent)`);
  for (const { name, s, rssMb, bytes } of runs) {
    const rows = s.dryRun ? s.rowsRead : s.rowsProduced;
    console.log(
      `  ${name.padEnd(26)} ${fmt(rows).padStart(9)} rows in ${(s.elapsedMs / 1000).toFixed(2).padStart(6)} s = ${fmt(rate(rows, s.elapsedMs)).padStart(8)} rows/s, ` +
        `${((bytes / 1e6) / (s.elapsedMs / 1000)).toFixed(1)} MB/s, peak RSS so far ${fmt(rssMb)} MB`,
    );
  }
  console.log(
    `  ${'producer only (encoded)'.padEnd(26)} ${fmt(kafkaOnly.rows).padStart(9)} rows in ${(kafkaOnly.ms / 1000).toFixed(2).padStart(6)} s = ${fmt(rate(kafkaOnly.rows, kafkaOnly.ms)).padStart(8)} rows/s (produce + acks only)`,
  );
  const [sample, bigRun, dry] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
  const e2e = rate(bigRun.s.rowsProduced, bigRun.s.elapsedMs);
  const ratio = e2e / perf.recordsPerS;
  console.log(`  ${'kafka-producer-perf-test'.padEnd(26)} ${fmt(perf.records).padStart(9)} records of ${perf.recordSize} B = ${fmt(perf.recordsPerS).padStart(8)} records/s (the limit)`);
  console.log(`  ratio: ${COPIES}x synthetic end to end ${ratio.toFixed(2)}x of the producer-perf limit (goal >= 0.7x)`);
  const figures = Object.fromEntries(
    runs.map(({ name, s, rssMb }) => [name, { rows: s.dryRun ? s.rowsRead : s.rowsProduced, seconds: s.elapsedMs / 1000, rows_per_s: Math.round(rate(s.dryRun ? s.rowsRead : s.rowsProduced, s.elapsedMs)), peak_rss_mb: Math.round(rssMb) }]),
  );
  console.log(
    benchLine(
      'asx',
      { ...figures, producer_only: { rows: kafkaOnly.rows, rows_per_s: Math.round(rate(kafkaOnly.rows, kafkaOnly.ms)), avg_record_bytes: Math.round(kafkaOnly.avgBytes) } },
      { producer_perf: perf },
      {
        end_to_end_vs_producer_perf: ratio,
        sample_vs_producer_perf: rate(sample.s.rowsProduced, sample.s.elapsedMs) / perf.recordsPerS,
        dry_run_vs_producer_perf: rate(dry.s.rowsRead, dry.s.elapsedMs) / perf.recordsPerS,
        producer_only_vs_producer_perf: rate(kafkaOnly.rows, kafkaOnly.ms) / perf.recordsPerS,
      },
      [atLeast('end_to_end_vs_producer_perf', ratio, 0.7)],
    ),
  );
}

main().catch((err) => {
  console.error(`bench:asx failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
