import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultPort, dockerIgnore, K2_APPS, projectTargets, publicPort, readRepoFile, repoPath } from './repo';

/**
 * Static checks of deploy/docker/<app>.Dockerfile (no Docker engine needed): the shape the issue asks for
 * (multi-stage, non-root, health check, the app's bundle as CMD) and that every COPY has something to copy, in the
 * build context or in the stage it copies from (https://docs.docker.com/reference/dockerfile/).
 */

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}
interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Comments dropped, `\` line continuations joined (the default escape character). */
function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  const file: Dockerfile = { globalArgs: {}, stages: [] };
  for (const l of logical) {
    const m = /^(\w+)\s+(.*)$/s.exec(l);
    if (!m) throw new Error(`unparsable Dockerfile line: ${l}`);
    const keyword = (m[1] ?? '').toUpperCase();
    const args = m[2] ?? '';
    if (keyword === 'FROM') {
      const [base = '', as, name] = args.split(/\s+/);
      file.stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(file.stages.length), base, instructions: [] });
    } else if (file.stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`${keyword} before the first FROM`);
      const [k = '', v = ''] = args.split('=');
      file.globalArgs[k] = v;
    } else {
      file.stages.at(-1)?.instructions.push({ keyword, args });
    }
  }
  return file;
}

function expand(s: string, args: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[a ?? b ?? ''] ?? '');
}

/** COPY flags (--from, --chown, ...) and its sources and destination; JSON form is not used here. */
function copyArgs(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return parsed as string[];
}

const WORKDIR = '/app';
/** -dev packages of the build stage and the runtime libraries they link to (Debian bookworm package names). */
const RUNTIME_OF_DEV: Record<string, string> = { 'libssl-dev': 'libssl3', 'libzstd-dev': 'libzstd1', 'zlib1g-dev': 'zlib1g' };

const isIgnored = dockerIgnore();
const dockerfiles = new Map(K2_APPS.map((app) => [app, parseDockerfile(readRepoFile(`deploy/docker/${app}.Dockerfile`))]));

function dockerfile(app: string): Dockerfile {
  const f = dockerfiles.get(app);
  if (!f) throw new Error(`no Dockerfile parsed for ${app}`);
  return f;
}

function finalStage(app: string): Stage {
  const s = dockerfile(app).stages.at(-1);
  if (!s) throw new Error(`deploy/docker/${app}.Dockerfile has no FROM`);
  return s;
}

function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

function aptPackages(stage: Stage): string[] {
  return all(stage, 'RUN').flatMap((r) => /apt-get install ((?:\S+\s*)+?)(?:&&|$)/.exec(r)?.[1]?.split(/\s+/).filter((p) => p !== '' && !p.startsWith('-')) ?? []);
}

/** What a stage holds under WORKDIR: paths it copied or produced, and whether it copied the whole context. */
interface Contents {
  paths: Set<string>;
  context: boolean;
}

/**
 * Walks the stages in order. `npm ci` produces node_modules; `nx run <project>:build` produces what that project's
 * build target declares as outputs (checked against apps/<project>/project.json); COPY from the context adds its
 * sources (which must exist and must not be excluded by .dockerignore); COPY --from must name something the source
 * stage holds. Returns the problems found.
 */
function copyProblems(app: string): string[] {
  const file = dockerfile(app);
  const contents = new Map<string, Contents>();
  const problems: string[] = [];
  const holds = (c: Contents, rel: string): boolean =>
    [...c.paths].some((p) => rel === p || rel.startsWith(`${p}/`)) || (c.context && existsSync(repoPath(rel)) && !isIgnored(rel));
  for (const stage of file.stages) {
    const inherited = contents.get(stage.base);
    const c: Contents = { paths: new Set(inherited?.paths ?? []), context: inherited?.context ?? false };
    for (const { keyword, args } of stage.instructions) {
      if (keyword === 'WORKDIR' && args !== WORKDIR) problems.push(`${stage.name}: WORKDIR ${args}, the checks assume ${WORKDIR}`);
      if (keyword === 'RUN') {
        if (/\bnpm ci\b/.test(args)) c.paths.add('node_modules');
        for (const m of args.matchAll(/\bnx run ([\w-]+):build\b/g)) {
          const project = m[1] ?? '';
          const outputs = projectTargets(project)['build']?.outputs ?? [];
          for (const o of outputs) c.paths.add(o.replace('{workspaceRoot}/', '').replace('{projectRoot}', `apps/${project}`));
        }
      }
      if (keyword !== 'COPY') continue;
      const { from, sources, dest } = copyArgs(args);
      for (const src of sources) {
        if (from !== undefined) {
          const source = contents.get(from);
          const rel = path.posix.relative(WORKDIR, src);
          if (!source) problems.push(`${stage.name}: COPY --from=${from}: no such earlier stage`);
          else if (src.startsWith('/') && !src.startsWith(`${WORKDIR}/`)) problems.push(`${stage.name}: COPY --from=${from} ${src} is outside ${WORKDIR}`);
          else if (!holds(source, rel)) problems.push(`${stage.name}: COPY --from=${from} ${src}: stage ${from} has no ${rel}`);
          c.paths.add(path.posix.relative(WORKDIR, path.posix.resolve(WORKDIR, dest)));
        } else if (src === '.') {
          c.context = true;
        } else {
          if (!existsSync(repoPath(src))) problems.push(`${stage.name}: COPY ${src}: not in the repository`);
          else if (isIgnored(src)) problems.push(`${stage.name}: COPY ${src}: excluded by .dockerignore`);
          const target = dest.endsWith('/') || dest === '.' ? path.posix.join(dest, path.posix.basename(src)) : dest;
          c.paths.add(path.posix.relative(WORKDIR, path.posix.resolve(WORKDIR, target)));
        }
      }
    }
    contents.set(stage.name, c);
  }
  return problems;
}

describe.each(K2_APPS)('deploy/docker/%s.Dockerfile', (app) => {
  const file = dockerfile(app);
  const last = finalStage(app);

  it('is multi-stage with pinned base images', () => {
    expect(file.stages.length).toBeGreaterThanOrEqual(2);
    const names = new Set<string>();
    for (const stage of file.stages) {
      const base = expand(stage.base, file.globalArgs);
      if (!names.has(base)) expect({ stage: stage.name, base }).toEqual({ stage: stage.name, base: expect.stringMatching(/^[\w./-]+:(?!latest$)\d[\w.-]*$/) });
      names.add(stage.name);
    }
  });

  it('runs as a numeric non-root user in production mode', () => {
    const user = all(last, 'USER').at(-1) ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(all(last, 'ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
  });

  it("starts the app's bundle and probes its /healthz on the app's default port", () => {
    const port = defaultPort(app);
    expect(execForm(all(last, 'CMD').at(-1) ?? 'null')).toEqual(['node', '--enable-source-maps', `dist/apps/${app}/main.js`]);
    const api = publicPort(app);
    expect(all(last, 'EXPOSE')).toEqual([api === undefined ? String(port) : `${api} ${port}`]);
    const healthcheck = all(last, 'HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    const probe = execForm((healthcheck[0] ?? '').replace(/^.*?\bCMD\s+/, ''));
    expect(probe.slice(0, 2)).toEqual(['node', '-e']);
    expect(probe[2]).toContain('/healthz');
    expect(probe[2]).toContain(`|| ${port})`);
  });

  it('copies only what the context or an earlier stage holds', () => {
    expect(copyProblems(app)).toEqual([]);
    expect(all(last, 'COPY').some((c) => c.includes(`/app/dist/apps/${app}`))).toBe(true);
  });

  it('installs in the final stage the runtime libraries of the native modules it builds against', () => {
    const built = file.stages.flatMap(aptPackages).filter((p) => p in RUNTIME_OF_DEV);
    expect(built.length).toBeGreaterThan(0);
    expect(aptPackages(last)).toEqual(expect.arrayContaining(built.map((p) => RUNTIME_OF_DEV[p])));
  });

  it('is what the docker-build target builds', () => {
    expect(projectTargets(app)['docker-build']).toEqual({
      executor: 'nx:run-commands',
      cache: false,
      options: { command: `docker build -f deploy/docker/${app}.Dockerfile -t k2/${app}:latest .` },
    });
  });
});

describe('deploy/docker', () => {
  it('has one Dockerfile per app', () => {
    for (const app of K2_APPS) expect(existsSync(repoPath(`deploy/docker/${app}.Dockerfile`))).toBe(true);
  });

  it('shares the dependency stages word for word, so BuildKit installs the dependencies once for all images', () => {
    const shared = (app: string): Stage[] => dockerfile(app).stages.filter((s) => s.name === 'deps' || s.name === 'prod-deps');
    const first = K2_APPS[0] ?? '';
    expect(shared(first).map((s) => s.name)).toEqual(['deps', 'prod-deps']);
    for (const app of K2_APPS) expect({ app, stages: shared(app) }).toEqual({ app, stages: shared(first) });
  });

  it('keeps local state, installed modules and build output out of the build context', () => {
    for (const p of ['node_modules', '.data/tools', 'dist/apps/query-api/main.js', '.nx/cache', '.git/HEAD', 'libs/core/node_modules/x']) {
      expect({ p, ignored: isIgnored(p) }).toEqual({ p, ignored: true });
    }
    for (const p of ['package.json', 'package-lock.json', 'apps/query-api/src/main.ts', 'libs/core/src/index.ts', 'tsconfig.base.json', 'nx.json', 'data/asx-sample']) {
      expect({ p, ignored: isIgnored(p) }).toEqual({ p, ignored: false });
    }
  });
});
