import { AsxRowError } from './errors';
import { ExchangeClock, parseTime, parseUsDate } from './time';

// Expected UTC values were computed independently with Python's zoneinfo (IANA Australia/Sydney), e.g.
// datetime(2014,3,10,7,57,14,754000,tzinfo=ZoneInfo('Australia/Sydney')).astimezone(timezone.utc).
const iso = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString();

describe('ExchangeClock (Australia/Sydney -> UTC µs)', () => {
  const clock = new ExchangeClock();

  it.each([
    // trades/7078.csv line 1 and quotes/7078.csv line 1 (AEDT, UTC+11)
    ['03/10/2014', '07:57:14.754', 1394398634754000n],
    ['03/10/2014', '05:43:45.676', 1394390625676000n],
    ['03/14/2014', '16:12:00.123', 1394773920123000n],
    // winter (AEST, UTC+10)
    ['06/16/2014', '10:00:00.000', 1402876800000000n],
  ])('%s %s', (date, time, expected) => {
    expect(clock.micros(date, time)).toBe(expected);
  });

  it('keeps sub-millisecond digits exactly', () => {
    expect(clock.micros('03/10/2014', '07:57:14.754321')).toBe(1394398634754321n);
    expect(clock.micros('03/10/2014', '07:57:14.7')).toBe(1394398634700000n);
    expect(clock.micros('03/10/2014', '07:57:14')).toBe(1394398634000000n);
  });

  describe('daylight saving end, 6 April 2014 (03:00 AEDT -> 02:00 AEST)', () => {
    it('last instant of daylight time and first hour after it', () => {
      expect(iso(clock.micros('04/06/2014', '01:59:59.999'))).toBe('2014-04-05T14:59:59.999Z');
      expect(iso(clock.micros('04/06/2014', '03:00:00.000'))).toBe('2014-04-05T17:00:00.000Z');
    });
    it('resolves the repeated hour to its first occurrence (still daylight time)', () => {
      expect(iso(clock.micros('04/06/2014', '02:30:00.000'))).toBe('2014-04-05T15:30:00.000Z');
    });
    it('switches offset between the days on either side', () => {
      expect(iso(clock.micros('04/05/2014', '10:00:00.000'))).toBe('2014-04-04T23:00:00.000Z');
      expect(iso(clock.micros('04/07/2014', '10:00:00.000'))).toBe('2014-04-07T00:00:00.000Z');
    });
  });

  describe('daylight saving start, 5 October 2014 (02:00 AEST -> 03:00 AEDT)', () => {
    it('converts the times around the gap', () => {
      expect(iso(clock.micros('10/05/2014', '01:59:59.000'))).toBe('2014-10-04T15:59:59.000Z');
      expect(iso(clock.micros('10/05/2014', '03:00:00.000'))).toBe('2014-10-04T16:00:00.000Z');
    });
    it('rejects a local time inside the gap: it never happened in Sydney', () => {
      expect(() => clock.micros('10/05/2014', '02:30:00.000')).toThrow(
        expect.objectContaining({ reason: 'NONEXISTENT_LOCAL_TIME', message: '10/05/2014 02:30:00.000 does not exist in Australia/Sydney (daylight-saving gap)' }),
      );
    });
  });

  it('the per-day offset cache agrees with the exact computation on every hour of both transition days', () => {
    const fresh = () => new ExchangeClock();
    for (const date of ['04/06/2014', '10/05/2014', '04/05/2015', '10/04/2015']) {
      const cached = fresh();
      for (let h = 0; h < 24; h++) {
        const time = `${String(h).padStart(2, '0')}:15:00.000`;
        let viaCache: bigint | string;
        let viaFresh: bigint | string;
        try {
          viaCache = cached.micros(date, time);
        } catch (e) {
          viaCache = (e as AsxRowError).reason;
        }
        try {
          viaFresh = fresh().micros(date, time);
        } catch (e) {
          viaFresh = (e as AsxRowError).reason;
        }
        expect(viaCache).toEqual(viaFresh);
      }
    }
  });

  it('gives every listing date its local midnight', () => {
    expect(iso(clock.dateMicros('05/07/2008', 'start_date'))).toBe('2008-05-06T14:00:00.000Z');
    expect(iso(clock.dateMicros('03/03/2014', 'ex_date'))).toBe('2014-03-02T13:00:00.000Z');
  });
});

describe('strict date and time text', () => {
  it.each(['3/10/2014', '03/10/14', '2014-03-10', '13/01/2014', '02/30/2014', '00/10/2014', '03/00/2014', '03-10-2014', '', '03/10/2014 '])(
    'rejects date %j',
    (d) => {
      expect(() => parseUsDate(d)).toThrow(expect.objectContaining({ reason: 'BAD_DATE' }));
    },
  );
  it('accepts 29 February only in a leap year', () => {
    expect(parseUsDate('02/29/2016')).toBe(Date.UTC(2016, 1, 29));
    expect(() => parseUsDate('02/29/2014')).toThrow(AsxRowError);
  });
  it.each(['24:00:00.000', '10:60:00.000', '10:00:60.000', '10:00:00.', '10:00:00.1234567', '1:00:00.000', 'ab:cd:ef.ghi', '10:00'])('rejects time %j', (t) => {
    expect(() => parseTime(t)).toThrow(expect.objectContaining({ reason: 'BAD_TIME' }));
  });
});
