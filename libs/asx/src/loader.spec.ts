import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@k2/core';
import { createMetricsRegistry } from '@k2/runtime';
import { AsxLoader, formatSummary, type AsxLoadOptions } from './loader';
import type { RejectRecord } from './rejects';

const SAMPLE = path.resolve(__dirname, '../../../data/asx-sample');
const logger = createLogger({ service: 'asx-test', silent: true });

function options(input: string, extra: Partial<AsxLoadOptions> = {}): AsxLoadOptions {
  const work = mkdtempSync(path.join(tmpdir(), 'asx-loader-'));
  return {
    input: { kind: 'local', path: input },
    brokers: '127.0.0.1:1',
    registryUrl: 'http://127.0.0.1:1',
    logger,
    checkpointDir: path.join(work, 'checkpoints'),
    dryRun: true,
    progress: false,
    ...extra,
  };
}

/** The 7181 (DVN) trades with bad rows of every kind spliced in at known lines. */
function dirtyInput(): { dir: string; bad: Record<number, string> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'asx-dirty-'));
  cpSync(path.join(SAMPLE, 'reference-data'), path.join(dir, 'reference-data'), { recursive: true });
  mkdirSync(path.join(dir, 'trades'));
  const lines = readFileSync(path.join(SAMPLE, 'trades/7181.csv'), 'utf8').split('\r\n').filter(Boolean);
  const bad: Record<number, string> = {
    3: 'FIELD_COUNT',
    10: 'BAD_DATE',
    20: 'BAD_PRICE',
    30: 'BAD_PRICE',
    40: 'BAD_VOLUME',
    50: 'BAD_TIME',
    60: 'NONEXISTENT_LOCAL_TIME',
  };
  const raw: Record<number, string> = {
    3: '03/10/2014,10:21:23.977,0.67,3000,0,',
    10: '03/32/2014,10:21:23.977,0.67,3000,0,,',
    20: '03/10/2014,10:21:23.977,-0.67,3000,0,,',
    30: '03/10/2014,10:21:23.977,0.671234567,3000,0,,',
    40: '03/10/2014,10:21:23.977,0.67,3k,0,,',
    50: '03/10/2014,25:21:23.977,0.67,3000,0,,',
    60: '10/05/2014,02:21:23.977,0.67,3000,0,,',
  };
  for (const [n, text] of Object.entries(raw)) lines.splice(Number(n) - 1, 0, text);
  writeFileSync(path.join(dir, 'trades/7181.csv'), `${lines.join('\r\n')}\r\n`);
  return { dir, bad };
}

describe('AsxLoader dry run (no Kafka needed)', () => {
  it('validates the whole bundled sample: every row maps, none is rejected', async () => {
    const s = await new AsxLoader(options(SAMPLE, { registry: createMetricsRegistry('asx-test') })).run();
    expect(s).toMatchObject({ status: 'completed', exitCode: 0, dryRun: true, rowsRejected: 0, rowsProduced: 0 });
    expect(s.rowsRead).toBe(91874 + 78458 + 5 + 3 + 2 + 2);
    expect(s.linesWithoutRecord).toBe(6); // 4 headers + 2 "NO RECORDS TO REPORT"
    expect(s.perSymbol['BHP']).toEqual({ trades: { read: 91631, produced: 0, rejected: 0 }, quotes: { read: 77849, produced: 0, rejected: 0 } });
    expect(s.files.map((f) => [f.identity, f.outcome])).toEqual([
      ['reference-data/company_info.csv', 'loaded'],
      ['reference-data/dividends.csv', 'loaded'],
      ['reference-data/stock_splits.csv', 'loaded'],
      ['reference-data/mergers.csv', 'loaded'],
      ['trades/3153.csv', 'loaded'],
      ['trades/7078.csv', 'loaded'],
      ['trades/7181.csv', 'loaded'],
      ['quotes/3153.csv', 'loaded'],
      ['quotes/7078.csv', 'loaded'],
      ['quotes/7181.csv', 'loaded'],
    ]);
    expect(formatSummary(s)).toContain('ASX load completed (dry run)');
  }, 60_000);

  it('puts every bad row in the reject file with file, line, raw text and reason, and carries on', async () => {
    const { dir, bad } = dirtyInput();
    const o = options(path.join(dir, 'trades'));
    const s = await new AsxLoader(o).run();
    expect(s).toMatchObject({ status: 'completed', exitCode: 0, rowsRead: 232 + 7, rowsRejected: 7 });
    expect(s.rejectedByReason).toEqual({ FIELD_COUNT: 1, BAD_DATE: 1, BAD_PRICE: 2, BAD_VOLUME: 1, BAD_TIME: 1, NONEXISTENT_LOCAL_TIME: 1 });
    expect(s.perSymbol['DVN']).toEqual({ trades: { read: 239, produced: 0, rejected: 7 } });
    expect(s.rejectFile).toBe(path.join(o.checkpointDir, 'rejects.dry-run.jsonl'));
    const rejects = readFileSync(s.rejectFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RejectRecord);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual(Object.entries(bad).map(([l, r]) => [Number(l), r]));
    const fileLines = readFileSync(path.join(dir, 'trades/7181.csv'), 'utf8').split('\r\n');
    for (const r of rejects) {
      expect(r).toMatchObject({ file: path.join(dir, 'trades/7181.csv'), source_identity: 'trades/7181.csv', symbol: 'DVN', company_id: '7181', kind: 'trades' });
      expect(r.raw).toBe(fileLines[r.line - 1]);
      expect(r.message.length).toBeGreaterThan(10);
      // The platform's common dead-letter fields (issue 18), next to the loader's own.
      expect(r).toMatchObject({ code: r.error_code, raw_encoding: 'utf8', raw_bytes: String(Buffer.byteLength(r.raw)), raw_truncated: 'false', service: 'asx-batch-loader', exchange: 'ASX' });
      expect(r.raw_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.received_at_us).toMatch(/^\d{16}$/);
    }
    expect(rejects.find((r) => r.line === 30)!.message).toBe('price: "0.671234567" has more than 8 significant fraction digits; refusing to round');
  });

  it('stops with exit code 2 once more rows than --max-errors were rejected', async () => {
    const { dir } = dirtyInput();
    const s = await new AsxLoader(options(path.join(dir, 'trades'), { maxErrors: 3 })).run();
    expect(s).toMatchObject({ status: 'max_errors_exceeded', exitCode: 2, rowsRejected: 4 });
    expect(s.rowsRead).toBe(30); // stopped right after line 30, the 4th bad row
    const ok = await new AsxLoader(options(path.join(dir, 'trades'), { maxErrors: 7 })).run();
    expect(ok).toMatchObject({ status: 'completed', exitCode: 0, rowsRejected: 7 });
  });

  it('refuses to start when a company id has no symbol, naming it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'asx-nosym-'));
    mkdirSync(path.join(dir, 'trades'));
    writeFileSync(path.join(dir, 'trades/9999.csv'), '03/10/2014,10:21:23.977,0.67,3000,0,,\r\n');
    await expect(new AsxLoader(options(dir)).run()).rejects.toThrow(/no symbol for company id\(s\) 9999/);
    const s = await new AsxLoader(options(dir, { symbols: { '9999': 'XYZ' } })).run();
    expect(s).toMatchObject({ status: 'completed', rowsRead: 1, perSymbol: { XYZ: { trades: { read: 1 } } } });
  });
});
