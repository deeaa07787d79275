/**
 * MQTT 5 devices over real TLS and WSS: the seed flow, reason codes, sessions, flow
 * control, and the Aedes 2 beta's known defects as a device would meet them.
 */
import mqtt from 'mqtt';
import { once, type EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawLogin } from '../support/raw-mqtt.js';
import { SEED_COMMAND, startTestEmulator, until, type TestEmulator } from '../support/harness.js';

const MAX_PACKET = 4096;
let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator({ loginFailuresPerKey: 2, mqttMaxPacketSize: MAX_PACKET, mqttMaxInflight: 20 });
});
afterAll(async () => {
  await t.close();
});

const emitter = (client: mqtt.MqttClient) => client as unknown as EventEmitter;
const rawData = (instanceId: string) =>
  t.emu.db.prepare('SELECT endpoint, content FROM raw_data WHERE digital_twin_instance_id = ? ORDER BY id').all(instanceId) as Array<{
    endpoint: string;
    content: Buffer;
  }>;

/** An MQTT.js 5 device, through the harness (it keeps what arrives). */
const connect5 = (d: Parameters<TestEmulator['connect']>[0], opts: Parameters<TestEmulator['connect']>[1] = {}) => t.connect(d, { protocolVersion: 5, ...opts });

/** Connects with MQTT 5 and reports the CONNACK instead of throwing. */
async function tryConnect5(opts: mqtt.IClientOptions, url = `mqtts://localhost:${t.emu.mqttPort}`) {
  const client = mqtt.connect(url, { ca: t.emu.ca, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  let reason: string | undefined;
  client.on('packetreceive', (p) => p.cmd === 'connack' && (reason = p.properties?.reasonString));
  try {
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed without CONNACK')));
    });
    return { ok: true as const, connack };
  } catch (err) {
    return { ok: false as const, code: (err as { code?: number }).code, reason };
  } finally {
    client.end(true);
  }
}

