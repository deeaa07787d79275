import { parseArgs as parseTokens } from 'node:util';

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
  /** The value may be left out and then means `true` (`--verify-signatures` = `--verify-signatures true`). */
  optionalValue?: boolean;
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
 * The one argument parser of the CLI. `node:util` parseArgs reads the command line's shape
 * (`--flag value`, `--flag=value`, switches, `-h`, `--`); the rules on top are the CLI's own,
 * with its messages: a flag not in the list is an error rather than silently ignored, a
 * value may not be the next flag, a flag is given at most once, and an unset flag falls
 * back to its environment variable.
 */
export function parseArgs(args: readonly string[], specs: readonly FlagSpec[], usage?: string, env: NodeJS.ProcessEnv = {}): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) for (const name of [spec.flag, ...(spec.aliases ?? [])]) byName.set(name.replace(/^--/, ''), spec);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  // A flag whose value may be left out is read as a switch; its value, if any, is the next word.
  for (const [name, spec] of byName) options[name] = { type: spec.value && !spec.optionalValue ? 'string' : 'boolean' };
  // Not strict: unknown flags come back as tokens, to be refused below in the CLI's words.
  const { tokens } = parseTokens({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });

  const parsed: Parsed = { values: new Map(), switches: new Set(), positional: [], help: false };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === 'positional') parsed.positional.push(token.value);
    if (token.kind !== 'option') continue;
    if (token.name === 'help') {
      parsed.help = true;
      continue;
    }
    const spec = byName.get(token.name);
    if (!spec) throw new UsageError(`unknown option ${token.rawName}`, usage);
    if (!spec.value) {
      if (token.inlineValue) throw new UsageError(`${token.rawName} takes no value`, usage);
      parsed.switches.add(spec.flag);
      continue;
    }
    let value = token.value;
    if (spec.optionalValue && value === undefined) {
      const next = tokens[i + 1];
      if (next?.kind === 'positional' && next.index === token.index + 1) {
        value = next.value;
        i++;
      } else value = 'true';
    }
    if (value === undefined || (!token.inlineValue && value.startsWith('--'))) throw new UsageError(`${token.rawName} needs a value (${spec.value})`, usage);
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
