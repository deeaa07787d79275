/**
 * The seed flow with real MQTT 5 clients other than MQTT.js: Debian's mosquitto clients
 * (`-V mqttv5`, also what MQTTX and the HiveMQ CLI default to) and paho-mqtt (`MQTTv5`, the
 * library of Oracle's Python samples): subscribe, receive the command, answer it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, until, type TestEmulator } from '../support/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
let t: TestEmulator;
let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  t = await startTestEmulator();
  dir = mkdtempSync(join(tmpdir(), 'oci-iot-mqtt5-'));
  writeFileSync(join(dir, 'ca.pem'), t.emu.ca);
});
afterAll(async () => {
  for (const c of children) c.kill();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[]) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b: Buffer) => (out.stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out.stderr += b.toString()));
  return { child, out, exited: once(child, 'close').then(([code]) => code as number) };
}

const common = () => ['--cafile', join(dir, 'ca.pem'), '-h', 'localhost', '-p', String(t.emu.mqttPort), '-V', 'mqttv5'];

it('mosquitto_sub -V mqttv5 receives the seed command and mosquitto_pub -V mqttv5 completes it', async () => {
  const d = await t.createDevice();
  const sub = run('mosquitto_sub', [...common(), '-u', d.externalKey, '-P', d.password, '-t', '/endpoints/1234', '-q', '1', '-C', '1']);
  let subscribed = false;
  await until(() => {
    void t.emu.devices.route(d.instanceId, '/endpoints/1234').then((r) => (subscribed = r.qos === 1));
    return subscribed;
  });
  const id = await t.invoke(d.instanceId, SEED_COMMAND);
  expect(await sub.exited).toBe(0);
  expect(sub.out.stdout).toBe('{"temp":33}\n');

  const pub = run('mosquitto_pub', [...common(), '-u', d.externalKey, '-P', d.password, '-t', '/endpoints/4321', '-q', '1', '-m', '{"test":1}']);
  expect(await pub.exited).toBe(0);
  expect(pub.out.stderr).toBe('');
  expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe('{"test":1}');
});

it('mosquitto_pub -V mqttv5 with a wrong password is told "bad user name or password"', async () => {
  const d = await t.createDevice();
  const pub = run('mosquitto_pub', [...common(), '-u', d.externalKey, '-P', 'wrong', '-t', 'x', '-m', 'x']);
  expect(await pub.exited).not.toBe(0);
  expect(pub.out.stderr).toMatch(/bad user name or password/i);
});

it('paho-mqtt with MQTTv5 (Debian python3-paho-mqtt) receives the seed command and completes it', async () => {
  const d = await t.createDevice();
  const device = run('/usr/bin/python3', [join(here, 'paho-v5-device.py'), String(t.emu.mqttPort), join(dir, 'ca.pem'), d.externalKey, d.password]);
  let subscribed = false;
  await until(() => {
    void t.emu.devices.route(d.instanceId, '/endpoints/1234').then((r) => (subscribed = r.qos === 1));
    return subscribed;
  });
  const id = await t.invoke(d.instanceId, SEED_COMMAND);
  expect(await device.exited).toBe(0);
  expect(device.out.stdout).toBe('connected Success\ncommand {"temp":33}\n');
  expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe('{"paho":5}');
});
