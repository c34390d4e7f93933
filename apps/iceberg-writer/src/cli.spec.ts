import { createLogger } from '@k2/core';
import { runService } from '@k2/runtime';
import { writerCli, writerCommand } from './cli';
import { spec } from './config';

async function run(argv: string[]) {
  const { command, rest } = writerCommand(argv);
  const seen = { out: '', err: '', exits: [] as number[], configLoads: 0 };
  const code = await runService({
    name: command === 'maintain' ? 'iceberg-writer-maintenance' : 'iceberg-writer',
    logger: createLogger({ service: 'iceberg-writer', silent: true }),
    cli: { ...writerCli(command, rest), out: (t) => (seen.out += t), err: (t) => (seen.err += t) },
    config: () => {
      seen.configLoads++;
      throw new Error('not in this test');
    },
    start: () => undefined,
    exit: (c) => seen.exits.push(c),
  });
  return { ...seen, code, command };
}

describe('iceberg-writer command line', () => {
  it('splits the command word from the flags', () => {
    expect(writerCommand([])).toEqual({ command: 'run', rest: [] });
    expect(writerCommand(['run', '-h'])).toEqual({ command: 'run', rest: ['-h'] });
    expect(writerCommand(['maintain', '--help'])).toEqual({ command: 'maintain', rest: ['--help'] });
    expect(writerCommand(['--help'])).toEqual({ command: 'run', rest: ['--help'] });
  });

  it('answers `maintain --help` with the maintenance usage, its exit codes and the variables, without loading config', async () => {
    const r = await run(['maintain', '--help']);
    expect(r).toMatchObject({ command: 'maintain', code: 0, exits: [0], err: '', configLoads: 0 });
    expect(r.out.startsWith('Usage: iceberg-writer maintain [-h|--help]\n')).toBe(true);
    expect(r.out).toMatch(/compaction\s+of\s+small\s+files,\s+snapshot\s+expiry\s+and\s+orphan\s+file\s+removal/);
    expect(r.out).toMatch(/^ {2}1 +invalid configuration, a table whose maintenance failed/m);
    for (const f of Object.values(spec)) expect(r.out).toMatch(new RegExp(`^  ${f.env} `, 'm'));
  });

  it('answers plain --help with both commands', async () => {
    const r = await run(['--help']);
    expect(r.out).toMatch(/^Usage: iceberg-writer \[run\] \[-h\|--help\]\n {7}iceberg-writer maintain \[-h\|--help\]\n/);
    expect(r.code).toBe(0);
  });

  it('rejects an unknown command or flag with exit 2 instead of starting the writer', async () => {
    const typo = await run(['maintian']);
    expect(typo).toMatchObject({ code: 2, configLoads: 0, out: '' });
    expect(typo.err).toBe('iceberg-writer: unknown argument maintian; usage: iceberg-writer [run] | iceberg-writer maintain (see iceberg-writer --help)\n');
    const flag = await run(['maintain', '--dry-run']);
    expect(flag.err).toMatch(/^iceberg-writer maintain: unknown argument --dry-run; .*\(see iceberg-writer maintain --help\)\n$/);
    expect(flag.code).toBe(2);
  });
});
