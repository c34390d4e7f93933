import { formatHelp } from '@k2/core';
import { serviceHelp } from '@k2/runtime';
import { CLI } from './cli';
import { SERVICE, spec } from './config';

describe('binance-streamer --help', () => {
  const text = formatHelp(serviceHelp(SERVICE, CLI));

  it('lists every variable the config reads, with its default', () => {
    const names = Object.values(spec).map((f) => f.env);
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) expect(text).toMatch(new RegExp(`^  ${name} `, 'm'));
    // A row may wrap onto indented continuation lines.
    expect(text).toMatch(/^ {2}BINANCE_SYMBOLS +Spot symbols [^]*?default\s+BTCUSDT,ETHUSDT,BNBUSDT\)$/m);
    expect(text).toMatch(/^ {2}BINANCE_STREAM +[^]*?\(trade\|aggTrade, default trade\)$/m);
    expect(text).toMatch(/^ {2}KAFKA_BROKERS +[^]*?default\s+127\.0\.0\.1:9092\)$/m);
    expect(text).toMatch(/^ {2}METRICS_PORT +[^]*?default 9401\)$/m);
  });

  it('has a usage line, the help flag and the service exit codes', () => {
    expect(text.startsWith('Usage: binance-streamer [-h|--help]\n')).toBe(true);
    expect(text).toMatch(/^ {2}-h, --help +print this help and exit 0$/m);
    expect(text).toMatch(/^Exit codes:\n {2}0 .*\n {2}1 +invalid configuration/m);
    expect(text).toMatch(/^ {2}2 +usage error/m);
  });
});
