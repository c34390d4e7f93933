export type Exchange = 'binance' | 'kraken';
export const EXCHANGES: readonly Exchange[] = ['binance', 'kraken'];
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface SimulatorOptions {
  host: string;
  binancePort: number;
  krakenPort: number;
  adminPort: number;
  exchanges: Exchange[];
  mode: 'synthetic' | 'replay';
  replayFile?: string;
  /** Replay pacing multiplier: 1 = recorded pace, 0 = as fast as the tick allows. */
  replaySpeed: number;
  /** Trades per second per exchange (synthetic mode). */
  rate: number;
  binanceSymbols: string[];
  krakenSymbols: string[];
  krakenLegacySymbols: boolean;
  quotesPerTrade: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  heartbeatIntervalMs: number;
  seed?: number;
  maxTrades?: number;
  binanceStartId: number;
  /** First aggregate trade id per Binance symbol (kept apart from trade ids so the two cannot be confused). */
  binanceAggStartId: number;
  /** First bookTicker update id (`u`) of every Binance symbol. */
  binanceBookStartId: number;
  /** First trade id of every Kraken book (Kraken's ids are a per-book sequence from 1). */
  krakenStartId: number;
  history: number;
  /** Binance: more incoming frames than this within one second disconnects the client. */
  maxIncomingPerSecond: number;
  /** A connection whose unsent buffer exceeds this is dropped as a slow consumer. */
  maxBufferedBytes: number;
  /** Generation tick; each tick emits one bursty batch. */
  tickMs: number;
  logLevel: LogLevel;
}

export const DEFAULT_OPTIONS: SimulatorOptions = {
  host: '127.0.0.1',
  binancePort: 0,
  krakenPort: 0,
  adminPort: 0,
  exchanges: ['binance', 'kraken'],
  mode: 'synthetic',
  replaySpeed: 1,
  rate: 10,
  binanceSymbols: ['BTCUSDT', 'ETHUSDT', 'BNBUSDT'],
  krakenSymbols: ['BTC/USD', 'ETH/USD'],
  krakenLegacySymbols: false,
  quotesPerTrade: 1,
  pingIntervalMs: 20000,
  pongTimeoutMs: 60000,
  heartbeatIntervalMs: 1000,
  binanceStartId: 3000000000,
  binanceAggStartId: 1700000000,
  binanceBookStartId: 400900217,
  krakenStartId: 1,
  history: 1000000,
  maxIncomingPerSecond: 5,
  maxBufferedBytes: 256 * 1024 * 1024,
  tickMs: 10,
  logLevel: 'info',
};

export const MAX_RATE = 1000000;

export class UsageError extends Error {}

/** `--help`/`-h`: the message is the usage, for stdout with exit code 0. */
export class HelpRequested extends UsageError {}

interface Flag {
  key: keyof SimulatorOptions;
  kind: 'string' | 'int' | 'number' | 'list' | 'bool' | 'exchanges' | 'mode' | 'level';
  min?: number;
  max?: number;
}

const FLAGS: Record<string, Flag> = {
  '--host': { key: 'host', kind: 'string' },
  '--binance-port': { key: 'binancePort', kind: 'int', min: 0, max: 65535 },
  '--kraken-port': { key: 'krakenPort', kind: 'int', min: 0, max: 65535 },
  '--admin-port': { key: 'adminPort', kind: 'int', min: 0, max: 65535 },
  '--exchanges': { key: 'exchanges', kind: 'exchanges' },
  '--mode': { key: 'mode', kind: 'mode' },
  '--replay-file': { key: 'replayFile', kind: 'string' },
  '--replay-speed': { key: 'replaySpeed', kind: 'number', min: 0 },
  '--rate': { key: 'rate', kind: 'number', min: 0, max: MAX_RATE },
  '--binance-symbols': { key: 'binanceSymbols', kind: 'list' },
  '--kraken-symbols': { key: 'krakenSymbols', kind: 'list' },
  '--kraken-legacy-symbols': { key: 'krakenLegacySymbols', kind: 'bool' },
  '--quotes-per-trade': { key: 'quotesPerTrade', kind: 'number', min: 0, max: 100 },
  '--ping-interval-ms': { key: 'pingIntervalMs', kind: 'int', min: 1 },
  '--pong-timeout-ms': { key: 'pongTimeoutMs', kind: 'int', min: 1 },
  '--heartbeat-interval-ms': { key: 'heartbeatIntervalMs', kind: 'int', min: 1 },
  '--seed': { key: 'seed', kind: 'int' },
  '--max-trades': { key: 'maxTrades', kind: 'int', min: 0 },
  '--binance-start-id': { key: 'binanceStartId', kind: 'int', min: 0 },
  '--binance-agg-start-id': { key: 'binanceAggStartId', kind: 'int', min: 0 },
  '--binance-book-start-id': { key: 'binanceBookStartId', kind: 'int', min: 0 },
  '--kraken-start-id': { key: 'krakenStartId', kind: 'int', min: 1 },
  '--history': { key: 'history', kind: 'int', min: 1 },
  '--max-incoming-per-second': { key: 'maxIncomingPerSecond', kind: 'int', min: 1 },
  '--max-buffered-bytes': { key: 'maxBufferedBytes', kind: 'int', min: 1024 },
  '--tick-ms': { key: 'tickMs', kind: 'int', min: 1, max: 1000 },
  '--log-level': { key: 'logLevel', kind: 'level' },
};

