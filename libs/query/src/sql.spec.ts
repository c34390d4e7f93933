import fs from 'node:fs';
import path from 'node:path';
import { QueryEngine } from './engine';
import { isKnownSql, SANDBOX_SQL, SQL, type SqlName } from './sql';

/**
 * "Parameterized SQL only" as a build-breaking check rather than a convention: statements are constant text,
 * DuckDB is reached from one file, and that file only ever prepares a statement of sql.ts.
 */
const ROOT = path.resolve(__dirname, '../../..');
const DIRS = ['libs/query/src', 'apps/query-api/src'];

function sources(): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name) && !/\.(spec|itest)\.ts$/.test(e.name)) out.push({ file: path.relative(ROOT, p), text: fs.readFileSync(p, 'utf8') });
    }
  };
  for (const d of DIRS) walk(path.join(ROOT, d));
  return out;
}

describe('SQL is never built from strings', () => {
  it('every statement in sql.ts is a constant without interpolation or concatenation', () => {
    const text = fs.readFileSync(path.join(__dirname, 'sql.ts'), 'utf8');
    expect(text).not.toContain('${');
    // Both frozen objects (the reads and the sandbox settings) hold only `name: \`...\`,` entries and comments: no +, no calls.
    const bodies = [...text.matchAll(/Object\.freeze\(\{[\s\S]*?\n\}\);/g)].map((m) => m[0]);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) {
      const stripped = body.replace(/\/\*\*[\s\S]*?\*\//g, '').replace(/`[^`]*`/g, '``');
      expect(stripped.replace(/\s+/g, ' ')).toMatch(/^Object\.freeze\(\{ (\w+: ``, )*\}\);$/);
    }
    for (const v of Object.values(SQL)) expect(v).toMatch(/\$[a-z_]+/);
    for (const v of Object.values(SANDBOX_SQL)) expect(isKnownSql(v)).toBe(true);
  });

  it('only engine.ts talks to DuckDB, and it prepares nothing but SQL[name]', () => {
    const files = sources();
    expect(files.length).toBeGreaterThan(5);
    const duck = files.filter((f) => /@duckdb\/node-api/.test(f.text)).map((f) => f.file);
    expect(duck).toEqual(['libs/query/src/engine.ts']);
    const engine = files.find((f) => f.file === 'libs/query/src/engine.ts')!.text;
    // Statement text can enter DuckDB through these methods; in engine.ts the only one given text is prepare(text),
    // the others run an already prepared statement without arguments.
    const calls = [...engine.matchAll(/\.(prepare|run|runAndReadAll|runAndRead|stream|streamAndReadAll|streamAndRead|extractStatements|pending)\(([^)]*)\)/g)];
    expect(calls.length).toBeGreaterThan(1);
    for (const c of calls) expect(c[2] === '' || `${c[1]}(${c[2]})` === 'prepare(text)').toBe(true);
    expect(engine).toContain('const text = SQL[name];');
    expect(engine).toContain('const text = SANDBOX_SQL[name];');
  });

  it('the engine refuses a statement that is not in sql.ts', async () => {
    const engine = await QueryEngine.create({ connections: 1, threads: 1 });
    try {
      expect(isKnownSql('SELECT 1')).toBe(false);
      await expect(engine.query('SELECT 1' as SqlName, {})).rejects.toThrow(/not in sql\.ts/);
    } finally {
      await engine.close();
    }
  });
});
