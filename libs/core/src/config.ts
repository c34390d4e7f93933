import { ConfigError } from './errors';

/**
 * Config is read once per process from the environment, validated, defaulted and frozen. Every problem is
 * collected so the operator sees all of them in one start-up failure, not one per restart.
 */
type Env = Readonly<Record<string, string | undefined>>;

interface FieldBase<T> {
  env: string;
  default?: T;
  /** Required fields without a default fail start-up when unset. */
  required?: boolean;
  doc?: string;
  /** Never shown: `--help` prints its default as hidden (names like *_SECRET*, *_TOKEN*, *_PASSWORD* count too). */
  secret?: boolean;
}

type Parser<T> = (raw: string) => { ok: true; value: T } | { ok: false; problem: string };

export interface Field<T> extends FieldBase<T> {
  parse: Parser<T>;
  /** What the value looks like (`integer >= 100`, `true|false`), for `--help`. */
  hint: string;
}

function intHint(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `integer ${min}..${max}`;
  if (min !== undefined) return `integer >= ${min}`;
  return max !== undefined ? `integer <= ${max}` : 'integer';
}

const ok = <T>(value: T) => ({ ok: true as const, value });
const bad = (problem: string) => ({ ok: false as const, problem });

export const cfg = {
  string(f: FieldBase<string> & { pattern?: RegExp }): Field<string> {
    return {
      ...f,
      hint: 'string',
      parse: (raw) => (f.pattern && !f.pattern.test(raw) ? bad(`must match ${f.pattern}`) : ok(raw)),
    };
  },
  int(f: FieldBase<number> & { min?: number; max?: number }): Field<number> {
    return {
      ...f,
      hint: intHint(f.min, f.max),
      parse: (raw) => {
        if (!/^-?\d+$/.test(raw.trim())) return bad('must be an integer');
        const n = Number(raw);
        if (!Number.isSafeInteger(n)) return bad('is out of range');
        if (f.min !== undefined && n < f.min) return bad(`must be >= ${f.min}`);
        if (f.max !== undefined && n > f.max) return bad(`must be <= ${f.max}`);
        return ok(n);
      },
    };
  },
  port(f: FieldBase<number>): Field<number> {
    return cfg.int({ ...f, min: 0, max: 65535 });
  },
  bool(f: FieldBase<boolean>): Field<boolean> {
    return {
      ...f,
      hint: 'true|false',
      parse: (raw) => {
        const v = raw.trim().toLowerCase();
        if (['1', 'true', 'yes', 'on'].includes(v)) return ok(true);
        if (['0', 'false', 'no', 'off'].includes(v)) return ok(false);
        return bad('must be true or false');
      },
    };
  },
  url(f: FieldBase<string> & { protocols?: readonly string[] }): Field<string> {
    const protocols = f.protocols ?? ['http:', 'https:'];
    return {
      ...f,
      hint: `${protocols.map((p) => p.replace(/:$/, '')).join('|')} URL`,
      parse: (raw) => {
        try {
          const u = new URL(raw);
          return protocols.includes(u.protocol) ? ok(raw.replace(/\/+$/, '')) : bad(`must use ${protocols.join(' or ')}`);
        } catch {
          return bad('must be a URL');
        }
      },
    };
  },
  list(f: FieldBase<readonly string[]> & { item?: RegExp; minItems?: number }): Field<readonly string[]> {
    return {
      ...f,
      hint: 'comma-separated list',
      parse: (raw) => {
        const items = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        if (items.length < (f.minItems ?? 1)) return bad(`needs at least ${f.minItems ?? 1} item(s)`);
        const wrong = f.item ? items.filter((i) => !f.item!.test(i)) : [];
        return wrong.length ? bad(`has invalid item(s) ${wrong.join(',')}`) : ok(Object.freeze(items));
      },
    };
  },
  oneOf<T extends string>(f: FieldBase<T> & { values: readonly T[] }): Field<T> {
    return {
      ...f,
      hint: f.values.join('|'),
      parse: (raw) => ((f.values as readonly string[]).includes(raw) ? ok(raw as T) : bad(`must be one of ${f.values.join('|')}`)),
    };
  },
};

/** A field without a default reads as undefined when unset; wrapping it makes the type say so. */
export function optional<T>(f: Field<T>): Field<T | undefined> {
  return f;
}

/** Problem line for a list variable that names an item twice (symbols, endpoints). */
export function duplicateItems(env: string, items: readonly string[]): string[] {
  const dup = items.filter((s, i) => items.indexOf(s) !== i);
  return dup.length ? [`${env} lists ${[...new Set(dup)].join(',')} more than once`] : [];
}

/** Problem lines for list items that match a URL-ish pattern yet do not parse as URLs. */
export function invalidUrls(env: string, urls: readonly string[]): string[] {
  return urls.filter((u) => !URL.canParse(u)).map((u) => `${env} has an invalid URL ${u}`);
}

export type ConfigSpec = Record<string, Field<unknown>>;
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export interface LoadConfigOptions<S extends ConfigSpec> {
  service: string;
  spec: S;
  env?: Env;
  /** Cross-field rules; return a problem string for impossible combinations. */
  check?: (config: ConfigOf<S>) => string[];
}

export function loadConfig<S extends ConfigSpec>(opts: LoadConfigOptions<S>): ConfigOf<S> {
  const env = opts.env ?? process.env;
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, field] of Object.entries(opts.spec)) {
    const raw = env[field.env];
    if (raw === undefined || raw === '') {
      if (field.default !== undefined) out[key] = field.default;
      else if (field.required) problems.push(`${field.env} is required`);
      else out[key] = undefined;
      continue;
    }
    const r = field.parse(raw);
    if (r.ok) out[key] = r.value;
    else problems.push(`${field.env}=${JSON.stringify(raw)} ${r.problem}`);
  }
  if (problems.length === 0 && opts.check) problems.push(...opts.check(out as ConfigOf<S>));
  if (problems.length) throw new ConfigError(opts.service, problems);
  return Object.freeze(out) as ConfigOf<S>;
}
