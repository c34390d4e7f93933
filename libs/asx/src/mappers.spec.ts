import { readFileSync } from 'node:fs';
import path from 'node:path';
import { messageId, v2Type, type QuoteV2, type ReferenceDataV2, type TradeV2 } from '@k2/schema';
import { sampleQuotes, sampleTrades } from '@k2/testing';
import { AsxRowError } from './errors';
import { parseCompanyInfo, QuoteMapper, ReferenceMapper, TradeMapper, type CompanyInfo, type MapperContext } from './mappers';
import { ExchangeClock } from './time';

const SAMPLE = path.resolve(__dirname, '../../../data/asx-sample');
const clock = new ExchangeClock();
const INGESTED = 1700000000000000n;

/** Line `n` (1-based) of a bundled sample file, exactly as the loader sees it (CRLF stripped). */
function sampleLine(file: string, n: number): string {
  return readFileSync(path.join(SAMPLE, file), 'utf8').split('\r\n')[n - 1]!;
}

const { companies } = parseCompanyInfo(readFileSync(path.join(SAMPLE, 'reference-data/company_info.csv'), 'utf8'), clock);
const company = (id: string): CompanyInfo => companies.get(id)!;
const ctx = (identity: string, id: string): MapperContext => ({ identity, currency: 'AUD', clock, company: company(id), companies });

function tradeMapper(id: string) {
  const m = new TradeMapper(ctx(`trades/${id}.csv`, id));
  m.ingestionTimestamp = INGESTED;
  return m;
}
function quoteMapper(id: string) {
  const m = new QuoteMapper(ctx(`quotes/${id}.csv`, id));
  m.ingestionTimestamp = INGESTED;
  return m;
}
function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof AsxRowError) return `${e.reason}: ${e.message}`;
    throw e;
  }
  return 'accepted';
}

describe('company_info', () => {
  it('maps the four sample companies', () => {
    expect([...companies.values()]).toEqual([
      { companyId: '3153', symbol: 'MWR', name: 'MGM WIRELESS LTD', isin: 'AU000000MWR6' },
      { companyId: '7078', symbol: 'BHP', name: 'BHP BILLITON LTD', isin: 'AU000000BHP4' },
      { companyId: '7181', symbol: 'DVN', name: 'DEVINE LTD', isin: 'AU000000DVN6' },
      { companyId: '7458', symbol: 'RIO', name: 'RIO TINTO LTD', isin: 'AU000000RIO1' },
    ]);
  });
});

