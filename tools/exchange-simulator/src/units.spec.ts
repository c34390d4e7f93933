import { fixed8, floatText, padded, parseRfc3339Micros, parseUnits, rfc3339Micros, secondsMicros, trimmed } from './numfmt';
import { parseArgs, DEFAULT_OPTIONS, HelpRequested, USAGE, UsageError } from './options';
import { parseSince } from './kraken';
import { canonicalStream } from './binance';
import { binanceSpec, krakenAltname, krakenRestAliases, krakenRestKey, krakenSpec } from './symbols';
import { Tape } from './tape';

describe('number formatting', () => {
  it('writes exact decimals from 1e-8 units', () => {
    expect(fixed8(3024340000000)).toBe('30243.40000000');
    expect(fixed8(1)).toBe('0.00000001');
    expect(trimmed(3024340000000)).toBe('30243.4');
    expect(trimmed(1)).toBe('0.00000001');
    expect(trimmed(10000000000)).toBe('100');
    expect(padded(3024340000000, 5)).toBe('30243.40000');
    expect(padded(12345, 5)).toBe('0.00012345');
    expect(parseUnits('0.00012345')).toBe(12345);
    expect(parseUnits('6423.46326')).toBe(642346326000);
    expect(parseUnits('1.100000000')).toBe(110000000);
    expect(parseUnits('1.123456789')).toBeUndefined();
    expect(parseUnits('1e-8')).toBeUndefined();
    expect(floatText(-0.17, 2)).toBe('-0.17');
    expect(floatText(740, 8)).toBe('740');
  });

  it('writes and reads RFC 3339 microsecond timestamps', () => {
    const us = parseRfc3339Micros('2023-09-25T07:48:36.925533Z')!;
    expect(us).toBe(Date.UTC(2023, 8, 25, 7, 48, 36, 925) * 1000 + 533);
    expect(rfc3339Micros(us)).toBe('2023-09-25T07:48:36.925533Z');
    expect(rfc3339Micros(us + 1000000)).toBe('2023-09-25T07:48:37.925533Z');
    expect(secondsMicros(us)).toBe('1695628116.925533');
  });
});

describe('options', () => {
  it('defaults as documented and parses every form', () => {
    expect(parseArgs([])).toEqual(DEFAULT_OPTIONS);
    const o = parseArgs(['--rate=200000', '--exchanges', 'kraken', '--kraken-legacy-symbols', '--kraken-symbols', 'BTC/USD,DOGE/USD', '--seed', '5', '--max-trades', '10']);
    expect(o).toMatchObject({ rate: 200000, exchanges: ['kraken'], krakenLegacySymbols: true, krakenSymbols: ['BTC/USD', 'DOGE/USD'], seed: 5, maxTrades: 10 });
  });

  it('rejects bad input', () => {
    expect(() => parseArgs(['--rate', 'fast'])).toThrow(UsageError);
    expect(() => parseArgs(['--exchanges', 'nasdaq'])).toThrow(UsageError);
    expect(() => parseArgs(['--mode', 'replay'])).toThrow('--replay-file');
    expect(() => parseArgs(['--bogus'])).toThrow('unknown option');
    expect(() => parseArgs(['--binance-port'])).toThrow('needs a value');
  });

  it('answers --help with the usage as a HelpRequested, unlike a bad option', () => {
    for (const flag of ['--help', '-h']) expect(() => parseArgs(['--rate', '5', flag])).toThrow(HelpRequested);
    expect(USAGE).toMatch(/^Usage: exchange-simulator/);
    expect(USAGE).toContain('Exit codes:');
    let bad: unknown;
    try {
      parseArgs(['--bogus']);
    } catch (e) {
      bad = e;
    }
    expect(bad).toBeInstanceOf(UsageError);
    expect(bad).not.toBeInstanceOf(HelpRequested);
  });
});

describe('symbols', () => {
  it('maps Kraken pairs to REST names', () => {
    expect(krakenRestKey('BTC/USD')).toBe('XXBTZUSD');
    expect(krakenRestKey('ETH/USD')).toBe('XETHZUSD');
    expect(krakenRestKey('DOGE/USD')).toBe('XDGUSD');
    expect(krakenRestKey('SOL/USD')).toBe('SOLUSD');
    expect(krakenRestKey('ETH/BTC')).toBe('XETHXXBT');
    expect(krakenAltname('BTC/USD')).toBe('XBTUSD');
    expect(krakenRestAliases('BTC/USD')).toEqual(['XXBTZUSD', 'XBTUSD', 'XBT/USD', 'BTC/USD', 'BTCUSD']);
    expect(krakenSpec('xbt/usd', true)).toMatchObject({ name: 'BTC/USD', wire: 'XBT/USD' });
    expect(krakenSpec('XDG/USD', false)).toMatchObject({ name: 'DOGE/USD', wire: 'DOGE/USD' });
  });

  it('gives Binance symbols sensible ticks and lots', () => {
    expect(binanceSpec('BTCUSDT')).toMatchObject({ base: 'BTC', quote: 'USDT', tickUnits: 1000000, lotUnits: 1 });
    expect(binanceSpec('BNBBTC')).toMatchObject({ base: 'BNB', quote: 'BTC' });
  });

  it('canonicalises Binance stream names', () => {
    expect(canonicalStream('BTCUSDT@aggtrade')).toBe('btcusdt@aggTrade');
    expect(canonicalStream('btcusdt@BOOKTICKER')).toBe('btcusdt@bookTicker');
    expect(canonicalStream('btcusdt@depth@100ms')).toBe('btcusdt@depth@100ms');
  });
});

describe('Kraken since', () => {
  it('reads seconds and nanoseconds', () => {
    expect(parseSince('1688669597')).toBe(1688669597000000000n);
    expect(parseSince('1688669597.5')).toBe(1688669597500000000n);
    expect(parseSince('1688671969993150842')).toBe(1688671969993150842n);
    expect(parseSince('-1')).toBeUndefined();
  });
});

describe('tape', () => {
  it('keeps the newest --history trades for REST while every id stays listed', () => {
    const t = new Tape(10);
    for (let i = 0; i < 70000; i++) t.append(1000 + i, i, 100, 1, 1000 + i, 0, 0);
    expect(t.count).toBe(70000);
    expect(t.idAt(t.restFirstSeq)).toBe(1000 + 70000 - 10);
    expect(t.seqForId(1)).toBe(t.restFirstSeq);
    expect(t.seqForId(70995)).toBe(69995);
    expect(t.allIds()).toHaveLength(70000);
    expect(t.runs).toEqual([1000, 70999]);
  });
});
