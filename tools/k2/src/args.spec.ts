import { intOf, parseArgs, UsageError, valueOf } from './args';
import { outputColumns, outputFormat, requestParams } from './commands/read';
import { ROUTE_COMMANDS } from './commands/spec';
import { resolveConnection } from './settings';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const trades = ROUTE_COMMANDS.find((c) => c.name === 'trades')!;
const specs = [
  { name: 'limit', value: true },
  { name: 'window-minutes', value: true },
  { name: 'all', value: false },
  { name: 'param', value: true, repeat: true },
  { name: 'output', value: true, short: 'o' },
];

describe('parseArgs', () => {
  it('takes --flag value, --flag=value, snake_case names, short flags, switches, positionals and --', () => {
    const a = parseArgs(['BTCUSDT', '--limit', '5', '--window_minutes=30', '--all', '-o', '-', '--param', 'a=1', '--param=b=2', '--', '--x'], specs);
    expect(valueOf(a, 'limit')).toBe('5');
    expect(valueOf(a, 'window-minutes')).toBe('30');
    expect(valueOf(a, 'output')).toBe('-');
    expect(a.switches.has('all')).toBe(true);
    expect(a.values.get('param')).toEqual(['a=1', 'b=2']);
    expect(a.positionals).toEqual(['BTCUSDT', '--x']);
  });

  it('the last value of a flag wins; negative numbers are values', () => {
    expect(valueOf(parseArgs(['--limit', '1', '--limit', '2'], specs), 'limit')).toBe('2');
    expect(parseArgs(['-5'], specs).positionals).toEqual(['-5']);
  });

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['--limit'], '--limit needs a value'],
    [['--limit', '--all'], '--limit needs a value'],
    [['--all=yes'], '--all takes no value'],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseArgs(argv, specs)).toThrow(new UsageError(message));
  });

  it('intOf checks the range', () => {
    expect(intOf(parseArgs(['--limit', '10'], specs), 'limit', 1, 100)).toBe(10);
    expect(() => intOf(parseArgs(['--limit', '0'], specs), 'limit', 1, 100)).toThrow(UsageError);
    expect(() => intOf(parseArgs(['--limit', '1.5'], specs), 'limit', 1, 100)).toThrow(UsageError);
  });
});

describe('request parameters', () => {
  const parse = (argv: string[]) => parseArgs(argv, [...trades.params.map((p) => ({ name: p.flag, value: true })), { name: 'param', value: true, repeat: true }]);

  it('maps flags onto the route parameters, positionals onto symbol (comma-joined), --param as is', () => {
    const a = parse(['BTCUSDT', 'ETHUSDT', '--window-minutes', '5', '--asset-class', 'crypto', '--as-of', '2026-12-01T00:00:00Z', '--param', 'future=x=y']);
    expect(requestParams(trades, a)).toEqual([
      ['symbol', 'BTCUSDT,ETHUSDT'],
      ['asset_class', 'crypto'],
      ['window_minutes', '5'],
      ['as_of', '2026-12-01T00:00:00Z'],
      ['future', 'x=y'],
    ]);
  });

  it('rejects a --param without a name and positionals where the route has none', () => {
    expect(() => requestParams(trades, parse(['--param', 'novalue']))).toThrow('--param needs NAME=VALUE');
    const symbols = ROUTE_COMMANDS.find((c) => c.name === 'symbols')!;
    expect(() => requestParams(symbols, parse(['BTC']))).toThrow('symbols takes no positional argument');
  });
});

describe('output choices', () => {
  const parse = (argv: string[]) => parseArgs(argv, [{ name: 'format', value: true }, { name: 'columns', value: true }]);

  it('defaults to a table on a terminal and ndjson otherwise; rejects unknown formats', () => {
    expect(outputFormat(parse([]), true)).toBe('table');
    expect(outputFormat(parse([]), false)).toBe('ndjson');
    expect(outputFormat(parse(['--format', 'csv']), true)).toBe('csv');
    expect(() => outputFormat(parse(['--format', 'xml']), true)).toThrow('--format must be one of table, csv, json, ndjson, got xml');
  });

  it('the table shows the default columns, other formats every field; --columns and --columns all win', () => {
    expect(outputColumns(parse([]), 'table', ['a', 'b'])).toEqual(['a', 'b']);
    expect(outputColumns(parse([]), 'csv', ['a', 'b'])).toBeUndefined();
    expect(outputColumns(parse(['--columns', 'x, y']), 'csv', ['a'])).toEqual(['x', 'y']);
    expect(outputColumns(parse(['--columns', 'all']), 'table', ['a'])).toBeUndefined();
  });
});

describe('resolveConnection', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-cli-'));
  const none = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-cli-'));
  fs.mkdirSync(path.join(dir, '.data/secrets'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.data/secrets/query-api-demo.key'), 'k2_demo_key\n');
  const dirs = { cwd: dir, root: none };

  it('flag, then env, then the demo key; an empty K2_API_KEY means no key', () => {
    expect(resolveConnection({ url: undefined, apiKey: 'k2_flag' }, { K2_API_KEY: 'k2_env' }, dirs)).toEqual({ url: 'http://127.0.0.1:8080', apiKey: 'k2_flag', keySource: 'flag' });
    expect(resolveConnection({ url: undefined, apiKey: undefined }, { K2_API_KEY: 'k2_env' }, dirs).apiKey).toBe('k2_env');
    expect(resolveConnection({ url: undefined, apiKey: undefined }, {}, dirs)).toMatchObject({ apiKey: 'k2_demo_key', keySource: 'demo-file' });
    expect(resolveConnection({ url: undefined, apiKey: undefined }, {}, { cwd: none, root: dir }).apiKey).toBe('k2_demo_key');
    expect(resolveConnection({ url: undefined, apiKey: undefined }, { K2_API_KEY: '' }, dirs)).toMatchObject({ apiKey: undefined, keySource: 'none' });
    expect(resolveConnection({ url: undefined, apiKey: undefined }, {}, { cwd: none, root: none }).keySource).toBe('none');
  });

  it('URL: flag, then K2_API_URL, without a trailing slash; junk and credentials in the URL are usage errors', () => {
    expect(resolveConnection({ url: 'http://h:1/', apiKey: undefined }, { K2_API_URL: 'http://e:2' }, dirs).url).toBe('http://h:1');
    expect(resolveConnection({ url: undefined, apiKey: undefined }, { K2_API_URL: 'http://e:2' }, dirs).url).toBe('http://e:2');
    expect(() => resolveConnection({ url: 'nope', apiKey: undefined }, {}, dirs)).toThrow(UsageError);
    expect(() => resolveConnection({ url: 'ftp://h', apiKey: undefined }, {}, dirs)).toThrow(UsageError);
    expect(() => resolveConnection({ url: 'http://u:p@h', apiKey: undefined }, {}, dirs)).toThrow(UsageError);
  });
});
