import { errorLine, listeningPort } from './lines';

describe('errorLine', () => {
  it('takes a JSON entry at level error, with its error message', () => {
    const line = JSON.stringify({
      level: 'error',
      message: 'invalid configuration',
      service: 'kraken-streamer',
      error: { message: 'invalid configuration for kraken-streamer: KRAKEN_WS_URLS: not a URL' },
    });
    expect(errorLine(line)).toBe('invalid configuration for kraken-streamer: KRAKEN_WS_URLS: not a URL');
    expect(errorLine(JSON.stringify({ level: 'error', message: 'start failed', error: { message: 'kafka: connect: boom' } }))).toBe('start failed: kafka: connect: boom');
    expect(errorLine(JSON.stringify({ level: 'error', message: 'shutdown deadline exceeded' }))).toBe('shutdown deadline exceeded');
    expect(errorLine(JSON.stringify({ level: 'error', service: 'exchange-simulator', msg: 'listen failed', error: 'EADDRINUSE' }))).toBe('listen failed: EADDRINUSE');
  });

  it('ignores other levels and blank or stack lines, and keeps plain-text errors (a crash before the logger)', () => {
    expect(errorLine(JSON.stringify({ level: 'warn', message: 'kafka consumer error', error: 'x' }))).toBeUndefined();
    expect(errorLine('    at Object.<anonymous> (/x.js:1:1)')).toBeUndefined();
    expect(errorLine('')).toBeUndefined();
    expect(errorLine("Error: Cannot find module '/work/dist/apps/query-api/main.js'")).toBe("Error: Cannot find module '/work/dist/apps/query-api/main.js'");
    expect(errorLine('listening on 8080')).toBeUndefined();
  });
});

describe('listeningPort', () => {
  it('reads the port of the runtime line "http server listening"', () => {
    expect(listeningPort(JSON.stringify({ level: 'info', message: 'http server listening', host: '0.0.0.0', port: 9402 }))).toBe(9402);
    expect(listeningPort(JSON.stringify({ level: 'info', message: 'service started', port: 9402 }))).toBeUndefined();
    expect(listeningPort('http server listening 9402')).toBeUndefined();
  });
});
