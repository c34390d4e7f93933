import { spawnSync } from 'node:child_process';
import { repoPath } from './repo';

/**
 * Runs promtool (PATH, or $PROMTOOL) from the repository root. deploy/tools/install-promtool.sh installs it; a missing
 * binary fails with that instruction rather than a bare ENOENT.
 */
export function promtool(args: string[]): { ok: boolean; output: string } {
  const bin = process.env['PROMTOOL'] ?? 'promtool';
  const r = spawnSync(bin, args, { cwd: repoPath('.'), encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`promtool not found (${bin}): run bash deploy/tools/install.sh (installs it with deploy/tools/install-promtool.sh)`);
  }
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
