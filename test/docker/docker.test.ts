/**
 * docker/Dockerfile and docker/compose.yaml cannot be built here (no base image can be
 * pulled), so they are checked against the code instead: every file the Dockerfile copies is
 * in the build context its .dockerignore lets through (what BuildKit sends), every option
 * they set is one the emulator has, with a value it accepts, and the ports, volumes and
 * health check agree with each other.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { coerceOption, OPTIONS } from '../../src/config.js';

const root = new URL('../..', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const byEnv = new Map(OPTIONS.map((o) => [o.env, o]));
const flags = new Set(OPTIONS.map((o) => o.flag));

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim());
  return logical.map((l) => {
    const [op, ...rest] = l.trim().split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
}

/** ENV KEY=value pairs of the last stage (the image that runs). */
function runtimeEnv(all: Instruction[]): Record<string, string> {
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  const env: Record<string, string> = {};
  for (const i of all.slice(lastFrom)) {
    if (i.op !== 'ENV') continue;
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return env;
}

function checkOption(env: string, value: string): void {
  const spec = byEnv.get(env);
  expect(spec, `${env} is not an option of the emulator (src/config.ts OPTIONS)`).toBeDefined();
  expect(() => coerceOption(spec!, value), `${env}=${value}`).not.toThrow();
}

/**
 * A .dockerignore as BuildKit reads it: each line a pattern (Go filepath.Match, plus `**`),
 * `!` re-includes, the last pattern that matches a path or one of its parent directories decides.
 */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const include = l.startsWith('!');
      const pattern = (include ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => (part.startsWith('**') ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('');
      return { include, re: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.include;
    return !excluded;
  };
}

describe('docker/Dockerfile.dockerignore', () => {
  const sent = dockerignore(read('docker/Dockerfile.dockerignore'));
  // The files of the repository (what a clone has), as paths from the build context (the repository root).
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: new URL('.', root), encoding: 'utf8' }).split('\n').filter(Boolean);

  it('reads patterns as BuildKit does', () => {
    const check = dockerignore('*\n!src\nsrc/**/*.test.ts\n!keep/a?c\n');
    expect(['src', 'src/a.ts', 'src/x/y.ts'].map(check)).toEqual([true, true, true]);
    expect(['src/x/y.test.ts', 'README.md', 'test/a.ts', 'keep/abcd'].map(check)).toEqual([false, false, false, false]);
    expect(check('keep/abc')).toBe(true);
  });

  it('lets in every file the Dockerfile copies from the build context, and leaves out tests, docs and build output', () => {
    const copies = instructions(read('docker/Dockerfile')).filter((i) => i.op === 'COPY' && !/--from=/.test(i.args));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        const path = source.replace(/^\.\/|\/$/g, '');
        expect(existsSync(new URL(path, root)), `COPY ${source}: not in the repository`).toBe(true);
        const files = statSync(new URL(path, root)).isDirectory() ? tracked.filter((f) => f.startsWith(`${path}/`)) : [path];
        expect(files.length, `COPY ${source}: no files`).toBeGreaterThan(0);
        expect(files.filter((f) => !sent(f)), `COPY ${source}: left out of the build context by docker/Dockerfile.dockerignore`).toEqual([]);
      }
    }
    for (const kept of ['test/examples/readme-suite.test.ts', 'docs/sdk.md', 'README.md', 'bench/run.ts', 'node_modules/vitest/package.json', 'dist/cli.js']) expect(sent(kept), kept).toBe(false);
  });
});

describe('docker/Dockerfile', () => {
  const text = read('docker/Dockerfile');
  const all = instructions(text);
  const env = runtimeEnv(all);
  const of = (op: string) => all.filter((i) => i.op === op);

  it('sets only options the emulator has, with values it accepts', () => {
    for (const name of new Set(text.match(/OCI_IOT_\w+/g))) expect(byEnv.has(name), `${name} is used but not an option`).toBe(true);
    for (const [name, value] of Object.entries(env)) if (name.startsWith('OCI_IOT_')) checkOption(name, value);
    for (const op of ['CMD', 'ENTRYPOINT']) {
      for (const arg of JSON.parse(of(op).at(-1)!.args) as string[]) {
        if (arg.startsWith('--')) expect(flags.has(arg.split('=')[0]), `${op} uses ${arg}`).toBe(true);
      }
    }
    expect(JSON.parse(of('ENTRYPOINT').at(-1)!.args)).toEqual(['node', 'dist/cli.js']);
    expect(JSON.parse(of('CMD').at(-1)!.args)[0]).toBe('start');
  });

  it('is multi-stage on a current Node LTS, runs as a non-root user, and keeps data and certificates on volumes', () => {
    expect(of('FROM').length).toBeGreaterThanOrEqual(2);
    const base = /^NODE_IMAGE=(\S+)$/.exec(of('ARG').find((a) => a.args.startsWith('NODE_IMAGE='))!.args)![1];
    expect(base).toMatch(/^node:(22|24)[.\w-]*-slim$/);
    for (const from of of('FROM')) expect(from.args.split(' ')[0]).toBe('${NODE_IMAGE}');
    // The image that runs takes only the packed package (with its production dependencies) from the build.
    const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
    expect(all.slice(lastFrom).filter((i) => i.op === 'COPY').map((i) => i.args)).toEqual(['--from=build /package ./']);
    const user = of('USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(env.OCI_IOT_BIND).toBe('0.0.0.0'); // reachable through published ports
    expect(JSON.parse(of('VOLUME').at(-1)!.args)).toEqual([env.OCI_IOT_DATA_DIR, env.OCI_IOT_CERTS_DIR]);
    expect(of('EXPOSE').at(-1)!.args.split(' ')).toEqual([env.OCI_IOT_REST_PORT, env.OCI_IOT_MQTT_PORT, env.OCI_IOT_HTTPS_PORT]);
  });

  it('has a health check on GET /emulator/health at the REST port', () => {
    const check = of('HEALTHCHECK').at(-1)!.args;
    expect(check).toContain('/emulator/health');
    expect(check).toContain('process.env.OCI_IOT_REST_PORT || 8080');
  });
});

describe('docker/compose.yaml', () => {
  const compose = parse(read('docker/compose.yaml')) as {
    services: Record<string, { build: { context: string; dockerfile: string }; ports: string[]; environment: Record<string, string>; volumes: string[]; command?: string[] }>;
    volumes: Record<string, unknown>;
  };
  const dockerEnv = runtimeEnv(instructions(read('docker/Dockerfile')));
  const service = compose.services.emulator;

  it('sets only options the emulator has, with values it accepts', () => {
    for (const [name, value] of Object.entries(service.environment)) checkOption(name, String(value));
    for (const arg of service.command ?? []) if (arg.startsWith('--')) expect(flags.has(arg.split('=')[0]), arg).toBe(true);
  });

  it('builds the Dockerfile, publishes its ports and mounts its volumes', () => {
    expect(existsSync(new URL(`docker/${service.build.context}/${service.build.dockerfile}`, root))).toBe(true);
    const published = service.ports.map((p) => p.split(':').at(-1));
    expect(published).toEqual([dockerEnv.OCI_IOT_REST_PORT, dockerEnv.OCI_IOT_MQTT_PORT, dockerEnv.OCI_IOT_HTTPS_PORT]);
    const targets = service.volumes.map((v) => v.split(':')[1]);
    expect(targets).toEqual([dockerEnv.OCI_IOT_DATA_DIR, dockerEnv.OCI_IOT_CERTS_DIR]);
    for (const v of service.volumes) expect(compose.volumes).toHaveProperty(v.split(':')[0]);
  });
});
