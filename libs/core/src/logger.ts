import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Silences output (unit tests); logs still flow through transports added by the caller. */
  silent?: boolean;
}

/**
 * Structured JSON logs, one object per line, with the service name on every entry. Context such as
 * topic/partition/offset/exchange/symbol goes in via `logger.child({...})`. bigint values are written as
 * decimal strings so ids above 2^53 (Kraken connection_id) survive intact.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return winston.createLogger({
    level: opts.level ?? process.env['LOG_LEVEL'] ?? 'info',
    silent: opts.silent ?? false,
    defaultMeta: { service: opts.service },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json({ replacer: (_k, v) => (typeof v === 'bigint' ? v.toString() : v) }),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error'] })],
  });
}