describe('TradeMapper on real sample rows (golden outputs)', () => {
  it('trades/7078.csv line 1: pre-open crossing (code 3, X) equals the foundation sample record', () => {
    expect(sampleLine('trades/7078.csv', 1)).toBe('03/10/2014,07:57:14.754,36.667,20000,3,X,');
    const expected = sampleTrades().find((t) => t.exchange === 'ASX')!;
    expect(tradeMapper('7078').map(sampleLine('trades/7078.csv', 1), 1)).toEqual({ ...expected, ingestion_timestamp: INGESTED });
  });

  it('trades/7078.csv line 1927: a normal trade with a filtered price', () => {
    expect(sampleLine('trades/7078.csv', 1927)).toBe('03/10/2014,10:24:23.348,36.76,8,0,,36.79');
    expect(tradeMapper('7078').map(sampleLine('trades/7078.csv', 1927), 1927)).toEqual<TradeV2>({
      message_id: messageId('ASX', 'BHP', '7078:trades/7078.csv:1927'),
      trade_id: '7078:trades/7078.csv:1927',
      symbol: 'BHP',
      exchange: 'ASX',
      asset_class: 'equities',
      timestamp: 1394407463348000n, // 2014-03-09T23:24:23.348Z (AEDT, UTC+11)
      price: '36.76000000' as TradeV2['price'],
      quantity: '8.00000000' as TradeV2['quantity'],
      currency: 'AUD',
      side: 'UNKNOWN',
      trade_conditions: ['0'],
      source_sequence: null,
      ingestion_timestamp: INGESTED,
      platform_sequence: null,
      vendor_data: { company_id: '7078', qualifiers: '0', venue: '', filtered_price: '36.79' },
    });
  });

  it.each([
    ['trades/7078.csv', '7078', 91631, '03/14/2014,17:06:06.187,35.66,119323,3,X,', 1394777166187000n, '35.66000000', '119323.00000000', 'BHP'],
    ['trades/3153.csv', '3153', 1, '03/10/2014,13:50:38.849,1.11,3667,0,,', 1394419838849000n, '1.11000000', '3667.00000000', 'MWR'],
    ['trades/7181.csv', '7181', 232, '03/14/2014,15:59:31.631,0.63,341,0,,', 1394773171631000n, '0.63000000', '341.00000000', 'DVN'],
  ])('%s line %d', (file, id, line, raw, ts, price, qty, symbol) => {
    expect(sampleLine(file, line)).toBe(raw);
    const t = tradeMapper(id).map(raw, line);
    expect(t).toMatchObject({ symbol, timestamp: ts, price, quantity: qty, trade_id: `${id}:${file}:${line}` });
    expect(t.message_id).toBe(messageId('ASX', symbol, `${id}:${file}:${line}`));
  });

  it('maps every row of the three sample trade files, and the records encode with trade_v2', () => {
    const type = v2Type('trades');
    let rows = 0;
    let volume = 0n;
    for (const id of ['3153', '7078', '7181']) {
      const m = tradeMapper(id);
      readFileSync(path.join(SAMPLE, `trades/${id}.csv`), 'utf8')
        .split('\r\n')
        .filter((l) => l !== '')
        .forEach((l, i) => {
          const t = m.map(l, i + 1);
          type.toBuffer(t);
          volume += BigInt(t.quantity.slice(0, -9));
          rows++;
        });
    }
    // Independent totals: awk -F, '{n++; v+=$4} END {print n, v}' trades/*.csv
    expect(rows).toBe(91874);
    expect(volume).toBe(37747399n);
  }, 60_000);

  it.each([
    ['wrong field count', '03/10/2014,10:24:23.348,36.76,8,0,', 'FIELD_COUNT: expected 7 comma-separated fields for a trade row, got 6'],
    ['unparseable date', '2014-03-10,10:24:23.348,36.76,8,0,,', 'BAD_DATE: date "2014-03-10" is not a valid MM/DD/YYYY date'],
    ['impossible date', '02/30/2014,10:24:23.348,36.76,8,0,,', 'BAD_DATE: date "02/30/2014" is not a valid MM/DD/YYYY date'],
    ['unparseable time', '03/10/2014,10:24,36.76,8,0,,', 'BAD_TIME: time "10:24" is not a valid HH:MM:SS.mmm time'],
    ['negative price', '03/10/2014,10:24:23.348,-36.76,8,0,,', 'BAD_PRICE: price: "-36.76" must not be negative'],
    ['over-precision price', '03/10/2014,10:24:23.348,36.123456789,8,0,,', 'BAD_PRICE: price: "36.123456789" has more than 8 significant fraction digits; refusing to round'],
    ['empty price', '03/10/2014,10:24:23.348,,8,0,,', 'BAD_PRICE: price: "" is empty'],
    ['non-numeric volume', '03/10/2014,10:24:23.348,36.76,eight,0,,', 'BAD_VOLUME: volume: "eight" is not a decimal number'],
    ['zero volume', '03/10/2014,10:24:23.348,36.76,0,0,,', 'BAD_VOLUME: volume: "0" must be greater than zero'],
    ['non-numeric condition code', '03/10/2014,10:24:23.348,36.76,8,XT,,', 'BAD_CONDITION: condition_code "XT" is not a numeric condition code'],
    ['unknown exclude flag', '03/10/2014,10:24:23.348,36.76,8,0,Y,', 'BAD_FLAG: exclude_flag "Y" must be empty or X'],
    ['bad filtered price', '03/10/2014,10:24:23.348,36.76,8,0,,-1', 'BAD_PRICE: filtered_price: "-1" must not be negative'],
    ['time in the daylight-saving gap', '10/05/2014,02:30:00.000,36.76,8,0,,', 'NONEXISTENT_LOCAL_TIME: 10/05/2014 02:30:00.000 does not exist in Australia/Sydney (daylight-saving gap)'],
  ])('rejects a %s', (_what, raw, expected) => {
    expect(reasonOf(() => tradeMapper('7078').map(raw, 7))).toBe(expected);
  });
});

