import type { Decimal } from '@k2/decimal';
import { messageId, type QuoteV2, type RecordKind, type ReferenceDataV2, type ReferenceRecordType, type TradeV2 } from '@k2/schema';
import { headerKey, splitCsvLine } from './csv';
import { rowDecimal, ZERO_DECIMAL } from './decimal';
import { AsxRowError } from './errors';
import { RowIdFactory } from './ids';
import type { ExchangeClock } from './time';

export const ASX_EXCHANGE = 'ASX';
export const DEFAULT_CURRENCY = 'AUD';

/** What a file holds, decided from its name and directory (see sources.ts). */
export type AsxFileKind = 'trades' | 'quotes' | 'company_info' | 'dividends' | 'splits' | 'mergers';

export function recordKindOf(kind: AsxFileKind): RecordKind {
  return kind === 'trades' || kind === 'quotes' ? kind : 'reference';
}

/** One row of reference-data/company_info.csv: how a company id (the file name of its trades) becomes a symbol. */
export interface CompanyInfo {
  readonly companyId: string;
  readonly symbol: string;
  readonly name: string;
  readonly isin: string | null;
}

export type CompanyMap = ReadonlyMap<string, CompanyInfo>;

/** The per-file facts a mapper needs. `identity` is the stable source-file identity that ids are built from. */
export interface MapperContext {
  readonly identity: string;
  readonly currency: string;
  readonly clock: ExchangeClock;
  /** Trades and quotes files: the company the file belongs to (its name). */
  readonly company?: CompanyInfo;
  /** Reference files: every known company, to resolve the company id column. */
  readonly companies?: CompanyMap;
}

/**
 * Turns one line into its V2 record. Returns null for a line that carries no record (a header, a
 * "NO RECORDS TO REPORT" placeholder); throws AsxRowError for a bad row.
 */
export interface RowMapper<R> {
  readonly kind: RecordKind;
  /** Symbol the file's records are keyed by; null for reference files, whose rows name their own company. */
  readonly symbol: string | null;
  /** µs UTC stamped into ingestion_timestamp; the loader refreshes it per chunk rather than per row. */
  ingestionTimestamp: bigint;
  map(text: string, line: number): R | null;
  /** Kafka key for a record this mapper produced. */
  keyOf(record: R): string;
  /** message_id of a line's record: lets a resumed load recognise rows already in Kafka. */
  idOf(record: R): string;
}

/** `<company id>:<source identity>:`, the constant part of every row id of a file; the line number follows. */
export function sourceIdPrefix(companyId: string, identity: string): string {
  return `${companyId}:${identity}:`;
}

function fieldCount(fields: string[], expected: number, what: string): void {
  if (fields.length !== expected) {
    throw new AsxRowError('FIELD_COUNT', undefined, `expected ${expected} comma-separated fields for a ${what} row, got ${fields.length}`);
  }
}