describe('the seed flow on an MQTT 5 device', () => {
  it('MQTTS with a password: the command arrives, the response completes it', async () => {
    const d = await t.createDevice();
    const dev = await connect5(d, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(d.instanceId, SEED_COMMAND);
    const msg = await dev.next('/endpoints/1234');
    expect(msg.payload.toString()).toBe('{"temp":33}');
    expect(msg.qos).toBe(1);
    await dev.client.publishAsync('/endpoints/4321', '{"test":1}', { qos: 1 });
    const done = await t.waitFor(id, 'COMPLETED');
    expect(done.response_data).toBe('{"test":1}');
  });

  it('WSS with a password, and MQTTS with a client certificate', async () => {
    const d = await t.createDevice();
    const wss = await mqtt.connectAsync({ ...d.wssOptions, protocolVersion: 5, reconnectPeriod: 0 });
    await wss.subscribeAsync('/endpoints/1234', { qos: 1 });
    const arrived = once(emitter(wss), 'message');
    const first = await t.invoke(d.instanceId, SEED_COMMAND);
    expect(String((await arrived)[1])).toBe('{"temp":33}');
    await wss.publishAsync('/endpoints/4321', '{"via":"wss"}', { qos: 1 });
    expect((await t.waitFor(first, 'COMPLETED')).response_data).toBe('{"via":"wss"}');
    await wss.endAsync();
    const wssUrl = `wss://localhost:${t.emu.httpsPort}/mqtt`;
    expect(await tryConnect5({ username: d.externalKey, password: 'wrong' }, wssUrl)).toEqual({ ok: false, code: 0x86, reason: 'wrong external key or password' });

    // A device whose authId is a client certificate the emulator issued.
    const externalKey = `v5-cert-${Math.random().toString(36).slice(2, 8)}`;
    const cert = (await t.rest('POST', '/emulator/certificates', { commonName: externalKey })).body as { id: string; certificatePem: string; privateKeyPem: string };
    const inst = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey, authId: cert.id });
    const client = await mqtt.connectAsync(`mqtts://localhost:${t.emu.mqttPort}`, {
      ca: t.emu.ca,
      cert: cert.certificatePem,
      key: cert.privateKeyPem,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    await client.subscribeAsync('/endpoints/1234', { qos: 1 });
    const got = once(emitter(client), 'message');
    const second = await t.invoke(inst.body.id, SEED_COMMAND);
    expect(String((await got)[1])).toBe('{"temp":33}');
    await client.publishAsync('/endpoints/4321', '{"via":"cert"}', { qos: 1 });
    expect((await t.waitFor(second, 'COMPLETED')).response_data).toBe('{"via":"cert"}');
    await client.endAsync();
  });

  it('the state table: REFUSED offline without a session, PENDING with one, NOT_RESPONDED unanswered', async () => {
    const d = await t.createDevice();
    await expect(t.invoke(d.instanceId, SEED_COMMAND).then((id) => t.command(id).delivery_status)).resolves.toBe('REFUSED');
    const dev = await connect5(d, { subscribe: [['/endpoints/1234', 1]] });
    const unanswered = await t.invoke(d.instanceId, SEED_COMMAND);
    await dev.next();
    t.advance('PT3M1S');
    expect(t.command(unanswered).delivery_status).toBe('NOT_RESPONDED');
  });
});

describe('refusals carry MQTT 5 reason codes and a reason string', () => {
  it('bad user name or password is 0x86; the login backoff is 0x89 Server busy, with when to retry', async () => {
    const d = await t.createDevice();
    const wrong = await tryConnect5({ username: d.externalKey, password: 'wrong' });
    expect(wrong).toEqual({ ok: false, code: 0x86, reason: 'wrong external key or password' });
    expect(await tryConnect5({ username: 'no-such-key', password: 'x' })).toMatchObject({ ok: false, code: 0x86 });
    expect(await tryConnect5({ username: d.externalKey, password: 'wrong' })).toMatchObject({ ok: false, code: 0x86 });
    expect(await tryConnect5({ username: d.externalKey, password: 'wrong' })).toMatchObject({ ok: false, code: 0x86 });
    // Three failures for this key (loginFailuresPerKey: 2): even the right password waits now.
    const busy = await tryConnect5({ username: d.externalKey, password: d.password });
    expect(busy).toMatchObject({ ok: false, code: 0x89 });
    expect(busy.reason).toMatch(/too many failed logins for this external key; retry in \d+ s/);
  });

  it('a certificate that does not match the user name is 0x87 Not authorized', async () => {
    const b = await t.createDevice();
    const externalKey = `v5-cert-${Math.random().toString(36).slice(2, 8)}`;
    const cert = (await t.rest('POST', '/emulator/certificates', { commonName: externalKey })).body as { id: string; certificatePem: string; privateKeyPem: string };
    await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey, authId: cert.id });
    const res = await tryConnect5({ cert: cert.certificatePem, key: cert.privateKeyPem, username: b.externalKey });
    expect(res).toEqual({ ok: false, code: 0x87, reason: `user name "${b.externalKey}" is not the certificate's CN "${externalKey}"` });
  });

  it('a publish to a $SYS topic gets PUBACK 0x87 Not authorized; the device stays connected', async () => {
    const d = await t.createDevice();
    const dev = await connect5(d);
    await expect(dev.client.publishAsync('$SYS/x', 'no', { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
    expect(dev.client.connected).toBe(true);
    expect(rawData(d.instanceId)).toEqual([]);
    await dev.client.publishAsync('telemetry', 'yes', { qos: 1 });
    expect(rawData(d.instanceId).map((r) => r.content.toString())).toEqual(['yes']);
  });

  it('a packet over the maximum packet size gets DISCONNECT 0x95 Packet too large; the limit is in the CONNACK', async () => {
    const d = await t.createDevice();
    const res = await tryConnect5({ username: d.externalKey, password: d.password });
    expect(res.ok && res.connack.properties?.maximumPacketSize).toBe(MAX_PACKET);
    const dev = await connect5(d);
    const disconnect = once(emitter(dev.client), 'disconnect');
    dev.client.publish('telemetry', Buffer.alloc(MAX_PACKET + 10, 1), { qos: 1 });
    const [packet] = (await disconnect) as [mqtt.IDisconnectPacket];
    expect(packet.reasonCode).toBe(0x95);
    expect(rawData(d.instanceId)).toEqual([]);
  });

  it('a PUBLISH declaring 256 MB is refused from its header alone, before its body is sent', async () => {
    const d = await t.createDevice();
    const dev = await connect5(d);
    const disconnect = once(emitter(dev.client), 'disconnect');
    const closed = once(emitter(dev.client), 'close');
    // Fixed header of a QoS 0 PUBLISH with remaining length 268,435,455, and a few body bytes.
    (dev.client.stream as unknown as { write(b: Buffer): void }).write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x74]));
    expect(((await disconnect)[0] as mqtt.IDisconnectPacket).reasonCode).toBe(0x95);
    await closed;
  });
});

