import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { ValidationError } from '@k2/core';
import { deadLetterRecord } from '@k2/kafka';
import { CheckpointStore, type FileCheckpoint } from './checkpoint';
import { RejectFile, type RejectRecord } from './rejects';

const cp = (identity: string, line: number): FileCheckpoint => ({
  version: 1,
  identity,
  location: `/data/${identity}`,
  fingerprint: 'sha256:x',
  topic: 'market.equities.trades.asx',
  dlqTopic: 'market.equities.trades.asx.dlq',
  line,
  offset: line * 40,
  done: false,
  scanFrom: { 'market.equities.trades.asx': { '0': 10, '1': 0, '2': 7 } },
  rejectFile: '/tmp/r.jsonl',
  rejectBytes: 99,
  counts: { read: line, produced: line - 1, rejected: 1, alreadyInKafka: 0 },
  updatedAt: '',
});

describe('CheckpointStore', () => {
  it('saves atomically and loads by identity', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'asx-cp-'));
    const store = new CheckpointStore(dir);
    expect(store.load('trades/7078.csv')).toBeUndefined();
    store.save(cp('trades/7078.csv', 5));
    store.save(cp('trades/7078.csv', 9));
    store.save(cp('2014-03/quotes/7078.csv', 3));
    expect(store.load('trades/7078.csv')).toMatchObject({ line: 9, offset: 360, scanFrom: { 'market.equities.trades.asx': { '0': 10 } } });
    expect(readdirSync(dir).sort()).toEqual(['2014-03__quotes__7078.csv.json', 'trades__7078.csv.json']);
    expect(store.all().map((c) => c.identity).sort()).toEqual(['2014-03/quotes/7078.csv', 'trades/7078.csv']);
  });

  it('ignores a checkpoint written for another identity', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'asx-cp-'));
    const store = new CheckpointStore(dir);
    writeFileSync(store.pathFor('trades/1.csv'), JSON.stringify(cp('trades/2.csv', 1)));
    expect(store.load('trades/1.csv')).toBeUndefined();
  });
});

describe('RejectFile', () => {
  const rec = (line: number): RejectRecord => ({
    ...deadLetterRecord({ error: new ValidationError('bad time'), raw: '03/10/2014,xx', reason: 'BAD_TIME', service: 'asx-batch-loader', exchange: 'ASX' }),
    message_id: `id-${line}`,
    source: 'asx-batch-loader',
    exchange: 'ASX',
    kind: 'trades',
    symbol: 'BHP',
    company_id: '7078',
    topic: 'market.equities.trades.asx',
    file: '/data/trades/7078.csv',
    source_identity: 'trades/7078.csv',
    line,
    raw: '03/10/2014,xx',
    reason: 'BAD_TIME',
    error_code: 'K2_VALIDATION_FAILED',
    field: 'time',
    message: 'time "xx" is not a valid HH:MM:SS.mmm time',
    rejected_at: '2026-01-01T00:00:00.000Z',
  });

  it('appends JSON lines and cuts what an interrupted run wrote after its checkpoint', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'asx-rej-')), 'sub', 'rejects.jsonl');
    const r1 = new RejectFile(file);
    r1.open(0);
    r1.append(rec(1));
    const committed = r1.flush();
    r1.append(rec(2));
    r1.close();
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as RejectRecord).line)).toEqual([1, 2]);

    const r2 = new RejectFile(file);
    r2.open(committed);
    r2.append(rec(2));
    r2.close();
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as RejectRecord).line)).toEqual([1, 2]);

    const r3 = new RejectFile(file);
    r3.open(10 ** 9);
    r3.close();
    expect(readFileSync(file).length).toBe(committed * 2);
  });
});

describe('CheckpointStore.lock', () => {
  it('admits one loader per directory and takes over a lock whose process is gone', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'asx-lock-'));
    const store = new CheckpointStore(dir);
    const release = store.lock();
    writeFileSync(path.join(dir, '.lock'), JSON.stringify({ host: hostname(), pid: process.ppid }));
    expect(() => store.lock()).toThrow(`checkpoint directory ${dir} is in use by another loader (pid ${process.ppid})`);
    writeFileSync(path.join(dir, '.lock'), JSON.stringify({ host: 'elsewhere', pid: 1 }));
    expect(() => store.lock()).toThrow(/locked by a loader on host elsewhere/);
    // A pid that cannot be running (above the kernel's pid_max) stands for a killed loader.
    writeFileSync(path.join(dir, '.lock'), JSON.stringify({ host: hostname(), pid: 2 ** 30 }));
    const again = store.lock();
    expect(JSON.parse(readFileSync(path.join(dir, '.lock'), 'utf8'))).toEqual({ host: hostname(), pid: process.pid });
    again();
    release();
    expect(readdirSync(dir)).toEqual([]);
  });
});
