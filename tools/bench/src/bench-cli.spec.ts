import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BENCHES, benchCli, type BenchName } from './cli';

function capture(name: BenchName, argv: string[]) {
  const seen = { out: '', err: '', exits: [] as number[] };
  const code = benchCli(name, argv, { stdout: (t) => (seen.out += t), stderr: (t) => (seen.err += t), exit: (c) => seen.exits.push(c) });
  return { ...seen, code };
}

describe('bench --help', () => {
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts'));

  it('covers every bench file, and every bench file calls benchCli with its own name', () => {
    expect(Object.values(BENCHES).map((b) => b.file).sort()).toEqual([...files].sort());
    for (const [name, b] of Object.entries(BENCHES)) expect(readFileSync(path.join(__dirname, b.file), 'utf8')).toContain(`benchCli('${name}');`);
  });

  it.each(Object.entries(BENCHES))('%s lists every BENCH_* variable its code reads', (_name, b) => {
    const own = readFileSync(path.join(__dirname, b.file), 'utf8');
    const helpers = b.file === 'query.bench.ts' ? readdirSync(path.join(__dirname, 'query')).map((f) => readFileSync(path.join(__dirname, 'query', f), 'utf8')) : [];
    const read = new Set([own, ...helpers].flatMap((src) => src.match(/\bBENCH_[A-Z0-9_]+/g) ?? []));
    expect([...read].sort()).toEqual(b.env.map((e) => e.name).sort());
  });

  it('prints what it measures, its knobs and exit codes on --help, exit 0', () => {
    const r = capture('writer', ['--help']);
    expect(r).toMatchObject({ code: 0, exits: [0], err: '' });
    expect(r.out.startsWith('Usage: npm run bench:writer\n')).toBe(true);
    expect(r.out).toContain('trades/s to a committed snapshot');
    expect(r.out).toMatch(/^ {2}BENCH_TRADES +trades pre-filled for the throughput run \(default 2000000\)$/m);
    expect(r.out).toMatch(/^ {2}0 +the run finished/m);
    expect(capture('json', ['-h']).out).toMatch(/^Usage: tsx --tsconfig tsconfig.base.json tools\/bench\/src\/json.bench.ts\n/);
  });

  it('rejects any other argument with exit 2', () => {
    const r = capture('serde', ['--rounds', '3']);
    expect(r).toMatchObject({ code: 2, exits: [2], out: '' });
    expect(r.err).toBe('serde.bench: unknown argument --rounds; unknown argument 3 (see serde.bench --help)\n');
    expect(capture('serde', [])).toEqual({ code: undefined, exits: [], out: '', err: '' });
  });
});
