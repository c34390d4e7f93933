import winston from 'winston';
import { redactValue } from './redact';

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
 * decimal strings so ids above 2^53 (Kraken connection_id) survive intact. Every string of every entry (message,
 * meta, error stacks) goes through `redactSecrets`, so a URI's password never reaches a log line (issue 18).
 */
export function createLogger(opts: LoggerOptions): Logger {
  return winston.createLogger({
    level: opts.level ?? process.env['LOG_LEVEL'] ?? 'info',
    silent: opts.silent ?? false,
    defaultMeta: { service: opts.service },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      redactFormat(),
      winston.format.json({ replacer: (_k, v) => (typeof v === 'bigint' ? v.toString() : v) }),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error'] })],
  });
}

/** Replaces the entry's own string-keyed fields with redacted copies; the caller's objects are never changed. */
const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const v = info[key];
    if (key !== 'level' && (typeof v === 'string' || (v !== null && typeof v === 'object'))) info[key] = redactValue(v);
  }
  return info;
});
