/** The device side over real TLS: logins, isolation, sessions, wills. */
import mqtt from 'mqtt';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { once, type EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, until, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

/** MQTT.js's typed emitter is not a Node EventEmitter to the compiler, though it is one at run time. */
const closeOf = (client: mqtt.MqttClient) => once(client as unknown as EventEmitter, 'close');
const url = () => `mqtts://localhost:${t.emu.mqttPort}`;
const rawDataCount = () => (t.emu.db.prepare('SELECT count(*) AS n FROM raw_data').get() as { n: number }).n;

/** Connects and reports the CONNACK outcome instead of throwing. */
async function tryConnect(opts: mqtt.IClientOptions): Promise<{ ok: boolean; error?: string; code?: number }> {
  const client = mqtt.connect(url(), { ca: t.emu.ca, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed without CONNACK')));
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message, code: (err as { code?: number }).code };
  } finally {
    client.end(true);
  }
}

describe('device login', () => {
  it('accepts the externalKey and the secret’s plaintext', async () => {
    const d = await t.createDevice();
    expect(await tryConnect({ username: d.externalKey, password: d.password })).toEqual({ ok: true });
  });

  it('refuses a wrong password and an unknown key with CONNACK "not authorized"', async () => {
    const d = await t.createDevice();
    const before = rawDataCount();
    expect(await tryConnect({ username: d.externalKey, password: 'wrong' })).toMatchObject({ ok: false, code: 5 });
    expect(await tryConnect({ username: 'no-such-key', password: d.password })).toMatchObject({ ok: false, code: 5 });
    expect(await tryConnect({})).toMatchObject({ ok: false, code: 5 });
    expect(rawDataCount()).toBe(before);
  });

  it('accepts MQTT 5 as well (its reason codes and properties: mqtt5.e2e.test.ts)', async () => {
    const d = await t.createDevice();
    expect(await tryConnect({ username: d.externalKey, password: d.password, protocolVersion: 5 })).toEqual({ ok: true });
  });

  it('a client without TLS gets no CONNACK: the connection just closes', async () => {
    const socket = netConnect(t.emu.mqttPort, '127.0.0.1');
    await once(socket, 'connect');
    // A plain MQTT 3.1.1 CONNECT, which the TLS listener cannot read as a handshake.
    socket.write(Buffer.from('101000044d5154540402003c0004746573', 'hex'));
    const received: Buffer[] = [];
    socket.on('data', (b) => received.push(b));
    await once(socket, 'close');
    expect(Buffer.concat(received).includes(Buffer.from([0x20, 0x02]))).toBe(false);
  });

  it('serves TLS 1.2 and up only, with a certificate for localhost from the emulator CA', async () => {
    const socket = tlsConnect({ host: 'localhost', port: t.emu.mqttPort, ca: t.emu.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    const [err] = (await once(socket, 'error')) as [Error];
    expect(err.message).toMatch(/version|protocol/i);
    const ok = tlsConnect({ host: 'localhost', port: t.emu.mqttPort, ca: t.emu.ca });
    await once(ok, 'secureConnect');
    expect(ok.authorized).toBe(true);
    ok.destroy();
  });
});

describe('isolation: the platform is not a general broker', () => {
  it('a device subscribed to # receives neither another device’s command nor its publishes', async () => {
    const a = await t.createDevice();
    const b = await t.createDevice();
    const devA = await t.connect(a, { subscribe: [['/endpoints/1234', 1]] });
    const devB = await t.connect(b, { subscribe: [['#', 1], ['/endpoints/1234', 1]] });
    const id = await t.invoke(a.instanceId, SEED_COMMAND);
    await devA.next('/endpoints/1234');
    await devA.client.publishAsync('/endpoints/1234', 'spoof', { qos: 1 });
    await devA.client.publishAsync('telemetry', 'x', { qos: 1, retain: true });
    // A fence: B's own command arrives only after anything the broker would have routed to B.
    const own = await t.invoke(b.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: '/endpoints/1234', requestData: 'for-b' });
    const first = await devB.next();
    expect(first.payload.toString()).toBe('for-b');
    expect(devB.received).toEqual([]);
    expect(t.command(id).delivery_status).toBe('SENT');
    expect(t.command(own).digital_twin_instance_id).toBe(b.instanceId);
  });

  it('a device cannot subscribe to $ topics', async () => {
    const d = await t.createDevice();
    const dev = await t.connect(d);
    // SUBACK 0x80: MQTT.js reports a refused subscription as an error.
    await expect(dev.client.subscribeAsync('$SYS/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(dev.client.connected).toBe(true);
  });

  it('another device cannot answer a command, even on the same topic and with the same client id', async () => {
    const a = await t.createDevice();
    const b = await t.createDevice();
    const devA = await t.connect(a, { clientId: 'shared-id', subscribe: [['/endpoints/1234', 1]] });
    const devB = await t.connect(b, { clientId: 'shared-id' });
    const id = await t.invoke(a.instanceId, SEED_COMMAND);
    await devA.next();
    await devB.client.publishAsync('/endpoints/4321', '{"forged":true}', { qos: 1 });
    expect(t.command(id).delivery_status).toBe('SENT');
    const raw = t.emu.db.prepare("SELECT digital_twin_instance_id FROM raw_data WHERE content = CAST('{\"forged\":true}' AS BLOB)").get();
    expect(raw).toEqual({ digital_twin_instance_id: b.instanceId });
    // Both stayed connected: the same client id on two devices is two sessions.
    expect(devA.client.connected && devB.client.connected).toBe(true);
    await devA.client.publishAsync('/endpoints/4321', '{"real":true}', { qos: 1 });
    expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe('{"real":true}');
  });
});

describe('sessions', () => {
  it('a second connection with the same client id takes that session over; the first is closed', async () => {
    const d = await t.createDevice();
    const first = await t.connect(d, { clientId: 'one' });
    const closed = closeOf(first.client);
    const second = await t.connect(d, { clientId: 'one', subscribe: [['/endpoints/1234', 1]] });
    await closed;
    const id = await t.invoke(d.instanceId, SEED_COMMAND);
    expect((await second.next()).payload.toString()).toBe('{"temp":33}');
    expect(t.command(id).client_id).toBe('one');
  });

  it('deleting the instance closes the device’s live session, and it cannot log in again', async () => {
    const d = await t.createDevice();
    const dev = await t.connect(d);
    const closed = closeOf(dev.client);
    expect((await t.rest('DELETE', `/20250531/digitalTwinInstances/${d.instanceId}`)).status).toBe(204);
    await closed;
    expect(await tryConnect({ username: d.externalKey, password: d.password })).toMatchObject({ ok: false, code: 5 });
  });

  it('changing the authId closes the live session; the new secret’s password works', async () => {
    const d = await t.createDevice();
    const dev = await t.connect(d);
    const closed = closeOf(dev.client);
    const secret = await t.rest('POST', '/20180608/secrets', { secretContent: { content: Buffer.from('new-pw').toString('base64') } });
    const upd = await t.rest('PUT', `/20250531/digitalTwinInstances/${d.instanceId}`, { authId: secret.body.id });
    expect(upd.status).toBe(200);
    await closed;
    expect(await tryConnect({ username: d.externalKey, password: d.password })).toMatchObject({ ok: false, code: 5 });
    expect(await tryConnect({ username: d.externalKey, password: 'new-pw' })).toEqual({ ok: true });
  });

  it('records a Last Will as raw_data when the device drops without DISCONNECT', async () => {
    const d = await t.createDevice();
    const dev = await t.connect(d, { will: { topic: 'status/gone', payload: Buffer.from('offline'), qos: 1, retain: false } });
    const before = rawDataCount();
    (dev.client.stream as unknown as { destroy(): void }).destroy();
    await until(() => rawDataCount() > before);
    const row = t.emu.db.prepare('SELECT endpoint, content, digital_twin_instance_id FROM raw_data ORDER BY id DESC LIMIT 1').get() as {
      endpoint: string;
      content: Buffer;
      digital_twin_instance_id: string;
    };
    expect(row.endpoint).toBe('status/gone');
    expect(row.content.toString()).toBe('offline');
    expect(row.digital_twin_instance_id).toBe(d.instanceId);
  });
});
