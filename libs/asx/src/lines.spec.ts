import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { MAX_LINE_BYTES, readLines, type ReadLinesOptions } from './lines';

type Seen = Array<[string, number, number, boolean]>;

async function collect(chunks: Buffer[], opts: ReadLinesOptions = {}, stopAt?: number): Promise<{ seen: Seen; result: Awaited<ReturnType<typeof readLines>> }> {
  const seen: Seen = [];
  const result = await readLines(
    Readable.from(chunks),
    (text, line, end, overlong) => {
      seen.push([text, line, end, overlong]);
      return stopAt === undefined || line < stopAt;
    },
    opts,
  );
  return { seen, result };
}

function chunked(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const head = Buffer.from(
  readFileSync(path.resolve(__dirname, '../../../data/asx-sample/trades/7078.csv'), 'latin1').split('\r\n').slice(0, 6).join('\r\n') + '\r\n',
  'latin1',
);

describe('readLines', () => {
  it('numbers CRLF lines of a real file and reports the byte offset after each', async () => {
    const { seen, result } = await collect([head]);
    expect(seen.map((s) => s[0])).toEqual([
      '03/10/2014,07:57:14.754,36.667,20000,3,X,',
      '03/10/2014,08:02:41.459,36.714,50000,3,X,',
      '03/10/2014,08:13:36.562,36.825,204000,3,X,',
      '03/10/2014,08:57:41.929,36.624,150000,3,X,',
      '03/10/2014,08:58:36.047,36.752,136400,3,X,',
      '03/10/2014,10:00:06.717,36.78,358,0,,',
    ]);
    let expected = 0;
    seen.forEach(([text, line, end], i) => {
      expected += Buffer.byteLength(text) + 2;
      expect([line, end]).toEqual([i + 1, expected]);
    });
    expect(result).toEqual({ lastLine: 6, endOffset: head.length, stopped: false });
  });

  it('gives the same lines and offsets whatever the chunk boundaries', async () => {
    const whole = (await collect([head])).seen;
    for (const size of [1, 2, 3, 7, 41, 42, 43, 64, 1000]) expect((await collect(chunked(head, size))).seen).toEqual(whole);
  });

  it('resumes at a checkpointed offset with the right line numbers', async () => {
    const whole = (await collect([head])).seen;
    const [, line, offset] = whole[2]!;
    const rest = await collect(chunked(head.subarray(offset), 5), { firstLine: line + 1, startOffset: offset });
    expect(rest.seen).toEqual(whole.slice(3));
  });

  it('handles LF endings, a last line without ending, blank lines and UTF-8', async () => {
    const { seen, result } = await collect(chunked(Buffer.from('a,b\n\nDÉVINE – Ltd\r\nlast', 'utf8'), 4));
    expect(seen).toEqual([
      ['a,b', 1, 4, false],
      ['', 2, 5, false],
      ['DÉVINE – Ltd', 3, 5 + Buffer.byteLength('DÉVINE – Ltd\r\n'), false],
      ['last', 4, 5 + Buffer.byteLength('DÉVINE – Ltd\r\n') + 4, false],
    ]);
    expect(result.lastLine).toBe(4);
  });

  it('cuts an overlong line instead of buffering it and keeps counting bytes exactly', async () => {
    const long = 'x'.repeat(MAX_LINE_BYTES + 5000);
    const data = Buffer.from(`ok\r\n${long}\r\nnext\r\n`);
    for (const size of [data.length, 4096, 999]) {
      const { seen } = await collect(chunked(data, size));
      expect(seen.map(([t, l, e, o]) => [t.length, l, e, o])).toEqual([
        [2, 1, 4, false],
        [MAX_LINE_BYTES, 2, 4 + long.length + 2, true],
        [4, 3, data.length, false],
      ]);
    }
    const exact = Buffer.from(`${'y'.repeat(MAX_LINE_BYTES)}\r\n`);
    expect((await collect(chunked(exact, 1000))).seen[0]!.slice(1)).toEqual([1, exact.length, false]);
  });

  it('drops a UTF-8 byte order mark at the start of the file only', async () => {
    const data = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a,b\r\n\ufeffc\r\n')]);
    const { seen } = await collect(chunked(data, 2));
    expect(seen.map((x) => x.slice(0, 3))).toEqual([
      ['a,b', 1, 8],
      ['\ufeffc', 2, data.length],
    ]);
  });

  it('stops when the handler says so', async () => {
    const { seen, result } = await collect(chunked(head, 10), {}, 2);
    expect(seen).toHaveLength(2);
    expect(result).toEqual({ lastLine: 2, endOffset: seen[1]![2], stopped: true });
  });
});
