/**
 * The limits Aedes 1.2 lacks, one test each, over real TLS: the refusal a hostile or broken
 * device gets, and a well-behaved device (MQTT.js) that keeps working next to it.
 * Socket-level timeouts run on real timers, set small here; tests wait on close events.
 */
import mqttPacket from 'mqtt-packet';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, until, type Device, type ConnectedDevice, type TestEmulator } from '../support/harness.js';
import { connectPacket, rawDevice, rawLogin, type RawDevice } from '../support/raw-mqtt.js';

const LIMITS = {
  mqttMaxPacketSize: 4096,
  mqttMaxConnectSize: 512,
  mqttConnectTimeout: 'PT0.3S',
  mqttMaxKeepalive: 120,
  mqttDrainTimeout: 'PT0.5S',
  mqttMaxInflight: 3,
};

let t: TestEmulator;
const raw = () => ({ port: t.emu.mqttPort, ca: t.emu.ca });
const rawDataOf = (instanceId: string) =>
  t.emu.db.prepare('SELECT endpoint, length(content) AS bytes FROM raw_data WHERE digital_twin_instance_id = ? ORDER BY id').all(instanceId);

/** A well-behaved MQTT.js device, connected before the hostile one acts. */
let healthy: { device: Device; client: ConnectedDevice };
async function connectHealthy() {
  const device = await t.createDevice();
  healthy = { device, client: await t.connect(device, { subscribe: [['cmd/#', 1]] }) };
}
/** The healthy device still gets commands, answers them, and its telemetry is stored. */
async function expectHealthyServed() {
  const id = await t.invoke(healthy.device.instanceId, { ...SEED_COMMAND, requestEndpoint: 'cmd/ping', responseEndpoint: 'rsp/ping' });
  const msg = await healthy.client.next('cmd/ping');
  await healthy.client.client.publishAsync('rsp/ping', msg.payload, { qos: 1 });
  expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe('{"temp":33}');
  expect(healthy.client.client.connected).toBe(true);
}