export const USAGE = `Usage: exchange-simulator [options]   (npm run simulator -- [options]; each option: tools/exchange-simulator/README.md)

Options (--flag value or --flag=value):
  ${Object.keys(FLAGS).join(' ')}
  -h, --help  print this help and exit 0

Exit codes:
  0  stopped by SIGTERM or SIGINT after a clean shutdown (or --help)
  1  start-up or shutdown failure (message on stderr)
  2  bad option (message and this usage on stderr)`;

function parseNumber(flag: string, raw: string, f: Flag): number {
  const n = f.kind === 'int' ? (/^-?\d+$/.test(raw) ? Number(raw) : NaN) : Number(raw);
  if (!Number.isFinite(n) || (f.kind === 'int' && !Number.isSafeInteger(n))) throw new UsageError(`${flag}: not a ${f.kind === 'int' ? 'integer' : 'number'}: ${raw}`);
  if (f.min !== undefined && n < f.min) throw new UsageError(`${flag}: must be >= ${f.min}`);
  if (f.max !== undefined && n > f.max) throw new UsageError(`${flag}: must be <= ${f.max}`);
  return n;
}

/** Parses CLI arguments (`--flag value` or `--flag=value`) over the defaults. */
export function parseArgs(argv: string[]): SimulatorOptions {
  const out: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '--help' || arg === '-h') throw new HelpRequested(USAGE);
    const f = FLAGS[arg];
    if (!f) throw new UsageError(`unknown option ${arg}\n${USAGE}`);
    if (f.kind === 'bool') {
      out[f.key] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
    }
    switch (f.kind) {
      case 'string':
        out[f.key] = value;
        break;
      case 'int':
      case 'number':
        out[f.key] = parseNumber(arg, value, f);
        break;
      case 'list':
        out[f.key] = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        break;
      case 'exchanges': {
        const list = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
        for (const e of list) if (!EXCHANGES.includes(e as Exchange)) throw new UsageError(`--exchanges: unknown exchange ${e}`);
        if (list.length === 0) throw new UsageError('--exchanges: empty');
        out[f.key] = [...new Set(list)];
        break;
      }
      case 'mode':
        if (value !== 'synthetic' && value !== 'replay') throw new UsageError(`--mode: synthetic or replay, not ${value}`);
        out[f.key] = value;
        break;
      case 'level':
        if (!['debug', 'info', 'warn', 'error', 'silent'].includes(value)) throw new UsageError(`--log-level: debug|info|warn|error|silent`);
        out[f.key] = value;
        break;
    }
  }
  const opts = out as unknown as SimulatorOptions;
  validateOptions(opts);
  return opts;
}

export function validateOptions(o: SimulatorOptions): void {
  if (o.mode === 'replay' && !o.replayFile) throw new UsageError('--mode replay needs --replay-file');
  if (o.mode === 'synthetic') {
    if (o.exchanges.includes('binance') && o.binanceSymbols.length === 0) throw new UsageError('--binance-symbols: empty');
    if (o.exchanges.includes('kraken') && o.krakenSymbols.length === 0) throw new UsageError('--kraken-symbols: empty');
  }
  if (o.rate < 0 || o.rate > MAX_RATE) throw new UsageError(`--rate: 0..${MAX_RATE}`);
}
