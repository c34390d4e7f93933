/**
 * k2's argument parser: `--flag value`, `--flag=value`, `-o value`, boolean flags, positionals and `--`. Flag names
 * take the API's snake_case as well (`--window_minutes` = `--window-minutes`), so a parameter copied from the API
 * docs works as typed. Anything wrong is a UsageError (exit 2, libs/core/src/cli.ts convention).
 */
export class UsageError extends Error {}

export interface FlagSpec {
  /** Long name without the dashes, kebab-case. */
  readonly name: string;
  /** Takes a value (`--limit 10`); otherwise a switch (`--all`). */
  readonly value: boolean;
  /** May be given several times (`--param a=1 --param b=2`); otherwise the last one wins. */
  readonly repeat?: boolean;
  /** One-letter alias, e.g. `o` for `-o`. */
  readonly short?: string;
}

export interface ParsedArgs {
  /** Values by long name, in the order given. */
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly switches: ReadonlySet<string>;
  readonly positionals: readonly string[];
}

function lookup(specs: readonly FlagSpec[], arg: string): { spec: FlagSpec; inline: string | undefined } | undefined {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(2, eq) : arg.slice(2)).replaceAll('_', '-');
    const spec = specs.find((s) => s.name === name);
    return spec ? { spec, inline: eq > 0 ? arg.slice(eq + 1) : undefined } : undefined;
  }
  const spec = specs.find((s) => s.short !== undefined && arg === `-${s.short}`);
  return spec ? { spec, inline: undefined } : undefined;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // A lone '-' is a value (stdout for -o), and negative numbers are not flags.
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const hit = lookup(specs, arg);
    if (!hit) throw new UsageError(`unknown option ${arg.split('=')[0]}`);
    const { spec, inline } = hit;
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      switches.add(spec.name);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${spec.name} needs a value`);
    const list = values.get(spec.name) ?? [];
    if (spec.repeat) list.push(value);
    else list.splice(0, list.length, value);
    values.set(spec.name, list);
  }
  return { values, switches, positionals };
}

/** The (last) value of a flag. */
export function valueOf(args: ParsedArgs, name: string): string | undefined {
  const v = args.values.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

/** A positive whole number flag, or undefined when absent. */
export function intOf(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = valueOf(args, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${v}`);
  return Number(v);
}
