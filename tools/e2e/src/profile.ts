/**
 * How long and how hard the end-to-end run pushes. `short` is the variant `npm test` runs in CI (one of each fault);
 * `long` (`npm run test:e2e`) runs a higher rate, a longer calm phase for the freshness figures and several rounds
 * of kills. Any field can be overridden with K2_E2E_<FIELD> (e.g. K2_E2E_RATE=100).
 */
export interface E2eProfile {
  readonly name: string;
  /** Simulator trades per second per exchange (quotes follow at one per trade). */
  readonly rate: number;
  /** Fault-free phase at the start: the baseline freshness figures and the "no alert without a fault" check. */
  readonly calmMs: number;
  /** Rounds of SIGKILLs (each streamer, then the writer). */
  readonly killRounds: number;
  /** How long a killed process stays dead: past the scaled `for:` of K2TargetDown. */
  readonly deadMs: number;
  /** New exchange connections refused (HTTP 503) after every open one is dropped. */
  readonly rejectMs: number;
  readonly kafkaDownMs: number;
  readonly s3DownMs: number;
  /** Pause after each fault's end before the next one. */
  readonly settleMs: number;
  /** Alert rule durations (`for:`, range selectors, offsets) are divided by this, so minutes become seconds. */
  readonly alertTimeScale: number;
  readonly writerCommitMs: number;
}

const PROFILES: Record<string, E2eProfile> = {
  short: {
    name: 'short',
    rate: 40,
    calmMs: 25_000,
    killRounds: 1,
    deadMs: 12_000,
    rejectMs: 20_000,
    // Long enough for both streamers' producer breakers to open (delivery timeout 5 s, then the breaker's window).
    kafkaDownMs: 35_000,
    s3DownMs: 30_000,
    settleMs: 8_000,
    alertTimeScale: 20,
    writerCommitMs: 5_000,
  },
  long: {
    name: 'long',
    rate: 150,
    calmMs: 180_000,
    killRounds: 3,
    deadMs: 15_000,
    rejectMs: 30_000,
    kafkaDownMs: 45_000,
    s3DownMs: 60_000,
    settleMs: 20_000,
    alertTimeScale: 20,
    writerCommitMs: 5_000,
  },
};

export function e2eProfile(env: NodeJS.ProcessEnv = process.env): E2eProfile {
  const name = env['K2_E2E_PROFILE'] ?? 'short';
  const base = PROFILES[name];
  if (!base) throw new Error(`K2_E2E_PROFILE=${name}: expected one of ${Object.keys(PROFILES).join(', ')}`);
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(base)) {
    if (key === 'name') continue;
    const envName = `K2_E2E_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const raw = env[envName];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${envName}=${raw}: expected a non-negative number`);
    out[key] = n;
  }
  return Object.freeze(out as unknown as E2eProfile);
}