function isConditionCode(s: string): boolean {
  if (s.length > 9) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Tick Data trades: `MM/DD/YYYY,HH:MM:SS.mmm,price,volume,condition code,exclude flag,filtered price`.
 * vendor_data keeps what V2 has no column for: company_id, the condition code as `qualifiers`, the exclude flag
 * as `venue` ('X' = excluded/off-market, e.g. pre-open crossings) and the vendor's filtered price, all verbatim.
 */
export class TradeMapper implements RowMapper<TradeV2> {
  readonly kind = 'trades' as const;
  readonly symbol: string;
  ingestionTimestamp = 0n;
  private readonly ids: RowIdFactory;
  private readonly company: CompanyInfo;

  constructor(private readonly ctx: MapperContext) {
    if (!ctx.company) throw new Error('TradeMapper needs the file company');
    this.company = ctx.company;
    this.symbol = ctx.company.symbol;
    this.ids = new RowIdFactory('trade', ASX_EXCHANGE, this.symbol, sourceIdPrefix(this.company.companyId, ctx.identity));
  }

  map(text: string, line: number): TradeV2 {
    const f = text.split(',');
    fieldCount(f, 7, 'trade');
    const timestamp = this.ctx.clock.micros(f[0], f[1]);
    const price = rowDecimal('price', f[2], 'price', 'BAD_PRICE');
    const quantity = rowDecimal('volume', f[3], 'quantity', 'BAD_VOLUME');
    const code = f[4];
    if (code !== '' && !isConditionCode(code)) {
      throw new AsxRowError('BAD_CONDITION', 'condition_code', `condition_code ${JSON.stringify(code)} is not a numeric condition code`);
    }
    const flag = f[5];
    if (flag !== '' && flag !== 'X') throw new AsxRowError('BAD_FLAG', 'exclude_flag', `exclude_flag ${JSON.stringify(flag)} must be empty or X`);
    const filtered = f[6];
    if (filtered !== '') rowDecimal('filtered_price', filtered, 'price', 'BAD_PRICE');
    return {
      message_id: this.ids.id(line),
      trade_id: this.ids.sourceId(line),
      symbol: this.symbol,
      exchange: ASX_EXCHANGE,
      asset_class: 'equities',
      timestamp,
      price,
      quantity,
      currency: this.ctx.currency,
      side: 'UNKNOWN',
      trade_conditions: code === '' ? [] : [code],
      source_sequence: null,
      ingestion_timestamp: this.ingestionTimestamp,
      platform_sequence: null,
      vendor_data: { company_id: this.company.companyId, qualifiers: code, venue: flag, filtered_price: filtered },
    };
  }

  keyOf(): string {
    return this.symbol;
  }

  idOf(r: TradeV2): string {
    return r.message_id;
  }
}

/**
 * Tick Data quotes: `MM/DD/YYYY,HH:MM:SS.mmm,bid,ask,bid size,ask size`. A 0.0 price with size 0 is an empty side
 * of the book and stays 0/0 (quote_v2's documented encoding of an empty side); a zero price with a non-zero size
 * is a contradiction and is rejected rather than passed on as a quote at price zero.
 */
export class QuoteMapper implements RowMapper<QuoteV2> {
  readonly kind = 'quotes' as const;
  readonly symbol: string;
  ingestionTimestamp = 0n;
  private readonly ids: RowIdFactory;
  private readonly company: CompanyInfo;

  constructor(private readonly ctx: MapperContext) {
    if (!ctx.company) throw new Error('QuoteMapper needs the file company');
    this.company = ctx.company;
    this.symbol = ctx.company.symbol;
    this.ids = new RowIdFactory('quote', ASX_EXCHANGE, this.symbol, sourceIdPrefix(this.company.companyId, ctx.identity));
  }

  map(text: string, line: number): QuoteV2 {
    const f = text.split(',');
    fieldCount(f, 6, 'quote');
    const timestamp = this.ctx.clock.micros(f[0], f[1]);
    const bid = rowDecimal('bid_price', f[2], 'price', 'BAD_PRICE');
    const ask = rowDecimal('ask_price', f[3], 'price', 'BAD_PRICE');
    const bidSize = rowDecimal('bid_size', f[4], 'size', 'BAD_SIZE');
    const askSize = rowDecimal('ask_size', f[5], 'size', 'BAD_SIZE');
    checkSide('bid', bid, bidSize, f[2], f[4]);
    checkSide('ask', ask, askSize, f[3], f[5]);
    return {
      message_id: this.ids.id(line),
      symbol: this.symbol,
      exchange: ASX_EXCHANGE,
      asset_class: 'equities',
      timestamp,
      bid_price: bid,
      bid_quantity: bidSize,
      ask_price: ask,
      ask_quantity: askSize,
      currency: this.ctx.currency,
      source_sequence: null,
      ingestion_timestamp: this.ingestionTimestamp,
      platform_sequence: null,
      vendor_data: { company_id: this.company.companyId },
    };
  }

  keyOf(): string {
    return this.symbol;
  }

  idOf(r: QuoteV2): string {
    return r.message_id;
  }
}

function checkSide(side: 'bid' | 'ask', price: Decimal, size: Decimal, rawPrice: string, rawSize: string): void {
  if (price === ZERO_DECIMAL && size !== ZERO_DECIMAL) {
    throw new AsxRowError(
      'EMPTY_SIDE',
      `${side}_price`,
      `${side}_price ${JSON.stringify(rawPrice)} is zero but ${side}_size is ${JSON.stringify(rawSize)}: only an empty side (size 0) may have a zero price`,
    );
  }
}

const PLACEHOLDER = /^-+\s*NO RECORDS TO REPORT\s*-+$/i;
const ISIN = /^[A-Z]{2}[A-Z0-9]{9}\d$/;
const CURRENCY = /^[A-Z]{3}$/;

const REFERENCE_COLUMNS: Record<Exclude<AsxFileKind, 'trades' | 'quotes'>, { required: string[]; type: ReferenceRecordType }> = {
  company_info: { required: ['company_id', 'symbol', 'company_name'], type: 'INSTRUMENT' },
  dividends: { required: ['company_id', 'ex_date', 'net_amount', 'currency_type'], type: 'DIVIDEND' },
  splits: { required: ['company_id', 'effective_date', 'ratio'], type: 'SPLIT' },
  mergers: { required: ['company_id', 'effective_date', 'ratio'], type: 'MERGER' },
};

/**
 * Reference files have a header row (line 1) naming their columns, matched by name so column order does not
 * matter. company_info rows become INSTRUMENT records (effective_date = start_date); dividends become DIVIDEND
 * records (effective_date = ex_date, currency = the dividend's own currency); splits and mergers become SPLIT and
 * MERGER records. Dates are exchange-local midnights in µs UTC; every source column is also kept verbatim in
 * vendor_data (amounts as canonical Decimal(18,8) text). The vendor's end_date is its coverage end, not a
 * delisting, so is_active stays true.
 */
export class ReferenceMapper implements RowMapper<ReferenceDataV2> {
  readonly kind = 'reference' as const;
  readonly symbol = null;
  ingestionTimestamp = 0n;
  private columns: Map<string, number> | undefined;
  private badHeader: string | undefined;
  private readonly type: ReferenceRecordType;
  private readonly required: string[];

  constructor(
    private readonly fileKind: Exclude<AsxFileKind, 'trades' | 'quotes'>,
    private readonly ctx: MapperContext,
  ) {
    this.type = REFERENCE_COLUMNS[fileKind].type;
    this.required = REFERENCE_COLUMNS[fileKind].required;
  }

  map(text: string, line: number): ReferenceDataV2 | null {
    if (this.badHeader !== undefined) {
      throw new AsxRowError('BAD_FIELD', undefined, `row cannot be read: the file's header is unusable (${this.badHeader})`);
    }
    if (this.columns === undefined) {
      const header = splitCsvLine(text).map(headerKey);
      const missing = this.required.filter((c) => !header.includes(c));
      if (missing.length) {
        // Every later row is rejected too: without the header no column can be trusted.
        this.badHeader = `header of a ${this.fileKind} file must name ${missing.join(', ')}; got ${header.join(',')}`;
        throw new AsxRowError('BAD_FIELD', undefined, this.badHeader);
      }
      this.columns = new Map(header.map((h, i) => [h, i]));
      return null;
    }
    if (PLACEHOLDER.test(text.trim())) return null;
    const f = splitCsvLine(text);
    const columns = this.columns;
    fieldCount(f, columns.size, this.fileKind);
    const col = (name: string): string => {
      const i = columns.get(name);
      return i === undefined ? '' : f[i].trim();
    };
    const companyId = col('company_id');
    const vendor: Record<string, string> = {};
    for (const [name, i] of columns) vendor[name] = f[i].trim();

    let company: CompanyInfo;
    let effective: bigint | null = null;
    let currency: string | null = this.ctx.currency;
    if (this.fileKind === 'company_info') {
      const symbol = col('symbol');
      const name = col('company_name');
      if (!/^\d+$/.test(companyId)) throw new AsxRowError('BAD_FIELD', 'company_id', `company_id ${JSON.stringify(companyId)} is not numeric`);
      if (!/^[A-Z0-9.]{1,12}$/.test(symbol)) throw new AsxRowError('BAD_FIELD', 'symbol', `symbol ${JSON.stringify(symbol)} is not an ASX code`);
      if (!name) throw new AsxRowError('BAD_FIELD', 'company_name', 'company_name is empty');
      const isin = col('isin');
      if (isin && !ISIN.test(isin)) throw new AsxRowError('BAD_FIELD', 'isin', `isin ${JSON.stringify(isin)} is not an ISIN`);
      company = { companyId, symbol, name, isin: isin || null };
      const start = col('start_date');
      if (start) effective = this.ctx.clock.dateMicros(start, 'start_date');
      if (col('end_date')) this.ctx.clock.dateMicros(col('end_date'), 'end_date');
    } else {
      const known = this.ctx.companies?.get(companyId);
      if (!known) throw new AsxRowError('UNKNOWN_COMPANY', 'company_id', `company_id ${JSON.stringify(companyId)} is not in company_info`);
      company = known;
      if (this.fileKind === 'dividends') {
        effective = this.ctx.clock.dateMicros(col('ex_date'), 'ex_date');
        for (const d of ['declared_date', 'record_date', 'pay_date']) if (col(d)) this.ctx.clock.dateMicros(col(d), d);
        for (const a of ['net_amount', 'gross_amount']) {
          if (columns.has(a)) vendor[a] = rowDecimal(a, col(a), 'price', 'BAD_AMOUNT');
        }
        currency = col('currency_type');
        if (!CURRENCY.test(currency)) throw new AsxRowError('BAD_FIELD', 'currency_type', `currency_type ${JSON.stringify(currency)} is not an ISO 4217 code`);
      } else {
        effective = this.ctx.clock.dateMicros(col('effective_date'), 'effective_date');
        if (!col('ratio')) throw new AsxRowError('BAD_FIELD', 'ratio', 'ratio is empty');
      }
    }
    return {
      message_id: messageId(ASX_EXCHANGE, company.symbol, `${sourceIdPrefix(company.companyId, this.ctx.identity)}${line}`, 'reference'),
      instrument_id: company.companyId,
      symbol: company.symbol,
      exchange: ASX_EXCHANGE,
      asset_class: 'equities',
      record_type: this.type,
      name: company.name,
      isin: company.isin,
      currency,
      effective_date: effective,
      is_active: true,
      ingestion_timestamp: this.ingestionTimestamp,
      vendor_data: vendor,
    };
  }

  keyOf(r: ReferenceDataV2): string {
    return r.symbol;
  }

  idOf(r: ReferenceDataV2): string {
    return r.message_id;
  }
}

/** company_info.csv text (header + rows) to the id -> company map; bad rows are returned, not thrown. */
export function parseCompanyInfo(
  text: string,
  clock: ExchangeClock,
  identity = 'reference-data/company_info.csv',
): { companies: Map<string, CompanyInfo>; errors: Array<{ line: number; error: AsxRowError }> } {
  const m = new ReferenceMapper('company_info', { identity, currency: DEFAULT_CURRENCY, clock });
  const companies = new Map<string, CompanyInfo>();
  const errors: Array<{ line: number; error: AsxRowError }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const r = m.map(raw, i + 1);
      if (r) companies.set(r.instrument_id, { companyId: r.instrument_id, symbol: r.symbol, name: r.name, isin: r.isin });
    } catch (e) {
      if (e instanceof AsxRowError) errors.push({ line: i + 1, error: e });
      else throw e;
    }
  });
  return { companies, errors };
}

export function createMapper(kind: AsxFileKind, ctx: MapperContext): RowMapper<TradeV2> | RowMapper<QuoteV2> | RowMapper<ReferenceDataV2> {
  if (kind === 'trades') return new TradeMapper(ctx);
  if (kind === 'quotes') return new QuoteMapper(ctx);
  return new ReferenceMapper(kind, ctx);
}
