/**
 * One writer per data directory, as users meet it: two `oci-iot-emulator start` processes of
 * the built CLI on one directory, a kill -9, and two starts in one process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/programmatic.js';
import { startTestEmulator } from '../support/harness.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const cli = join(root, 'dist', 'cli.js');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oci-iot-lock-'));
  dirs.push(dir);
  return dir;
}

interface Started {
  child: ChildProcessWithoutNullStreams;
  out: string;
  rest: string;
  mqttPort: number;
}

/** Starts the CLI; resolves once it says it is ready, rejects with its stderr if it exits first. */
function startCli(dir: string): Promise<Started> {
  const child = spawn(process.execPath, [cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--log-level', 'warn']);
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((res, rej) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('clock')) {
        res({ child, out, rest: /REST API\s+(\S+)\/20250531/.exec(out)![1], mqttPort: Number(/MQTTS\s+mqtts:\/\/localhost:(\d+)/.exec(out)![1]) });
      }
    });
    child.on('exit', (code) => rej(Object.assign(new Error(`exited ${code}: ${err}`), { code, stderr: err })));
  });
}

/** Runs the CLI to its end: exit code and stderr. */
function runCli(dir: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--log-level', 'warn']);
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  return new Promise((res) => child.on('exit', (code) => res({ code, stderr, stdout })));
}

const exited = (child: ChildProcessWithoutNullStreams) => new Promise<unknown>((res) => (child.exitCode !== null || child.signalCode !== null ? res(null) : child.once('exit', res)));

describe('two emulators on one data directory', () => {
  it('the second refuses at once with one line naming the directory and the running pid, and the first keeps its devices online', async () => {
    const dir = tempDir();
    // A device made beforehand, so the running emulator has someone online.
    const setup = await startTestEmulator({ dataDir: join(dir, 'data'), certsDir: join(dir, 'certs') });
    const device = await setup.createDevice();
    await setup.close();

    const first = await startCli(dir);
    const client = await mqtt.connectAsync(`mqtts://localhost:${first.mqttPort}`, {
      ca: readFileSync(join(dir, 'certs', 'ca.pem')),
      username: device.externalKey,
      password: device.password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    try {
      const online = async () => ((await (await fetch(`${first.rest}/emulator/devices`)).json()) as { items: Array<{ instanceId: string; online: boolean }> }).items.find((d) => d.instanceId === device.instanceId)?.online;
      expect(await online()).toBe(true);

      const second = await runCli(dir);
      expect(second.code).toBe(1);
      expect(second.stdout).toBe('');
      expect(second.stderr).toBe(
        `oci-iot-emulator: data directory ${join(dir, 'data')} is in use by another oci-iot-emulator (pid ${first.child.pid}); stop it, or start this one with another --data-dir\n`,
      );
      // Nothing was reset: the running emulator still has its device, which still works.
      expect(await online()).toBe(true);
      expect(client.connected).toBe(true);
      const invoked = await fetch(`${first.rest}/20250531/digitalTwinInstances/${device.instanceId}/actions/invokeRawCommand`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requestDataFormat: 'TEXT', requestEndpoint: 'cmd/a', requestData: 'x' }),
      });
      expect(invoked.status).toBe(202);
    } finally {
      await client.endAsync();
      first.child.kill('SIGTERM');
      await exited(first.child);
    }
  });

  it('after a kill -9 the lock is gone with the process: a restart on the same directory starts at once', async () => {
    const dir = tempDir();
    const first = await startCli(dir);
    first.child.kill('SIGKILL');
    await exited(first.child);
    const again = await startCli(dir);
    try {
      expect((await fetch(`${again.rest}/emulator/health`)).status).toBe(200);
      // The pid file names the live holder now, not the killed one.
      expect(readFileSync(join(dir, 'data', 'emulator.pid'), 'utf8').trim()).toBe(String(again.child.pid));
    } finally {
      again.child.kill('SIGTERM');
      await exited(again.child);
    }
  });

  it('in one process: a second startEmulator() on the same directory is refused, naming this process; once the first closes it starts', async () => {
    const dir = tempDir();
    const first = await startEmulator({ dataDir: join(dir, 'data') });
    await expect(startEmulator({ dataDir: join(dir, 'data') })).rejects.toThrow(
      `data directory ${join(dir, 'data')} is in use by another oci-iot-emulator (this process, pid ${process.pid}); stop it, or start this one with another --data-dir`,
    );
    // The refused start left the running one as it was.
    expect((await fetch(`${first.restUrl}/emulator/health`)).status).toBe(200);
    await first.close();
    const second = await startEmulator({ dataDir: join(dir, 'data') });
    await second.close();
  });

  it('in-memory emulators take no lock: several run side by side', async () => {
    const a = await startEmulator({ dataDir: ':memory:' });
    const b = await startEmulator({ dataDir: ':memory:' });
    const c = await startEmulator();
    const d = await startEmulator();
    await Promise.all([a.close(), b.close(), c.close(), d.close()]);
  });
});
