import { humanBytes, Progress } from './progress';

describe('Progress', () => {
  it('counts bytes and rows (csv header not counted) and shows the rate, redrawn in place on a terminal', () => {
    let t = 0;
    const out: string[] = [];
    const p = new Progress({ write: (s) => out.push(s), enabled: true, tty: true, countRows: true, headerLines: 1, now: () => t });
    t = 250;
    p.add(Buffer.from('a,b\n1,2\n3,4\n'));
    t = 2000;
    p.add(Buffer.from('5,6\n'));
    p.show(true);
    expect(p.rows).toBe(3);
    expect(p.totalBytes).toBe(16);
    expect(out).toEqual(['\r\x1b[2K12 B, 2 rows in 0.3 s (48 B/s)', '\r\x1b[2K16 B, 3 rows in 2.0 s (8 B/s)', '\r\x1b[2Kdone: 16 B, 3 rows in 2.0 s (8 B/s)\n']);
  });

  it('into a log: a line every 5 s; parquet counts no rows; disabled prints nothing until asked', () => {
    let t = 0;
    const out: string[] = [];
    const p = new Progress({ write: (s) => out.push(s), enabled: true, tty: false, countRows: false, headerLines: 0, now: () => t });
    for (t = 1000; t <= 11_000; t += 1000) p.add(new Uint8Array(1024 * 1024));
    expect(out).toEqual(['5.0 MiB in 5.0 s (1.0 MiB/s)\n', '10.0 MiB in 10.0 s (1.0 MiB/s)\n']);
    const quiet: string[] = [];
    new Progress({ write: (s) => quiet.push(s), enabled: false, tty: true, countRows: true, headerLines: 0 }).add(Buffer.from('x\n'));
    expect(quiet).toEqual([]);
  });

  it('humanBytes', () => {
    expect([humanBytes(0), humanBytes(1023), humanBytes(1536), humanBytes(5 * 1024 ** 3)]).toEqual(['0 B', '1023 B', '1.5 KiB', '5.0 GiB']);
  });
});
