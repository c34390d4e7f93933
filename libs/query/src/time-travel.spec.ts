import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger, ErrorCode } from '@k2/core';
import { commitSnapshot, LocalFileIO, SqlCatalog, type DataFile, type Schema } from '@k2/iceberg';
import { isoFromMicros } from '@k2/schema';
import { InvalidParameterError, parseAsOf, parseReferenceRequest, parseSnapshotsRequest, type AsOf } from './params';
import { effectiveRows, exchangeDay } from './reference';
import { TableView } from './table-view';
import { listSnapshots, resolveAsOf, SnapshotUnavailableError } from './time-travel';

const NOW = 1_780_000_000_000_000n;

describe('as_of parsing', () => {
  it('takes snapshot ids as exact text and RFC 3339 times as µs; refuses the future and junk', () => {
    expect(parseAsOf({}, NOW)).toBeUndefined();
    expect(parseAsOf({ as_of: '' }, NOW)).toBeUndefined();
    expect(parseAsOf({ as_of: '9223372036854775807' }, NOW)).toEqual({ raw: '9223372036854775807', snapshotId: '9223372036854775807' });
    expect(parseAsOf({ as_of: '0042' }, NOW)).toEqual({ raw: '0042', snapshotId: '42' });
    expect(parseAsOf({ as_of: '2026-01-02T03:04:05.123456+01:00' }, NOW)).toEqual({ raw: '2026-01-02T03:04:05.123456+01:00', timeUs: 1_767_319_445_123_456n });
    for (const bad of ['9223372036854775808', '0', '-5', '2026-13-01T00:00:00Z', 'yesterday', '12ab', isoFromMicros(NOW + 1n)]) {
      expect(() => parseAsOf({ as_of: bad }, NOW)).toThrow(InvalidParameterError);
    }
    expect(() => parseAsOf({ as_of: ['1', '2'] }, NOW)).toThrow(InvalidParameterError);
  });

  it('snapshots and reference parameters are validated like every route', () => {
    expect(parseSnapshotsRequest({})).toEqual({ table: 'trades', limit: 100, beforeSequence: undefined });
    expect(parseSnapshotsRequest({ table: 'reference', limit: '5' })).toMatchObject({ table: 'reference', limit: 5 });
    for (const q of [{ table: 'bars' }, { limit: '0' }, { limit: '1001' }, { cursor: 'x!' }, { cursor: Buffer.from('{"s":"1"}').toString('base64url') }, { as_of: '1' }]) {
      expect(() => parseSnapshotsRequest(q)).toThrow(InvalidParameterError);
    }
    expect(parseReferenceRequest({ symbol: 'bhp', type: 'dividend', as_of_date: '2014-03-05' }, NOW)).toEqual({ symbol: 'BHP', type: 'dividend', asOfDate: '2014-03-05', limit: 1000 });
    expect(parseReferenceRequest({}, NOW).asOfDate).toBe(isoFromMicros(NOW).slice(0, 10));
    for (const q of [{ type: 'bond' }, { as_of_date: '2014-02-30' }, { as_of_date: '20140301' }, { date: '2014-03-01' }]) {
      expect(() => parseReferenceRequest(q, NOW)).toThrow(InvalidParameterError);
    }
  });
});

describe('reference data as of a date', () => {
  // ASX dates are Sydney midnights (libs/asx ExchangeClock): 2014-03-03 00:00 AEDT (+11) is 2014-03-02T13:00Z;
  // May and September are AEST (+10).
  const sydneyMidnight = (day: string) => BigInt(Date.parse(`${day}T00:00:00${/-0[3]-/.test(day) ? '+11:00' : '+10:00'}`)) * 1000n;
  const row = (id: string, type: string, instrument: string, day: string | null, ingested = 1n) => ({
    message_id: id,
    instrument_id: instrument,
    exchange: 'ASX',
    record_type: type,
    effective_date: day === null ? null : sydneyMidnight(day),
    ingestion_timestamp: ingested,
  });

  it("reads effective dates in the exchange's calendar, not UTC", () => {
    expect(exchangeDay(sydneyMidnight('2014-03-03'), 'ASX')).toBe('2014-03-03');
    expect(isoFromMicros(sydneyMidnight('2014-03-03'))).toBe('2014-03-02T13:00:00.000000Z');
    expect(exchangeDay(1_393_804_800_000_000n, 'BINANCE')).toBe('2014-03-03');
  });

  it('keeps events on or before the day and the instrument as it stood', () => {
    const rows = [
      row('i-new', 'INSTRUMENT', '7078', '2014-03-04'),
      row('i-old', 'INSTRUMENT', '7078', '2008-05-07'),
      row('i-undated', 'INSTRUMENT', '9999', null),
      row('d1', 'DIVIDEND', '7078', '2014-03-03'),
      row('d0', 'DIVIDEND', '7078', '2013-09-01'),
    ];
    const ids = (day: string) => effectiveRows(rows, day).map((r) => `${String(r.rec['message_id'])}@${r.day}`);
    expect(ids('2014-03-02')).toEqual(['i-old@2008-05-07', 'i-undated@null', 'd0@2013-09-01']);
    expect(ids('2014-03-03')).toEqual(['i-old@2008-05-07', 'i-undated@null', 'd1@2014-03-03', 'd0@2013-09-01']);
    expect(ids('2014-03-04')).toEqual(['i-new@2014-03-04', 'i-undated@null', 'd1@2014-03-03', 'd0@2013-09-01']);
    expect(ids('2000-01-01')).toEqual(['i-undated@null']);
  });
});

