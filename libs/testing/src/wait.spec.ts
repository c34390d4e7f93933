import { waitFor } from './wait';
import { infraEndpoints } from './infra';

describe('waitFor', () => {
  it('returns the first defined value', async () => {
    let n = 0;
    await expect(waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), 2000, 1)).resolves.toBe(3);
  });

  it('fails with what it waited for and the last error', async () => {
    await expect(
      waitFor('the impossible', () => {
        throw new Error('boom');
      }, 50, 5),
    ).rejects.toThrow('timed out after 50 ms waiting for the impossible: Error: boom');
  });
});

describe('infraEndpoints', () => {
  it('defaults to loopback ports and honours overrides', () => {
    const d = infraEndpoints({ K2_DATA_DIR: '/tmp/x' });
    expect(d.kafkaBrokers).toBe('127.0.0.1:9092');
    expect(d.registryUrl).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(d.python).toBe('/tmp/x/venv/bin/python');
    expect(infraEndpoints({ K2_KAFKA_PORT: '19092' }).kafkaBrokers).toBe('127.0.0.1:19092');
  });
});
