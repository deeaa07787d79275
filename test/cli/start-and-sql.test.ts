/** `oci-iot-emulator start` and `sql` as users run them: a child process of the built CLI. */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config.js';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const cli = join(root, 'dist', 'cli.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('sql', () => {
  let t: TestEmulator;
  let commandId: number;
  beforeAll(async () => {
    t = await startTestEmulator();
    const d = await t.createDevice();
    commandId = await t.invoke(d.instanceId, SEED_COMMAND);
  });
  afterAll(() => t.close());

  it('prints raw_command_data as a table, or as JSON', () => {
    const table = run(['sql', 'select id, delivery_status, request_data from raw_command_data', '--data-dir', t.dataDir]);
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('id | delivery_status | request_data');
    expect(table.stdout).toMatch(new RegExp(`${commandId}\\s+\\| REFUSED\\s+\\| \\{"temp":33\\}`));
    const json = run(['sql', 'select id, delivery_status from raw_command_data', '--json'], { OCI_IOT_DATA_DIR: t.dataDir });
    expect(JSON.parse(json.stdout)).toEqual([{ id: commandId, delivery_status: 'REFUSED' }]);
  });

  it('refuses writes, with a clear error, and changes nothing', () => {
    for (const sql of [
      "delete from commands",
      "update commands set delivery_status = 'COMPLETED'",
      'drop table raw_data',
      "insert into raw_data (digital_twin_instance_id, endpoint, content_type, time_received) values ('x','y','z','w')",
      "attach database '/tmp/x.db' as x",
    ]) {
      const res = run(['sql', sql, '--data-dir', t.dataDir]);
      expect(res.status, sql).toBe(1);
      expect(res.stderr).toMatch(/read-only|readonly|ATTACH is refused/i);
    }
    expect(t.command(commandId).delivery_status).toBe('REFUSED');
    expect(run(['sql', 'select nonsense from nowhere', '--data-dir', t.dataDir]).stderr).toMatch(/no such table: nowhere/);
  });
});

describe('arguments', () => {
  it('docs/configuration.md documents every option', () => {
    const readme = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
    for (const o of OPTIONS) expect(readme).toContain(`| \`${o.flag}\` | \`${o.env}\` |`);
  });

  it('bad flags and values exit non-zero with a one-line reason', () => {
    const unknown = run(['start', '--colour', 'red']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('oci-iot-emulator: unknown option --colour');
    expect(unknown.stderr).toContain('Usage:');
    const port = run(['start', '--rest-port', 'http']);
    expect(port.status).toBe(1);
    expect(port.stderr.trim()).toBe('oci-iot-emulator: --rest-port / OCI_IOT_REST_PORT: "http" is not a port number (0-65535)');
    const env = run(['start'], { OCI_IOT_CLOCK: 'sundial' });
    expect(env.stderr.trim()).toMatch(/OCI_IOT_CLOCK: "sundial" is not one of system, manual/);
    expect(run(['sql']).status).toBe(2);
  });
});

describe('start', () => {
  it('stops on SIGINT with a device connected: the device is disconnected and the exit code is 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci-iot-cli-'));
    const t = await startTestEmulator({ dataDir: join(dir, 'data'), certsDir: join(dir, 'certs') });
    const device = await t.createDevice();
    await t.close();
    const child = spawn(process.execPath, [cli, '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--log-level', 'warn']);
    let out = '';
    await new Promise<void>((res) => child.stdout.on('data', (b: Buffer) => ((out += b.toString()), out.includes('clock') && res())));
    const port = Number(/MQTTS\s+mqtts:\/\/localhost:(\d+)/.exec(out)![1]);
    const mqtt = (await import('mqtt')).default;
    const client = await mqtt.connectAsync(`mqtts://localhost:${port}`, {
      ca: readFileSync(join(dir, 'certs', 'ca.pem')),
      username: device.externalKey,
      password: device.password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    const dropped = new Promise<void>((res) => client.once('close', () => res()));
    const exit = new Promise<number | null>((res) => child.on('exit', res));
    child.kill('SIGINT');
    await dropped;
    expect(await exit).toBe(0);
    expect(out).toContain('SIGINT: stopping');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the URLs, CA file and domain, serves, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci-iot-cli-'));
    const child = spawn(process.execPath, [cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs')], {
      env: { ...process.env, OCI_IOT_LOG_LEVEL: 'warn' },
    });
    let out = '';
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('clock')) res();
      });
      child.on('exit', (code) => rej(new Error(`exited ${code}`)));
    });
    const rest = /REST API\s+(\S+)\/20250531/.exec(out)![1];
    expect(out).toMatch(/MQTTS\s+mqtts:\/\/localhost:\d+ {3}\(MQTT 3\.1\.1 and 5, TLS\)/);
    expect(out).toContain(`CA file       ${join(dir, 'certs', 'ca.pem')}`);
    const domainId = /IoT domain\s+(\S+)/.exec(out)![1];
    const health = await fetch(`${rest}/emulator/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const domain = (await (await fetch(`${rest}/20250531/iotDomains/${domainId}`)).json()) as { deviceHost: string };
    // OCI's shape: the domain short id is the first label (samples take it from there).
    expect(domain.deviceHost).toMatch(/^[a-z2-7]{12}\.device\.iot\.localhost$/);
    const exit = new Promise<number | null>((res) => child.on('exit', res));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a data directory it cannot write is one line naming the fix, and exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci-iot-cli-'));
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o555 });
    chmodSync(data, 0o555); // as a root-owned bind mount is to the image's user
    chmodSync(dir, 0o755);
    // The certificates on a volume the user can write (a named volume, in Docker): only the data directory is refused.
    mkdirSync(join(dir, 'certs'), { mode: 0o777 });
    chmodSync(join(dir, 'certs'), 0o777);
    // Root writes anywhere: run as nobody, as the container's node user is not root.
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : [process.execPath];
    const uid = process.getuid?.() === 0 ? 65534 : process.getuid?.();
    const args = [cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', data, '--certs-dir', join(dir, 'certs')];
    const started = spawnSync(asUser[0], [...asUser.slice(1), ...args], { encoding: 'utf8', timeout: 30_000 });
    expect(started.status).toBe(1);
    expect(started.stderr.trim().split('\n')).toEqual([
      `oci-iot-emulator: the data directory ${data} is not writable by uid ${uid} (EACCES: permission denied): make it writable for uid ${uid} (a Docker bind mount: chown ${uid} on the host directory, or use a named volume), or give another with --data-dir / OCI_IOT_DATA_DIR`,
    ]);
    rmSync(dir, { recursive: true, force: true });
  });
});
