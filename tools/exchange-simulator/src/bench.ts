/**
 * Simulator throughput. For each exchange, client kind and target rate: the simulator CLI runs in a fresh
 * process, a client in another subscribes to every symbol's trades (and quotes with --quotes > 0), and the run
 * reports trades/s generated (tape) and delivered (counted by the client), the simulator's CPU and RSS.
 *   ws   client: the `ws` library, one 'message' event per frame (what a Node streamer sees);
 *   raw  client: a bare TCP socket that counts trades in the byte stream, so the client is not the limit.
 * usage: npx nx run exchange-simulator:bench [-- --seconds 5 --rates 100000,200000,400000 --exchange binance|kraken|both --client ws|raw|both --quotes 0]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Exchange } from './options';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const seconds = Number(arg('seconds', '5'));
const rates = arg('rates', '100000,200000,400000').split(',').map(Number);
const exchanges: Exchange[] = arg('exchange', 'both') === 'both' ? ['binance', 'kraken'] : [arg('exchange', 'binance') as Exchange];
const clients = arg('client', 'both') === 'both' ? ['ws', 'raw'] : [arg('client', 'ws')];
// With --quotes > 0 the client also subscribes to bookTicker (Binance) / ticker bbo (Kraken); only trades are counted.
const quotes = Number(arg('quotes', '0'));

// Both clients count trades by a byte pattern (Binance: one "e":"trade" per frame; Kraken: one "trade_id"
// per trade in a batched update) and print "<trades> <cpu µs>" four times a second.
const CLIENT = `
const [kind, url, pattern, subscribe] = process.argv.slice(1);
const pat = Buffer.from(pattern);
let trades = 0;
const count = (buf) => { let i = 0; while ((i = buf.indexOf(pat, i)) >= 0) { trades++; i += pat.length; } };
setInterval(() => { const c = process.cpuUsage(); process.stdout.write(trades + ' ' + (c.user + c.system) + '\\n'); }, 250);
if (kind === 'ws') {
  const WebSocket = require('ws');
  const ws = new WebSocket(url, { skipUTF8Validation: true });
  ws.on('open', () => { if (subscribe) for (const m of subscribe.split('\\n')) ws.send(m); });
  ws.on('message', (d) => count(d));
  ws.on('close', (code) => { process.stdout.write('closed ' + code + '\\n'); });
} else {
  const u = new URL(url);
  const sock = require('node:net').connect(Number(u.port), u.hostname, () => {
    sock.write('GET ' + u.pathname + u.search + ' HTTP/1.1\\r\\nHost: ' + u.host + '\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n');
  });
  let upgraded = false, tail = Buffer.alloc(0);
  sock.on('data', (d) => {
    if (!upgraded) {
      upgraded = true;
      for (const m of subscribe ? subscribe.split('\\n') : []) { const p = Buffer.from(m); const mask = Buffer.from([1, 2, 3, 4]); const h = Buffer.from([0x81, 0x80 | 126, p.length >> 8, p.length & 255]); const masked = Buffer.from(p.map((b, i) => b ^ mask[i % 4])); sock.write(Buffer.concat([h, mask, masked])); }
    }
    // A pattern split across two chunks is found in tail + head.
    count(Buffer.concat([tail, d.subarray(0, pat.length - 1)]));
    count(d);
    tail = d.subarray(Math.max(0, d.length - pat.length + 1));
  });
  sock.on('close', () => process.stdout.write('closed\\n'));
}
`;

interface Sample {
  trades: number;
  cpuUs: number;
}

interface Ready {
  event: string;
  binance?: { ws: string };
  kraken?: { ws: string };
  admin: string;
}

/** utime + stime of a process in µs and its RSS in bytes, from /proc (Linux). */
function procStats(pid: number): { cpuUs: number; rss: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime (clock ticks, 100 Hz)
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpuUs: ticks * 10000, rss: rssKb * 1024 };
  } catch {
    return { cpuUs: NaN, rss: NaN };
  }
}

