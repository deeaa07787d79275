/**
 * `fault`, `virtual-device` and `webhook` as users run them: the built CLI in a child
 * process against an emulator started in-process; with and without an admin token.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';

vi.setConfig({ testTimeout: 60_000 });
const ROOT = new URL('../..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'oci-iot-cli-control-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCI_IOT_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('on an open emulator', () => {
  let emu: StartedEmulator;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    emu = await startEmulator();
    env = { OCI_IOT_URL: emu.restUrl };
  });
  afterAll(() => emu.close());

  it('fault set / list / clear', async () => {
    const device = await emu.createDevice();
    const set = await cli(env, 'fault', 'set', '--instance-id', device.instanceId, '--kind', 'delay', '--delay', 'PT5S', '--count', '2');
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ kind: 'delay', delay: 'PT5S', remaining: 2, active: true });
    const api = await cli(env, 'fault', 'set', '--operation', 'CreateDigitalTwinInstance', '--kind', 'error', '--when', 'after');
    expect(JSON.parse(api.stdout)).toMatchObject({ scope: 'api', operation: 'CreateDigitalTwinInstance', when: 'after' });
    const cleared = await cli(env, 'fault', 'clear', '--operation', 'CreateDigitalTwinInstance');
    expect(JSON.parse(cleared.stdout).items.map((f: { kind: string }) => f.kind)).toEqual(['error']);
    expect(emu.faults.list().filter((f) => f.active).map((f) => f.kind)).toEqual(['delay']);
  });

  it('bad flags exit 2 with the usage; a refused fault exits 1 with the ServiceError', async () => {
    const noKind = await cli(env, 'fault', 'set', '--instance-id', 'x');
    expect(noKind.code).toBe(2);
    expect(noKind.stderr).toContain('missing required option --kind');
    expect(noKind.stderr).toContain('Usage: oci-iot-emulator fault');
    const badCount = await cli(env, 'fault', 'set', '--instance-id', 'x', '--kind', 'drop', '--count', 'many');
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toContain('--count "many" is not a whole number');
    const unknown = await cli(env, 'fault', 'set', '--instance-id', 'ocid1.iotdigitaltwininstance.oc1..nope', '--kind', 'drop');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ServiceError:[\s\S]*"code": "InvalidParameter"[\s\S]*does not exist[\s\S]*"status": 400/);
  });

  it('virtual-device add (flags or --from-json), list, traffic, stop, remove; a jq that does not compile is refused', async () => {
    const device = await emu.createDevice({ displayName: 'cli-vd' });
    const bad = await cli(env, 'virtual-device', 'add', '--instance-id', device.instanceId, '--response-jq', '{a: .b');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('jq expression does not compile');

    const config = join(scratch, 'vd.json');
    writeFileSync(config, JSON.stringify({ endpoints: ['cmd/#'], telemetry: { endpoint: 't/x', every: 'PT5S', values: { n: { kind: 'ramp' } } } }));
    const added = await cli(env, 'virtual-device', 'add', '--instance-id', device.instanceId, '--from-json', `file://${config}`, '--response-json', '{"ok":true}', '--response-delay', 'PT1S');
    expect(added.code, added.stderr).toBe(0);
    const vd = JSON.parse(added.stdout);
    expect(vd.config).toMatchObject({ endpoints: ['cmd/#'], response: { kind: 'json', value: { ok: true } }, responseDelay: 'PT1S', telemetry: { endpoint: 't/x' } });
    await emu.virtualDevices.ready(vd.id);
    const listed = JSON.parse((await cli(env, 'virtual-device', 'list')).stdout);
    expect(listed.items.find((v: { id: string }) => v.id === vd.id)).toMatchObject({ connected: true });
    const traffic = JSON.parse((await cli(env, 'virtual-device', 'traffic', '--id', vd.id)).stdout);
    expect(traffic.items[0]).toMatchObject({ kind: 'connected' });
    expect(JSON.parse((await cli(env, 'virtual-device', 'stop', '--id', vd.id)).stdout)).toMatchObject({ running: false });
    expect((await cli(env, 'virtual-device', 'remove', '--id', vd.id)).stdout).toContain(`removed ${vd.id}`);
    expect(emu.virtualDevices.list().some((v) => v.id === vd.id)).toBe(false);
  });

  it('webhook add / list / deliveries / remove', async () => {
    const added = await cli(env, 'webhook', 'add', '--url', 'http://127.0.0.1:9/hook', '--events', 'command,telemetry', '--max-attempts', '2');
    expect(added.code, added.stderr).toBe(0);
    const hook = JSON.parse(added.stdout);
    expect(hook).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['command', 'telemetry'], maxAttempts: 2 });
    expect(JSON.parse((await cli(env, 'webhook', 'list')).stdout).items.map((w: { id: string }) => w.id)).toContain(hook.id);
    expect(JSON.parse((await cli(env, 'webhook', 'deliveries', '--id', hook.id)).stdout)).toEqual({ items: [] });
    const ftp = await cli(env, 'webhook', 'add', '--url', 'ftp://example.com/');
    expect(ftp.code).toBe(1);
    expect(ftp.stderr).toContain('must be http:// or https://');
    expect((await cli(env, 'webhook', 'remove', '--id', hook.id)).code).toBe(0);
  });
});

describe('on an emulator that requires the admin token', () => {
  it('without it the CLI gets 401 NotAuthenticated; with --admin-token or OCI_IOT_ADMIN_TOKEN it works', async () => {
    const emu = await startEmulator({ adminToken: 'cli-admin-token' });
    try {
      const refused = await cli({ OCI_IOT_URL: emu.restUrl }, 'fault', 'list');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('"code": "NotAuthenticated"');
      expect((await cli({ OCI_IOT_URL: emu.restUrl }, 'fault', 'list', '--admin-token', 'cli-admin-token')).code).toBe(0);
      expect((await cli({ OCI_IOT_URL: emu.restUrl, OCI_IOT_ADMIN_TOKEN: 'cli-admin-token' }, 'virtual-device', 'list')).code).toBe(0);
      expect((await cli({ OCI_IOT_URL: emu.restUrl, OCI_IOT_ADMIN_TOKEN: 'cli-admin-token' }, 'device', 'create', '--name', 'tokened')).code).toBe(0);
    } finally {
      await emu.close();
    }
  });
});
