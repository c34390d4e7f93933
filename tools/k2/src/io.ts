/**
 * Everything k2 touches outside itself, so the commands run in-process in unit tests and as a real process in
 * the integration test alike.
 */
export interface K2Io {
  /** Writes to stdout; resolves once the stream takes more (backpressure on large exports and --all). */
  readonly out: (chunk: string | Uint8Array) => Promise<void>;
  readonly err: (text: string) => void;
  readonly stdoutTTY: boolean;
  readonly stderrTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The repository root (where `npm start` keeps .data/). */
  readonly root: string;
  /** Aborted on Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
}

/** A command's outcome: the exit code (0 ok, 1 failure, 2 usage, 130 interrupted). */
export type ExitCode = number;

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;