describe('keepalive', () => {
  it('a keepalive of 0 or above --mqtt-max-keepalive is not refused: the CONNACK sets Server Keep Alive', async () => {
    const d = await t.createDevice();
    const none = await tryConnect5({ username: d.externalKey, password: d.password, keepalive: 0 });
    expect(none.ok && none.connack.properties?.serverKeepAlive).toBe(300);
    const long = await tryConnect5({ username: d.externalKey, password: d.password, keepalive: 3600 });
    expect(long.ok && long.connack.properties?.serverKeepAlive).toBe(300);
    const fine = await tryConnect5({ username: d.externalKey, password: d.password, keepalive: 60 });
    expect(fine.ok && fine.connack.properties?.serverKeepAlive).toBeUndefined();
  });
});

describe('sessions: Clean Start and Session Expiry Interval', () => {
  it('a takeover gets DISCONNECT 0x8E Session taken over; deleting the instance just closes the connection, as on 3.1.1', async () => {
    const d = await t.createDevice();
    const first = await connect5(d, { clientId: 'same' });
    const takenOver = once(emitter(first.client), 'disconnect');
    const second = await connect5(d, { clientId: 'same' });
    expect(((await takenOver)[0] as mqtt.IDisconnectPacket).reasonCode).toBe(0x8e);
    let told = false;
    second.client.on('disconnect', () => (told = true));
    const closed = once(emitter(second.client), 'close');
    expect((await t.rest('DELETE', `/20250531/digitalTwinInstances/${d.instanceId}`)).status).toBe(204);
    await closed;
    expect(told).toBe(false);
  });

  it('expiry > 0: a command for the offline device is PENDING, and arrives when it returns without Clean Start', async () => {
    const d = await t.createDevice();
    const opts = { clientId: 'kept', properties: { sessionExpiryInterval: 3600 } };
    const first = await connect5(d, { ...opts, clean: true, subscribe: [['/endpoints/1234', 1]] });
    await first.close();
    const id = await t.invoke(d.instanceId, SEED_COMMAND);
    expect(t.command(id).delivery_status).toBe('PENDING');
    const back = await connect5(d, { ...opts, clean: false });
    expect((await back.next('/endpoints/1234')).payload.toString()).toBe('{"temp":33}');
    expect(t.command(id).delivery_status).toBe('SENT');
  });

  it('expiry 0 (the MQTT 5 default): the session ends with the connection, so an offline device is REFUSED', async () => {
    const d = await t.createDevice();
    const dev = await connect5(d, { clientId: 'gone', clean: false, subscribe: [['/endpoints/1234', 1]] });
    await dev.close();
    const id = await t.invoke(d.instanceId, SEED_COMMAND);
    expect(t.command(id).delivery_status).toBe('REFUSED');
  });

  it('Clean Start on return discards the session: an unacknowledged command is not sent again', async () => {
    const d = await t.createDevice();
    const opts = { clientId: 'restart', properties: { sessionExpiryInterval: 3600 } };
    // MQTT.js with customHandleAcks never calling back: the command arrives and is not acknowledged.
    let arrived = 0;
    const first = await connect5(d, { ...opts, customHandleAcks: () => void arrived++, subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(d.instanceId, SEED_COMMAND);
    await until(() => arrived === 1);
    (first.client.stream as unknown as { destroy(): void }).destroy();
    await until(() => !t.emu.devices.targets(d.instanceId, '/endpoints/1234').length);
    const back = await connect5(d, { ...opts, clean: true, subscribe: [['/endpoints/1234', 1]] });
    // A fence: a new command arrives; the old one was not redelivered before it.
    const fence = await t.invoke(d.instanceId, { ...SEED_COMMAND, requestData: { fence: 1 } });
    expect((await back.next()).payload.toString()).toBe('{"fence":1}');
    expect(back.received).toEqual([]);
    expect(t.command(id).delivery_status).toBe('SENT');
    expect(t.command(fence).delivery_status).toBe('SENT');
  });
});

describe('flow control and topic aliases', () => {
  it('Receive Maximum (not enforced by Aedes 2 itself) limits the commands in flight to the device', async () => {
    const d = await t.createDevice();
    // MQTT.js sends a PUBACK only when the test calls `ack`; it reads the next packet after that.
    const held: Array<{ payload: string; ack: () => void }> = [];
    const customHandleAcks = (_topic: string, message: Buffer, _packet: unknown, done: (code: number) => void) =>
      void held.push({ payload: message.toString(), ack: () => done(0) });
    const dev = await connect5(d, { properties: { receiveMaximum: 2 }, customHandleAcks, subscribe: [['/endpoints/1234', 1]] } as never);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await t.invoke(d.instanceId, { ...SEED_COMMAND, requestData: { n: i } }));
    expect(ids.map((id) => t.command(id).delivery_status)).toEqual(['SENT', 'SENT', 'PENDING']);
    expect(t.events(ids[2]).at(-1)!.cause).toMatch(/one of its 2 commands in flight/);
    await until(() => held.length === 1);
    held[0].ack();
    await t.waitFor(ids[2], 'SENT');
    await until(() => held.length === 2);
    held[1].ack();
    await until(() => held.length === 3);
    expect(held.map((h) => h.payload)).toEqual(['{"n":0}', '{"n":1}', '{"n":2}']);
    await dev.close();
  });

  it('a command bigger than the device’s Maximum Packet Size is not written to it', async () => {
    const d = await t.createDevice();
    const dev = await connect5(d, { properties: { maximumPacketSize: 200 }, subscribe: [['/endpoints/1234', 1]] });
    const big = await t.invoke(d.instanceId, { ...SEED_COMMAND, requestData: { pad: 'x'.repeat(300) } });
    const small = await t.invoke(d.instanceId, { ...SEED_COMMAND, requestData: { small: 1 } });
    expect((await dev.next()).payload.toString()).toBe('{"small":1}');
    expect(dev.received).toEqual([]);
    expect(t.command(big).delivery_status).toBe('SENT');
    expect(t.command(small).delivery_status).toBe('SENT');
  });

  it('a device may answer through a topic alias', async () => {
    const d = await t.createDevice();
    const res = await tryConnect5({ username: d.externalKey, password: d.password });
    expect(res.ok && res.connack.properties?.topicAliasMaximum).toBe(10);
    const dev = await connect5(d, { subscribe: [['/endpoints/1234', 1]] });
    const first = await t.invoke(d.instanceId, SEED_COMMAND);
    await dev.next();
    await dev.client.publishAsync('/endpoints/4321', '{"n":1}', { qos: 1, properties: { topicAlias: 3 } });
    expect((await t.waitFor(first, 'COMPLETED')).response_data).toBe('{"n":1}');
    const second = await t.invoke(d.instanceId, SEED_COMMAND);
    await dev.next();
    await dev.client.publishAsync('', '{"n":2}', { qos: 1, properties: { topicAlias: 3 } });
    expect((await t.waitFor(second, 'COMPLETED')).response_data).toBe('{"n":2}');
  });
});

describe('Aedes 2.0.0-beta.1 defects a device could meet', () => {
  it('GHSA-p8r9-qf8w-p73r (fixed in Aedes 1.2, not in the beta): a clean session takes its QoS 2 entries with it', async () => {
    const d = await t.createDevice();
    const incoming = () => (t.emu.db.prepare("SELECT count(*) AS n FROM mqtt_incoming WHERE client_id LIKE ? || '/%'").get(d.instanceId) as { n: number }).n;
    const { device, returnCode } = await rawLogin(
      { port: t.emu.mqttPort, ca: t.emu.ca },
      { username: d.externalKey, password: Buffer.from(d.password), clientId: 'qos2', clean: true },
    );
    expect(returnCode).toBe(0);
    // QoS 2 without the PUBREL: the broker keeps the packet id until the session ends.
    device.send({ cmd: 'publish', topic: 'telemetry', payload: Buffer.from('q2'), qos: 2, messageId: 7, dup: false, retain: false });
    await device.next('pubrec');
    expect(incoming()).toBe(1);
    await device.end();
    await until(() => incoming() === 0);
  });

  it('GHSA-5jvp-3p2v-5qgf (maxInflightInbound, not in the beta): the 1,001st QoS 2 publish awaiting PUBREL closes the connection', async () => {
    const d = await t.createDevice();
    const { device, returnCode } = await rawLogin(
      { port: t.emu.mqttPort, ca: t.emu.ca },
      { username: d.externalKey, password: Buffer.from(d.password), clientId: 'qos2-flood', clean: false },
    );
    expect(returnCode).toBe(0);
    for (let id = 1; id <= 1001; id++) {
      device.send({ cmd: 'publish', topic: 'telemetry', payload: Buffer.from('q2'), qos: 2, messageId: id, dup: false, retain: false });
    }
    await device.closed;
    // The persistent session keeps what it took: 1,000, never more.
    const held = t.emu.db.prepare('SELECT count(*) AS n FROM mqtt_incoming WHERE client_id = ?').get(`${d.instanceId}/qos2-flood`) as { n: number };
    expect(held.n).toBe(1000);
  });

  it('aedes#1090 (several subscription identifiers): a command carries the identifier of every matching subscription', async () => {
    const d = await t.createDevice();
    const dev = await connect5(d);
    await dev.client.subscribeAsync('/endpoints/1234', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await dev.client.subscribeAsync('/endpoints/+', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    const got = once(emitter(dev.client), 'message');
    await t.invoke(d.instanceId, SEED_COMMAND);
    const [, , packet] = (await got) as [string, Buffer, mqtt.IPublishPacket];
    expect(packet.properties?.subscriptionIdentifier).toEqual([7, 9]);
  });

  it('aedes#1098 (Will Delay Interval): a will is never delivered to a device, and a device back within the delay sends none', async () => {
    const d = await t.createDevice();
    const will = { topic: 'status/gone', payload: Buffer.from('offline'), qos: 1 as const, retain: false, properties: { willDelayInterval: 600 } };
    const opts = { clientId: 'willing', properties: { sessionExpiryInterval: 3600 }, will };
    const dev = await connect5(d, { ...opts, subscribe: [['#', 1]] });
    (dev.client.stream as unknown as { destroy(): void }).destroy();
    await until(() => !t.emu.devices.isOnline(d.instanceId));
    const back = await connect5(d, { ...opts, clean: false });
    await back.client.publishAsync('fence', 'f', { qos: 1 });
    expect(rawData(d.instanceId).map((r) => r.endpoint)).toEqual(['fence']);
    expect(back.received).toEqual([]);
  });

  it('message expiry (not decremented by Aedes 2): a device publish with a Message Expiry Interval is taken as raw data', async () => {
    const d = await t.createDevice();
    const dev = await connect5(d);
    await dev.client.publishAsync('telemetry', '{"t":1}', { qos: 1, properties: { messageExpiryInterval: 1, userProperties: { k: 'v' } } });
    expect(rawData(d.instanceId).map((r) => r.content.toString())).toEqual(['{"t":1}']);
  });
});