/** The simulator CLI in its own process, so every run starts from a clean heap. */
async function startSim(ex: Exchange, rate: number): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'main.ts'), '--exchanges', ex, '--rate', String(rate), '--quotes-per-trade', String(quotes), '--seed', '1', '--log-level', 'warn'], {
    env: { ...process.env, TSX_TSCONFIG_PATH: join(__dirname, '..', '..', '..', 'tsconfig.base.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    let buf = '';
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as Ready);
    });
  });
  return { child, ready };
}

async function generated(admin: string): Promise<number> {
  const st = (await (await fetch(`${admin}/state`)).json()) as Record<string, { symbols: Record<string, { count: number }> } | undefined>;
  let n = 0;
  for (const ex of ['binance', 'kraken']) for (const s of Object.values(st[ex]?.symbols ?? {})) n += s.count;
  return n;
}

async function run(ex: Exchange, kind: string, rate: number): Promise<string> {
  const { child: simProc, ready } = await startSim(ex, rate);
  const st = (await (await fetch(`${ready.admin}/state`)).json()) as Record<string, { symbols: Record<string, unknown> }>;
  const names = Object.keys(st[ex].symbols);
  const symbols = names;
  const streams = symbols.flatMap((s) => (quotes > 0 ? [`${s.toLowerCase()}@trade`, `${s.toLowerCase()}@bookTicker`] : [`${s.toLowerCase()}@trade`]));
  const url = ex === 'binance' ? `${ready.binance?.ws}/stream?streams=${streams.join('/')}` : `${ready.kraken?.ws}`;
  const pattern = ex === 'binance' ? '"e":"trade"' : '"trade_id"';
  const subs = [{ method: 'subscribe', params: { channel: 'trade', symbol: symbols } }];
  if (quotes > 0) subs.push({ method: 'subscribe', params: { channel: 'ticker', symbol: symbols, event_trigger: 'bbo' } as never });
  const subscribe = ex === 'kraken' ? subs.map((m) => JSON.stringify(m)).join('\n') : '';
  const client = spawn(process.execPath, ['-e', CLIENT, kind, url, pattern, subscribe], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  let last: Sample = { trades: 0, cpuUs: 0 };
  let closed = '';
  client.stdout?.on('data', (d: Buffer) => {
    for (const line of d.toString().trim().split('\n')) {
      const [a, b] = line.split(' ');
      if (/^\d+$/.test(a)) last = { trades: Number(a), cpuUs: Number(b) };
      else closed = line;
    }
  });
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  await wait(1500); // connect and warm up
  const g0 = await generated(ready.admin);
  const c0 = last;
  const p0 = procStats(simProc.pid ?? 0);
  const t0 = performance.now();
  await wait(seconds * 1000);
  await wait(260); // one more client report
  const dt = (performance.now() - t0) / 1000;
  const g1 = await generated(ready.admin);
  const p1 = procStats(simProc.pid ?? 0);
  const c1 = last;
  client.kill();
  simProc.kill('SIGTERM');
  await new Promise((r) => simProc.once('exit', r));
  const pct = (us: number): string => (Number.isNaN(us) ? 'n/a' : `${Math.round((us / 1e6 / dt) * 100)}%`);
  return [
    ex.padEnd(8),
    kind.padEnd(6),
    String(rate).padStart(8),
    String(Math.round((g1 - g0) / dt)).padStart(12),
    String(Math.round((c1.trades - c0.trades) / dt)).padStart(12),
    pct(p1.cpuUs - p0.cpuUs).padStart(8),
    pct(c1.cpuUs - c0.cpuUs).padStart(10),
    String(Math.round(p1.rss / 1e6)).padStart(7),
    closed ? `  client ${closed}` : '',
  ].join(' ');
}

async function main(): Promise<void> {
  console.log(`exchange-simulator bench: ${seconds}s per run, quotes-per-trade ${quotes}${quotes > 0 ? ' (client subscribed to quotes too)' : ''}, simulator and client in their own processes; trades counted`);
  console.log(`${'exchange'.padEnd(8)} ${'client'.padEnd(6)} ${'target/s'.padStart(8)} ${'generated/s'.padStart(12)} ${'delivered/s'.padStart(12)} ${'sim cpu'.padStart(8)} ${'client cpu'.padStart(10)} ${'rss MB'.padStart(7)}`);
  for (const ex of exchanges) for (const kind of clients) for (const rate of rates) console.log(await run(ex, kind, rate));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
