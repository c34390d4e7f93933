import type { LogLevel } from './options';

export interface Log {
  debug(msg: string, ctx?: Record<string, unknown>): void;
  info(msg: string, ctx?: Record<string, unknown>): void;
  warn(msg: string, ctx?: Record<string, unknown>): void;
  error(msg: string, ctx?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * JSON lines on stderr: stdout carries only the ready line, which callers parse. Context values are
 * written as given; ids above 2^53 (Kraken connection_id) are passed as strings so they stay intact.
 */
export function createLog(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Log {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, ctx?: Record<string, unknown>): void => {
    if (RANK[lvl] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, service: 'exchange-simulator', msg, ...ctx })}\n`);
  };
  return {
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
  };
}
