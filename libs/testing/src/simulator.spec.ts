import { execFileSync } from 'node:child_process';
import { startSimulatorProcess } from './simulator';
import { waitFor } from './wait';

/** Pids of the process group, via ps (empty once every member has exited). */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([, g]) => g === pgid)
    .map(([p]) => p);
}

describe('startSimulatorProcess', () => {
  it('starts the CLI, drives the admin API and stops cleanly', async () => {
    const sim = await startSimulatorProcess(['--exchanges', 'binance', '--rate', '300', '--binance-symbols', 'BTCUSDT', '--log-level', 'info']);
    try {
      expect(sim.binance.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.binance.rest).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(() => sim.kraken.ws).toThrow('kraken is not simulated');
      const st = await waitFor('trades', async () => ((await sim.state()).binance!.symbols['BTCUSDT'].count > 5 ? sim.state() : undefined), 10000, 50);
      expect(st.binance!.symbols['BTCUSDT'].firstTradeId).toBe('3000000000');
      await sim.pause();
      const ids = await sim.tradeIds('binance', 'BTCUSDT');
      expect(ids[0]).toBe('3000000000');
      expect(ids.length).toBe((await sim.state()).binance!.symbols['BTCUSDT'].count);
      await sim.setRate(1000, 'binance');
      expect((await sim.state()).binance!.rate).toBe(1000);
      await sim.resume();
      const f = await sim.fault({ exchange: 'binance', type: 'reject-connections', durationMs: 10 });
      expect(f).toMatchObject({ ok: true, exchange: 'binance', type: 'reject-connections', affected: 0 });
      await expect(sim.fault({ exchange: 'kraken', type: 'drop' })).rejects.toThrow('400');
      expect(sim.logs().some((l) => l.includes('"msg":"simulator ready"'))).toBe(true);
    } finally {
      await sim.stop();
    }
    expect(await sim.exited).toBe(0);
  }, 60000);

  it('kill() takes the simulator down: no process left, ports closed', async () => {
    const sim = await startSimulatorProcess(['--exchanges', 'kraken', '--rate', '10']);
    expect(groupMembers(sim.pid)).toEqual([sim.pid]);
    expect((await fetch(`${sim.admin}/healthz`)).status).toBe(200);
    await sim.kill();
    expect(await sim.exited).toBeNull(); // killed by the signal
    await waitFor('group gone', () => (groupMembers(sim.pid).length === 0 ? true : undefined), 5000, 50);
    await expect(fetch(`${sim.admin}/healthz`, { headers: { connection: 'close' } })).rejects.toThrow();
  }, 60000);

  it('reports a failed start with the simulator output', async () => {
    await expect(startSimulatorProcess(['--mode', 'replay'])).rejects.toThrow('--replay-file');
  }, 60000);
});