describe('QuoteMapper on real sample rows (golden outputs)', () => {
  it('quotes/7078.csv line 1: an empty ask side stays 0/0 and equals the foundation sample record', () => {
    expect(sampleLine('quotes/7078.csv', 1)).toBe('03/10/2014,05:43:45.676,37.7,0.0,300,0');
    const expected = sampleQuotes().find((q) => q.exchange === 'ASX')!;
    expect(quoteMapper('7078').map(sampleLine('quotes/7078.csv', 1), 1)).toEqual({ ...expected, ingestion_timestamp: INGESTED });
  });

  it('quotes/7078.csv line 40: a two-sided quote', () => {
    expect(sampleLine('quotes/7078.csv', 40)).toBe('03/10/2014,10:00:04.498,36.77,36.78,1000,16228');
    expect(quoteMapper('7078').map(sampleLine('quotes/7078.csv', 40), 40)).toEqual<QuoteV2>({
      message_id: messageId('ASX', 'BHP', '7078:quotes/7078.csv:40', 'quote'),
      symbol: 'BHP',
      exchange: 'ASX',
      asset_class: 'equities',
      timestamp: 1394406004498000n,
      bid_price: '36.77000000' as QuoteV2['bid_price'],
      bid_quantity: '1000.00000000' as QuoteV2['bid_quantity'],
      ask_price: '36.78000000' as QuoteV2['ask_price'],
      ask_quantity: '16228.00000000' as QuoteV2['ask_quantity'],
      currency: 'AUD',
      source_sequence: null,
      ingestion_timestamp: INGESTED,
      platform_sequence: null,
      vendor_data: { company_id: '7078' },
    });
  });

  it('keeps a crossed pre-open quote (bid above ask) as the vendor sent it', () => {
    expect(sampleLine('quotes/7078.csv', 4)).toBe('03/10/2014,07:00:13.948,37.73,37.0,19,16');
    expect(quoteMapper('7078').map(sampleLine('quotes/7078.csv', 4), 4)).toMatchObject({
      timestamp: 1394395213948000n,
      bid_price: '37.73000000',
      ask_price: '37.00000000',
      bid_quantity: '19.00000000',
      ask_quantity: '16.00000000',
    });
  });

  it('an empty bid side', () => {
    expect(quoteMapper('7181').map('03/10/2014,05:46:13.491,0.0,0.67,0,13469', 9)).toMatchObject({
      bid_price: '0.00000000',
      bid_quantity: '0.00000000',
      ask_price: '0.67000000',
      ask_quantity: '13469.00000000',
    });
  });

  it('maps every row of the three sample quote files', () => {
    const type = v2Type('quotes');
    let rows = 0;
    let emptySides = 0;
    for (const id of ['3153', '7078', '7181']) {
      const m = quoteMapper(id);
      readFileSync(path.join(SAMPLE, `quotes/${id}.csv`), 'utf8')
        .split('\r\n')
        .filter((l) => l !== '')
        .forEach((l, i) => {
          const q = m.map(l, i + 1);
          type.toBuffer(q);
          if (q.bid_price === '0.00000000' || q.ask_price === '0.00000000') emptySides++;
          rows++;
        });
    }
    expect(rows).toBe(60 + 77849 + 549);
    expect(emptySides).toBeGreaterThan(0);
  }, 60_000);

  it.each([
    ['wrong field count', '03/10/2014,05:43:45.676,37.7,0.0,300', 'FIELD_COUNT: expected 6 comma-separated fields for a quote row, got 5'],
    ['zero price with a size', '03/10/2014,05:43:45.676,37.7,0.0,300,600', 'EMPTY_SIDE: ask_price "0.0" is zero but ask_size is "600": only an empty side (size 0) may have a zero price'],
    ['negative size', '03/10/2014,05:43:45.676,37.7,37.73,-300,600', 'BAD_SIZE: bid_size: "-300" must not be negative'],
    ['over-precision ask', '03/10/2014,05:43:45.676,37.7,37.730000001,300,600', 'BAD_PRICE: ask_price: "37.730000001" has more than 8 significant fraction digits; refusing to round'],
    ['unparseable date', '03/1O/2014,05:43:45.676,37.7,37.73,300,600', 'BAD_DATE: date "03/1O/2014" is not a valid MM/DD/YYYY date'],
  ])('rejects a %s', (_what, raw, expected) => {
    expect(reasonOf(() => quoteMapper('7078').map(raw, 3))).toBe(expected);
  });
});

