import { mergeBars, rebucket, type BarPartial } from './bars';
import { bucketOf, planBars, planSummary, wholeMinutes } from './bucketing';
import { InvalidParameterError, parseBarsRequest, parseSummaryRequest } from './params';
import { canonicalZone, localDay, zoneBoundaries, zoneFor } from './trading-day';

const us = (iso: string): bigint => BigInt(Date.parse(iso)) * 1000n;
const iso = (u: bigint): string => new Date(Number(u / 1000n)).toISOString();
const HOUR = 3_600_000;

describe('local trading days', () => {
  it('Sydney: the DST end day 2014-04-06 is 25 hours, its neighbours 24, the DST start day 2014-10-05 23', () => {
    expect(localDay('Australia/Sydney', '2014-04-05')).toEqual({ startUs: us('2014-04-04T13:00:00Z'), endUs: us('2014-04-05T13:00:00Z') });
    expect(localDay('Australia/Sydney', '2014-04-06')).toEqual({ startUs: us('2014-04-05T13:00:00Z'), endUs: us('2014-04-06T14:00:00Z') });
    expect(localDay('Australia/Sydney', '2014-04-07')).toEqual({ startUs: us('2014-04-06T14:00:00Z'), endUs: us('2014-04-07T14:00:00Z') });
    expect(localDay('Australia/Sydney', '2014-10-05')).toEqual({ startUs: us('2014-10-04T14:00:00Z'), endUs: us('2014-10-05T13:00:00Z') });
    // The day: Sydney is UTC+11 in March 2014.
    expect(localDay('Australia/Sydney', '2014-03-11')).toEqual({ startUs: us('2014-03-10T13:00:00Z'), endUs: us('2014-03-11T13:00:00Z') });
  });

  it('a :45 zone, a :30 zone and UTC', () => {
    expect(localDay('Asia/Kathmandu', '2014-04-06')).toEqual({ startUs: us('2014-04-05T18:15:00Z'), endUs: us('2014-04-06T18:15:00Z') });
    expect(localDay('Pacific/Chatham', '2014-04-06')).toEqual({ startUs: us('2014-04-05T10:15:00Z'), endUs: us('2014-04-06T11:15:00Z') }); // +13:45 → +12:45
    expect(localDay('Asia/Kolkata', '2014-04-06')).toEqual({ startUs: us('2014-04-05T18:30:00Z'), endUs: us('2014-04-06T18:30:00Z') });
    expect(localDay('UTC', '2014-04-06')).toEqual({ startUs: us('2014-04-06T00:00:00Z'), endUs: us('2014-04-07T00:00:00Z') });
  });

  it('daily boundaries equal a brute-force scan of the local date every 15 minutes over 2014', () => {
    const zones = ['Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/New_York', 'America/Santiago', 'Europe/London'];
    const from = us('2014-01-01T00:00:00Z');
    const to = us('2015-01-01T00:00:00Z');
    for (const zone of zones) {
      // Independent of offsetMs: the formatted local date, and a day starts where a later date is first seen.
      const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
      const expected: string[] = [];
      let max = '';
      for (let t = Number(from / 1000n) - 15 * 60_000; t < Number(to / 1000n); t += 15 * 60_000) {
        const d = fmt.format(new Date(t));
        if (d > max) {
          if (max !== '') expected.push(`${d} ${new Date(t).toISOString()}`);
          max = d;
        }
      }
      const got = zoneBoundaries(zone, 86_400_000, true, from, to).filter((b) => b.us >= from).map((b) => `${new Date(b.wallMs).toISOString().slice(0, 10)} ${iso(b.us)}`);
      expect(got).toEqual(expected.filter((e) => us(e.slice(11)) >= from));
    }
  });
});

