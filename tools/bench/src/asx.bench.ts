/**
 * npm run bench:asx — ASX batch load end to end into the real local Kafka: read, parse, map, Avro encode, produce,
 * and every message acknowledged (acks=all, idempotent), exactly as asx-batch-loader runs it.
 *
 * Loads the bundled sample trades (data/asx-sample/trades, 91,874 rows) and a synthetic file of ten times the BHP
 * sample (916,310 rows, ~35 MB) generated into .data/bench/asx/, each into fresh bench topics
 * (market.equities.trades.asxbench<id>). Also times a dry run (everything but Kafka) of the big file, to tell CPU
 * cost from broker cost. Prints rows/s and the peak RSS. Goal (issue 4): >= 150k rows/s end to end.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AsxLoader, type LoadSummary } from '@k2/asx';
import { createLogger } from '@k2/core';
import { infraEndpoints, infraUp, repoRoot, uniqueSuffix } from '@k2/testing';

const ROOT = repoRoot();
const SAMPLE = path.join(ROOT, 'data/asx-sample');
const COPIES = 10;

/**
 * Ten copies of the BHP sample, copy k moved k weeks later (Mon 10 March 2014 + 7k days), so timestamps keep
 * increasing and the load crosses the 6 April daylight-saving change like a real multi-week file would.
 */
function syntheticInput(): string {
  const dir = path.join(ROOT, '.data/bench/asx/x10');
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
    checkpointDir: mkdtempSync(path.join(tmpdir(), 'asx-bench-')),
    topicExchange: `asxbench${uniqueSuffix()}`,
    dryRun,
    progress: false,
  }).run();
  if (s.status !== 'completed' || s.rowsRejected !== 0) throw new Error(`${name}: load ${s.status}, ${s.rowsRejected} rejected: ${JSON.stringify(s.error)}`);
  const bytes = s.files.reduce((n, f) => n + (f.kind === 'trades' ? statSync(f.location).size : 0), 0);
  return { name, s, rssMb: process.resourceUsage().maxRSS / 1024, bytes };
}

async function main(): Promise<void> {
  infraUp();
  const big = syntheticInput();
  const runs = [
    await load('sample trades -> Kafka', path.join(SAMPLE, 'trades'), false),
    await load(`${COPIES}x synthetic -> Kafka`, path.join(big, 'trades'), false),
    await load(`${COPIES}x synthetic, dry run`, path.join(big, 'trades'), true),
  ];
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`asx bench: node ${process.version}, end to end = read + parse + map + encode + produce + every ack (acks=all, idempotent)`);
  for (const { name, s, rssMb, bytes } of runs) {
    const rows = s.dryRun ? s.rowsRead : s.rowsProduced;
    console.log(
      `  ${name.padEnd(26)} ${fmt(rows).padStart(9)} rows in ${(s.elapsedMs / 1000).toFixed(2).padStart(6)} s = ${fmt((rows * 1000) / s.elapsedMs).padStart(8)} rows/s, ` +
        `${((bytes / 1e6) / (s.elapsedMs / 1000)).toFixed(1)} MB/s, peak RSS so far ${fmt(rssMb)} MB`,
    );
  }
  console.log('  goal: >= 150,000 rows/s end to end');
}

main().catch((err) => {
  console.error(`bench:asx failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
