import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Facts about the repository that the deploy artefacts must agree with, read from the sources themselves. */

export const ROOT = path.resolve(__dirname, '../..');

export function repoPath(rel: string): string {
  return path.join(ROOT, rel);
}

export function readRepoFile(rel: string): string {
  return readFileSync(repoPath(rel), 'utf8');
}

/** The deployable services: every Nx project under apps/. */
export const K2_APPS: readonly string[] = readdirSync(repoPath('apps'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(repoPath(`apps/${d.name}/project.json`)))
  .map((d) => d.name)
  .sort();

export interface RunCommandsTarget {
  executor?: string;
  outputs?: string[];
  options?: { command?: string; commands?: string[] };
}

export function projectTargets(app: string): Record<string, RunCommandsTarget> {
  const project = JSON.parse(readRepoFile(`apps/${app}/project.json`)) as { targets?: Record<string, RunCommandsTarget> };
  return project.targets ?? {};
}

const ENV_LITERAL = /\benv: '([A-Z][A-Z0-9_]*)'/g;

function envLiterals(source: string): string[] {
  return [...source.matchAll(ENV_LITERAL)].map((m) => m[1] ?? '');
}

/** `export function xConfigSpec(...) { ... }` bodies of libs/<lib>/src/config.ts, by function name. */
function libConfigSpecs(): Map<string, string> {
  const specs = new Map<string, string>();
  for (const lib of readdirSync(repoPath('libs'))) {
    const file = `libs/${lib}/src/config.ts`;
    if (!existsSync(repoPath(file))) continue;
    const parts = readRepoFile(file).split(/\nexport /);
    for (const part of parts) {
      const name = /^function (\w+ConfigSpec)\(/.exec(part)?.[1];
      if (name) specs.set(name, part);
    }
  }
  return specs;
}

/**
 * The environment variables an app reads: the `env: 'NAME'` fields of its config spec in apps/<app>/src/config.ts
 * plus those of every library spec it spreads in (`...kafkaClientConfigSpec()`). Config loading goes through these
 * specs only (libs/core/src/config.ts), so a name outside this set is ignored by the app.
 */
export function envNamesReadBy(app: string): Set<string> {
  const source = readRepoFile(`apps/${app}/src/config.ts`);
  const names = new Set(envLiterals(source));
  const specs = libConfigSpecs();
  for (const m of source.matchAll(/\.\.\.(\w+ConfigSpec)\(/g)) {
    const fn = m[1] ?? '';
    const body = specs.get(fn);
    if (body === undefined) throw new Error(`apps/${app}/src/config.ts spreads ${fn}(), which no libs/*/src/config.ts exports`);
    for (const name of envLiterals(body)) names.add(name);
  }
  return names;
}

/**
 * The port an app serves /metrics, /healthz and /readyz on when METRICS_PORT is unset (query-api: its ops port,
 * DEFAULT_OPS_PORT; the API is on publicPort).
 */
export function defaultPort(app: string): number {
  const source = readRepoFile(`apps/${app}/src/config.ts`);
  const m = /runtimeConfigSpec\(\{ metricsPort: (\d+) \}\)/.exec(source) ?? /export const DEFAULT_OPS_PORT = (\d+);/.exec(source);
  if (!m?.[1]) throw new Error(`no default port found in apps/${app}/src/config.ts`);
  return Number(m[1]);
}

/** The public (API) port of an app that has one besides its ops port: query-api's DEFAULT_PORT. */
export function publicPort(app: string): number | undefined {
  const m = /export const DEFAULT_PORT = (\d+);/.exec(readRepoFile(`apps/${app}/src/config.ts`));
  return m?.[1] ? Number(m[1]) : undefined;
}

/**
 * `.dockerignore` as Docker applies it (https://docs.docker.com/build/concepts/context/#dockerignore-files): patterns
 * are relative to the context root, `*` and `?` stay within a path segment, `**` spans segments, a match on a
 * directory excludes everything under it, `!` re-includes, and the last matching line wins.
 */
export function dockerIgnore(file = '.dockerignore'): (rel: string) => boolean {
  const rules = readRepoFile(file)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      const source = pattern
        .split('/')
        .map((seg) => (seg === '**' ? '\uE000' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\uE000\//g, '(?:.*/)?')
        .replace(/\/\uE000/g, '(?:/.*)?')
        .replace(/\uE000/g, '.*');
      return { negate, re: new RegExp(`^${source}$`) };
    });
  return (rel: string) => {
    const segments = path.posix.normalize(rel).split('/');
    const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) {
      if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.negate;
    }
    return ignored;
  };
}