describe('ReferenceMapper on the sample reference data (golden outputs)', () => {
  function mapFile(kind: 'company_info' | 'dividends' | 'splits' | 'mergers', file: string): Array<ReferenceDataV2 | null> {
    const m = new ReferenceMapper(kind, { identity: `reference-data/${file}`, currency: 'AUD', clock, companies });
    m.ingestionTimestamp = INGESTED;
    return readFileSync(path.join(SAMPLE, 'reference-data', file), 'utf8')
      .split('\r\n')
      .filter((l) => l !== '')
      .map((l, i) => m.map(l, i + 1));
  }

  it('company_info rows become INSTRUMENT records', () => {
    const out = mapFile('company_info', 'company_info.csv');
    expect(out[0]).toBeNull(); // header
    expect(out[2]).toEqual<ReferenceDataV2>({
      message_id: messageId('ASX', 'BHP', '7078:reference-data/company_info.csv:3', 'reference'),
      instrument_id: '7078',
      symbol: 'BHP',
      exchange: 'ASX',
      asset_class: 'equities',
      record_type: 'INSTRUMENT',
      name: 'BHP BILLITON LTD',
      isin: 'AU000000BHP4',
      currency: 'AUD',
      effective_date: 1210082400000000n, // 2008-05-07 local midnight = 2008-05-06T14:00Z
      is_active: true,
      ingestion_timestamp: INGESTED,
      vendor_data: {
        company_id: '7078',
        symbol: 'BHP',
        company_name: 'BHP BILLITON LTD',
        isin: 'AU000000BHP4',
        start_date: '05/07/2008',
        end_date: '03/31/2014',
      },
    });
    expect(out.filter(Boolean).map((r) => [r!.symbol, r!.effective_date])).toEqual([
      ['MWR', 1068037200000000n],
      ['BHP', 1210082400000000n],
      ['DVN', 1210082400000000n],
      ['RIO', 1210082400000000n],
    ]);
    for (const r of out) if (r) v2Type('reference').toBuffer(r);
  });

  it('dividends become DIVIDEND records in the dividend currency, amounts as exact decimals', () => {
    const out = mapFile('dividends', 'dividends.csv');
    expect(out[0]).toBeNull();
    expect(out[1]).toEqual<ReferenceDataV2>({
      message_id: messageId('ASX', 'BHP', '7078:reference-data/dividends.csv:2', 'reference'),
      instrument_id: '7078',
      symbol: 'BHP',
      exchange: 'ASX',
      asset_class: 'equities',
      record_type: 'DIVIDEND',
      name: 'BHP BILLITON LTD',
      isin: 'AU000000BHP4',
      currency: 'USD',
      effective_date: 1393765200000000n, // ex-date 03/03/2014 local midnight
      is_active: true,
      ingestion_timestamp: INGESTED,
      vendor_data: {
        company_id: '7078',
        declared_date: '09/25/2013',
        ex_date: '03/03/2014',
        record_date: '03/07/2014',
        pay_date: '03/26/2014',
        net_amount: '0.59000000',
        gross_amount: '0.84285700',
        currency_type: 'USD',
      },
    });
    expect(out[2]).toMatchObject({ symbol: 'RIO', currency: 'AUD', effective_date: 1393938000000000n, vendor_data: { net_amount: '1.20140000', gross_amount: '1.71628600' } });
  });

  it('the "NO RECORDS TO REPORT" placeholders of splits and mergers carry no record', () => {
    expect(mapFile('splits', 'stock_splits.csv')).toEqual([null, null]);
    expect(mapFile('mergers', 'mergers.csv')).toEqual([null, null]);
  });

  it('rejects unknown companies, bad amounts and currencies, and every row after an unusable header', () => {
    const m = new ReferenceMapper('dividends', { identity: 'reference-data/dividends.csv', currency: 'AUD', clock, companies });
    expect(m.map(sampleLine('reference-data/dividends.csv', 1), 1)).toBeNull();
    expect(reasonOf(() => m.map('9999,09/25/2013,03/03/2014,03/07/2014,03/26/2014,0.59,0.842857,USD', 2))).toBe('UNKNOWN_COMPANY: company_id "9999" is not in company_info');
    expect(reasonOf(() => m.map('7078,09/25/2013,03/03/2014,03/07/2014,03/26/2014,-0.59,0.842857,USD', 3))).toBe('BAD_AMOUNT: net_amount: "-0.59" must not be negative');
    expect(reasonOf(() => m.map('7078,09/25/2013,03/03/2014,03/07/2014,03/26/2014,0.59,0.842857,usd', 4))).toBe('BAD_FIELD: currency_type "usd" is not an ISO 4217 code');
    expect(reasonOf(() => m.map('7078,09/25/2013,13/03/2014,03/07/2014,03/26/2014,0.59,0.842857,USD', 5))).toBe('BAD_DATE: ex_date "13/03/2014" is not a valid MM/DD/YYYY date');

    const s = new ReferenceMapper('splits', { identity: 'reference-data/stock_splits.csv', currency: 'AUD', clock, companies });
    expect(reasonOf(() => s.map('company,date,ratio', 1))).toBe('BAD_FIELD: header of a splits file must name company_id, effective_date; got company,date,ratio');
    expect(reasonOf(() => s.map('7078,03/03/2014,2:1', 2))).toBe("BAD_FIELD: row cannot be read: the file's header is unusable (header of a splits file must name company_id, effective_date; got company,date,ratio)");
  });

  it('reads quoted company names with commas', () => {
    const { companies: c } = parseCompanyInfo('company_id,symbol,company_name,ISIN\r\n1234,ABC,"ABC HOLDINGS, ""NEW"" LTD",AU000000ABC1\r\n', clock);
    expect(c.get('1234')).toEqual({ companyId: '1234', symbol: 'ABC', name: 'ABC HOLDINGS, "NEW" LTD', isin: 'AU000000ABC1' });
  });
});

