import { ConfigError, createLogger, formatHelp } from '@k2/core';
import { runService, serviceHelp } from '@k2/runtime';
import { CLI } from './cli';
import { loadAsxBatchLoaderConfig, SERVICE, spec } from './config';

async function run(argv: string[]) {
  const seen = { out: '', err: '', exits: [] as number[], starts: 0 };
  const code = await runService({
    name: SERVICE,
    logger: createLogger({ service: SERVICE, silent: true }),
    cli: { ...CLI, argv, out: (t) => (seen.out += t), err: (t) => (seen.err += t) },
    config: () => loadAsxBatchLoaderConfig({}, argv),
    start: () => {
      seen.starts++;
    },
    exit: (c) => seen.exits.push(c),
  });
  return { ...seen, code };
}

function configProblem(argv: string[]): string {
  try {
    loadAsxBatchLoaderConfig({}, argv);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('; ');
  }
  throw new Error('expected a ConfigError');
}

describe('asx-batch-loader command line', () => {
  it('keeps the unknown-argument message of its flag parser, exits 2 and starts nothing', async () => {
    const r = await run(['--input', 'data/x.csv', '--bogus']);
    const message = 'unknown argument --bogus; flags are --serve --dry-run --input --max-errors --checkpoint-dir --reject-file --currency --company-info --symbols --source-tag';
    expect(configProblem(['--bogus'])).toBe(message);
    expect(r).toMatchObject({ code: 2, exits: [2], out: '', starts: 0 });
    expect(r.err).toBe(`asx-batch-loader: ${message} (see asx-batch-loader --help)\n`);
  });

  it('reports a flag without its value the same way', async () => {
    const r = await run(['--max-errors']);
    expect(r.err).toBe('asx-batch-loader: --max-errors needs a value (see asx-batch-loader --help)\n');
    expect(r.code).toBe(2);
  });

  it('answers --help with every flag, the variable it sets, every variable and the load exit codes', async () => {
    const r = await run(['--dry-run', '--help']);
    expect(r).toMatchObject({ code: 0, exits: [0], err: '', starts: 0 });
    expect(r.out).toBe(formatHelp(serviceHelp(SERVICE, CLI)));
    expect(r.out).toMatch(/^ {2}--input VALUE +sets ASX_INPUT /m);
    expect(r.out).toMatch(/^ {2}--serve +sets ASX_STAY_ALIVE /m);
    for (const f of Object.values(spec)) expect(r.out).toMatch(new RegExp(`^  ${f.env} `, 'm'));
    expect(r.out).toMatch(/^ {2}2 +more rows rejected than --max-errors .*usage error/ms);
  });
});
