import { parseSse, type SseEvent } from './sse-parse';

/** Feeds `chunks` one after another as a network reader would, carrying `rest` over. */
function feed(chunks: string[]): { events: SseEvent[]; rest: string; comments: number } {
  let rest = '';
  let comments = 0;
  const events: SseEvent[] = [];
  for (const chunk of chunks) {
    const r = parseSse(rest + chunk);
    events.push(...r.events);
    comments += r.comments;
    rest = r.rest;
  }
  return { events, rest, comments };
}

const TRADE = '{"symbol":"BTCUSDT","price":"97000.12000000"}';

describe('parseSse', () => {
  it('parses a named event and keeps what follows a complete frame', () => {
    const r = parseSse(`event: trade\ndata: ${TRADE}\n\nevent: trade\ndata: {"sym`);
    expect(r.events).toEqual([{ event: 'trade', data: TRADE }]);
    expect(r.rest).toBe('event: trade\ndata: {"sym');
  });

  it('defaults the event name to message and joins multi-line data with newlines', () => {
    expect(parseSse('data: a\ndata:b\ndata:  c\n\n').events).toEqual([{ event: 'message', data: 'a\nb\n c' }]);
  });

  it('counts heartbeat comments and dispatches nothing for them', () => {
    const r = parseSse(': ping\n\n:\n\nevent: trade\n: inline comment\ndata: x\n\n');
    expect(r.events).toEqual([{ event: 'trade', data: 'x' }]);
    expect(r.comments).toBe(3);
    expect(r.rest).toBe('');
  });

  it('reassembles a frame split at every possible byte', () => {
    const stream = `: hb\n\nevent: trade\ndata: ${TRADE}\n\nevent: trade\r\ndata: 2\r\n\r\n`;
    for (let i = 1; i < stream.length; i++) {
      const r = feed([stream.slice(0, i), stream.slice(i)]);
      expect(r.events).toEqual([
        { event: 'trade', data: TRADE },
        { event: 'trade', data: '2' },
      ]);
      expect(r.comments).toBe(1);
      expect(r.rest).toBe('');
    }
  });

  it('feeds one character at a time', () => {
    const stream = `event: trade\ndata: ${TRADE}\n\n: hb\n\nevent: trade\ndata: ${TRADE}\n\n`;
    const r = feed([...stream]);
    expect(r.events).toHaveLength(2);
    expect(r.comments).toBe(1);
  });

  it('does not dispatch on a trailing CR that may be half of a CRLF', () => {
    const first = parseSse('data: x\r\n\r');
    expect(first.events).toEqual([]);
    const second = parseSse(first.rest + '\ndata: y\r\n\r\n');
    expect(second.events).toEqual([
      { event: 'message', data: 'x' },
      { event: 'message', data: 'y' },
    ]);
  });

  it('accepts bare CR line endings', () => {
    expect(parseSse('event: trade\rdata: x\r\rdata: y\r\r ').events).toEqual([
      { event: 'trade', data: 'x' },
      { event: 'message', data: 'y' },
    ]);
  });

  it('skips frames without data but dispatches an empty data field', () => {
    expect(parseSse('event: trade\n\ndata\n\n').events).toEqual([{ event: 'message', data: '' }]);
  });

  it('reads id and retry and ignores unknown fields and invalid retry values', () => {
    expect(parseSse('id: 42\nretry: 1500\nfoo: bar\ndata: x\n\nretry: soon\ndata: y\n\n').events).toEqual([
      { event: 'message', data: 'x', id: '42', retry: 1500 },
      { event: 'message', data: 'y' },
    ]);
  });

  it('keeps colons inside the value', () => {
    expect(parseSse('data: {"timestamp":"2026-11-23T10:15:30.123456Z"}\n\n').events[0]!.data).toBe('{"timestamp":"2026-11-23T10:15:30.123456Z"}');
  });
});
