import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * Every K2 command answers --help: exit 0, a `Usage:` line first, an exit-code section, nothing on stderr, and no
 * connection anywhere (no infrastructure is needed). Each command runs as a real process through tsx.
 */
const root = path.resolve(__dirname, '../../..');

const COMMANDS: ReadonlyArray<readonly [string, ...string[]]> = [
  ['apps/binance-streamer/src/main.ts'],
  ['apps/kraken-streamer/src/main.ts'],
  ['apps/asx-batch-loader/src/main.ts'],
  ['apps/iceberg-writer/src/main.ts'],
  ['apps/iceberg-writer/src/main.ts', 'maintain'],
  ['apps/query-api/src/main.ts'],
  ['tools/validate-schemas/src/main.ts'],
  ['tools/scripts/bootstrap-topics.ts'],
  ['tools/scripts/tail.ts'],
  ['tools/exchange-simulator/src/main.ts'],
  ...['json', 'mappers', 'serde', 'streamer', 'asx', 'writer', 'query'].map((b) => [`tools/bench/src/${b}.bench.ts`] as const),
  // The k2 CLI (tools/k2): the top level and each command's own help.
  ['tools/k2/src/main.ts'],
  ...['trades', 'quotes', 'bars', 'summary', 'symbols', 'snapshots', 'reference', 'replay', 'export'].map((c) => ['tools/k2/src/main.ts', c] as const),
];

interface Outcome {
  code: number | null;
  out: string;
  err: string;
}

function run(args: readonly string[]): Promise<Outcome> {
  // Unreachable endpoints: a command that tried to connect would fail or hang instead of exiting 0 at once.
  const env = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', K2_API_URL: 'http://127.0.0.1:1' };
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['--tsconfig', 'tsconfig.base.json', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

/** Three at a time: each start mostly waits on module loading, and the machine has two cores. */
async function runAll(list: ReadonlyArray<readonly string[]>): Promise<Outcome[]> {
  const results: Outcome[] = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      results[i] = await run([...(list[i] ?? []), '--help']);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return results;
}

describe('every command answers --help', () => {
  jest.setTimeout(180_000);
  let outcomes: Outcome[] = [];

  beforeAll(async () => {
    outcomes = await runAll(COMMANDS);
  });

  it.each(COMMANDS.map((c, i) => [c.join(' '), i] as const))('%s --help', (_label, i) => {
    const o = outcomes[i];
    expect({ code: o?.code, err: o?.err }).toEqual({ code: 0, err: '' });
    expect(o?.out).toMatch(/^Usage: \S+/i);
  });

  it('every help but tail.ts (its own format) documents the exit codes', () => {
    const missing = COMMANDS.filter((c, i) => c[0] !== 'tools/scripts/tail.ts' && !outcomes[i]?.out.includes('Exit codes:'));
    expect(missing).toEqual([]);
  });
});
