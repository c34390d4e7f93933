import { argProblems, cfg, envDocs, EXIT_USAGE, flagValue, formatHelp, handleCli, HELP_FLAG, optional, usageError, type CliHelp } from './index';

const spec = {
  port: cfg.port({ env: 'METRICS_PORT', default: 9401, doc: 'HTTP port' }),
  brokers: cfg.list({ env: 'KAFKA_BROKERS', default: ['a:9092', 'b:9092'] }),
  level: cfg.oneOf({ env: 'LOG_LEVEL', default: 'info', values: ['info', 'debug'] }),
  token: cfg.string({ env: 'API_TOKEN', default: 'dev-token-123' }),
  flagged: cfg.string({ env: 'PLAIN_NAME', default: 'p4ss', secret: true }),
  keys: cfg.string({ env: 'QUERY_API_KEYS', default: '{"k":1}' }),
  poll: cfg.int({ env: 'QUERY_API_KEYS_POLL_MS', default: 5000 }),
  input: optional(cfg.string({ env: 'ASX_INPUT', doc: 'what to load' })),
  must: cfg.url({ env: 'UPSTREAM_URL', required: true }),
  retries: cfg.int({ env: 'RETRIES', default: 3, min: 1 }),
  again: cfg.int({ env: 'RETRIES', default: 3, min: 1 }),
};

const sample: CliHelp = {
  usage: ['demo [--fast]', 'demo -h|--help'],
  summary: 'Does the demo thing.',
  flags: [{ flag: '--fast', doc: 'go fast' }, HELP_FLAG],
  env: envDocs(spec),
  exitCodes: [
    { code: 0, when: 'done' },
    { code: 2, when: 'usage error' },
  ],
  notes: 'See the docs.',
};

describe('envDocs', () => {
  it('lists every variable once, in spec order, with its hint, default and doc', () => {
    const docs = envDocs(spec);
    expect(docs.map((d) => d.name)).toEqual(['METRICS_PORT', 'KAFKA_BROKERS', 'LOG_LEVEL', 'API_TOKEN', 'PLAIN_NAME', 'QUERY_API_KEYS', 'QUERY_API_KEYS_POLL_MS', 'ASX_INPUT', 'UPSTREAM_URL', 'RETRIES']);
    expect(docs[0]).toEqual({ name: 'METRICS_PORT', default: '9401', hint: 'integer 0..65535', doc: 'HTTP port', required: undefined });
    expect(docs[1]).toMatchObject({ default: 'a:9092,b:9092', hint: 'comma-separated list' });
    expect(docs[2]).toMatchObject({ default: 'info', hint: 'info|debug' });
    expect(docs[7]).toMatchObject({ default: undefined, hint: 'string', doc: 'what to load' });
    expect(docs[8]).toMatchObject({ required: true, hint: 'http|https URL' });
    expect(docs[9]).toMatchObject({ hint: 'integer >= 1', default: '3' });
  });

  it('never shows the default of a secret, by name or by flag', () => {
    const docs = envDocs(spec);
    expect(docs.find((d) => d.name === 'API_TOKEN')?.default).toBe('hidden');
    expect(docs.find((d) => d.name === 'PLAIN_NAME')?.default).toBe('hidden');
    expect(docs.find((d) => d.name === 'QUERY_API_KEYS')?.default).toBe('hidden');
    expect(docs.find((d) => d.name === 'QUERY_API_KEYS_POLL_MS')?.default).toBe('5000');
    const text = formatHelp(sample);
    expect(text).not.toContain('dev-token-123');
    expect(text).not.toContain('p4ss');
  });
});

