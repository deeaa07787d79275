/**
 * The HTTPS device endpoint, driven with curl as in Oracle's publish-https sample:
 * `POST https://<deviceHost>:<port>/<endpoint>` with Basic auth or a client certificate.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/index.js';

const run = promisify(execFile);
let emulator: StartedEmulator;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oci-iot-https-'));
  emulator = await startEmulator({ loginFailuresPerKey: 1, mqttMaxPacketSize: 4096 });
});
afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

/** curl's status line, response headers and body. */
async function curl(path: string, args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await run('curl', ['-s', '-i', '--cacert', emulator.caFile, ...args, `${emulator.httpsUrl}${path}`]);
  const [head, ...rest] = stdout.split('\r\n\r\n');
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)![1]), headers: head, body: rest.join('\r\n\r\n') };
}

const rawData = (instanceId: string) =>
  emulator.sql(`select endpoint, content_type, cast(content as text) as content from raw_data where digital_twin_instance_id = '${instanceId}' order by id`).rows;

it('stores a POST with Basic auth as raw_data of the device, under the path as endpoint (202, empty body)', async () => {
  const device = await emulator.createDevice();
  const res = await curl('/iot/v1/http', ['-X', 'POST', '--user', `${device.username}:${device.password}`, '--header', 'Content-Type: application/json', '--data', '{"count": 2, "humidity": 73}']);
  expect(res.status).toBe(202);
  expect(res.body).toBe('');
  expect(rawData(device.instanceId)).toEqual([{ endpoint: 'iot/v1/http', content_type: 'application/json', content: '{"count": 2, "humidity": 73}' }]);
});

it('takes a client certificate instead of a password', async () => {
  const externalKey = `https-cert-${Math.random().toString(36).slice(2, 8)}`;
  const cert = await (await fetch(`${emulator.restUrl}/emulator/certificates`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ commonName: externalKey }) })).json() as { id: string; certificatePem: string; privateKeyPem: string };
  const inst = await (await fetch(`${emulator.restUrl}/20250531/digitalTwinInstances`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ iotDomainId: emulator.domain.id, externalKey, authId: cert.id }) })).json() as { id: string };
  writeFileSync(join(dir, 'client.pem'), cert.certificatePem);
  writeFileSync(join(dir, 'client.key'), cert.privateKeyPem);
  const res = await curl('/sensors/t', ['-X', 'POST', '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key'), '--data', 'plain text']);
  expect(res.status).toBe(202);
  expect(rawData(inst.id)).toEqual([{ endpoint: 'sensors/t', content_type: 'text/plain', content: 'plain text' }]);

  // The certificate of one device with the user name of another: refused, nothing stored.
  const other = await emulator.createDevice();
  const mixed = await curl('/sensors/t', ['-X', 'POST', '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key'), '--user', `${other.username}:${other.password}`, '--data', 'x']);
  expect(mixed.status).toBe(401);
  expect(rawData(other.instanceId)).toEqual([]);
  expect(rawData(inst.id)).toHaveLength(1);
});

it('answers 401 without credentials or with wrong ones, then 429 once the key backs off, as MQTT logins do', async () => {
  const device = await emulator.createDevice();
  const none = await curl('/t', ['-X', 'POST', '--data', '{}']);
  expect(none.status).toBe(401);
  expect(none.headers).toMatch(/www-authenticate: Basic/i);
  expect(JSON.parse(none.body)).toMatchObject({ code: 'NotAuthenticated' });

  expect((await curl('/t', ['-X', 'POST', '--user', `${device.username}:wrong`, '--data', '{}'])).status).toBe(401);
  expect((await curl('/t', ['-X', 'POST', '--user', `${device.username}:wrong`, '--data', '{}'])).status).toBe(401);
  // The key now backs off, on every transport: even the right password waits.
  const throttled = await curl('/t', ['-X', 'POST', '--user', `${device.username}:${device.password}`, '--data', '{}']);
  expect(throttled.status).toBe(429);
  expect(throttled.headers).toMatch(/retry-after: \d+/i);
  const mqttTry = await mqtt.connectAsync(device.mqttOptions).then(
    (c) => (c.end(), 'connected'),
    (err: { code?: number }) => `refused ${err.code}`,
  );
  expect(mqttTry).toBe('refused 3');
  emulator.advance('PT5M');
  expect((await curl('/t', ['-X', 'POST', '--user', `${device.username}:${device.password}`, '--data', '{}'])).status).toBe(202);
  expect(rawData(device.instanceId)).toHaveLength(1);
});

it('refuses a body over the largest packet size with 413 and stores nothing', async () => {
  const device = await emulator.createDevice();
  writeFileSync(join(dir, 'big.json'), JSON.stringify({ x: 'y'.repeat(5000) }));
  const declared = await curl('/big', ['-X', 'POST', '--user', `${device.username}:${device.password}`, '--data-binary', `@${join(dir, 'big.json')}`]);
  expect(declared.status).toBe(413);
  // Chunked: the size is known only while reading.
  const chunked = await curl('/big', ['-X', 'POST', '--user', `${device.username}:${device.password}`, '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${join(dir, 'big.json')}`]);
  expect(chunked.status).toBe(413);
  expect(rawData(device.instanceId)).toEqual([]);
});

it('a POST on the responseEndpoint of a command awaiting a response completes it', async () => {
  const device = await emulator.createDevice();
  const client = await mqtt.connectAsync(device.mqttOptions);
  await client.subscribeAsync('cmd/7', { qos: 1 });
  const id = await emulator.invoke(device.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/7', requestData: { go: 1 }, responseEndpoint: 'rsp/7' });
  await emulator.waitForCommand(id, 'SENT');
  const res = await curl('/rsp/7', ['-X', 'POST', '--user', `${device.username}:${device.password}`, '--data', '{"ok":true}']);
  expect(res.status).toBe(202);
  expect((await emulator.waitForCommand(id, 'COMPLETED')).response_data).toBe('{"ok":true}');
  expect(rawData(device.instanceId)).toEqual([]);
  await client.endAsync();
});

it('answers other methods with 405', async () => {
  const res = await curl('/t', []);
  expect(res.status).toBe(405);
  expect(res.headers).toMatch(/allow: POST/i);
});
