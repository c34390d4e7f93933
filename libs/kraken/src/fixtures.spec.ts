import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mapKrakenMessage } from './mapper';
import { mapKrakenRestTrades } from './rest-mapper';

/**
 * Every fixture (real payload, src/fixtures/<name>.json) against its golden output (<name>.golden.json, bigints as
 * strings). After a deliberate mapping change, regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
const DIR = join(__dirname, 'fixtures');

interface Golden {
  source: string;
  call: { fn: string; receivedAtMicros: string; wsSymbol?: string };
  output: unknown;
}

function run(call: Golden['call'], raw: string): unknown {
  const ctx = { receivedAtMicros: BigInt(call.receivedAtMicros) };
  switch (call.fn) {
    case 'mapKrakenMessage':
      return mapKrakenMessage(raw, ctx);
    case 'mapKrakenRestTrades':
      return mapKrakenRestTrades(raw, call.wsSymbol!, ctx);
    default:
      throw new Error(`unknown fn ${call.fn}`);
  }
}

function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
}

const goldens = readdirSync(DIR)
  .filter((f) => f.endsWith('.golden.json'))
  .map((f) => f.slice(0, -'.golden.json'.length))
  .sort();

describe('kraken fixtures → golden V2 output', () => {
  it('has a golden file for every fixture', () => {
    const fixtures = readdirSync(DIR)
      .filter((f) => f.endsWith('.json') && !f.endsWith('.golden.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
    expect(fixtures).toEqual(goldens);
    expect(goldens.length).toBeGreaterThanOrEqual(11);
  });

  it.each(goldens)('%s', (name) => {
    const goldenPath = join(DIR, `${name}.golden.json`);
    const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as Golden;
    const actual = plain(run(golden.call, readFileSync(join(DIR, `${name}.json`), 'utf8')));
    if (process.env['UPDATE_GOLDEN'] === '1') {
      writeFileSync(goldenPath, `${JSON.stringify({ ...golden, output: actual }, null, 2)}\n`);
    } else {
      expect(actual).toEqual(golden.output);
    }
  });
});
