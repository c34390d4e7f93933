import os from 'node:os';
import type { K2Io } from '../src/io';

/** An in-process K2Io that keeps what k2 prints, for the unit tests. */
export interface Captured extends K2Io {
  stdout(): string;
  stderr(): string;
}

export function captureIo(o: { stdoutTTY?: boolean; stderrTTY?: boolean; env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal } = {}): Captured {
  const out: Buffer[] = [];
  let err = '';
  // An empty directory as cwd and root: no demo key is found unless a test puts one there.
  const dir = o.cwd ?? os.tmpdir();
  return {
    out: async (c) => void out.push(Buffer.from(c)),
    err: (t) => void (err += t),
    stdoutTTY: o.stdoutTTY ?? false,
    stderrTTY: o.stderrTTY ?? false,
    env: o.env ?? {},
    cwd: dir,
    root: dir,
    signal: o.signal ?? new AbortController().signal,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => err,
  };
}
