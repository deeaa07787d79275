/** The CLI's one argument parser (src/cli/args.ts), without starting a process. */
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError, type FlagSpec } from '../../src/cli/args.js';

const FLAGS: FlagSpec[] = [
  { flag: '--name', value: 'NAME', help: 'name' },
  { flag: '--url', value: 'URL', help: 'url', env: 'OCI_IOT_URL', aliases: ['--endpoint'] },
  { flag: '--json', help: 'as JSON' },
  { flag: '--verify', value: 'true|false', optionalValue: true, help: 'a boolean that may stand alone' },
];
const parse = (...args: string[]) => parseArgs(args, FLAGS, 'usage', { OCI_IOT_URL: 'http://env' });
const refusal = (...args: string[]) => {
  try {
    parse(...args);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).usage).toBe('usage');
    return (err as Error).message;
  }
  throw new Error(`${args.join(' ')} was accepted`);
};

describe('parseArgs', () => {
  it('reads values, inline values, aliases, switches, positionals and --help', () => {
    const p = parse('create', '--name', 'a b', '--endpoint=http://x', '--json', '-h', '--', '--not-a-flag');
    expect(Object.fromEntries(p.values)).toEqual({ '--name': 'a b', '--url': 'http://x' });
    expect([...p.switches]).toEqual(['--json']);
    expect(p.positional).toEqual(['create', '--not-a-flag']);
    expect(p.help).toBe(true);
  });

  it('falls back to the environment variable only when the flag is absent', () => {
    expect(parse().values.get('--url')).toBe('http://env');
    expect(parse('--url', 'http://flag').values.get('--url')).toBe('http://flag');
  });

  it('lets a flag with an optional value stand alone, or take the next word', () => {
    expect(parse('--verify').values.get('--verify')).toBe('true');
    expect(parse('--verify', '--json').values.get('--verify')).toBe('true');
    expect(parse('--verify', 'false').values.get('--verify')).toBe('false');
    expect(parse('--verify=no', 'x').values.get('--verify')).toBe('no');
    expect(parse('--verify=no', 'x').positional).toEqual(['x']);
  });

  it('refuses unknown flags, missing values, flags as values, values of switches and repeats, in one line', () => {
    expect(refusal('--colour', 'red')).toBe('unknown option --colour');
    expect(refusal('-x')).toBe('unknown option -x');
    expect(refusal('--name')).toBe('--name needs a value (NAME)');
    expect(refusal('--name', '--json')).toBe('--name needs a value (NAME)');
    expect(refusal('--json=yes')).toBe('--json takes no value');
    expect(refusal('--name', 'a', '--name', 'b')).toBe('--name is given twice');
    expect(refusal('--url', 'a', '--endpoint', 'b')).toBe('--url is given twice');
  });

  it('takes a value that starts with a single dash', () => {
    expect(parse('--name', '-1').values.get('--name')).toBe('-1');
  });
});
