import { K2Error, ErrorCode } from './errors';
import { redactConfig, redactSecrets, redactValue } from './redact';

describe('redactSecrets (issue 18: passwords inside URI values)', () => {
  it.each([
    ['postgresql://k2:secret@h:5432/db', 'postgresql://k2:***@h:5432/db'],
    ['postgresql://k2:p@ss@h/db', 'postgresql://k2:***@h/db'],
    ['jdbc:postgresql://h/db?user=k2&password=secret&x=1', 'jdbc:postgresql://h/db?user=k2&password=***&x=1'],
    ['jdbc:postgresql://h/db?sslpassword=s1&PASSWORD=s2', 'jdbc:postgresql://h/db?sslpassword=***&PASSWORD=***'],
    ['jdbc:sqlserver://h:1433;databaseName=k2;user=k2;password=secret;encrypt=true', 'jdbc:sqlserver://h:1433;databaseName=k2;user=k2;password=***;encrypt=true'],
    ['https://cat/v1?token=abc&client_secret=def&access_token=ghi', 'https://cat/v1?token=***&client_secret=***&access_token=***'],
    ['s3://b/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Security-Token=tt', 's3://b/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***'],
    ['GET https://api.binance.com/x?symbol=BTC&signature=abc failed', 'GET https://api.binance.com/x?symbol=BTC&signature=*** failed'],
    ['connect to "postgresql://u:pw@h/db" and https://a:b@c/d', 'connect to "postgresql://u:***@h/db" and https://a:***@c/d'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('leaves text without credentials alone', () => {
    for (const t of ['jdbc:sqlite:file:/x.db', 'postgresql://k2@h/db', 'https://h/v1?symbol=BTCUSDT&limit=10', 'a=b', 'user@example.com', 's3://bucket/warehouse']) {
      expect(redactSecrets(t)).toBe(t);
    }
  });
});

describe('redactValue / redactConfig', () => {
  it('masks strings at any depth without changing the input', () => {
    const input = { a: ['postgresql://u:pw@h/db'], b: { c: 'x?password=pw' }, n: 1, big: 2n, none: undefined };
    const copy = structuredClone(input);
    expect(redactValue(input)).toEqual({ a: ['postgresql://u:***@h/db'], b: { c: 'x?password=***' }, n: 1, big: 2n, none: undefined });
    expect(input).toEqual(copy);
  });

  it('serializes errors through toJSON with their messages and context redacted', () => {
    const e = new K2Error(ErrorCode.STORAGE_UNAVAILABLE, 'open postgresql://u:pw@h/db', { cause: new Error('refused ?password=pw'), context: { uri: 'https://a:pw@b' } });
    expect(JSON.stringify(redactValue({ error: e }))).not.toContain('pw@');
    expect(e.message).toBe('open postgresql://u:***@h/db');
    expect(e.toJSON()).toMatchObject({ context: { uri: 'https://a:***@b' }, causes: [{ message: 'refused ?password=***' }] });
  });

  it('cuts cycles, keeps shared objects', () => {
    const shared = { x: 'ok' };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic['self'] = cyclic;
    expect(redactValue(cyclic)).toEqual({ shared: { x: 'ok' }, again: { x: 'ok' }, self: '[cut]' });
  });

  it('config: credential keys whole, URI credentials masked, everything else verbatim', () => {
    expect(redactConfig({ s3SecretKey: 'SK', token: undefined, catalog: { uri: 'jdbc:postgresql://h/db?user=k2&password=pw', type: 'sql' }, list: ['a'] })).toEqual({
      s3SecretKey: '[redacted]',
      token: undefined,
      catalog: { uri: 'jdbc:postgresql://h/db?user=k2&password=***', type: 'sql' },
      list: ['a'],
    });
  });
});
