import path from 'node:path';
import { launchPlan, SERVICES, SIMULATOR } from './plan';

const root = '/repo';

describe('launchPlan', () => {
  it('runs the five built apps with their readiness ports; no simulator and no state overrides by default', () => {
    const plan = launchPlan({}, root);
    expect(plan.stages).toHaveLength(1);
    expect(plan.stages[0]!.map((s) => s.name)).toEqual([...SERVICES]);
    expect(plan.stages[0]!.map((s) => s.ready)).toEqual([9401, 9402, 9403, 9404, 9405].map((port) => ({ kind: 'http', port })));
    expect(plan.stages[0]![4]!.args).toEqual(['--enable-source-maps', '--max-old-space-size=461', 'dist/apps/query-api/main.js']);
    expect(plan.stages[0]![0]!.args).toEqual(['--enable-source-maps', 'dist/apps/binance-streamer/main.js']);
    // The writer's heap inside its default memory budget (ADR 0025); a budget or NODE_OPTIONS of the user's own wins.
    expect(plan.stages[0]![3]!.args).toEqual(['--enable-source-maps', '--max-old-space-size=576', 'dist/apps/iceberg-writer/main.js']);
    expect(launchPlan({ WRITER_MEMORY_BUDGET: '2GiB' }, root).stages[0]![3]!.args).toEqual(['--enable-source-maps', 'dist/apps/iceberg-writer/main.js']);
    expect(plan.stages[0]!.every((s) => Object.keys(s.env ?? {}).length === 0)).toBe(true);
    expect(plan.logDir).toBe(path.join(root, '.data', 'logs'));
    // query-api is ready on its ops port; PORT moves only its public API.
    expect(launchPlan({ METRICS_PORT: '9499', PORT: '8099' }, root).stages[0]![4]!.ready).toEqual({ kind: 'http', port: 9499 });
    expect(launchPlan({ PORT: '8099' }, root).apiPort).toBe(8099);
  });

  it('K2_FEEDS=simulated: the simulator first, ids from the launch time, streamers pointed at it', () => {
    const plan = launchPlan({ K2_FEEDS: 'simulated', K2_SIM_RATE: '50' }, root, 1_700_000_000_000);
    expect(plan.stages.map((s) => s.map((c) => c.name))).toEqual([[SIMULATOR], [...SERVICES]]);
    const sim = plan.stages[0]![0]!;
    expect(sim.args).toEqual(expect.arrayContaining(['--binance-port', '18765', '--kraken-port', '18766', '--admin-port', '18767', '--rate', '50']));
    expect(sim.args.join(' ')).toContain('--binance-start-id 1700000000000000 --binance-book-start-id 1700000000000000 --kraken-start-id 1700000000000000');
    const kraken = plan.stages[1]!.find((s) => s.name === 'kraken-streamer')!;
    expect(kraken.env).toMatchObject({ KRAKEN_WS_URLS: 'ws://127.0.0.1:18766/v2', KRAKEN_REST_URL: 'http://127.0.0.1:18766', FEED_RESUME_FROM_KAFKA: 'false' });
    expect(plan.stages[1]!.find((s) => s.name === 'query-api')!.env).toEqual({});
  });

  it('K2_STATE_DIR moves the services state there, unless a setting is given explicitly', () => {
    const plan = launchPlan({ K2_STATE_DIR: '/tmp/k2x', ASX_CHECKPOINT_DIR: '/keep' }, root);
    const env = (name: string) => plan.stages[0]!.find((s) => s.name === name)!.env;
    expect(plan.logDir).toBe('/tmp/k2x/logs');
    expect(env('iceberg-writer')).toEqual({ ICEBERG_CATALOG_URI: 'jdbc:sqlite:file:/tmp/k2x/iceberg/lake-catalog.db', ICEBERG_WAREHOUSE: 'file:///tmp/k2x/iceberg/warehouse' });
    expect(env('binance-streamer')).toMatchObject({ FEED_JOURNAL_DIR: '/tmp/k2x/journal/binance' });
    expect(env('kraken-streamer')).toMatchObject({ FEED_JOURNAL_DIR: '/tmp/k2x/journal/kraken' });
    expect(env('asx-batch-loader')).not.toHaveProperty('ASX_CHECKPOINT_DIR');
    expect(plan.dirs).toEqual(['/tmp/k2x/iceberg/warehouse']);
    expect(launchPlan({ K2_STATE_DIR: '/tmp/k2x', ICEBERG_CATALOG: 'rest' }, root).stages[0]![3]!.env).toEqual({});
  });

  it('ASX_STAY_ALIVE=false makes the loader a one-shot job', () => {
    expect(launchPlan({ ASX_STAY_ALIVE: 'false' }, root).stages[0]![2]!.oneShot).toBe(true);
    expect(launchPlan({ ASX_STAY_ALIVE: 'true' }, root).stages[0]![2]!.oneShot).toBe(false);
  });
});