describe('resolving as_of against a real table', () => {
  const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
  const layout = { schema, spec: { 'spec-id': 0, fields: [] }, sortOrder: { 'order-id': 0, fields: [] } };
  const ident = { namespace: ['ns'], name: 'trades_v2' };
  const io = new LocalFileIO();
  const logger = createLogger({ service: 'time-travel-spec', silent: true });
  let dir: string;
  let catalog: SqlCatalog;
  let view: TableView;
  const ids: string[] = [];
  const times: number[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-tt-'));
    catalog = new SqlCatalog(io, { uri: `jdbc:sqlite:file:${path.join(dir, 'catalog.db')}`, warehouse: pathToFileURL(path.join(dir, 'wh')).href });
    await catalog.createNamespace(['ns']);
    view = new TableView({ kind: 'trades', catalog, io, namespace: ['ns'], writerGroupId: 'g', logger });
  });
  afterAll(async () => {
    await catalog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const at = (asOf: AsOf) => resolveAsOf(view, asOf)!;
  const byTime = (ms: number): AsOf => ({ raw: 't', timeUs: BigInt(ms) * 1000n });
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof SnapshotUnavailableError ? `${e.status} ${e.code}` : String(e);
    }
    return 'no error';
  };

  it('before the table exists: an unknown id is a 404, a time an empty answer', async () => {
    await view.refresh();
    expect(code(() => at({ raw: '7', snapshotId: '7' }))).toBe(`404 ${ErrorCode.QUERY_SNAPSHOT_NOT_FOUND}`);
    expect(at(byTime(Date.now())).state.snapshotId).toBeUndefined();
  });

  it('an id or a time picks that snapshot, planned with its own files only', async () => {
    const t = await catalog.createTable(ident, layout);
    for (let i = 0; i < 3; i++) {
      const file: DataFile = { content: 0, 'file-path': `${t.metadata.location}/data/f${i}.parquet`, 'file-format': 'PARQUET', partition: {}, 'record-count': 1, 'file-size-in-bytes': 2 };
      const r = await commitSnapshot(catalog, io, ident, async () => ({ operation: 'append', added: [file], summary: { 'k2.kafka.offsets.g': `{"t/0":${i + 1}}` } }));
      ids.push(String(r!.snapshot['snapshot-id']));
      times.push(r!.snapshot['timestamp-ms']);
      await new Promise((res) => setTimeout(res, 5));
    }
    await view.refresh();
    const s2 = at({ raw: ids[1], snapshotId: ids[1] });
    expect(String(s2.state.snapshotId)).toBe(ids[1]);
    expect(s2.state.historical).toBe(true);
    expect(s2.state.offsets).toEqual(new Map([['t/0', 2]]));
    expect(s2.instantUs).toBe(BigInt(times[1]) * 1000n);
    expect((await view.plan(s2.state, []))!.files.map((f) => path.basename(f.file['file-path'])).sort()).toEqual(['f0.parquet', 'f1.parquet']);
    expect(String(at(byTime(times[2] - 1)).state.snapshotId)).toBe(times[2] - 1 >= times[1] ? ids[1] : ids[0]);
    expect(String(at(byTime(times[2])).state.snapshotId)).toBe(ids[2]);
    // Before the first commit, with the whole history retained: the table was empty then.
    expect(at(byTime(times[0] - 1)).state.snapshotId).toBeUndefined();
    expect(code(() => at({ raw: '12345', snapshotId: '12345' }))).toBe(`404 ${ErrorCode.QUERY_SNAPSHOT_NOT_FOUND}`);
  });

  it('lists snapshots newest first, paged, with the summary as committed', () => {
    const p1 = listSnapshots(view, { limit: 2, beforeSequence: undefined }).body;
    const d1 = p1['data'] as Array<Record<string, unknown>>;
    expect(d1.map((s) => s['snapshot_id'])).toEqual([ids[2], ids[1]]);
    expect(d1[0]).toMatchObject({ parent_id: ids[1], operation: 'append', current: true, time: isoFromMicros(BigInt(times[2]) * 1000n) });
    expect((d1[0]['summary'] as Record<string, string>)['k2.kafka.offsets.g']).toBe('{"t/0":3}');
    expect(p1).toMatchObject({ current_snapshot_id: ids[2], retained: 3, history_complete: true, retention: { max_age_days: 5, min_snapshots: 10 } });
    const cursor = parseSnapshotsRequest({ cursor: p1['next_cursor'] as string });
    const p2 = listSnapshots(view, cursor).body;
    expect((p2['data'] as Array<Record<string, unknown>>).map((s) => s['snapshot_id'])).toEqual([ids[0]]);
    expect(p2['next_cursor']).toBeNull();
  });

  it('after expiry: the expired id and times before the oldest retained snapshot are 410, naming the retention', async () => {
    const cur = (await catalog.loadTable(ident)).metadata['current-snapshot-id']!;
    await catalog.commitTable(ident, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': cur }], [{ action: 'remove-snapshots', 'snapshot-ids': [Number(ids[0])] }]);
    await view.refresh();
    for (const f of [() => at({ raw: ids[0], snapshotId: ids[0] }), () => at(byTime(times[0]))]) {
      expect(code(f)).toBe(`410 ${ErrorCode.QUERY_SNAPSHOT_EXPIRED}`);
      expect(() => f()).toThrow(new RegExp(`keeps 5 days and at least the newest 10 snapshots of the trades table; the oldest retained is snapshot ${ids[1]}`));
    }
    expect(String(at(byTime(times[1])).state.snapshotId)).toBe(ids[1]);
    expect(listSnapshots(view, { limit: 10, beforeSequence: undefined }).body).toMatchObject({ retained: 2, history_complete: false, oldest_retained: { snapshot_id: ids[1] } });
  });
});