describe('limits on one emulator', () => {
  beforeAll(async () => {
    t = await startTestEmulator(LIMITS);
    await connectHealthy();
  });
  afterAll(async () => {
    await t.close();
  });

  it('a packet declared bigger than mqttMaxPacketSize closes the connection from its header alone', async () => {
    const d = await t.createDevice();
    const { device, returnCode } = await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), clientId: 'big' });
    expect(returnCode).toBe(0);
    // The header of a PUBLISH declaring 100 MB and 1 KiB of its body; the rest is never sent.
    const declared = Buffer.from([0x30, 0x80, 0x80, 0x80, 0x30]); // remaining length 100,663,296
    device.write(Buffer.concat([declared, Buffer.alloc(1024)]));
    await device.closed;
    expect(rawDataOf(d.instanceId)).toEqual([]);

    // Just under the limit is fine: the packet becomes raw_data.
    const again = await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), clientId: 'big' });
    const publishOf = (size: number) =>
      mqttPacket.generate({ cmd: 'publish', topic: 'tele', payload: Buffer.alloc(size, 1), qos: 1, messageId: 1, dup: false, retain: false });
    // Type byte, two length bytes, topic (2 + 4), packet id (2): the rest is payload.
    const payload = Buffer.alloc(LIMITS.mqttMaxPacketSize - 11, 1);
    const fits = publishOf(payload.length);
    expect(fits.length).toBe(LIMITS.mqttMaxPacketSize);
    again.device.write(fits);
    await again.device.next('puback');
    expect(rawDataOf(d.instanceId)).toEqual([{ endpoint: 'tele', bytes: payload.length }]);
    await again.device.end();
    await expectHealthyServed();
  });

  it('before login only mqttMaxConnectSize is accepted: a big CONNECT is closed without CONNACK', async () => {
    const d = await t.createDevice();
    const big = await rawDevice(raw());
    big.send(connectPacket({ username: d.externalKey, password: Buffer.from(d.password), will: { topic: 'w', payload: Buffer.alloc(1000), qos: 1, retain: false } }));
    await big.closed;
    expect(big.received).toEqual([]);
    // A declared 100 MB CONNECT: refused from its header.
    const huge = await rawDevice(raw());
    huge.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x30]));
    await huge.closed;
    expect(huge.received).toEqual([]);
    // The same device with a will that fits logs in.
    const { device, returnCode } = await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), will: { topic: 'w', payload: Buffer.alloc(100), qos: 1, retain: false } });
    expect(returnCode).toBe(0);
    await device.end();
    await expectHealthyServed();
  });

  it('anything but CONNECT first closes the connection', async () => {
    const d = await rawDevice(raw());
    d.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }] });
    await d.closed;
    expect(d.received).toEqual([]);
    await expectHealthyServed();
  });

  it('an empty client id with clean session false gets CONNACK 2 (identifier rejected); with clean session true it logs in', async () => {
    const d = await t.createDevice();
    // mqtt-packet will not encode this CONNECT (it is invalid), so clear the clean-session bit by hand.
    const bytes = mqttPacket.generate(connectPacket({ username: d.externalKey, password: Buffer.from(d.password), clientId: '', clean: true }));
    const flags = 1 + 1 + 6 + 1; // type, remaining length (one byte here), protocol name, level
    bytes[flags] &= ~0x02;
    const refused = await rawDevice(raw());
    refused.write(bytes);
    expect(((await refused.next('connack')) as mqttPacket.IConnackPacket).returnCode).toBe(2);
    await refused.closed;
    expect(t.emu.db.prepare('SELECT count(*) AS n FROM device_sessions WHERE digital_twin_instance_id = ?').get(d.instanceId)).toEqual({ n: 0 });
    const ok = await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), clientId: '', clean: true });
    expect(ok.returnCode).toBe(0);
    await ok.device.end();
    await expectHealthyServed();
  });

  it('keepalive 0 or above mqttMaxKeepalive gets CONNACK 2; the maximum itself is fine', async () => {
    const d = await t.createDevice();
    const login = (keepalive: number) => rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), keepalive });
    for (const keepalive of [0, LIMITS.mqttMaxKeepalive + 1, 65535]) {
      const { device, returnCode } = await login(keepalive);
      expect({ keepalive, returnCode }).toEqual({ keepalive, returnCode: 2 });
      await device.closed;
    }
    const { device, returnCode } = await login(LIMITS.mqttMaxKeepalive);
    expect(returnCode).toBe(0);
    await device.end();
    await expectHealthyServed();
  });

  it('a socket that sends nothing, or only part of a CONNECT, is closed after mqttConnectTimeout; so is one that never starts TLS', async () => {
    const silent = await rawDevice(raw());
    const partial = await rawDevice(raw());
    partial.write(mqttPacket.generate(connectPacket()).subarray(0, 6));
    const plain = netConnect(t.emu.mqttPort, '127.0.0.1');
    plain.on('error', () => {});
    const plainClosed = new Promise((resolve) => plain.once('close', resolve));
    await once(plain, 'connect');
    await Promise.all([silent.closed, partial.closed, plainClosed]);
    expect(silent.received).toEqual([]);
    expect(partial.received).toEqual([]);
    await expectHealthyServed();
  });

  it('a device that stops reading is dropped after mqttDrainTimeout; the others are not held up', async () => {
    const d = await t.createDevice();
    const { device } = await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), clientId: 'slow' });
    device.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big/#', qos: 0 }] });
    await device.next('suback');
    device.socket.pause();
    const online = () => (t.emu.db.prepare("SELECT online FROM device_sessions WHERE client_id = 'slow'").get() as { online: number }).online === 1;
    const big = { requestDataFormat: 'BINARY', requestEndpoint: 'big/blob', requestData: Buffer.alloc(256 * 1024, 1).toString('base64') };
    // Enough to fill the loopback buffers many times over; stop as soon as the emulator gives up.
    for (let i = 0; i < 64 && online(); i++) await t.invoke(d.instanceId, big);
    await until(() => !online());
    await expectHealthyServed();
    // A paused socket sees nothing; once it reads again, it finds the connection closed.
    device.socket.resume();
    await device.closed;
  });
});

