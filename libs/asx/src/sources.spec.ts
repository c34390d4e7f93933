import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { globToRegExp } from './glob';
import { classify, findCompanyInfo, fingerprint, readText, resolveSources, sourceIdentity, type AsxSource } from './sources';

const SAMPLE = path.resolve(__dirname, '../../../data/asx-sample');

async function readAll(s: AsxSource, offset = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s.open(offset) as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

describe('classify and identity', () => {
  it.each([
    ['trades', '7078.csv', 'trades', '7078', 'trades/7078.csv'],
    ['quotes', '7181.csv.gz', 'quotes', '7181', 'quotes/7181.csv'],
    ['reference-data', 'company_info.csv', 'company_info', null, 'reference-data/company_info.csv'],
    ['anything', 'dividends.csv.gz', 'dividends', null, 'reference-data/dividends.csv'],
    ['x', 'stock_splits.csv', 'splits', null, 'reference-data/stock_splits.csv'],
    ['x', 'mergers.csv', 'mergers', null, 'reference-data/mergers.csv'],
  ])('%s/%s', (dir, file, kind, companyId, identity) => {
    const c = classify(dir, file)!;
    expect([c.kind, c.companyId, sourceIdentity(c.dir, file)]).toEqual([kind, companyId, identity]);
  });
  it('does not guess', () => {
    expect(classify('data', '7078.csv')).toBeNull();
    expect(classify('trades', 'BHP.csv')).toBeNull();
  });
  it('a source tag prefixes the identity', () => {
    expect(sourceIdentity('trades', '7078.csv.gz', '2014-03/')).toBe('2014-03/trades/7078.csv');
  });
});

describe('globToRegExp', () => {
  it.each([
    ['trades/*.csv', 'trades/7078.csv', true],
    ['trades/*.csv', 'trades/sub/7078.csv', false],
    ['**/*.csv', 'a/b/trades/7078.csv', true],
    ['**/*.csv', '7078.csv', true],
    ['*/7???.csv{,.gz}', 'quotes/7181.csv.gz', true],
    ['*/[!7]*.csv', 'trades/3153.csv', true],
    ['*/[!7]*.csv', 'trades/7078.csv', false],
    ['a.b/*.csv', 'axb/1.csv', false],
  ])('%s vs %s', (glob, p, match) => {
    expect(globToRegExp(glob).test(p)).toBe(match);
  });
});

describe('resolveSources (local)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'asx-sources-'));
  const trades = readFileSync(path.join(SAMPLE, 'trades/7181.csv'));
  mkdirSync(path.join(dir, 'trades'));
  mkdirSync(path.join(dir, 'quotes'));
  mkdirSync(path.join(dir, 'reference-data'));
  writeFileSync(path.join(dir, 'trades/7181.csv'), trades);
  writeFileSync(path.join(dir, 'quotes/7181.csv.gz'), gzipSync(readFileSync(path.join(SAMPLE, 'quotes/7181.csv'))));
  writeFileSync(path.join(dir, 'reference-data/company_info.csv'), readFileSync(path.join(SAMPLE, 'reference-data/company_info.csv')));
  writeFileSync(path.join(dir, 'README.md'), 'not data');

  it('lists a directory in load order, ignoring non-CSV files', async () => {
    const s = await resolveSources({ kind: 'local', path: dir });
    expect(s.map((x) => [x.identity, x.kind, x.companyId, x.gzip])).toEqual([
      ['reference-data/company_info.csv', 'company_info', null, false],
      ['trades/7181.csv', 'trades', '7181', false],
      ['quotes/7181.csv', 'quotes', '7181', true],
    ]);
  });

  it('expands globs and single files', async () => {
    expect((await resolveSources({ kind: 'local', path: `${dir}/*/7181.csv*` })).map((x) => x.identity)).toEqual(['trades/7181.csv', 'quotes/7181.csv']);
    expect((await resolveSources({ kind: 'local', path: `${dir}/trades/7181.csv` })).map((x) => x.location)).toEqual([path.join(dir, 'trades/7181.csv')]);
  });

  it('reads plain and gzip content from any offset', async () => {
    const [, plain, gz] = await resolveSources({ kind: 'local', path: dir });
    expect(await readAll(plain!)).toEqual(trades);
    expect(await readAll(plain!, 1000)).toEqual(trades.subarray(1000));
    const quotes = readFileSync(path.join(SAMPLE, 'quotes/7181.csv'));
    expect(await readAll(gz!)).toEqual(quotes);
    expect(await readAll(gz!, 12345)).toEqual(quotes.subarray(12345));
  });

  it('fingerprints the content, not the path or the compression', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'asx-sources-'));
    mkdirSync(path.join(other, 'trades'));
    writeFileSync(path.join(other, 'trades/7181.csv.gz'), gzipSync(trades));
    const [a] = await resolveSources({ kind: 'local', path: `${dir}/trades` });
    const [b] = await resolveSources({ kind: 'local', path: `${other}/trades` });
    expect(a!.identity).toBe(b!.identity);
    expect(await fingerprint(a!)).toBe(await fingerprint(b!));
    expect(await fingerprint(a!)).not.toBe(await fingerprint((await resolveSources({ kind: 'local', path: `${dir}/quotes` }))[0]!));
  });

  it('finds company_info next to a trades directory', async () => {
    const spec = { kind: 'local' as const, path: `${dir}/trades` };
    const ci = await findCompanyInfo(await resolveSources(spec), spec);
    expect(ci?.location).toBe(path.join(dir, 'reference-data/company_info.csv'));
    expect(await readText(ci!)).toContain('7181,DVN,DEVINE LTD');
  });

  it('refuses inputs that would give wrong or colliding ids', async () => {
    await expect(resolveSources({ kind: 'local', path: path.join(dir, 'missing') })).rejects.toThrow(/cannot be read: ENOENT/);
    await expect(resolveSources({ kind: 'local', path: `${dir}/*.nothing` })).rejects.toThrow(/matches no files/);
    const bad = mkdtempSync(path.join(tmpdir(), 'asx-sources-'));
    writeFileSync(path.join(bad, 'BHP.csv'), 'x');
    await expect(resolveSources({ kind: 'local', path: bad })).rejects.toThrow(/cannot tell what .*BHP.csv hold/);
    const dup = mkdtempSync(path.join(tmpdir(), 'asx-sources-'));
    mkdirSync(path.join(dup, 'a/trades'), { recursive: true });
    mkdirSync(path.join(dup, 'b/trades'), { recursive: true });
    writeFileSync(path.join(dup, 'a/trades/7181.csv'), trades);
    writeFileSync(path.join(dup, 'b/trades/7181.csv.gz'), gzipSync(trades));
    await expect(resolveSources({ kind: 'local', path: dup })).rejects.toThrow(/have the same source identity trades\/7181.csv/);
    expect((await resolveSources({ kind: 'local', path: `${dup}/a` }, { sourceTag: 'a' }))[0]!.identity).toBe('a/trades/7181.csv');
  });
});
