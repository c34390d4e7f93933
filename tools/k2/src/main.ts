// `npm run k2 -- <command> …` / `npx k2 <command> …`: the K2 command-line client (docs/query-api.md).
import path from 'node:path';
import { runK2 } from './cli';
import type { K2Io } from './io';

const stop = new AbortController();
let firstSignalAt = 0;
const onSignal = () => {
  // Another Ctrl-C a second later ends at once, whatever is still being cleaned up; one arriving together with
  // the first (a wrapper passing the terminal's signal on) does not cut the clean-up short.
  if (firstSignalAt && Date.now() - firstSignalAt > 1000) process.exit(130);
  firstSignalAt ||= Date.now();
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// `k2 trades … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const io: K2Io = {
  out: (chunk) => (process.stdout.write(chunk) ? Promise.resolve() : new Promise((r) => process.stdout.once('drain', () => r()))),
  err: (text) => void process.stderr.write(text),
  stdoutTTY: Boolean(process.stdout.isTTY),
  stderrTTY: Boolean(process.stderr.isTTY),
  env: process.env,
  cwd: process.cwd(),
  root: path.resolve(__dirname, '../../..'),
  signal: stop.signal,
};

void runK2(process.argv.slice(2), io).then((code) => {
  process.exitCode = stop.signal.aborted && code !== 0 ? 130 : code;
  // The replay's and export's fetch may hold the loop open after Ctrl-C.
  if (stop.signal.aborted) setTimeout(() => process.exit(), 100).unref();
});
