/**
 * validate-schemas: the TypeScript counterpart of the seeds' validate_v2_schemas.py. Checks registry
 * connectivity, registers the three V2 schemas, round-trips Binance, Kraken and ASX samples through the real
 * registry, checks BACKWARD compatibility, and with --perf-test prints encode/decode records/s.
 * usage: validate-schemas [--schema-registry URL] [--perf-test]   (--help: flags, environment, exit codes)
 */
import { envDocs, flagValue, handleCli, HELP_FLAG, loadConfig, type CliHelp } from '@k2/core';
import { kafkaClientConfigSpec } from '@k2/kafka';
import { TRADE_V2_SCHEMA, type RecordKind } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import { sampleQuotes, sampleTrades } from '@k2/testing';

const SPEC = { schemaRegistryUrl: kafkaClientConfigSpec().schemaRegistryUrl };

const help = (): CliHelp => ({
  usage: ['validate-schemas [--schema-registry URL] [--perf-test]', 'npm run validate-schemas -- [flags]'],
  summary:
    'Checks the schema registry: registers the three V2 schemas, round-trips the Binance, Kraken and ASX samples ' +
    'through it, and checks that it enforces BACKWARD compatibility (uses its own *.validate subjects).',
  flags: [
    { flag: '--schema-registry URL', doc: 'registry base URL (wins over SCHEMA_REGISTRY_URL)' },
    { flag: '--perf-test', doc: 'also print V2 trade encode/decode records/s' },
    HELP_FLAG,
  ],
  env: envDocs(SPEC),
  exitCodes: [
    { code: 0, when: 'every check passed (or --help)' },
    { code: 1, when: 'a check failed, the registry is unreachable or SCHEMA_REGISTRY_URL is invalid (one line on stderr)' },
    { code: 2, when: 'usage error: unknown flag or a flag without its value' },
  ],
});

const args = process.argv.slice(2);
handleCli('validate-schemas', args, { help, args: { booleans: ['--perf-test'], values: ['--schema-registry'] } });
const perf = args.includes('--perf-test');

const TOPICS: Record<RecordKind, string> = {
  trades: 'market.crypto.trades.validate',
  quotes: 'market.crypto.quotes.validate',
  reference: 'market.equities.reference.validate',
};

/** Field-by-field text form (avsc returns class instances and bigints, which deep-equal helpers treat differently). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
}

function fail(message: string): never {
  console.error(`validate-schemas: ${message}`);
  process.exit(1);
}

function registryUrlOf(argv: readonly string[]): string {
  const flag = flagValue(argv, '--schema-registry');
  try {
    return loadConfig({ service: 'validate-schemas', spec: SPEC, env: flag === undefined ? process.env : { SCHEMA_REGISTRY_URL: flag } }).schemaRegistryUrl;
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}

const registryUrl = registryUrlOf(args);

async function main(): Promise<void> {
  try {
    const res = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) fail(`schema registry at ${registryUrl} answered HTTP ${res.status}`);
  } catch (err) {
    fail(`cannot reach the schema registry at ${registryUrl} (${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}); start it with: npm run infra:up`);
  }
  console.log(`ok  registry reachable at ${registryUrl}`);

  const serde = new AvroSerde({ registryUrl });
  const ids = {} as Record<RecordKind, number>;
  for (const kind of Object.keys(TOPICS) as RecordKind[]) {
    ids[kind] = await serde.registerV2(TOPICS[kind], kind);
    console.log(`ok  registered ${TOPICS[kind]}-value (${kind}) as schema id ${ids[kind]}`);
  }

  const fresh = new AvroSerde({ registryUrl });
  const samples: Array<[string, RecordKind, object]> = [
    ...sampleTrades().map((t) => [`${t.exchange} trade ${t.trade_id}`, 'trades', t] as [string, RecordKind, object]),
    ...sampleQuotes().map((q) => [`${q.exchange} quote ${q.symbol}`, 'quotes', q] as [string, RecordKind, object]),
  ];
  for (const [label, kind, rec] of samples) {
    const back = await fresh.decode(serde.encode(ids[kind], rec as Record<string, unknown>));
    if (canonical(back) !== canonical(rec)) fail(`round trip changed ${label}: ${canonical(back)}`);
    console.log(`ok  round trip ${label}`);
  }

  const base = JSON.parse(JSON.stringify(TRADE_V2_SCHEMA)) as { fields: Array<Record<string, unknown>> };
  const checks: Array<[string, object, boolean]> = [
    ['adding an optional field', { ...base, fields: [...base.fields, { name: 'validate_optional', type: ['null', 'string'], default: null }] }, true],
    ['adding a required field', { ...base, fields: [...base.fields, { name: 'validate_required', type: 'string' }] }, false],
    ['changing price to long', { ...base, fields: base.fields.map((f) => (f['name'] === 'price' ? { ...f, type: 'long' } : f)) }, false],
  ];
  const evolveTopic = `market.crypto.trades.validate${Date.now().toString(36)}`;
  await serde.register(evolveTopic, TRADE_V2_SCHEMA);
  for (const [what, schema, expected] of checks) {
    const accepted = await serde.register(evolveTopic, schema).then(() => true, () => false);
    if (accepted !== expected) fail(`BACKWARD: ${what} was ${accepted ? 'accepted' : 'rejected'}, expected ${expected ? 'accepted' : 'rejected'}`);
    console.log(`ok  BACKWARD: ${what} ${accepted ? 'accepted' : 'rejected'} by the registry`);
  }

  if (perf) {
    const trades = sampleTrades();
    const n = 200_000;
    let t0 = process.hrtime.bigint();
    const bufs = [];
    for (let i = 0; i < n; i++) bufs.push(serde.encode(ids.trades, trades[i % trades.length]!));
    const enc = n / (Number(process.hrtime.bigint() - t0) / 1e9);
    t0 = process.hrtime.bigint();
    for (const b of bufs) serde.decodeLoaded(b);
    const dec = n / (Number(process.hrtime.bigint() - t0) / 1e9);
    console.log(`perf encode ${Math.round(enc).toLocaleString('en-US')} records/s, decode ${Math.round(dec).toLocaleString('en-US')} records/s`);
  }
  console.log('all V2 schema checks passed');
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
