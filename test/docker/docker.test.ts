/**
 * docker/Dockerfile and docker/compose.yaml cannot be built here, so they are checked
 * against the code instead: every option they set must be one the emulator has, with a
 * value it accepts, and the ports, volumes and health check must agree with each other.
 */
import { existsSync, readFileSync } from 'node:fs';
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

  it('is multi-stage, runs as a non-root user, and keeps data and certificates on volumes', () => {
    expect(of('FROM').length).toBeGreaterThanOrEqual(2);
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