describe('intraday buckets on the local clock', () => {
  const hours = (zone: string, a: string, b: string) => zoneBoundaries(zone, HOUR, false, us(a), us(b)).map((x) => iso(x.us));

  it('1h bars in Asia/Kolkata start at :30 UTC, in Asia/Kathmandu at :15', () => {
    expect(hours('Asia/Kolkata', '2014-04-06T00:00:00Z', '2014-04-06T03:00:00Z')).toEqual(['2014-04-05T23:30:00.000Z', '2014-04-06T00:30:00.000Z', '2014-04-06T01:30:00.000Z', '2014-04-06T02:30:00.000Z']);
    expect(hours('Asia/Kathmandu', '2014-04-06T00:15:00Z', '2014-04-06T02:00:00Z')).toEqual(['2014-04-06T00:15:00.000Z', '2014-04-06T01:15:00.000Z']);
  });

  it('Sydney: the repeated hour of the DST end is two 1h bars, the skipped hour of the DST start none', () => {
    // 2014-04-06 03:00 AEDT → 02:00 AEST at 16:00Z: 02:00 local starts at 15:00Z and again at 16:00Z.
    expect(hours('Australia/Sydney', '2014-04-05T14:00:00Z', '2014-04-05T18:00:00Z')).toEqual(['2014-04-05T14:00:00.000Z', '2014-04-05T15:00:00.000Z', '2014-04-05T16:00:00.000Z', '2014-04-05T17:00:00.000Z']);
    // 2014-10-05 02:00 AEST → 03:00 AEDT at 16:00Z: 01:00 AEST (15:00Z), then 03:00 AEDT (16:00Z).
    const b = zoneBoundaries('Australia/Sydney', HOUR, false, us('2014-10-04T15:00:00Z'), us('2014-10-04T18:00:00Z'));
    expect(b.map((x) => `${new Date(x.wallMs).toISOString().slice(11, 16)}@${iso(x.us).slice(11, 16)}`)).toEqual(['01:00@15:00', '03:00@16:00', '04:00@17:00']);
  });

  it('Lord Howe: a 30-minute DST change makes the bucket around it 1.5 h (1h) or starts one at the change (15m)', () => {
    // 2014-04-06 02:00 LHDT (+11) → 01:30 LHST (+10:30) at 15:00Z.
    expect(hours('Australia/Lord_Howe', '2014-04-05T14:00:00Z', '2014-04-05T17:00:00Z')).toEqual(['2014-04-05T14:00:00.000Z', '2014-04-05T15:30:00.000Z', '2014-04-05T16:30:00.000Z']);
    const q = zoneBoundaries('Australia/Lord_Howe', 15 * 60_000, false, us('2014-04-05T14:30:00Z'), us('2014-04-05T15:30:00Z')).map((x) => iso(x.us).slice(11, 16));
    expect(q).toEqual(['14:30', '14:45', '15:00', '15:15']);
  });
});

