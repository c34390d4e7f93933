/**
 * Simulator throughput. For each exchange, client kind and target rate: the simulator runs in this process,
 * a client in a child process (the other core) subscribes to every symbol's trades, and the run reports
 * trades/s generated (tape) and delivered (counted by the client), the simulator's CPU and RSS.
 *   ws   client: the `ws` library, one 'message' event per frame (what a Node streamer sees);
 *   raw  client: a bare TCP socket that counts trades in the byte stream, so the client is not the limit.
 * usage: npx nx run exchange-simulator:bench [-- --seconds 5 --rates 100000,200000,400000 --exchange binance|kraken|both --client ws|raw|both --quotes 0]
 */
import { spawn } from 'node:child_process';
import type { Exchange } from './options';
import { startSimulator } from './simulator';

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

async function run(ex: Exchange, kind: string, rate: number): Promise<string> {
  const sim = await startSimulator({ exchanges: [ex], rate, quotesPerTrade: quotes, logLevel: 'warn', seed: 1 });
  const m = sim.markets[ex];
  if (!m) throw new Error(`no ${ex} market`);
  const symbols = m.symbols.map((s) => s.spec.wire);
  const streams = symbols.flatMap((s) => (quotes > 0 ? [`${s.toLowerCase()}@trade`, `${s.toLowerCase()}@bookTicker`] : [`${s.toLowerCase()}@trade`]));
  const url = ex === 'binance' ? `${sim.urls.binance?.ws}/stream?streams=${streams.join('/')}` : `${sim.urls.kraken?.ws}`;
  const pattern = ex === 'binance' ? '"e":"trade"' : '"trade_id"';
  const subs = [{ method: 'subscribe', params: { channel: 'trade', symbol: symbols } }];
  if (quotes > 0) subs.push({ method: 'subscribe', params: { channel: 'ticker', symbol: symbols, event_trigger: 'bbo' } as never });
  const subscribe = ex === 'kraken' ? subs.map((m) => JSON.stringify(m)).join('\n') : '';
  const child = spawn(process.execPath, ['-e', CLIENT, kind, url, pattern, subscribe], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  let last: Sample = { trades: 0, cpuUs: 0 };
  let closed = '';
  child.stdout.on('data', (d: Buffer) => {
    for (const line of d.toString().trim().split('\n')) {
      const [a, b] = line.split(' ');
      if (/^\d+$/.test(a)) last = { trades: Number(a), cpuUs: Number(b) };
      else closed = line;
    }
  });
  const total = (): number => m.symbols.reduce((n, s) => n + s.tape.count, 0);
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  await wait(1500); // connect and warm up
  const g0 = total();
  const c0 = last;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await wait(seconds * 1000);
  await wait(260); // one more client report
  const dt = (performance.now() - t0) / 1000;
  const g1 = total();
  const c1 = last;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss;
  child.kill();
  await sim.close();
  const pct = (us: number): string => `${Math.round((us / 1e6 / dt) * 100)}%`;
  return [
    ex.padEnd(8),
    kind.padEnd(6),
    String(rate).padStart(8),
    String(Math.round((g1 - g0) / dt)).padStart(12),
    String(Math.round((c1.trades - c0.trades) / dt)).padStart(12),
    pct(cpu.user + cpu.system).padStart(8),
    pct(c1.cpuUs - c0.cpuUs).padStart(10),
    String(Math.round(rss / 1e6)).padStart(7),
    closed ? `  client ${closed}` : '',
  ].join(' ');
}

async function main(): Promise<void> {
  console.log(`exchange-simulator bench: ${seconds}s per run, quotes-per-trade ${quotes}${quotes > 0 ? ' (client subscribed to quotes too)' : ''}, one client in a child process; trades counted`);
  console.log(`${'exchange'.padEnd(8)} ${'client'.padEnd(6)} ${'target/s'.padStart(8)} ${'generated/s'.padStart(12)} ${'delivered/s'.padStart(12)} ${'sim cpu'.padStart(8)} ${'client cpu'.padStart(10)} ${'rss MB'.padStart(7)}`);
  for (const ex of exchanges) for (const kind of clients) for (const rate of rates) console.log(await run(ex, kind, rate));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
