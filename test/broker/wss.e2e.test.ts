/**
 * MQTT over secure WebSockets (OCI's wss://<deviceHost>:443/mqtt): MQTT.js `wss://` with the
 * emulator's CA, the same login, limits, throttle and isolation as MQTTS.
 */
import mqtt from 'mqtt';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/index.js';

let emulator: StartedEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ loginFailuresPerKey: 1, mqttMaxPacketSize: 4096 });
});
afterAll(async () => {
  await emulator.close();
});

const command = { requestDataFormat: 'JSON', requestEndpoint: 'cmd/1', requestData: { on: true }, responseEndpoint: 'rsp/1' };

it('a device on wss://…/mqtt gets commands and answers them, like one on MQTTS', async () => {
  expect(emulator.wssUrl).toBe(`wss://localhost:${emulator.httpsPort}/mqtt`);
  const device = await emulator.createDevice();
  expect(device.wssOptions).toMatchObject({ protocol: 'wss', path: '/mqtt', port: emulator.httpsPort });
  const client = await mqtt.connectAsync(device.wssOptions);
  await client.subscribeAsync('cmd/+', { qos: 1 });
  client.on('message', (topic) => {
    if (topic === 'cmd/1') void client.publishAsync('rsp/1', '{"done":true}', { qos: 1 });
  });
  const id = await emulator.invoke(device.instanceId, command);
  const row = await emulator.waitForCommand(id, 'COMPLETED');
  expect(row.response_data).toBe('{"done":true}');

  // Telemetry over WSS is raw_data of this device.
  await client.publishAsync('telemetry/t', '{"t":21}', { qos: 1 });
  expect(emulator.sql(`select endpoint, cast(content as text) as content from raw_data where digital_twin_instance_id = '${device.instanceId}'`).rows).toEqual([
    { endpoint: 'telemetry/t', content: '{"t":21}' },
  ]);
  await client.endAsync();
});

it('the URL given by the string form works too (mqtt.connect("wss://host:port/mqtt"))', async () => {
  const device = await emulator.createDevice();
  const client = await mqtt.connectAsync(emulator.wssUrl, { ca: emulator.ca, username: device.username, password: device.password, protocolVersion: 4 });
  expect(client.connected).toBe(true);
  await client.endAsync();
});

it('wrong credentials are refused (CONNACK 5), then throttled (CONNACK 3) like on MQTTS, shared across transports', async () => {
  const device = await emulator.createDevice();
  const attempt = (url: string, password: string) =>
    mqtt
      .connectAsync(url, { ca: emulator.ca, username: device.username, password, protocolVersion: 4, reconnectPeriod: 0 })
      .then(
        async (c) => (await c.endAsync(), 'connected'),
        (err: Error & { code?: number }) => `refused ${err.code}`,
      );
  expect(await attempt(emulator.wssUrl, 'wrong')).toBe('refused 5');
  expect(await attempt(emulator.mqttUrl, 'wrong')).toBe('refused 5');
  // One failure is allowed; the second (on the other transport) starts the key's backoff,
  // so now even the right password waits.
  expect(await attempt(emulator.wssUrl, device.password)).toBe('refused 3');
  emulator.advance('PT2M');
  expect(await attempt(emulator.wssUrl, device.password)).toBe('connected');
});

it('a WebSocket upgrade on another path is 404', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ host: 'localhost', port: emulator.httpsPort, ca: emulator.ca, servername: 'localhost' }, () => {
      socket.write(
        'GET /other HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
      );
    });
    let text = '';
    socket.on('data', (b) => (text += b.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  expect(reply).toMatch(/^HTTP\/1\.1 404 Not Found/);
});

it('a device over WSS gets only its own commands: no other device publish reaches it', async () => {
  const a = await emulator.createDevice();
  const b = await emulator.createDevice();
  const ca = await mqtt.connectAsync(a.wssOptions);
  const cb = await mqtt.connectAsync(b.mqttOptions);
  const seenByA: string[] = [];
  ca.on('message', (topic) => seenByA.push(topic));
  await ca.subscribeAsync('#', { qos: 1 });
  // `$` topics are the platform's own: the subscription is refused (SUBACK 128).
  await expect(ca.subscribeAsync('$SYS/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
  await cb.publishAsync('shared/topic', 'from b', { qos: 1 });
  // A command for A arrives; B's publish never does.
  const id = await emulator.invoke(a.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'only/a', requestData: 'x' });
  await emulator.waitForCommand(id, 'COMPLETED');
  expect(seenByA).toEqual(['only/a']);
  await Promise.all([ca.endAsync(), cb.endAsync()]);
});

it('another device over WSS cannot answer a command, and a packet over the size limit closes the connection, storing nothing', async () => {
  const owner = await emulator.createDevice();
  const intruder = await emulator.createDevice();
  const o = await mqtt.connectAsync(owner.mqttOptions);
  await o.subscribeAsync('cmd/secret', { qos: 1 });
  const id = await emulator.invoke(owner.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/secret', requestData: 'x', responseEndpoint: 'rsp/secret' });
  await emulator.waitForCommand(id, 'SENT');
  const i = await mqtt.connectAsync({ ...intruder.wssOptions, reconnectPeriod: 0 });
  await i.publishAsync('rsp/secret', 'forged', { qos: 1 });
  expect(emulator.command(id)!.delivery_status).toBe('SENT');
  // The forged answer is the intruder's own raw_data, not the owner's response.
  expect(emulator.sql(`select digital_twin_instance_id as id from raw_data where endpoint = 'rsp/secret'`).rows).toEqual([{ id: intruder.instanceId }]);

  const closed = new Promise<void>((resolve) => i.once('close', () => resolve()));
  i.publish('big/one', Buffer.alloc(5000), { qos: 1 });
  await closed;
  expect(emulator.sql(`select count(*) as n from raw_data where endpoint = 'big/one'`).rows).toEqual([{ n: 0 }]);
  await o.endAsync();
  i.end(true);
});