describe('formatHelp', () => {
  const text = formatHelp(sample);

  it('has usage, summary, options, environment, exit codes and notes in that order', () => {
    const order = ['Usage: demo [--fast]', '       demo -h|--help', 'Does the demo thing.', 'Options:', 'Environment:', 'Exit codes:', 'See the docs.'];
    const at = order.map((s) => text.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(text.endsWith('See the docs.\n')).toBe(true);
  });

  it('prints one row per flag, variable and exit code', () => {
    expect(text).toMatch(/^ {2}--fast +go fast$/m);
    expect(text).toMatch(/^ {2}-h, --help +print this help and exit 0$/m);
    expect(text).toMatch(/^ {2}METRICS_PORT +HTTP port \(integer 0\.\.65535, default 9401\)$/m);
    expect(text).toMatch(/^ {2}UPSTREAM_URL +\(http\|https URL, required\)$/m);
    expect(text).toMatch(/^ {2}2 +usage error$/m);
  });

  it('wraps long text at 100 columns under its column', () => {
    const long = formatHelp({ ...sample, env: [{ name: 'X', doc: 'word '.repeat(60).trim() }] });
    const lines = long.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    const first = lines.findIndex((l) => l.startsWith('  X '));
    expect(lines[first + 1]).toMatch(/^ {2,}word/);
    expect(lines[first + 1]?.indexOf('word')).toBe(lines[first]?.indexOf('word'));
  });

  it('leaves the environment section out when there is none', () => {
    expect(formatHelp({ usage: ['x'], exitCodes: [{ code: 0, when: 'ok' }] })).toBe('Usage: x\n\nOptions:\n\nExit codes:\n  0  ok\n');
  });
});

describe('argProblems and flagValue', () => {
  const args = { booleans: ['--perf-test'], values: ['--schema-registry'] };

  it('accepts known flags in both value forms', () => {
    expect(argProblems(['--perf-test', '--schema-registry', 'http://r', '--schema-registry=http://s', '-h'], args)).toEqual([]);
    expect(flagValue(['--schema-registry', 'http://r', '--schema-registry=http://s'], '--schema-registry')).toBe('http://s');
    expect(flagValue(['--perf-test'], '--schema-registry')).toBeUndefined();
  });

  it('names unknown arguments, values given to boolean flags and missing values', () => {
    expect(argProblems(['--bogus', 'extra', '--perf-test=yes'], args)).toEqual(['unknown argument --bogus', 'unknown argument extra', 'unknown argument --perf-test=yes']);
    expect(argProblems(['--schema-registry'], args)).toEqual(['--schema-registry needs a value']);
    expect(argProblems(['--schema-registry', '--perf-test'], args)).toEqual(['--schema-registry needs a value']);
  });
});

describe('handleCli', () => {
  function run(argv: string[]) {
    const io = { out: '', err: '', codes: [] as number[] };
    const code = handleCli('demo', argv, {
      help: () => sample,
      args: { booleans: ['--fast'] },
      io: { stdout: (t) => (io.out += t), stderr: (t) => (io.err += t), exit: (c) => io.codes.push(c) },
    });
    return { ...io, code };
  }

  it('prints the help on stdout and exits 0 on --help or -h, whatever else is there', () => {
    for (const argv of [['--help'], ['-h'], ['--bogus', '--help']]) {
      const r = run(argv);
      expect(r).toMatchObject({ code: 0, codes: [0], err: '' });
      expect(r.out).toBe(formatHelp(sample));
    }
  });

  it('exits 2 with one line naming every problem and pointing at --help', () => {
    const r = run(['--slow', 'x']);
    expect(r).toMatchObject({ code: EXIT_USAGE, codes: [2], out: '' });
    expect(r.err).toBe('demo: unknown argument --slow; unknown argument x (see demo --help)\n');
    expect(usageError('demo', 'p')).toBe('demo: p (see demo --help)');
  });

  it('returns undefined and prints nothing when the arguments are fine', () => {
    expect(run(['--fast'])).toEqual({ code: undefined, codes: [], out: '', err: '' });
    expect(run([])).toEqual({ code: undefined, codes: [], out: '', err: '' });
  });

  it('takes a custom check in place of the flag list', () => {
    const codes: number[] = [];
    let err = '';
    const code = handleCli('demo', ['--x'], {
      help: () => sample,
      check: (argv) => argv.map((a) => `unknown argument ${a}; flags are --y`),
      io: { stdout: () => undefined, stderr: (t) => (err += t), exit: (c) => codes.push(c) },
    });
    expect([code, codes, err]).toEqual([2, [2], 'demo: unknown argument --x; flags are --y (see demo --help)\n']);
  });
});