describe('zones of requests', () => {
  it('resolves tz, else the exchange, else UTC; rejects unknown zones with a 400', () => {
    expect(canonicalZone('australia/sydney')).toBe('Australia/Sydney');
    expect(canonicalZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(canonicalZone('Etc/UTC')).toBe('UTC');
    expect(canonicalZone('+05:30')).toBeUndefined();
    expect(canonicalZone('Mars/Olympus_Mons')).toBeUndefined();
    expect(zoneFor('ASX', undefined)).toBe('Australia/Sydney');
    expect(zoneFor('BINANCE', undefined)).toBe('UTC');
    expect(zoneFor('K2TESTX', undefined)).toBe('UTC');
    expect(zoneFor(undefined, undefined)).toBe('UTC');
    expect(zoneFor('ASX', 'UTC')).toBe('UTC');

    const s = parseSummaryRequest({ symbol: 'bhp', exchange: 'asx', date: '2014-03-11' });
    expect(s).toMatchObject({ tz: 'Australia/Sydney', startUs: us('2014-03-10T13:00:00Z'), endUs: us('2014-03-11T13:00:00Z') });
    expect(parseSummaryRequest({ symbol: 'BHP', date: '2014-03-11' })).toMatchObject({ tz: 'UTC', startUs: us('2014-03-11T00:00:00Z') });
    expect(parseSummaryRequest({ symbol: 'BHP', date: '2014-03-11', tz: 'Asia/Kathmandu' })).toMatchObject({ startUs: us('2014-03-10T18:15:00Z') });
    expect(() => parseSummaryRequest({ symbol: 'BHP', date: '2014-03-11', tz: 'Nowhere/Town' })).toThrow(InvalidParameterError);
    expect(() => parseSummaryRequest({ symbol: 'BHP', date: '1970-01-01', tz: 'Australia/Sydney' })).toThrow(/1970/);
    expect(() => parseBarsRequest({ symbol: 'BHP', interval: '1d', start: '2014-03-10T00:00:00Z', end: '2014-03-15T00:00:00Z', tz: '' }, 0n)).not.toThrow();
    expect(parseBarsRequest({ symbol: 'BHP', exchange: 'ASX', interval: '1h', start: '2014-03-10T00:00:00Z', end: '2014-03-15T00:00:00Z' }, 0n).tz).toBe('Australia/Sydney');
  });
});

describe('zone-aligned regrouping and the tail merge', () => {
  const trade = (ts: bigint, i: number) => ({ message_id: `m${String(i).padStart(6, '0')}`, timestamp: ts, price: `${100 + (i % 7)}.00000000`, quantity: `${1 + (i % 3)}.50000000` });
  // A trade every 7 minutes over Sydney's DST-end weekend, local days and 1h bars.
  const start = us('2014-04-04T13:00:00Z');
  const end = us('2014-04-07T14:00:00Z');
  const trades = Array.from({ length: Number((end - start) / 420_000_000n) }, (_, i) => trade(start + BigInt(i) * 420_000_000n + 1_000_000n, i));

  it('daily bars from minute partials, from the tail alone and from the two mixed are the same', () => {
    const plan = planBars('Australia/Sydney', 86_400_000_000n, true, start, end);
    expect(plan.bucketing.starts).toEqual([us('2014-04-04T13:00:00Z'), us('2014-04-05T13:00:00Z'), us('2014-04-06T14:00:00Z')]);
    expect([...plan.dates!.values()]).toEqual(['2014-04-05', '2014-04-06', '2014-04-07']);
    expect(wholeMinutes(plan.bucketing, start, end)).toBe(true);
    const minutes = mergeBars([], trades, 60_000_000n);
    const fromMinutes = rebucket(minutes, bucketOf(plan.bucketing), start, end);
    const fromTail = mergeBars([], trades, bucketOf(plan.bucketing));
    const half = trades.length >> 1;
    const mixed = mergeBars(rebucket(mergeBars([], trades.slice(0, half), 60_000_000n), bucketOf(plan.bucketing), start, end), trades.slice(half), bucketOf(plan.bucketing));
    expect(fromMinutes).toEqual(fromTail);
    expect(mixed).toEqual(fromTail);
    const count = (a: string, b: string) => trades.filter((t) => t.timestamp >= us(a) && t.timestamp < us(b)).length;
    expect(fromTail.map((p: BarPartial) => p.trades)).toEqual([count('2014-04-04T13:00:00Z', '2014-04-05T13:00:00Z'), count('2014-04-05T13:00:00Z', '2014-04-06T14:00:00Z'), count('2014-04-06T14:00:00Z', '2014-04-07T14:00:00Z')]);
  });

  it('UTC keeps epoch-aligned buckets (the original path)', () => {
    expect(planBars('UTC', 3_600_000_000n, false, start, end)).toEqual({ bucketing: { bucketUs: 3_600_000_000n, starts: null }, tz: 'UTC', dates: null });
    expect(planSummary('UTC', us('2014-04-06T00:00:00Z'), us('2014-04-07T00:00:00Z'))).toEqual({ bucketUs: 86_400_000_000n, starts: null });
  });
});
