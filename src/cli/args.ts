/** A wrong command line: the reason is one line, and the usage it breaks is printed after it. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** A failure that is not the command line's fault (unreachable emulator, unreadable file): one line, exit 1. */
export class CliError extends Error {}

export interface FlagSpec {
  flag: string;
  /** Placeholder for the value in the usage; absent for a switch such as --json. */
  value?: string;
  help: string;
  required?: boolean;
  /** Environment variable read when the flag is not given. */
  env?: string;
  /** Other spellings accepted for the same flag. */
  aliases?: readonly string[];
}

export interface Parsed {
  values: Map<string, string>;
  switches: Set<string>;
  positional: string[];
  help: boolean;
}

/**
 * Parses `--flag value`, `--flag=value` and switches against a fixed list, so that a
 * misspelt flag is an error rather than silently ignored.
 */
export function parseArgs(args: readonly string[], specs: readonly FlagSpec[], usage: string, env: NodeJS.ProcessEnv = {}): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) for (const name of [spec.flag, ...(spec.aliases ?? [])]) byName.set(name, spec);
  const parsed: Parsed = { values: new Map(), switches: new Set(), positional: [], help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') {
      parsed.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      parsed.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.split(/=(.*)/s, 2);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown option ${name}`, usage);
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`, usage);
      parsed.switches.add(spec.flag);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`${name} needs a value (${spec.value})`, usage);
    if (parsed.values.has(spec.flag)) throw new UsageError(`${spec.flag} is given twice`, usage);
    parsed.values.set(spec.flag, value);
  }
  for (const spec of specs) {
    if (spec.env && !parsed.values.has(spec.flag) && env[spec.env]) parsed.values.set(spec.flag, env[spec.env]!);
  }
  return parsed;
}

/** Checks required flags after --from-json had its say; `has` tells whether a value came from anywhere. */
export function requireFlags(specs: readonly FlagSpec[], has: (spec: FlagSpec) => boolean, usage: string): void {
  for (const spec of specs) if (spec.required && !has(spec)) throw new UsageError(`missing required option ${spec.flag}`, usage);
}

/** The options block of a usage text, one flag per line. */
export function describeFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const names = [s.flag, ...(s.aliases ?? [])].join(', ');
    const left = s.value ? `${names} ${s.value}` : names;
    const right = [s.help, s.required ? '(required)' : '', s.env ? `[env ${s.env}]` : ''].filter(Boolean).join(' ');
    return `  ${left.padEnd(40)} ${right}`;
  });
  return rows.join('\n');
}