describe('QoS 1 window', () => {
  let device: RawDevice;
  let d: Device;
  beforeEach(async () => {
    t = await startTestEmulator(LIMITS);
    await connectHealthy();
    d = await t.createDevice();
    device = (await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), clientId: 'no-acks' })).device;
    device.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 1 }] });
    await device.next('suback');
  });
  afterEach(async () => {
    await device.end();
    await t.close();
  });

  /** Everything written before the PINGRESP has arrived by the time it does. */
  async function fence() {
    device.send({ cmd: 'pingreq' });
    await device.next('pingresp');
  }
  const oneWay = (n: number) => ({ requestDataFormat: 'TEXT', requestEndpoint: `cmd/${n}`, requestData: `c${n}` });

  it(`at most mqttMaxInflight (${LIMITS.mqttMaxInflight}) unacknowledged commands are in flight; the rest wait PENDING and go as PUBACKs arrive`, async () => {
    const ids: number[] = [];
    for (let n = 1; n <= 5; n++) ids.push(await t.invoke(d.instanceId, oneWay(n)));
    const first = [];
    for (let n = 1; n <= 3; n++) first.push((await device.next('publish')) as mqttPacket.IPublishPacket);
    await fence();
    expect(first.map((p) => p.topic)).toEqual(['cmd/1', 'cmd/2', 'cmd/3']);
    expect(device.received.filter((p) => p.cmd === 'publish')).toEqual([]);
    expect(ids.map((id) => t.command(id).delivery_status)).toEqual(['SENT', 'SENT', 'SENT', 'PENDING', 'PENDING']);
    const waiting = t.emu.db.prepare('SELECT cause FROM command_events WHERE command_id = ?').get(ids[3]) as { cause: string };
    expect(waiting.cause).toMatch(/waiting until the device acknowledges one of its 3 commands in flight/);

    // The well-behaved device has its own window: five commands go out at once.
    const mine = [];
    for (let n = 1; n <= 5; n++) mine.push(await t.invoke(healthy.device.instanceId, oneWay(n)));
    for (const id of mine) await t.waitFor(id, 'COMPLETED');

    device.send({ cmd: 'puback', messageId: first[0].messageId });
    await t.waitFor(ids[0], 'COMPLETED');
    const fourth = (await device.next('publish')) as mqttPacket.IPublishPacket;
    expect(fourth.topic).toBe('cmd/4');
    await fence();
    expect(t.command(ids[4]).delivery_status).toBe('PENDING');
    expect(device.received.filter((p) => p.cmd === 'publish')).toEqual([]);

    for (const p of [...first.slice(1), fourth]) device.send({ cmd: 'puback', messageId: p.messageId });
    const fifth = (await device.next('publish')) as mqttPacket.IPublishPacket;
    expect(fifth.topic).toBe('cmd/5');
    device.send({ cmd: 'puback', messageId: fifth.messageId });
    for (const id of ids) await t.waitFor(id, 'COMPLETED');
  });

  it('a command that waits longer than its requestDuration for room ends EXPIRED', async () => {
    const ids: number[] = [];
    for (let n = 1; n <= 4; n++) ids.push(await t.invoke(d.instanceId, { ...oneWay(n), requestDuration: 'PT1M' }));
    expect(t.command(ids[3]).delivery_status).toBe('PENDING');
    t.advance(60_000);
    expect(ids.map((id) => t.command(id).delivery_status)).toEqual(['EXPIRED', 'EXPIRED', 'EXPIRED', 'EXPIRED']);
    await expectHealthyServed();
  });
});
