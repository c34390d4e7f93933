/**
 * What the supervisor reads in a child's output. K2 services log one JSON object per line (winston, errors on
 * stderr); anything else (a Node crash before the logger exists, the simulator's usage text) is plain text.
 */

interface LogEntry {
  level?: unknown;
  message?: unknown;
  /** The exchange simulator's logger writes `msg`. */
  msg?: unknown;
  error?: unknown;
  port?: unknown;
}

function parseEntry(line: string): LogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' ? (v as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

function errorText(error: unknown): string | undefined {
  if (typeof error === 'string') return error;
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return undefined;
}

const PLAIN_ERROR = /\b(\w*Error|ERR!?|error|fatal|FATAL)\b/;

/**
 * The line to show when the child dies, or undefined when `line` is not an error: a JSON entry at level error or
 * fatal becomes "<message>: <error.message>" (e.g. "start failed: kafka: connect: ..."), or just the error's message
 * when it begins with the entry's ("invalid configuration for kraken-streamer: ..."); a plain-text line counts when it names an error and is not a stack frame.
 */
export function errorLine(line: string): string | undefined {
  const entry = parseEntry(line);
  if (entry) {
    if (entry.level !== 'error' && entry.level !== 'fatal') return undefined;
    const text = entry.message ?? entry.msg;
    const message = typeof text === 'string' ? text : 'error';
    const detail = errorText(entry.error);
    if (!detail) return message;
    // "invalid configuration" + "invalid configuration for kraken-streamer: ...": the detail says it all.
    return detail.startsWith(message) ? detail : `${message}: ${detail}`;
  }
  const text = line.trim();
  if (text === '' || text.startsWith('at ') || !PLAIN_ERROR.test(text)) return undefined;
  return text;
}

/** The port in the runtime's "http server listening" entry, which a service logs once it has bound. */
export function listeningPort(line: string): number | undefined {
  const entry = parseEntry(line);
  if (!entry || entry.message !== 'http server listening' || typeof entry.port !== 'number') return undefined;
  return entry.port;
}
